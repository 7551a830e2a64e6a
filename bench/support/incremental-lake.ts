import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { DuckDBConnection } from '@duckdb/node-api';
import { LAKE_PREFIXES } from '../../contracts/lake-layout';
import { CompactionResult, LocalLake, listFiles } from '../../local/lake/local-lake';
import { writeSyntheticRawObjects } from './synthetic-lake';

/**
 * Raw objects held aside and handed to the compaction a few at a time, as Firehose delivers them
 * between two runs of the Glue job: what the lake bench builds its lakes with.
 */

/** Raw objects written once, in delivery order, to be copied into a lake's `raw/`. */
export interface HeldRawObjects {
  readonly dir: string;
  /** Absolute paths, in delivery order. */
  readonly files: readonly string[];
}

/**
 * Writes `count` synthetic events (2% delivered twice) in `objects` gzip objects over `days` days
 * from `start`: in arrival order (object i holds the i-th slice of the stream), or scattered.
 */
export async function holdRawObjects(
  connection: DuckDBConnection,
  root: string,
  events: { readonly count: number; readonly objects: number; readonly start: string; readonly days: number; readonly scattered?: boolean },
): Promise<HeldRawObjects> {
  const dir = mkdtempSync(path.join(root, 'held-'));
  await writeSyntheticRawObjects(connection, dir, events.count, events.objects, events.start, events.days, !events.scattered);
  const files = await listFiles(dir, '.gz');
  const order = (file: string) => Number(/usage-(\d+)\.gz$/.exec(file)?.[1]);
  return { dir, files: files.sort((a, b) => order(a) - order(b)) };
}

/** Copies raw objects into a lake's `raw/` (same relative paths). */
export function deliver(held: HeldRawObjects, dataDir: string, files: readonly string[]): void {
  for (const file of files) {
    const target = path.join(dataDir, LAKE_PREFIXES.raw, path.relative(held.dir, file));
    mkdirSync(path.dirname(target), { recursive: true });
    copyFileSync(file, target);
  }
}

/** What compacting a lake in some runs cost: wall and CPU seconds of the runs only (delivery excluded). */
export interface CompactionRuns {
  readonly seconds: number;
  /** CPU of this process, DuckDB's threads included. */
  readonly cpuSeconds: number;
  /** Each run's wall seconds, in order. */
  readonly runSeconds: readonly number[];
  readonly results: readonly CompactionResult[];
}

/**
 * Compacts a fresh lake in `runs` runs, delivering an equal share of the held objects before each
 * (one run: every object, then one compaction). The lake stays open and is returned with its figures.
 */
export async function compactInRuns(held: HeldRawObjects, dataDir: string, runs: number): Promise<{ lake: LocalLake; figures: CompactionRuns }> {
  rmSync(dataDir, { recursive: true, force: true });
  const lake = await LocalLake.open(dataDir);
  const perRun = Math.ceil(held.files.length / runs);
  const runSeconds: number[] = [];
  const results: CompactionResult[] = [];
  let cpu = 0;
  for (let run = 0; run < runs; run++) {
    deliver(held, dataDir, held.files.slice(run * perRun, (run + 1) * perRun));
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    results.push(await lake.compact());
    runSeconds.push(Number(process.hrtime.bigint() - started) / 1e9);
    const used = process.cpuUsage(cpuBefore);
    cpu += (used.user + used.system) / 1e6;
  }
  const seconds = runSeconds.reduce((sum, s) => sum + s, 0);
  return { lake, figures: { seconds, cpuSeconds: cpu, runSeconds, results } };
}

/** The rows a lake holds and how many distinct event ids: equal when no copy was kept. */
export async function curatedCounts(lake: LocalLake): Promise<{ rows: number; ids: number }> {
  const [row] = (await lake.query('SELECT count(*) AS rows, count(DISTINCT event_id) AS ids FROM usage_events')).rows;
  return { rows: Number(row.rows), ids: Number(row.ids) };
}
