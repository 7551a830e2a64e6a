import { randomUUID } from 'node:crypto';
import { WriteStream, createWriteStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { FIREHOSE_RAW_PREFIX, renderFirehosePrefix } from '../../contracts/lake-layout';
import { dataDirLayout } from '../data-dir';

const gzipAsync = promisify(gzip);

export interface FirehoseBufferOptions {
  /** The data folder; objects go under `raw/` as Firehose names them. */
  readonly dataDir: string;
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

interface Segment {
  readonly file: string;
  readonly stream: WriteStream;
}

/**
 * Firehose's buffering on one machine: records (EventBridge envelopes) are held until the size
 * or interval hint is reached, then written as one gzip object of newline-delimited records
 * (the `AppendDelimiterToRecord` processor) under `raw/year=/month=/day=/hour=/` of the first
 * record's arrival. Accepted records are appended to a write-ahead log segment before `put`
 * resolves, and a segment is deleted only once its records are in an object, so a crash loses
 * nothing: the next start delivers what the log holds. Objects appear atomically (written aside,
 * then renamed), so the ETL never reads half an object.
 */
export class FirehoseBuffer {
  private records: string[] = [];
  private bytes = 0;
  private firstArrival = 0;
  private delivered = 0;
  private objects = 0;
  private timer?: NodeJS.Timeout;
  private chain: Promise<unknown> = Promise.resolve();
  private segment?: Segment;
  private segmentSequence = 0;
  /** Segments whose records are buffered but not yet in an object (after a failed write). */
  private carried: Segment[] = [];
  private stopping = false;
  /** The last write-ahead log failure: while set, nothing new is accepted. */
  private failure?: Error;
  private readonly clock: () => number;
  private readonly walDir: string;

  constructor(private readonly options: FirehoseBufferOptions) {
    this.clock = options.clock ?? Date.now;
    this.walDir = dataDirLayout(options.dataDir).firehoseWal;
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
      recovered.push(...(await fs.readFile(path.join(this.walDir, name), 'utf8')).split('\n').filter((line) => line.trim() !== ''));
    }
    // (Their first arrival is not logged: they are filed under the hour of this start.)
    if (recovered.length > 0) await this.writeObject(recovered, this.clock());
    for (const name of leftovers) await fs.unlink(path.join(this.walDir, name));
    this.segment = this.openSegment();
    this.timer = setInterval(() => void this.flushIfDue(), Math.max(50, Math.min(1000, this.options.intervalMs / 4)));
    this.timer.unref();
    return { recovered: recovered.length };
  }

  /** Accepts records: resolves once they are in the log; flushes when the size hint is reached. */
  public put(records: readonly string[]): Promise<void> {
    if (records.length === 0) return Promise.resolve();
    const segment = this.segment;
    if (!segment || this.stopping) return Promise.reject(new Error('The buffer is not started, or is stopping.'));
    if (this.failure) return Promise.reject(new Error(`The buffer's write-ahead log failed: ${this.failure.message}`));
    const text = records.map((r) => `${r}\n`).join('');
    if (this.records.length === 0) this.firstArrival = this.clock();
    this.records.push(...records);
    this.bytes += Buffer.byteLength(text);
    const logged = new Promise<void>((resolve, reject) => {
      segment.stream.write(text, (error) => {
        if (error) reject(error);
        else resolve();
      });
    });
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
      await new Promise<void>((resolve) => current.stream.end(resolve));
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

  /** Flushes and closes the log: after this, every accepted record is in `raw/`. */
  public async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // From here on nothing is accepted, so the last flush takes every accepted record.
    this.stopping = true;
    await this.flush();
    const segment = this.segment;
    this.segment = undefined;
    if (segment && this.records.length === 0) {
      await new Promise<void>((resolve) => segment.stream.end(resolve));
      await fs.unlink(segment.file).catch(() => undefined);
    }
  }

  /** The write-ahead log's health, for `/health`. */
  public get healthy(): boolean {
    return this.failure === undefined;
  }

  private openSegment(): Segment {
    const file = path.join(this.walDir, `${String(Date.now()).padStart(15, '0')}-${String(++this.segmentSequence).padStart(6, '0')}.log`);
    const stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
    // A disk error fails the writes waiting on it (their callers hear it) and stops new ones.
    stream.on('error', (error) => {
      this.failure ??= error;
    });
    return { file, stream };
  }

  private flushIfDue(): Promise<void> | undefined {
    if (this.records.length > 0 && this.clock() - this.firstArrival >= this.options.intervalMs) return this.flush().catch(() => undefined);
    return undefined;
  }

  private async writeObject(records: readonly string[], arrival: number): Promise<void> {
    const at = new Date(arrival);
    const stamp = at.toISOString().replace(/[-:T]/g, '-').slice(0, 19);
    const key = `${renderFirehosePrefix(FIREHOSE_RAW_PREFIX, at)}${this.options.streamName ?? DEFAULT_STREAM_NAME}-1-${stamp}-${randomUUID()}.gz`;
    const file = path.join(this.options.dataDir, key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const body = await gzipAsync(records.map((r) => `${r}\n`).join(''));
    const temporary = path.join(this.walDir, `.${path.basename(file)}.partial`);
    await fs.writeFile(temporary, body);
    await fs.rename(temporary, file);
    this.delivered += records.length;
    this.objects++;
    this.options.onFlush?.({ key, records: records.length, bytes: body.length });
  }
}
