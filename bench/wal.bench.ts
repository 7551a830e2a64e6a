/**
 * Write-ahead log benchmark: what syncing the local Firehose buffer's log costs. `put` answers a
 * PutEvents (10 envelopes, the most one call carries) once its records are in the log; with the
 * sync (the buffer's default) once they are also on the disk (`fdatasync`, by group commit: the
 * puts that arrive while one sync runs share the next). The other side passes a sync that does
 * nothing, so the two differ only in the syncs. Each side gets a fresh buffer on a fresh folder,
 * Firehose's default hints (900 s, 128 MiB: no object is written while it is timed).
 *
 * For each number of concurrent callers (`BENCH_WAL_CALLERS`, default "1,16"; each caller puts one
 * call after another) and paired, interleaved rounds (A-B then B-A, `BENCH_WAL_ROUNDS`, at least
 * 6): PutEvents per second, p50 and p99 of a put, and syncs per put; min/median/max over rounds
 * and of the within-round ratio. `BENCH_WAL_PUTS` (default 2000) puts per side and round with
 * many callers, `BENCH_WAL_SINGLE_PUTS` (default 300) with one. The folder is under
 * `BENCH_WAL_DIR` (default the system's temporary folder): put it on the disk the data folder is
 * on, since a RAM file system (tmpfs) makes every sync free.
 */
import { randomUUID } from 'node:crypto';
import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FIREHOSE_BUFFERING } from '../contracts/lake-layout';
import { FirehoseBuffer, SyncFunction, syncToDisk } from '../local/events/firehose-buffer';
import { fmtSpread, pairedRounds, percentile, printTable } from './support/measure';

const CALLERS = (process.env.BENCH_WAL_CALLERS ?? '1,16').split(',').map(Number);
const PUTS = Number(process.env.BENCH_WAL_PUTS ?? 2000);
const SINGLE_CALLER_PUTS = Number(process.env.BENCH_WAL_SINGLE_PUTS ?? 300);
const ROUNDS = Math.max(6, Number(process.env.BENCH_WAL_ROUNDS ?? 6));
const BASE_DIR = process.env.BENCH_WAL_DIR ?? tmpdir();
const ENTRIES_PER_PUT = 10;
/** statfs(2)'s magic number of tmpfs, on which fdatasync does nothing. */
const TMPFS_MAGIC = 0x01021994;

/** One usage event as the local bus's envelope, as the buffer logs it (about 600 bytes). */
function envelope(): string {
  const now = new Date().toISOString();
  const detail = {
    schemaVersion: '1', eventId: randomUUID(), occurredAt: now, service: 'orders-service', tenantId: 'tenant-0042', operation: 'POST /v1/orders',
    method: 'POST', statusCode: 200, latencyMs: 42.5, requestId: randomUUID(), attributes: { tier: 'basic', region: 'us-east-1' },
  };
  return JSON.stringify({ version: '0', id: randomUUID(), 'detail-type': 'api.usage', source: 'com.example.usage', account: '000000000000', time: now, region: 'us-east-1', resources: [], detail });
}

interface Figures {
  readonly putsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly syncsPerPut: number;
}

/** `callers` callers, each putting one PutEvents-sized batch after another, `puts` in all, on a fresh buffer. */
async function run(sync: SyncFunction, callers: number, puts: number): Promise<Figures> {
  const dataDir = mkdtempSync(path.join(BASE_DIR, 'bench-wal-'));
  let syncs = 0;
  const counted: SyncFunction = (handle, kind) => {
    if (kind === 'file') syncs++;
    return sync(handle, kind);
  };
  const hints = { intervalMs: FIREHOSE_BUFFERING.defaultIntervalSeconds * 1000, sizeBytes: FIREHOSE_BUFFERING.defaultSizeMiB * 1_048_576 };
  const buffer = new FirehoseBuffer({ dataDir, ...hints, sync: counted });
  const batches = Array.from({ length: puts }, () => Array.from({ length: ENTRIES_PER_PUT }, envelope));
  try {
    await buffer.start();
    syncs = 0;
    const latencies: number[] = [];
    let next = 0;
    const caller = async () => {
      for (let i = next++; i < puts; i = next++) {
        const started = process.hrtime.bigint();
        await buffer.put(batches[i]);
        latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      }
    };
    const started = process.hrtime.bigint();
    await Promise.all(Array.from({ length: callers }, caller));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    latencies.sort((a, b) => a - b);
    return { putsPerSecond: puts / seconds, p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), syncsPerPut: syncs / puts };
  } finally {
    await buffer.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const noSync: SyncFunction = () => Promise.resolve();

async function benchmarkCallers(callers: number): Promise<void> {
  const puts = callers === 1 ? SINGLE_CALLER_PUTS : PUTS;
  const result = await pairedRounds({ rounds: ROUNDS, a: () => run(syncToDisk, callers, puts), b: () => run(noSync, callers, puts) });
  const row = (name: string, metric: (f: Figures) => number, digits: number) => [
    name, fmtSpread(result.spreadOf('a', metric), digits), fmtSpread(result.spreadOf('b', metric), digits), fmtSpread(result.ratio(metric), 2),
  ];
  printTable(
    `${callers} caller(s), ${puts} PutEvents of ${ENTRIES_PER_PUT} envelopes per side and round, ${result.rounds.length} rounds (min / median / max)`,
    ['metric', 'fdatasync, group commit', 'no sync', 'ratio (within round)'],
    [
      row('PutEvents per second', (f) => f.putsPerSecond, 0),
      row('envelopes per second', (f) => f.putsPerSecond * ENTRIES_PER_PUT, 0),
      row('p50 of a put (ms)', (f) => f.p50Ms, 3),
      row('p99 of a put (ms)', (f) => f.p99Ms, 3),
      row('log commits (write + sync) per put', (f) => f.syncsPerPut, 3),
    ],
  );
}

export async function walBenchmark(): Promise<void> {
  const stats = await fs.statfs(BASE_DIR);
  console.log(`Folder: ${BASE_DIR === tmpdir() ? 'the system temporary folder' : 'BENCH_WAL_DIR'}, file system type 0x${stats.type.toString(16)}${stats.type === TMPFS_MAGIC ? ' (tmpfs: syncs cost nothing here, set BENCH_WAL_DIR)' : ''}`);
  for (const callers of CALLERS) await benchmarkCallers(callers);
}
