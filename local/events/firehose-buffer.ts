import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { FIREHOSE_RAW_PREFIX, renderFirehosePrefix } from '../../contracts/lake-layout';
import { dataDirLayout } from '../data-dir';

const gzipAsync = promisify(gzip);

export interface FirehoseBufferOptions {
  /** The data folder; objects go under the data prefix as Firehose names them. */
  readonly dataDir: string;
  /**
   * The delivery stream's data prefix (a Firehose prefix template, see `renderFirehosePrefix`).
   * @default FIREHOSE_RAW_PREFIX - `raw/` by arrival hour, the usage stream's
   */
  readonly prefix?: string;
  /**
   * The folder of the write-ahead log. Each buffer needs its own: a start delivers, then deletes,
   * every segment it finds there.
   * @default the data folder's `state/firehose-wal/`, the usage stream's
   */
  readonly walDir?: string;
  /** Flush when the oldest buffered record is this old (Firehose's interval hint). */
  readonly intervalMs: number;
  /** Flush when this many bytes are buffered (Firehose's size hint). */
  readonly sizeBytes: number;
  /**
   * The delivery stream's name, the first part of each object's name.
   * @default 'api-usage-tracker-local'
   */
  readonly streamName?: string;
  readonly clock?: () => number;
  /**
   * Makes what was written to a file (a write-ahead log segment, an object, or a folder's entries)
   * survive a power loss. Called once per group commit of the log, not per record.
   * @default the file's `fdatasync` (a folder's `fsync`), see `syncToDisk`
   */
  readonly sync?: SyncFunction;
  /** Told about each object written. */
  readonly onFlush?: (object: { key: string; records: number; bytes: number }) => void;
}

export interface FirehoseBufferStats {
  readonly buffered: number;
  readonly bufferedBytes: number;
  readonly delivered: number;
  readonly objects: number;
}

const DEFAULT_STREAM_NAME = 'api-usage-tracker-local';

/** Forces a file's written data (or a folder's entries) to the disk. */
export type SyncFunction = (handle: FileHandle, kind: 'file' | 'folder') => Promise<void>;

/**
 * The real sync: `fdatasync(2)` for a file (its data and the size needed to read it back, not its
 * timestamps), `fsync(2)` for a folder, which is what makes a created, renamed or deleted entry
 * survive a power loss ("Calling fsync() does not necessarily ensure that the entry in the
 * directory containing the file has also reached disk": https://man7.org/linux/man-pages/man2/fsync.2.html).
 */
export const syncToDisk: SyncFunction = (handle, kind) => (kind === 'folder' ? handle.sync() : handle.datasync());

/** Error codes of systems that cannot open or sync a folder (Windows): there, a folder's entries are not synced. */
const FOLDER_SYNC_UNSUPPORTED = new Set(['EISDIR', 'EINVAL', 'EPERM', 'ENOTSUP']);

/** Syncs a folder's entries (a file created, renamed into or deleted from it). */
async function syncFolder(folder: string, sync: SyncFunction): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await fs.open(folder, 'r');
  } catch (error) {
    if (FOLDER_SYNC_UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? '')) return;
    throw error;
  }
  try {
    await sync(handle, 'folder').catch((error: unknown) => {
      if (!FOLDER_SYNC_UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
    });
  } finally {
    await handle.close();
  }
}

/** Writes all of `data` to a file opened for appending (a write may take only part of it). */
async function appendAll(handle: FileHandle, data: Buffer): Promise<void> {
  for (let offset = 0; offset < data.length; ) offset += (await handle.write(data, offset)).bytesWritten;
}

interface PendingAppend {
  readonly data: string;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * One write-ahead log file, appended to by group commit: appends that arrive while a write and
 * its sync are under way wait, then go to the disk together in one write and one sync. An append
 * resolves only after the sync that covers it. The file's folder entry is synced once, when it is
 * created, before any append is acknowledged.
 */
class LogSegment {
  private pending: PendingAppend[] = [];
  private committing?: Promise<void>;
  private readonly handle: Promise<FileHandle>;

  constructor(
    readonly file: string,
    private readonly sync: SyncFunction,
    private readonly onFailure: (error: Error) => void,
  ) {
    this.handle = fs.open(file, 'a', 0o600).then(async (handle) => {
      try {
        await syncFolder(path.dirname(file), sync);
        return handle;
      } catch (error) {
        await handle.close();
        throw error;
      }
    });
    // An open failure is reported here, and to each append waiting on it.
    void this.handle.catch((error: unknown) => { this.onFailure(asError(error)); });
  }

