import { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { TRINO_COMPAT_MACROS } from '../../local/lake/trino-compat';

/**
 * approx_percentile as the local lake runs it (local/lake/trino-compat.ts), on a real DuckDB: the
 * Trino signatures (https://trino.io/docs/current/functions/aggregate.html#approx_percentile), one
 * aggregate per group for every percentage, and an answer any approximation's tolerance admits.
 */

/** Nearest-rank percentile (0-based index) of n sorted values. */
const nearestRank = (n: number, p: number) => Math.max(0, Math.ceil(p * n) - 1);

describe('approx_percentile on DuckDB (the local twin of Athena\'s)', () => {
  let instance: DuckDBInstance;
  let connection: DuckDBConnection;
  const rows = async (sql: string) => (await connection.runAndReadAll(sql)).getRowsJS();

  beforeAll(async () => {
    instance = await DuckDBInstance.create(':memory:', { threads: '2' });
    connection = await instance.connect();
    for (const macro of TRINO_COMPAT_MACROS) await connection.run(macro);
  });

  afterAll(() => {
    connection.closeSync();
    instance.closeSync();
  });

  it('takes one percentage or an ARRAY of them, and answers in DECIMAL(18, 3): the nearest-rank value to the microsecond, read as plain numbers', async () => {
    const [[one, many, double, type]] = await rows(
      `SELECT approx_percentile(x, 0.5), approx_percentile(x, ARRAY[0.5, 0.95]), approx_percentile(CAST(x AS DOUBLE) / 2, ARRAY[0.5]),
              typeof(approx_percentile(CAST(x AS DOUBLE) / 2, 0.5)) FROM range(1, 101) t(x)`,
    );
    // The nearest ranks of 1..100: the 50th and the 95th.
    expect(one).toBe(50);
    expect(many).toEqual([50, 95]);
    expect(double).toEqual([25]);
    expect(type).toBe('DECIMAL(18,3)');
  });

  it('keeps three decimals of a millisecond figure and rounds what lies beyond them', async () => {
    const [[median, p99]] = await rows('SELECT approx_percentile(x, 0.5), approx_percentile(x, 0.99) FROM (VALUES (1.0004), (12.3456), (250.25)) t(x)');
    expect(median).toBe(12.346);
    expect(p99).toBe(250.25);
  });

  it('refuses a value DECIMAL(18, 3) cannot hold rather than answering wrong', async () => {
    await expect(rows('SELECT approx_percentile(x, 0.5) FROM (VALUES (1e16)) t(x)')).rejects.toThrow(/out of range|Could not cast|Conversion/i);
  });

  it('answers small groups with the nearest rank or the one just above it, never below (p99 of 10 values: the 10th)', async () => {
    const percentages = [0.5, 0.95, 0.99];
    const [[answers]] = await rows(
      `SELECT list(p ORDER BY n) FROM (SELECT n, approx_percentile(x, ARRAY[${percentages.join(', ')}]) AS p FROM (SELECT n, x FROM range(1, 61) a(n), range(n) b(x)) GROUP BY n)`,
    );
    const byGroup = (answers as number[][]).map((list) => list.map(Number));
    expect(byGroup).toHaveLength(60);
    byGroup.forEach((values, index) => {
      const n = index + 1;
      values.forEach((value, i) => {
        expect(value).toBeGreaterThanOrEqual(nearestRank(n, percentages[i]));
        expect(value).toBeLessThanOrEqual(Math.min(n - 1, nearestRank(n, percentages[i]) + 1));
      });
    });
    expect(byGroup[9].slice(1)).toEqual([9, 9]);
  });

  it('stays within half a percentage point of rank on a large group in scan order (1 M values; DuckDB 1.5 reservoir_quantile gives 4095 for the median)', async () => {
    const [[answer]] = await rows('SELECT approx_percentile(x, ARRAY[0.5, 0.95, 0.99]) FROM range(1000000) t(x)');
    const values = (answer as number[]).map(Number);
    [0.5, 0.95, 0.99].forEach((p, i) => {
      expect(Math.abs(values[i] / 1_000_000 - p)).toBeLessThan(0.005);
    });
  });

  it('builds one aggregate per group for all the percentages of an ARRAY, not one per percentage', async () => {
    const plan = (await rows('EXPLAIN SELECT g, approx_percentile(x, ARRAY[0.5, 0.95, 0.99]) FROM (SELECT x % 3 AS g, x FROM range(100) t(x)) GROUP BY g'))
      .map((row) => row[1] as string)
      .join('\n');
    // The group-by's aggregates: one quantile aggregate over one column, whatever the percentages.
    expect(plan.match(/(quantile_disc|reservoir_quantile|approx_quantile)\(#\d+\)/g)).toHaveLength(1);
  });
});
