/**
 * Lake benchmark, every lake built by the compaction (the local Glue job twin) as the job builds
 * it, in runs over raw objects delivered between them:
 *
 * 1. A day of events compacted in 24 hourly runs against one run over the same objects: paired,
 *    interleaved rounds (A-B then B-A), wall and CPU seconds, min/median/max of the within-round
 *    ratio, and the first hourly runs against the last (the day's growth must not slow them).
 * 2. The compaction's rate from scratch over 30 scattered days (the worst case).
 * 3. What the billing query costs on Athena against the raw JSON it replaces: bytes scanned and
 *    bytes billed (rounded up to the MB, 10 MB minimum per query).
 * 4. The named queries over a 10 M event month, the lake compacted run by run.
 */
import { cpus, totalmem } from 'node:os';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { CURATED_COLUMNS } from '../contracts/curated-columns';
import { CURATED_PARTITION_KEYS, CURATED_PARTITION_LAYOUT, FIREHOSE_BUFFERING, LAKE_PREFIXES, curatedPartitionPrefix } from '../contracts/lake-layout';
import { sqlString } from '../local/lake/curation-sql';
import { CompactionResult, LocalLake, listFiles } from '../local/lake/local-lake';
import { CompactionRuns, HeldRawObjects, compactInRuns, curatedCounts, holdRawObjects } from './support/incremental-lake';
import { Spread, fmt, fmtSpread, pairedRounds, printTable, spread } from './support/measure';

const RAW_EVENTS = Number(process.env.BENCH_LAKE_RAW_EVENTS ?? 1_000_000);
const LAKE_EVENTS = Number(process.env.BENCH_LAKE_EVENTS ?? 10_000_000);
/** Paired rounds of the incremental against the one-shot compaction (at least 6). */
const ROUNDS = Math.max(6, Number(process.env.BENCH_LAKE_ROUNDS ?? 6));
/** Runs that build the 10 M event month (one a day by default). */
const LAKE_RUNS = Number(process.env.BENCH_LAKE_RUNS ?? 30);
const HOURLY_RUNS = 24;
/**
 * Raw objects Firehose delivers in an hour at the stack's default buffering (the interval is met
 * long before 128 MiB at 1 M events a day): 4, see FIREHOSE_BUFFERING. BENCH_LAKE_OBJECTS_PER_HOUR
 * sets another (1 shows a run over fewer objects than DuckDB has threads).
 */
const OBJECTS_PER_HOUR = Number(process.env.BENCH_LAKE_OBJECTS_PER_HOUR ?? 3600 / FIREHOSE_BUFFERING.defaultIntervalSeconds);
/** Sections to run (`incremental`, `scattered`, `month`; all by default), to keep development runs short. */
const SECTIONS = new Set((process.env.BENCH_LAKE_SECTIONS ?? 'incremental,scattered,month').split(',').map((s) => s.trim()));
const QUERY_RUNS = 5;
/** Runs over a 3-event object that show a run's fixed cost. */
const FLOOR_RUNS = 13;
const SCATTERED_RUNS = 3;
const MONTH = '2026-09';
const MIB = 1_048_576;

/** A node of DuckDB's JSON query plan. */
interface PlanNode {
  readonly name?: string;
  readonly children?: readonly PlanNode[];
  readonly extra_info?: { readonly Projections?: string[] | string; readonly Filters?: string[] | string };
}

/** The curated columns a query reads from Parquet: its scans' projections and filter columns, from DuckDB's plan. */
async function columnsRead(lake: LocalLake, sql: string): Promise<string[]> {
  const plan = (await lake.query(`EXPLAIN (FORMAT json) ${sql}`)).rows.map((r) => String(r.explain_value)).join('\n');
  const names = new Set<string>();
  const visit = (node: PlanNode) => {
    if (node.name === 'READ_PARQUET' || node.name === 'TABLE_SCAN') {
      const text = [node.extra_info?.Projections, node.extra_info?.Filters].flat().filter(Boolean).join(' ');
      for (const column of CURATED_COLUMNS) if (new RegExp(`\\b${column.name}\\b`).test(text)) names.add(column.name);
    }
    for (const child of node.children ?? []) visit(child);
  };
  for (const root of JSON.parse(plan) as PlanNode[]) visit(root);
  return [...names].sort();
}

/** Compressed bytes of some columns in some Parquet files: what Athena scans for them. */
async function parquetBytes(lake: LocalLake, files: readonly string[], columns: readonly string[]): Promise<number> {
  const result = await lake.query(
    `SELECT coalesce(sum(total_compressed_size), 0) AS bytes FROM parquet_metadata([${files.map(sqlString).join(', ')}]) WHERE path_in_schema IN (${columns.map(sqlString).join(', ')})`,
  );
  return Number(result.rows[0].bytes);
}