  /** Resolves once `data` is written and synced. */
  public append(data: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ data, resolve, reject });
      this.committing ??= this.commit();
    });
  }

  /** Waits for every append made so far, then closes the file. */
  public async close(): Promise<void> {
    while (this.committing) await this.committing;
    const handle = await this.handle.catch(() => undefined);
    await handle?.close();
  }

  /** Writes and syncs what is pending, batch after batch, until nothing is left. */
  private async commit(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        const handle = await this.handle;
        await appendAll(handle, Buffer.from(batch.map((append) => append.data).join('')));
        await this.sync(handle, 'file');
        for (const append of batch) append.resolve();
      } catch (error) {
        // A failed write or sync cannot be trusted to be retried (the kernel may have dropped the
        // pages): every waiting append fails, and the buffer takes nothing new.
        this.onFailure(asError(error));
        for (const append of [...batch, ...this.pending]) append.reject(error);
        this.pending = [];
      }
    }
    this.committing = undefined;
  }
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/** The complete lines of a log segment: a last line without its newline was being written when the process died, and was never acknowledged. */
function completeLines(text: string): string[] {
  const end = text.lastIndexOf('\n');
  return text.slice(0, end + 1).split('\n').filter((line) => line.trim() !== '');
}

/**
 * Firehose's buffering on one machine: records (EventBridge envelopes) are held until the size
 * or interval hint is reached, then written as one gzip object of newline-delimited records
 * (the `AppendDelimiterToRecord` processor) under the stream's prefix (`raw/year=/month=/day=/hour=/`
 * unless told otherwise) of the first record's arrival. Accepted records are appended to a write-ahead log segment and synced to the
 * disk (`fdatasync`, by group commit: one write and one sync for all the records that arrived
 * while the previous one ran) before `put` resolves, and a segment is deleted only once its
 * records are in an object that is itself synced, with its folder, so neither a crash nor a power
 * loss loses an acknowledged record: the next start delivers what the log holds. Objects appear
 * atomically (written aside, then renamed), so the ETL never reads half an object.
 */
export class FirehoseBuffer {
  private records: string[] = [];
  private bytes = 0;
  private firstArrival = 0;
  private delivered = 0;
  private objects = 0;
  private timer?: NodeJS.Timeout;
  private chain: Promise<unknown> = Promise.resolve();
  private segment?: LogSegment;
  private segmentSequence = 0;
  /** Segments whose records are buffered but not yet in an object (after a failed write). */
  private carried: LogSegment[] = [];
  private stopping = false;
  /** The last write-ahead log failure: while set, nothing new is accepted. */
  private failure?: Error;
  private readonly clock: () => number;
  private readonly sync: SyncFunction;
  private readonly walDir: string;

  constructor(private readonly options: FirehoseBufferOptions) {
    this.clock = options.clock ?? Date.now;
    this.sync = options.sync ?? syncToDisk;
    this.walDir = options.walDir ?? dataDirLayout(options.dataDir).firehoseWal;
    // Fails here, not at the first flush, on an expression Firehose would not know.
    renderFirehosePrefix(options.prefix ?? FIREHOSE_RAW_PREFIX, new Date(0));
  }

  /** Delivers what a previous process left in the write-ahead log, then opens a new segment. */
  public async start(): Promise<{ recovered: number }> {
    await fs.mkdir(this.walDir, { recursive: true, mode: 0o700 });
    const names = await fs.readdir(this.walDir);
    // A half-written object of a crashed process: its records are still in the log.
    for (const name of names.filter((n) => n.endsWith('.partial'))) await fs.unlink(path.join(this.walDir, name));
    const leftovers = names.filter((name) => name.endsWith('.log')).sort();
    const recovered: string[] = [];
    for (const name of leftovers) {
      recovered.push(...completeLines(await fs.readFile(path.join(this.walDir, name), 'utf8')));
    }
    // (Their first arrival is not logged: they are filed under the hour of this start.)
    if (recovered.length > 0) await this.writeObject(recovered, this.clock());
    for (const name of leftovers) await fs.unlink(path.join(this.walDir, name));
    if (leftovers.length > 0) await syncFolder(this.walDir, this.sync);
    this.segment = this.openSegment();
    this.timer = setInterval(() => void this.flushIfDue(), Math.max(50, Math.min(1000, this.options.intervalMs / 4)));
    this.timer.unref();
    return { recovered: recovered.length };
  }

