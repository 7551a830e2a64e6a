/**
 * Queries benchmark: `latency_by_operation` (three percentiles from one approx_percentile sketch
 * per group) against a plain GROUP BY count over the same curated Parquet, the same days and the
 * same groups, in paired interleaved rounds. For reference, the same pairing for the query as it
 * was (three approx_percentile calls, three sketches per group) against the one-sketch query, and
 * the one-sketch query with DuckDB's t-digest (approx_quantile), and with quantile_disc over the
 * doubles themselves, in place of the compat layer's quantile_disc over DECIMAL(18, 3), each
 * against the same count, and the floor under any percentile (the same scan
 * reading latency_ms too, with min as its only extra aggregate) against the count. The main
 * figure's ratio is also printed round by round.
 *
 * The lake is written straight as curated Parquet (the Glue job's layout) by
 * bench/support/synthetic-lake.ts, as the lake bench's query section does; its size is
 * BENCH_QUERIES_EVENTS (default 10 M), the rounds BENCH_QUERIES_ROUNDS (default 6, at least 6).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { LAKE_PREFIXES } from '../contracts/lake-layout';
import { sqlString } from '../local/lake/curation-sql';
import { LocalLake } from '../local/lake/local-lake';
import { fmt, fmtSpread, pairedRounds, printTable, timed } from './support/measure';
import { writeSyntheticCuratedLake } from './support/synthetic-lake';

const EVENTS = Number(process.env.BENCH_QUERIES_EVENTS ?? 10_000_000);
const ROUNDS = Number(process.env.BENCH_QUERIES_ROUNDS ?? 6);
const MONTH = '2026-09';
const START = `${MONTH}-01`;
const END = `${MONTH}-30`;
/** The issue's target: latency_by_operation at most this many times the plain GROUP BY count. */
const TARGET_RATIO = 4;

/** The baseline: the named query's scan, filter and grouping, with count(*) as the only aggregate. */
const COUNT_SQL = `SELECT service, operation, count(*) AS calls
FROM usage_events_deduped
WHERE concat(year, '-', month, '-', day) BETWEEN ${sqlString(START)} AND ${sqlString(END)}
GROUP BY service, operation`;

/** The query as it was before: three approx_percentile calls, so three sketches (locally, three passes) per group. */
const THREE_SKETCHES_SQL = `SELECT service, operation, count(*) AS calls,
  approx_percentile(latency_ms, 0.5) AS p50_ms,
  approx_percentile(latency_ms, 0.95) AS p95_ms,
  approx_percentile(latency_ms, 0.99) AS p99_ms
FROM usage_events_deduped
WHERE concat(year, '-', month, '-', day) BETWEEN ${sqlString(START)} AND ${sqlString(END)}
GROUP BY service, operation
ORDER BY p95_ms DESC, service, operation`;

/** The floor under any percentile: the same scan reading latency_ms too, with the cheapest aggregate over it. */
const READ_LATENCY_SQL = COUNT_SQL.replace('count(*) AS calls', 'count(*) AS calls, min(latency_ms) AS fastest_ms');

/** Per-group call counts, keyed `service|operation`. */
function callsByGroup(rows: readonly Record<string, unknown>[]): Map<string, number> {
  return new Map(rows.map((row) => [`${String(row.service)}|${String(row.operation)}`, Number(row.calls)]));
}