/** The curated files of a month (`YYYY-MM`): those in its days' partition folders, as the contract lays them out. */
function curatedFilesOfMonth(dataDir: string, files: readonly string[], month: string): string[] {
  const folders = new Set<string>();
  for (let day = new Date(`${month}-01T00:00:00Z`); day.toISOString().startsWith(month); day = new Date(day.getTime() + 86_400_000)) {
    folders.add(curatedPartitionPrefix(day));
  }
  return files.filter((file) => folders.has(`${path.relative(dataDir, path.dirname(file)).split(path.sep).join('/')}/`));
}

/** The curated folders' layout, from the contract (`year=YYYY/month=MM/day=DD/`): the layout the Glue job writes. */
function curatedLayout(): string {
  return CURATED_PARTITION_KEYS.map((key) => `${key}=${CURATED_PARTITION_LAYOUT[key].datePart[0].toUpperCase().repeat(CURATED_PARTITION_LAYOUT[key].digits)}/`).join('');
}

/**
 * Checks that every curated file lies in the partition folder the contract gives its events' time
 * (`curatedPartitionPrefix`, the Glue job's layout), so the figures are those of that layout.
 */
async function assertCuratedLayout(lake: LocalLake): Promise<void> {
  const curated = path.join(lake.dataDir, LAKE_PREFIXES.curated);
  const files = (
    await lake.query(`SELECT filename, min(occurred_at) AS first, max(occurred_at) AS last FROM read_parquet(${sqlString(path.join(curated, '**', '*.parquet'))}, filename = true) GROUP BY filename`)
  ).rows;
  for (const file of files) {
    const folder = `${path.relative(lake.dataDir, path.dirname(String(file.filename))).split(path.sep).join('/')}/`;
    const expected = [file.first, file.last].map((at) => curatedPartitionPrefix(new Date(String(at))));
    if (expected.some((prefix) => prefix !== folder)) throw new Error(`${String(file.filename)}: events of ${expected.join(' to ')} in ${folder}`);
  }
  if (files.length === 0) throw new Error(`${lake.dataDir}: no curated files`);
}

/** Min/median/max seconds of a named query over `QUERY_RUNS` runs, and its rows. */
async function timeQuery(lake: LocalLake, name: string, parameters: Record<string, string>): Promise<{ seconds: Spread; rows: number }> {
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < QUERY_RUNS; i++) {
    const started = process.hrtime.bigint();
    rows = (await lake.runNamedQuery(name, parameters)).rows.length;
    times.push(Number(process.hrtime.bigint() - started) / 1e9);
  }
  return { seconds: spread(times), rows };
}

/**
 * What Athena bills for a query that scans some bytes: rounded up to the megabyte, 10 MB at least
 * (https://aws.amazon.com/athena/pricing/).
 */
export function athenaBilledBytes(scanned: number): number {
  return Math.max(10, Math.ceil(scanned / MIB)) * MIB;
}

/** The machine the figures come from. */
function machine(): string {
  const cores = cpus();
  return `${cores[0]?.model ?? 'unknown CPU'}, ${cores.length} cores, ${fmt(totalmem() / 1024 ** 3, 0)} GiB, node ${process.version}`;
}

/** Mean of some runs' seconds. */
const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

/**
 * What a run costs whatever it reads: the wall seconds of runs over one raw object of 3 events
 * each, one after another on a lake of its own (DuckDB planning the curation, the statements and
 * files of a run).
 */
async function perRunFloor(root: string, connection: Parameters<typeof holdRawObjects>[0]): Promise<Spread> {
  const held = await holdRawObjects(connection, root, { count: 3 * FLOOR_RUNS, objects: FLOOR_RUNS, start: `${MONTH}-01`, days: 1 });
  const { lake, figures } = await compactInRuns(held, path.join(root, 'floor'), FLOOR_RUNS);
  await lake.close();
  rmSync(held.dir, { recursive: true, force: true });
  // The first run opens the files and views the others find ready.
  return spread(figures.runSeconds.slice(1));
}

