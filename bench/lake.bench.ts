/**
 * Lake benchmark: the local Glue job twin's compaction rate on Firehose-shaped raw objects; the
 * billing and latency named queries over a 10 M event curated lake; and the bytes the billing
 * query reads from Parquet against the raw gzip JSON it replaces (what Athena bills per query).
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { CURATED_COLUMNS } from '../contracts/curated-columns';
import { LAKE_PREFIXES, curatedPartitionPrefix } from '../contracts/lake-layout';
import { dataDirLayout } from '../local/data-dir';
import { sqlString } from '../local/lake/curation-sql';
import { CompactionResult, LocalLake, listFiles } from '../local/lake/local-lake';
import { fmt, percentile, printTable } from './support/measure';
import { writeSyntheticCuratedLake, writeSyntheticRawObjects } from './support/synthetic-lake';

const RAW_EVENTS = Number(process.env.BENCH_LAKE_RAW_EVENTS ?? 1_000_000);
const LAKE_EVENTS = Number(process.env.BENCH_LAKE_EVENTS ?? 10_000_000);
const QUERY_RUNS = 5;
const COMPACTION_RUNS = 3;
const MONTH = '2026-09';

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

async function timeQuery(lake: LocalLake, name: string, parameters: Record<string, string>): Promise<{ first: number; median: number; rows: number }> {
  const times: number[] = [];
  let rows = 0;
  for (let i = 0; i < QUERY_RUNS; i++) {
    const started = process.hrtime.bigint();
    rows = (await lake.runNamedQuery(name, parameters)).rows.length;
    times.push(Number(process.hrtime.bigint() - started) / 1e9);
  }
  return { first: times[0], median: percentile([...times].sort((a, b) => a - b), 0.5), rows };
}

export async function lakeBenchmark(): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'lake-bench-'));
  const generator = await DuckDBInstance.create(':memory:', { threads: '2', preserve_insertion_order: 'false' });
  const connection = await generator.connect();
  await connection.run(`SET TimeZone = 'UTC'`);
  try {
    // 1. Compaction of Firehose-shaped objects (2% producer retries). As Firehose delivers them, a
    // run's events arrive in time order (one day here); scattered over 30 days is the worst case.
    const compaction = async (name: string, ordered: boolean, days: number) => {
      const dir = path.join(root, name);
      mkdirSync(path.join(dir, LAKE_PREFIXES.raw), { recursive: true });
      console.log(`generating ${fmt(RAW_EVENTS, 0)} raw events (${name}) ...`);
      await writeSyntheticRawObjects(connection, path.join(dir, LAKE_PREFIXES.raw), RAW_EVENTS, 8, `${MONTH}-01`, days, ordered);
      const files = await listFiles(path.join(dir, LAKE_PREFIXES.raw), '.gz');
      // Three runs from scratch (curated/ and the bookmark removed in between); the median counts.
      const runs: CompactionResult[] = [];
      for (let run = 0; run < COMPACTION_RUNS; run++) {
        rmSync(path.join(dir, LAKE_PREFIXES.curated), { recursive: true, force: true });
        rmSync(dataDirLayout(dir).state, { recursive: true, force: true });
        const attempt = await LocalLake.open(dir);
        runs.push(await attempt.compact());
        await attempt.close();
      }
      const result = runs.sort((a, b) => a.seconds - b.seconds)[Math.floor(runs.length / 2)];
      const lake = await LocalLake.open(dir);
      return { dir, files, bytes: files.reduce((sum, file) => sum + statSync(file).size, 0), lake, result, all: runs.map((r) => fmt(r.lines / r.seconds / 1000, 0)).join(' / ') };
    };
    const scattered = await compaction('scattered', false, 30);
    await scattered.lake.close();
    const streamed = await compaction('arrival-ordered', true, 1);
    const lake = streamed.lake;
    const rawFiles = streamed.files;
    const rawBytes = streamed.bytes;
    const compactDir = streamed.dir;
    const rows = (label: string, r: typeof streamed) => [
      label,
      fmt(r.result.lines, 0),
      fmt(r.result.duplicates, 0),
      String(r.result.partitions.length),
      fmt(r.result.seconds, 2),
      fmt(r.result.lines / r.result.seconds, 0),
      r.all,
    ];
    printTable(
      `Compaction (local Glue job): ${fmt(RAW_EVENTS, 0)} events + 2% retries in 8 gzip objects (${fmt(rawBytes / 1_048_576)} MiB); target >= 300,000 events/s`,
      ['raw events', 'lines read', 'duplicates dropped', 'day partitions', 'median s', 'events/s (median)', 'k events/s, each run'],
      [rows('in arrival order over 1 day (as Firehose delivers)', streamed), rows('scattered over 30 days (worst case)', scattered)],
    );
    const compactionResult = streamed.result;

    // 2. What the billing query reads: Parquet columns against the raw JSON objects it replaces.
    const billing = lake.namedQueries.find((q) => q.name === 'billing_by_tenant');
    if (!billing) throw new Error('The named query billing_by_tenant is missing.');
    const columns = await columnsRead(lake, billing.sql.replace('?', sqlString(MONTH)));
    const monthFiles = curatedFilesOfMonth(compactDir, await listFiles(path.join(compactDir, LAKE_PREFIXES.curated), '.parquet'), MONTH);
    const parquetRead = await parquetBytes(lake, monthFiles, columns);
    const parquetStarted = process.hrtime.bigint();
    const parquetAnswer = await lake.runNamedQuery('billing_by_tenant', { month: MONTH });
    const parquetSeconds = Number(process.hrtime.bigint() - parquetStarted) / 1e9;
    // The same question asked of the raw JSON, as a table over raw/ would be queried.
    const rawStarted = process.hrtime.bigint();
    const rawAnswer = await lake.query(
      `SELECT detail.tenantId AS tenant_id, count(*) AS calls FROM read_json([${rawFiles.map(sqlString).join(', ')}], format = 'newline_delimited')
       WHERE strftime(CAST(detail.occurredAt AS TIMESTAMP), '%Y-%m') = ${sqlString(MONTH)} AND detail.statusCode < 500 AND detail.statusCode NOT IN (401, 403, 429)
       GROUP BY 1`,
    );
    const rawSeconds = Number(process.hrtime.bigint() - rawStarted) / 1e9;
    await lake.close();
    printTable(
      `Bytes the billing query reads for ${fmt(compactionResult.rows, 0)} events (Athena bills bytes scanned)`,
      ['source', 'bytes read', 'seconds', 'tenants'],
      [
        [`Parquet, columns ${columns.join(', ')}`, fmt(parquetRead / 1_048_576, 2) + ' MiB', fmt(parquetSeconds, 3), String(parquetAnswer.rows.length)],
        ['raw gzip JSON (whole objects)', fmt(rawBytes / 1_048_576, 2) + ' MiB', fmt(rawSeconds, 3), String(rawAnswer.rows.length)],
        ['ratio raw / Parquet (target >= 20x)', `${fmt(rawBytes / parquetRead, 1)}x`, `${fmt(rawSeconds / parquetSeconds, 1)}x`, ''],
      ],
    );

    // 3. The two named queries over a 10 M event lake (one month, as the Glue job lays it out).
    const bigDir = path.join(root, 'ten-million');
    mkdirSync(path.join(bigDir, LAKE_PREFIXES.curated), { recursive: true });
    console.log(`\ngenerating a curated lake of ${fmt(LAKE_EVENTS, 0)} events ...`);
    await writeSyntheticCuratedLake(connection, path.join(bigDir, LAKE_PREFIXES.curated), LAKE_EVENTS, `${MONTH}-01`, 30);
    const big = await LocalLake.open(bigDir);
    try {
      const [{ n }] = (await big.query(`SELECT count(*) AS n FROM usage_events_deduped WHERE concat(year, '-', month) = ${sqlString(MONTH)}`)).rows;
      const billingTimes = await timeQuery(big, 'billing_by_tenant', { month: MONTH });
      const latencyTimes = await timeQuery(big, 'latency_by_operation', { start_date: `${MONTH}-01`, end_date: `${MONTH}-30` });
      printTable(
        `Named queries over ${fmt(Number(n), 0)} events in ${MONTH} (DuckDB, 2 threads; ${QUERY_RUNS} runs)`,
        ['query', 'first run s', 'median s', 'rows', 'target'],
        [
          ['billing_by_tenant', fmt(billingTimes.first, 3), fmt(billingTimes.median, 3), String(billingTimes.rows), '<= 2 s'],
          ['latency_by_operation', fmt(latencyTimes.first, 3), fmt(latencyTimes.median, 3), String(latencyTimes.rows), '<= 2 s'],
        ],
      );
    } finally {
      await big.close();
    }
  } finally {
    connection.closeSync();
    generator.closeSync();
    rmSync(root, { recursive: true, force: true });
  }
}