export async function queriesBenchmark(): Promise<void> {
  const root = mkdtempSync(path.join(tmpdir(), 'queries-bench-'));
  try {
    const curated = path.join(root, LAKE_PREFIXES.curated);
    mkdirSync(curated, { recursive: true });
    console.log(`generating a curated lake of ${fmt(EVENTS, 0)} events over 30 days of ${MONTH} ...`);
    const generator = await DuckDBInstance.create(':memory:', { threads: '2', preserve_insertion_order: 'false' });
    const connection = await generator.connect();
    try {
      await connection.run(`SET TimeZone = 'UTC'`);
      await writeSyntheticCuratedLake(connection, curated, EVENTS, START, 30);
    } finally {
      connection.closeSync();
      generator.closeSync();
    }

    const lake = await LocalLake.open(root);
    try {
      const latency = () => timed(() => lake.runNamedQuery('latency_by_operation', { start_date: START, end_date: END }));
      const count = () => timed(() => lake.query(COUNT_SQL));
      const threeSketches = () => timed(() => lake.query(THREE_SKETCHES_SQL));
      // The same named query with DuckDB's own t-digest in place of the compat layer's mapping.
      const named = lake.namedQueries.find((q) => q.name === 'latency_by_operation');
      if (!named) throw new Error('The named query latency_by_operation is missing.');
      const tdigestSql = named.sql.replace('?', sqlString(START)).replace('?', sqlString(END)).replaceAll('approx_percentile(', 'approx_quantile(');
      const tdigest = () => timed(() => lake.query(tdigestSql));
      // ... and with quantile_disc over the doubles, as the compat layer mapped it before it took them as DECIMAL(18, 3).
      const overDoubles = () => timed(() => lake.query(tdigestSql.replaceAll('approx_quantile(', 'quantile_disc(')));

      // The answers agree before anything is timed: the same groups, the same calls.
      const [one, plain, three, digest, doubles] = [await latency(), await count(), await threeSketches(), await tdigest(), await overDoubles()];
      const expected = callsByGroup(plain.value.rows);
      for (const [label, rows] of [['latency_by_operation', one.value.rows], ['three sketches', three.value.rows], ['t-digest', digest.value.rows], ['over doubles', doubles.value.rows]] as const) {
        const got = callsByGroup(rows);
        if (got.size !== expected.size || [...expected].some(([key, calls]) => got.get(key) !== calls)) {
          throw new Error(`${label} does not count the same calls per group as the plain GROUP BY.`);
        }
      }
      const events = [...expected.values()].reduce((sum, calls) => sum + calls, 0);

      const main = await pairedRounds({ rounds: ROUNDS, warmUp: false, a: latency, b: count });
      const digestVsCount = await pairedRounds({ rounds: ROUNDS, warmUp: false, a: tdigest, b: count });
      const doublesVsCount = await pairedRounds({ rounds: ROUNDS, warmUp: false, a: overDoubles, b: count });
      const old = await pairedRounds({ rounds: ROUNDS, warmUp: false, a: threeSketches, b: latency });
      const floor = await pairedRounds({ rounds: ROUNDS, warmUp: false, a: () => timed(() => lake.query(READ_LATENCY_SQL)), b: count });
      const seconds = (figure: { seconds: number }) => figure.seconds;
      const ratio = main.ratio(seconds);
      printTable(
        `Named query latency_by_operation over ${fmt(events, 0)} events in ${String(expected.size)} groups (DuckDB, 2 threads; ${String(main.rounds.length)} paired rounds, A-B then B-A; min / median / max)`,
        ['A against B', 'A seconds', 'B seconds', 'A / B per round', 'target'],
        [
          [
            'latency_by_operation (one sketch) / plain GROUP BY count',
            fmtSpread(main.spreadOf('a', seconds), 3),
            fmtSpread(main.spreadOf('b', seconds), 3),
            `${fmtSpread(ratio, 2)}×`,
            `≤ ${String(TARGET_RATIO)}× ${ratio.max <= TARGET_RATIO ? 'met' : ratio.median <= TARGET_RATIO ? 'met at the median' : 'MISSED'}`,
          ],
          [
            'the same with DuckDB\'s t-digest (approx_quantile) / count',
            fmtSpread(digestVsCount.spreadOf('a', seconds), 3),
            fmtSpread(digestVsCount.spreadOf('b', seconds), 3),
            `${fmtSpread(digestVsCount.ratio(seconds), 2)}×`,
            '',
          ],
          [
            'the same with quantile_disc over the doubles / count',
            fmtSpread(doublesVsCount.spreadOf('a', seconds), 3),
            fmtSpread(doublesVsCount.spreadOf('b', seconds), 3),
            `${fmtSpread(doublesVsCount.ratio(seconds), 2)}×`,
            '',
          ],
          [
            'reading latency_ms too (min, no percentile) / count',
            fmtSpread(floor.spreadOf('a', seconds), 3),
            fmtSpread(floor.spreadOf('b', seconds), 3),
            `${fmtSpread(floor.ratio(seconds), 2)}×`,
            '',
          ],
          [
            'three approx_percentile calls (as before) / one',
            fmtSpread(old.spreadOf('a', seconds), 3),
            fmtSpread(old.spreadOf('b', seconds), 3),
            `${fmtSpread(old.ratio(seconds), 2)}×`,
            '',
          ],
        ],
      );
      console.log(
        `\nlatency_by_operation / count, round by round: ${main.rounds.map((r) => `${fmt(seconds(r.a) / seconds(r.b), 2)}× (${r.order})`).join(', ')}`,
      );
      console.log(
        '\nBoth sides read the same Parquet through the same view, filter and grouping; only the aggregates differ. Locally approx_percentile is DuckDB\'s exact quantile_disc over latency_ms as DECIMAL(18, 3), exact to the microsecond (local/lake/trino-compat.ts); Athena runs the same SQL with Trino\'s approximation.',
      );
    } finally {
      await lake.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