/** 1. A day compacted in 24 hourly runs against one run: paired rounds, on fresh lakes each time. */
async function incrementalAgainstOneShot(root: string, held: HeldRawObjects, connection: Parameters<typeof holdRawObjects>[0]): Promise<string> {
  const hourlyDir = path.join(root, 'hourly');
  const oneShotDir = path.join(root, 'one-shot');
  const side = (dir: string, runs: number) => async (): Promise<CompactionRuns> => {
    const { lake, figures } = await compactInRuns(held, dir, runs);
    await assertCuratedLayout(lake);
    const counts = await curatedCounts(lake);
    await lake.close();
    // Billing stays exact: every copy dropped, every event kept, whichever way the day was compacted.
    if (counts.rows !== counts.ids || counts.ids !== RAW_EVENTS) throw new Error(`${dir}: ${counts.rows} rows, ${counts.ids} ids, ${RAW_EVENTS} events generated`);
    return figures;
  };
  const paired = await pairedRounds({ rounds: ROUNDS, warmUp: false, a: side(hourlyDir, HOURLY_RUNS), b: side(oneShotDir, 1) });
  const wall = (r: CompactionRuns) => r.seconds;
  const cpu = (r: CompactionRuns) => r.cpuSeconds;
  const growth = spread(paired.a.map((r) => mean(r.runSeconds.slice(-4)) / mean(r.runSeconds.slice(0, 4))));
  const floor = await perRunFloor(root, connection);
  const floorShare = (HOURLY_RUNS * floor.median) / paired.spreadOf('b', wall).median;
  const defaultObjects = OBJECTS_PER_HOUR === 3600 / FIREHOSE_BUFFERING.defaultIntervalSeconds;
  printTable(
    `Compaction of one day, ${fmt(RAW_EVENTS, 0)} events + 2% retries in ${held.files.length} raw objects (${OBJECTS_PER_HOUR} an hour${defaultObjects ? `, as Firehose delivers them at the default ${FIREHOSE_BUFFERING.defaultIntervalSeconds} s interval` : ''}), curated as the Glue job lays it out (${LAKE_PREFIXES.curated}${curatedLayout()}, index segments per file): ${HOURLY_RUNS} hourly runs against one run (${paired.rounds.length} paired rounds, A-B then B-A; min / median / max)`,
    ['', 'wall s', 'CPU s', 'target'],
    [
      [`${HOURLY_RUNS} hourly runs (A)`, fmtSpread(paired.spreadOf('a', wall), 2), fmtSpread(paired.spreadOf('a', cpu), 2), ''],
      ['one run over the same objects (B)', fmtSpread(paired.spreadOf('b', wall), 2), fmtSpread(paired.spreadOf('b', cpu), 2), ''],
      ['ratio A / B, within each round', fmtSpread(paired.ratio(wall), 2), fmtSpread(paired.ratio(cpu), 2), '<= 1.3'],
      ['last 4 hourly runs / first 4 (mean s)', fmtSpread(growth, 2), '', '~ 1: no slower as the day grows'],
      [`per-run floor: a run over one object of 3 events (${FLOOR_RUNS - 1} runs)`, fmtSpread(floor, 3), '', `x ${HOURLY_RUNS} = ${fmt(floorShare, 2)} of B (median)`],
      ['events/s of the one run', fmtSpread(spread(paired.b.map((r) => r.results.reduce((sum, x) => sum + x.lines, 0) / r.seconds)), 0), '', '>= 300,000'],
    ],
  );
  return oneShotDir;
}

/** 2. The rate from scratch over 30 scattered days: min/median/max of a few runs. */
async function scatteredRate(root: string, connection: Parameters<typeof holdRawObjects>[0]): Promise<void> {
  // Scattered: the events' times spread over the month rather than in arrival order.
  const held = await holdRawObjects(connection, root, { count: RAW_EVENTS, objects: 8, start: `${MONTH}-01`, days: 30, scattered: true });
  const rates: number[] = [];
  const results: CompactionResult[] = [];
  for (let run = 0; run < SCATTERED_RUNS; run++) {
    const { lake, figures } = await compactInRuns(held, path.join(root, 'scattered'), 1);
    await lake.close();
    results.push(...figures.results);
    rates.push(figures.results.reduce((sum, r) => sum + r.lines, 0) / figures.seconds);
  }
  rmSync(held.dir, { recursive: true, force: true });
  const first = results.at(-1);
  printTable(
    `Compaction from scratch, ${fmt(RAW_EVENTS, 0)} events over 30 days in 8 objects (${SCATTERED_RUNS} runs; min / median / max)`,
    ['lines read', 'duplicates dropped', 'day partitions', 'events/s'],
    [[fmt(first?.lines ?? 0, 0), fmt(first?.duplicates ?? 0, 0), String(first?.partitions.length ?? 0), fmtSpread(spread(rates), 0)]],
  );
}

