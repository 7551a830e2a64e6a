import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { processAlive } from './process-alive';

/** One event kept on disk until the bus takes it. */
export interface SpooledEvent {
  readonly eventId: string;
  readonly source: string;
  /** The `Detail` JSON exactly as it would have been sent (event time and id included). */
  readonly detail: string;
}

/** Properties of an {@link EventSpool}. */
export interface EventSpoolOptions {
  /**
   * Largest total size of the spool folder; appends beyond it are refused.
   * @default 1 GiB
   */
  readonly maxBytes?: number;
  /**
   * Size at which the active file is closed and a new one started.
   * @default 64 MiB
   */
  readonly maxFileBytes?: number;
}

/** Thrown when an append would take the spool beyond its size cap. */
export class SpoolFullError extends Error {
  constructor(maxBytes: number) {
    super(`the spool folder reached its cap of ${maxBytes} bytes`);
    this.name = 'SpoolFullError';
  }
}

const FILE_PREFIX = 'usage-events.';
const ACTIVE_SUFFIX = '.ndjson';
const CLAIM_MARK = '.replay-';
/** Spools of this process, so that two publishers in one process never claim each other's active file. */
const liveInstances = new Set<string>();

const pidOf = (instanceId: string): number => Number(instanceId.split('-')[0]);

function instanceIsLive(instanceId: string): boolean {
  const pid = pidOf(instanceId);
  if (pid === process.pid) return liveInstances.has(instanceId);
  return processAlive(pid);
}

/**
 * An append-only file spool of usage events, newline-delimited JSON, one folder shared safely by
 * several processes: each writes its own files, and a file is replayed by whoever claims it first
 * (an atomic rename) once its writer is gone or has rotated it.
 */
export class EventSpool {
  public readonly instanceId = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private readonly maxBytes: number;
  private readonly maxFileBytes: number;
  private handle?: fs.FileHandle;
  private activeFile?: string;
  private activeBytes = 0;
  private fileSeq = 0;
  private totalBytes = 0;
  private initialised?: Promise<void>;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    public readonly dir: string,
    options: EventSpoolOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? 1024 ** 3;
    this.maxFileBytes = options.maxFileBytes ?? 64 * 1024 ** 2;
    liveInstances.add(this.instanceId);
  }

  /** Bytes in the spool folder as far as this spool knows. */
  public get bytes(): number {
    return this.totalBytes;
  }

  /** Appends events; resolves once they are written to the file (not yet fsynced). */
  public append(events: readonly SpooledEvent[]): Promise<void> {
    if (events.length === 0) return Promise.resolve();
    const text = events.map((event) => `${JSON.stringify({ v: 1, ...event })}\n`).join('');
    return this.serial(async () => {
      await this.init();
      const size = Buffer.byteLength(text);
      if (this.totalBytes + size > this.maxBytes) throw new SpoolFullError(this.maxBytes);
      const handle = this.handle && this.activeBytes + size <= this.maxFileBytes ? this.handle : await this.openNewFile();
      await handle.appendFile(text);
      this.activeBytes += size;
      this.totalBytes += size;
    });
  }

  /** Waits for every append so far and forces them to disk. */
  public flush(): Promise<void> {
    return this.serial(async () => {
      await this.handle?.datasync();
    });
  }

  /**
   * Closes the active file and claims it and any file left by a writer that is gone, for replay.
   * Returns the claimed files, oldest first.
   */
  public claimReplayable(): Promise<string[]> {
    return this.serial(async () => {
      await this.init();
      await this.closeActiveFile();
      const entries = (await fs.readdir(this.dir)).filter((name) => name.startsWith(FILE_PREFIX)).sort();
      const claimed: string[] = [];
      for (const name of entries) {
        const claimIndex = name.indexOf(CLAIM_MARK);
        const owner = claimIndex === -1 ? name.slice(FILE_PREFIX.length).split('.')[0] : name.slice(claimIndex + CLAIM_MARK.length);
        if (claimIndex === -1 ? !name.endsWith(ACTIVE_SUFFIX) : owner === this.instanceId) continue;
        if (instanceIsLive(owner) && owner !== this.instanceId) continue;
        const base = claimIndex === -1 ? name : name.slice(0, claimIndex);
        const target = path.join(this.dir, `${base}${CLAIM_MARK}${this.instanceId}`);
        try {
          await fs.rename(path.join(this.dir, name), target);
          claimed.push(target);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // another process claimed it first
        }
      }
      return claimed;
    });
  }

  /** The events of a claimed file; a torn last line (a crash mid-write) is skipped. */
  public async read(file: string): Promise<SpooledEvent[]> {
    const text = await fs.readFile(file, 'utf8');
    const events: SpooledEvent[] = [];
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        const parsed = JSON.parse(line) as Partial<SpooledEvent>;
        if (typeof parsed.eventId === 'string' && typeof parsed.source === 'string' && typeof parsed.detail === 'string') {
          events.push({ eventId: parsed.eventId, source: parsed.source, detail: parsed.detail });
        }
      } catch {
        // A partial line from an interrupted write holds no complete event.
      }
    }
    return events;
  }

  /** Deletes a replayed file. */
  public remove(file: string): Promise<void> {
    return this.serial(async () => {
      const stat = await fs.stat(file).catch(() => undefined);
      await fs.rm(file, { force: true });
      if (stat) this.totalBytes = Math.max(0, this.totalBytes - stat.size);
    });
  }

  /** Flushes and closes the active file; the spool may be used again afterwards. */
  public close(): Promise<void> {
    return this.serial(async () => {
      await this.closeActiveFile();
      liveInstances.delete(this.instanceId);
    });
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task, task);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private init(): Promise<void> {
    this.initialised ??= (async () => {
      await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
      for (const name of await fs.readdir(this.dir)) {
        if (!name.startsWith(FILE_PREFIX)) continue;
        const stat = await fs.stat(path.join(this.dir, name)).catch(() => undefined);
        this.totalBytes += stat?.size ?? 0;
      }
    })();
    return this.initialised;
  }

  private async openNewFile(): Promise<fs.FileHandle> {
    await this.closeActiveFile();
    this.fileSeq += 1;
    const stamp = new Date().toISOString().replace(/[-:.]/g, '');
    this.activeFile = path.join(this.dir, `${FILE_PREFIX}${this.instanceId}.${stamp}.${String(this.fileSeq).padStart(6, '0')}${ACTIVE_SUFFIX}`);
    this.handle = await fs.open(this.activeFile, 'a', 0o600);
    this.activeBytes = 0;
    return this.handle;
  }

  private async closeActiveFile(): Promise<void> {
    if (!this.handle) return;
    await this.handle.datasync();
    await this.handle.close();
    this.handle = undefined;
    this.activeFile = undefined;
  }
}