  /** Accepts records: resolves once they are in the log, synced to the disk; flushes when the size hint is reached. */
  public put(records: readonly string[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    const segment = this.segment;
    if (!segment || this.stopping) return Promise.reject(new Error('The buffer is not started, or is stopping.'));
    if (this.failure) return Promise.reject(new Error(`The buffer's write-ahead log failed: ${this.failure.message}`));
    const text = records.map((r) => `${r}\n`).join('');
    if (this.records.length === 0) this.firstArrival = this.clock();
    this.records.push(...records);
    this.bytes += Buffer.byteLength(text);
    const logged = segment.append(text);
    if (this.bytes >= this.options.sizeBytes) void this.flush().catch(() => undefined);
    return logged;
  }

  /** Writes what is buffered as one object now (on shutdown, or on demand). */
  public flush(): Promise<void> {
    const run = this.chain.then(async () => {
      const current = this.segment;
      if (this.records.length === 0 || !current) return;
      // Take the records and their log segment together; later records go to a new segment.
      const records = this.records;
      const bytes = this.bytes;
      const arrival = this.firstArrival;
      const segments = [...this.carried, current];
      this.records = [];
      this.bytes = 0;
      this.carried = [];
      if (!this.stopping) this.segment = this.openSegment();
      await current.close();
      try {
        await this.writeObject(records, arrival);
      } catch (error) {
        // Not delivered: the records go back in front of the buffer, their segments stay on
        // disk, and the next flush (or start) delivers them.
        this.records = [...records, ...this.records];
        this.bytes += bytes;
        this.firstArrival = arrival;
        this.carried = segments;
        throw error;
      }
      for (const segment of segments) await fs.unlink(segment.file).catch(() => undefined);
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  public stats(): FirehoseBufferStats {
    return { buffered: this.records.length, bufferedBytes: this.bytes, delivered: this.delivered, objects: this.objects };
  }

  /** Flushes and closes the log: after this, every accepted record is under the stream's prefix. */
  public async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // From here on nothing is accepted, so the last flush takes every accepted record.
    this.stopping = true;
    await this.flush();
    const segment = this.segment;
    this.segment = undefined;
    if (segment && this.records.length === 0) {
      await segment.close();
      await fs.unlink(segment.file).catch(() => undefined);
    }
  }

  /** The write-ahead log's health, for `/health`. */
  public get healthy(): boolean {
    return this.failure === undefined;
  }

  private openSegment(): LogSegment {
    const file = path.join(this.walDir, `${String(Date.now()).padStart(15, '0')}-${String(++this.segmentSequence).padStart(6, '0')}.log`);
    // A disk error fails the appends waiting on it (their callers hear it) and stops new ones.
    return new LogSegment(file, this.sync, (error) => {
      this.failure ??= error;
    });
  }

  private flushIfDue(): Promise<void> | undefined {
    if (this.records.length > 0 && this.clock() - this.firstArrival >= this.options.intervalMs) return this.flush().catch(() => undefined);
    return undefined;
  }

  private async writeObject(records: readonly string[], arrival: number): Promise<void> {
    const at = new Date(arrival);
    const stamp = at.toISOString().replace(/[-:T]/g, '-').slice(0, 19);
    const key = `${renderFirehosePrefix(this.options.prefix ?? FIREHOSE_RAW_PREFIX, at)}${this.options.streamName ?? DEFAULT_STREAM_NAME}-1-${stamp}-${randomUUID()}.gz`;
    const file = path.join(this.options.dataDir, key);
    const created = await fs.mkdir(path.dirname(file), { recursive: true });
    const body = await gzipAsync(records.map((r) => `${r}\n`).join(''));
    const temporary = path.join(this.walDir, `.${path.basename(file)}.partial`);
    await this.writeSynced(temporary, body);
    await fs.rename(temporary, file);
    // The object, and the folders made for it, must be on the disk before its log segments go.
    await this.syncFoldersUpTo(path.dirname(file), created ? path.dirname(created) : path.dirname(file));
    this.delivered += records.length;
    this.objects++;
    this.options.onFlush?.({ key, records: records.length, bytes: body.length });
  }

  /** Writes a new file and syncs its data. */
  private async writeSynced(file: string, body: Buffer): Promise<void> {
    const handle = await fs.open(file, 'w');
    try {
      await appendAll(handle, body);
      await this.sync(handle, 'file');
    } finally {
      await handle.close();
    }
  }

  /** Syncs `folder` and each parent up to `top` (the parent of the first folder `mkdir` created, or `folder` itself). */
  private async syncFoldersUpTo(folder: string, top: string): Promise<void> {
    for (let current = folder; ; current = path.dirname(current)) {
      await syncFolder(current, this.sync);
      if (current === top || path.dirname(current) === current) return;
    }
  }
}
