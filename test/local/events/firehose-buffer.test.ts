import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { dataDirLayout } from '../../../local/data-dir';
import { FirehoseBuffer, SyncFunction, syncToDisk } from '../../../local/events/firehose-buffer';
import { listFiles } from '../../../local/lake/local-lake';

/** A buffer's hints for these tests: nothing flushes unless a test says so. */
const QUIET = { intervalMs: 60_000, sizeBytes: 1024 * 1024 } as const;

const record = (eventId: string) => JSON.stringify({ detail: { eventId } });

/** Every record line delivered to raw/ so far. */
async function deliveredLines(dataDir: string): Promise<string[]> {
  const files = await listFiles(path.join(dataDir, 'raw'), '.gz');
  return files.flatMap((file) => gunzipSync(readFileSync(file)).toString('utf8').split('\n').filter(Boolean));
}

const eventIdOf = (line: string) => (JSON.parse(line) as { detail: { eventId: string } }).detail.eventId;

/** A temporary data folder for one test, removed after it. */
async function withDataDir(test: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'firehose-buffer-'));
  try {
    await test(dataDir);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The path a handle has open (Linux's /proc), so a test can tell which file or folder was synced. */
const pathOf = (handle: FileHandle) => readlinkSync(`/proc/self/fd/${handle.fd}`);

/** A sync that waits until the test releases it, recording what each call saw. */
function gatedSync() {
  const calls: { kind: 'file' | 'folder'; file: string; content?: string }[] = [];
  const waiting: (() => void)[] = [];
  const sync: SyncFunction = async (handle, kind) => {
    const file = pathOf(handle);
    calls.push({ kind, file, content: kind === 'file' ? readFileSync(file, 'utf8') : undefined });
    if (kind === 'file' && file.endsWith('.log')) await new Promise<void>((resolve) => waiting.push(resolve));
    await syncToDisk(handle, kind);
  };
  /** Releases the oldest waiting log sync, once one is waiting. */
  const release = async () => {
    for (let turn = 0; turn < 1000 && waiting.length === 0; turn++) await new Promise((resolve) => setImmediate(resolve));
    const next = waiting.shift();
    if (!next) throw new Error('No log sync is waiting.');
    next();
  };
  return { sync, calls, release, logSyncs: () => calls.filter((c) => c.kind === 'file' && c.file.endsWith('.log')) };
}

/** Lets pending I/O callbacks run, turn by turn, so an acknowledgement that is not held back would arrive. */
async function settle(turns = 50): Promise<void> {
  for (let turn = 0; turn < turns; turn++) await new Promise((resolve) => setImmediate(resolve));
}

/** Waits (a bounded while) until the condition holds. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe('FirehoseBuffer: the write-ahead log syncs by group commit before acknowledging', () => {
  it('acknowledges a put only after the sync that covers it, and syncs the puts that waited together, once', () =>
    withDataDir(async (dataDir) => {
      const gate = gatedSync();
      const buffer = new FirehoseBuffer({ dataDir, ...QUIET, sync: gate.sync });
      await buffer.start();
      const acked: string[] = [];
      const put = (id: string) => buffer.put([record(id)]).then(() => acked.push(id));
      const first = put('a');
      await until(() => gate.logSyncs().length === 1);
      await settle();
      // 'a' is written and its sync has begun, not ended: no acknowledgement yet.
      expect(gate.logSyncs().map((c) => c.content)).toEqual([`${record('a')}\n`]);
      expect(acked).toEqual([]);
      // Two more PutEvents arrive while the sync runs: they wait for the next commit.
      const others = [put('b'), put('c')];
      await settle();
      expect(gate.logSyncs()).toHaveLength(1);
      await gate.release();
      await first;
      await until(() => gate.logSyncs().length === 2);
      await settle();
      expect(acked).toEqual(['a']);
      // One write and one sync for both.
      expect(gate.logSyncs().map((c) => c.content)).toEqual([`${record('a')}\n`, `${record('a')}\n${record('b')}\n${record('c')}\n`]);
      await gate.release();
      await Promise.all(others);
      expect(acked).toEqual(['a', 'b', 'c']);
      const stopping = buffer.stop();
      await stopping;
      expect((await deliveredLines(dataDir)).map(eventIdOf)).toEqual(['a', 'b', 'c']);
    }));

  it('syncs an object and the folders made for it before the log segment holding its records is deleted', () =>
    withDataDir(async (dataDir) => {
      const calls: { kind: string; file: string; segmentsLeft: number }[] = [];
      const wal = dataDirLayout(dataDir).firehoseWal;
      const sync: SyncFunction = async (handle, kind) => {
        calls.push({ kind, file: pathOf(handle), segmentsLeft: readdirSync(wal).filter((n) => n.endsWith('.log')).length });
        await syncToDisk(handle, kind);
      };
      const buffer = new FirehoseBuffer({ dataDir, ...QUIET, sync });
      await buffer.start();
      await buffer.put([record('o-1')]);
      calls.length = 0;
      await buffer.flush();
      const [object] = await listFiles(path.join(dataDir, 'raw'), '.gz');
      const synced = (kind: string, file: string) => calls.find((c) => c.kind === kind && c.file === file);
      // The object's data was synced while it was still a partial file aside, and the old segment still existed.
      expect(calls.find((c) => c.kind === 'file' && c.file.endsWith('.partial'))).toMatchObject({ segmentsLeft: 2 });
      // Its folder, and each folder mkdir created for it up to raw/, each with the segment still there.
      for (let folder = path.dirname(object); folder !== dataDir; folder = path.dirname(folder)) {
        expect([folder, synced('folder', folder)?.segmentsLeft]).toEqual([folder, 2]);
      }
      // Afterwards the records' segment is gone; the new one (opened at the flush) stays.
      expect(readdirSync(wal).filter((n) => n.endsWith('.log'))).toHaveLength(1);
      await buffer.stop();
    }));

  it('refuses the put and every later one when a sync fails, and reports itself unhealthy', () =>
    withDataDir(async (dataDir) => {
      const failing: SyncFunction = async (handle, kind) => {
        if (kind === 'file') throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        await syncToDisk(handle, kind);
      };
      const buffer = new FirehoseBuffer({ dataDir, ...QUIET, sync: failing });
      await buffer.start();
      expect(buffer.healthy).toBe(true);
      await expect(buffer.put([record('lost')])).rejects.toThrow('EIO');
      expect(buffer.healthy).toBe(false);
      await expect(buffer.put([record('later')])).rejects.toThrow("The buffer's write-ahead log failed: EIO");
    }));

  it('recovers only whole lines: a last line without its newline was never acknowledged', () =>
    withDataDir(async (dataDir) => {
      const wal = dataDirLayout(dataDir).firehoseWal;
      mkdirSync(wal, { recursive: true });
      writeFileSync(path.join(wal, '000000000000001-000001.log'), `${record('whole')}\n{"detail":{"eventId":"tor`);
      const buffer = new FirehoseBuffer({ dataDir, ...QUIET });
      expect(await buffer.start()).toEqual({ recovered: 1 });
      expect((await deliveredLines(dataDir)).map(eventIdOf)).toEqual(['whole']);
      await buffer.stop();
      expect(readdirSync(wal)).toEqual([]);
    }));
});

/** Runs the child that feeds a buffer, until `acks` records are acknowledged; then kills it with SIGKILL. Returns the acknowledged ids. */
async function feedThenKill(dataDir: string, acks: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'firehose-buffer-child.ts'), dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => { resolve(signal); }));
  const acked: string[] = [];
  let pending = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`Only ${acked.length} acknowledgements in 30 s.`)); }, 30_000);
      child.stdout.on('data', (data: Buffer) => {
        const lines = (pending + data.toString()).split('\n');
        pending = lines.pop() ?? '';
        acked.push(...lines.filter((l) => l.startsWith('acked ')).map((l) => l.slice('acked '.length)));
        if (acked.length >= acks) {
          child.kill('SIGKILL');
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => { clearTimeout(timer); resolve(); });
    });
    expect(await exited).toBe('SIGKILL');
    return acked;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

describe('FirehoseBuffer: a process killed with SIGKILL loses no acknowledged record', () => {
  it('delivers every record the killed process acknowledged, once the next buffer starts on its folder', () =>
    withDataDir(async (dataDir) => {
      const acked = await feedThenKill(dataDir, 600);
      expect(acked.length).toBeGreaterThanOrEqual(600);
      const beforeRecovery = new Set((await deliveredLines(dataDir)).map(eventIdOf));
      const next = new FirehoseBuffer({ dataDir, ...QUIET });
      const { recovered } = await next.start();
      await next.stop();
      const lines = await deliveredLines(dataDir);
      const delivered = new Set(lines.map(eventIdOf));
      // Some were in objects already, the rest only in the log (the kill landed mid-stream).
      expect([beforeRecovery.size > 0, recovered > 0]).toEqual([true, true]);
      expect(acked.filter((id) => !delivered.has(id))).toEqual([]);
      expect(readdirSync(dataDirLayout(dataDir).firehoseWal)).toEqual([]);
      expect(existsSync(path.join(dataDir, 'raw'))).toBe(true);
    }), 60_000);
});