/** 3. Bytes the billing query scans, and what Athena bills for them, against the raw JSON. */
async function billedBytes(lakeDir: string, held: HeldRawObjects): Promise<void> {
  const lake = await LocalLake.open(lakeDir);
  try {
    const billing = lake.namedQueries.find((q) => q.name === 'billing_by_tenant');
    if (!billing) throw new Error('The named query billing_by_tenant is missing.');
    const columns = await columnsRead(lake, billing.sql.replace('?', sqlString(MONTH)));
    const monthFiles = curatedFilesOfMonth(lakeDir, await listFiles(path.join(lakeDir, LAKE_PREFIXES.curated), '.parquet'), MONTH);
    const parquet = await parquetBytes(lake, monthFiles, columns);
    const raw = held.files.reduce((sum, file) => sum + statSync(file).size, 0);
    const rows = (await lake.runNamedQuery('billing_by_tenant', { month: MONTH })).rows.length;
    printTable(
      `Bytes the billing query reads for a day of ${fmt(RAW_EVENTS, 0)} events; Athena bills bytes scanned, rounded up to the MB, 10 MB minimum per query`,
      ['source', 'MiB scanned', 'MiB billed', 'tenants'],
      [
        [`Parquet, columns ${columns.join(', ')}`, fmt(parquet / MIB, 2), fmt(athenaBilledBytes(parquet) / MIB, 0), String(rows)],
        ['raw gzip JSON (whole objects)', fmt(raw / MIB, 2), fmt(athenaBilledBytes(raw) / MIB, 0), ''],
        ['ratio raw / Parquet (target >= 20x billed)', `${fmt(raw / parquet, 1)}x`, `${fmt(athenaBilledBytes(raw) / athenaBilledBytes(parquet), 1)}x`, ''],
      ],
    );
  } finally {
    await lake.close();
  }
}

/** 4. The named queries over a month of `LAKE_EVENTS` events, compacted in `LAKE_RUNS` runs. */
async function namedQueriesOverMonth(root: string, connection: Parameters<typeof holdRawObjects>[0]): Promise<void> {
  console.log(`\ngenerating ${fmt(LAKE_EVENTS, 0)} raw events over 30 days and compacting them in ${LAKE_RUNS} runs ...`);
  const held = await holdRawObjects(connection, root, { count: LAKE_EVENTS, objects: LAKE_RUNS * 4, start: `${MONTH}-01`, days: 30 });
  const { lake: big, figures } = await compactInRuns(held, path.join(root, 'month'), LAKE_RUNS);
  rmSync(held.dir, { recursive: true, force: true });
  try {
    const [{ n }] = (await big.query(`SELECT count(*) AS n FROM usage_events_deduped WHERE concat(year, '-', month) = ${sqlString(MONTH)}`)).rows;
    const runs = spread(figures.runSeconds);
    const billingTimes = await timeQuery(big, 'billing_by_tenant', { month: MONTH });
    const latencyTimes = await timeQuery(big, 'latency_by_operation', { start_date: `${MONTH}-01`, end_date: `${MONTH}-30` });
    printTable(
      `Named queries over ${fmt(Number(n), 0)} events in ${MONTH}, compacted in ${LAKE_RUNS} runs, ${fmt(figures.seconds, 0)} s in all, ${fmtSpread(runs, 1)} s each (DuckDB, 2 threads; ${QUERY_RUNS} runs; min / median / max)`,
      ['query', 'seconds', 'rows', 'target'],
      [
        ['billing_by_tenant', fmtSpread(billingTimes.seconds, 3), String(billingTimes.rows), '<= 2 s'],
        ['latency_by_operation', fmtSpread(latencyTimes.seconds, 3), String(latencyTimes.rows), '<= 2 s'],
      ],
    );
  } finally {
    await big.close();
  }
}

export async function lakeBenchmark(): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'lake-bench-'));
  const generator = await DuckDBInstance.create(':memory:', { threads: '2', preserve_insertion_order: 'false' });
  const connection = await generator.connect();
  await connection.run(`SET TimeZone = 'UTC'`);
  console.log(`machine: ${machine()}`);
  try {
    if (SECTIONS.has('incremental')) {
      console.log(`generating ${fmt(RAW_EVENTS, 0)} raw events in ${HOURLY_RUNS * OBJECTS_PER_HOUR} objects, ${OBJECTS_PER_HOUR} an hour ...`);
      const day = await holdRawObjects(connection, root, { count: RAW_EVENTS, objects: HOURLY_RUNS * OBJECTS_PER_HOUR, start: `${MONTH}-01`, days: 1 });
      const oneShotDir = await incrementalAgainstOneShot(root, day, connection);
      await billedBytes(oneShotDir, day);
      rmSync(day.dir, { recursive: true, force: true });
    }
    if (SECTIONS.has('scattered')) await scatteredRate(root, connection);
    if (SECTIONS.has('month')) await namedQueriesOverMonth(root, connection);
  } finally {
    connection.closeSync();
    generator.closeSync();
    rmSync(root, { recursive: true, force: true });
  }
}
