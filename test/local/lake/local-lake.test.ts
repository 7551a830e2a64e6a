import { mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { isDeepStrictEqual } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { renderCuratedColumnsJson } from '../../../contracts/generated-artifacts';
import { CURATED_COLUMNS } from '../../../contracts/curated-columns';
import { CURATED_PARTITION_KEYS, LAKE_PREFIXES, curatedPartitionOf, curatedPartitionPrefix, curationErrorsPartitionPrefix } from '../../../contracts/lake-layout';
import { QueryParameterError } from '../../../contracts/named-queries';
import { CompactionResult, LocalLake, QueryResult, listFiles } from '../../../local/lake/local-lake';
import {
  CuratedEvent,
  deduplicate,
  expectedBilling,
  expectedErrorRates,
  expectedFeatureUsage,
  expectedLatency,
  expectedRateLimited,
  expectedTrafficSummary,
  expectedTimeline,
  expectedTrending,
  expectedUsageByApiKey,
  quantile,
} from '../../support/expected-answers';
import { RawObject, UsageDataset, generateUsageDataset, writePriceList, writeRawObjects } from '../../support/usage-dataset';
import { dataDirLayout } from '../../../local/data-dir';

/** The event ids of the valid lines in some raw objects, in delivery order, copies included. */
function deliveredEventIds(objects: readonly RawObject[], dataset: UsageDataset): string[] {
  const malformed = new Set(dataset.malformed.map((m) => m.line));
  return objects
    .flatMap((o) => o.lines)
    .filter((line) => line.trim() !== '' && !malformed.has(line))
    .map((line) => (JSON.parse(line) as { detail: { eventId: string } }).detail.eventId);
}

/** A row without one of its columns. */
const without = (row: Record<string, unknown>, column: string) => Object.fromEntries(Object.entries(row).filter(([name]) => name !== column));

/** Keyed rows, so results compare independently of tie order. */
const byKey = (rows: readonly Record<string, unknown>[], ...keys: string[]) => new Map(rows.map((row) => [keys.map((k) => String(row[k])).join('|'), row]));

/** A percentile the approximate function returned lies between the exact ones a little below and above it. */
function expectApproxQuantile(value: unknown, sorted: readonly number[], p: number): void {
  expect(typeof value).toBe('number');
  // approx_percentile is approximate on Athena (a digest that interpolates between neighbouring
  // ranks) and the exact nearest-rank value locally (local/lake/trino-compat.ts): five points either way.
  expect(value as number).toBeGreaterThanOrEqual(quantile(sorted, p - 0.05) - 1e-3);
  expect(value as number).toBeLessThanOrEqual(quantile(sorted, p + 0.05) + 1e-3);
}

describe('LocalLake on DuckDB: the Glue job and Athena on one machine', () => {
  let dataDir: string;
  let dataset: UsageDataset;
  let lake: LocalLake;
  let first: CompactionResult;
  let second: CompactionResult;
  let again: CompactionResult;
  let events: CuratedEvent[];

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'local-lake-'));
    dataset = generateUsageDataset(new Date());
    events = deduplicate(dataset.deliveries);
    writePriceList(dataDir, dataset.prices);
    writeRawObjects(dataDir, dataset.firstBatch);
    lake = await LocalLake.open(dataDir);
    first = await lake.compact(dataset.now);
    writeRawObjects(dataDir, dataset.secondBatch);
    second = await lake.compact(dataset.now);
    again = await lake.compact(dataset.now);
  });

  afterAll(async () => {
    await lake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const run = (name: string, parameters: Record<string, string> = {}): Promise<QueryResult> => lake.runNamedQuery(name, parameters);

  describe('compaction (the Glue job twin)', () => {
    it('reads every raw line, rejects the malformed ones and drops the copies of an event delivered twice within the run', () => {
      const lines = dataset.firstBatch.flatMap((o) => o.lines).filter((l) => l.trim() !== '').length;
      const delivered = deliveredEventIds(dataset.firstBatch, dataset);
      const copies = delivered.length - new Set(delivered).size;
      expect(copies).toBeGreaterThan(0);
      expect(first).toMatchObject({ files: dataset.firstBatch.length, lines, malformed: dataset.malformed.length, duplicates: copies });
      expect(first.rows).toBe(lines - dataset.malformed.length - copies);
    });

    it('drops copies of events an earlier run curated, and reads nothing when no raw object is new', () => {
      const curatedBefore = new Set(deliveredEventIds(dataset.firstBatch, dataset));
      const delivered = deliveredEventIds(dataset.secondBatch, dataset);
      const newEvents = new Set(delivered.filter((id) => !curatedBefore.has(id)));
      expect(newEvents.size).toBeLessThan(delivered.length);
      expect(second).toMatchObject({ files: dataset.secondBatch.length, rows: newEvents.size, duplicates: delivered.length - newEvents.size, malformed: 0 });
      expect(again).toMatchObject({ files: 0, lines: 0, rows: 0 });
    });

    it('holds exactly one row per event, the first copy received, with the contracts columns', async () => {
      const result = await lake.query('SELECT event_id, received_at, occurred_at, billable_units FROM usage_events ORDER BY event_id');
      expect(result.rows).toHaveLength(events.length);
      const expected = [...events].sort((a, b) => a.eventId.localeCompare(b.eventId));
      expect(result.rows.map((r) => [r.event_id, r.received_at, r.occurred_at, r.billable_units])).toEqual(
        expected.map((e) => [e.eventId, e.receivedAt.toISOString(), e.occurredAt.toISOString(), e.billableUnits]),
      );
      const columns = await lake.query('SELECT * FROM usage_events LIMIT 1');
      expect(columns.columns).toEqual([...CURATED_COLUMNS.map((c) => c.name), ...CURATED_PARTITION_KEYS]);
    });

    it('partitions by event time as the contract lays partitions out, so late events land on their own day', async () => {
      const late = events.filter((e) => e.occurredAt.toISOString().startsWith('2026-10-31T23:59'));
      expect(late.length).toBeGreaterThan(0);
      expect(late.every((e) => e.receivedAt.toISOString() >= '2026-11-01')).toBe(true);
      const folders = new Set((await listFiles(path.join(dataDir, LAKE_PREFIXES.curated), '.parquet')).map((file) => `${path.relative(dataDir, path.dirname(file)).split(path.sep).join('/')}/`));
      expect([...folders].sort()).toEqual([...new Set(events.map((e) => curatedPartitionPrefix(e.occurredAt)))].sort());
      const rows = await lake.query('SELECT occurred_at, year, month, day FROM usage_events');
      expect(rows.rows.filter((r) => !isDeepStrictEqual({ year: r.year, month: r.month, day: r.day }, curatedPartitionOf(new Date(String(r.occurred_at)))))).toEqual([]);
    });

    it('writes each malformed line with its reason and raw object to the run day\'s errors/glue/ partition', async () => {
      const files = await listFiles(path.join(dataDir, LAKE_PREFIXES.glueErrors), '.json.gz');
      expect(files.map((file) => path.relative(dataDir, file))).toEqual([`${curationErrorsPartitionPrefix(dataset.now)}errors-${first.runId}.json.gz`]);
      const records = gunzipSync(readFileSync(files[0])).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string; line: string; raw_object: string });
      expect(records.map((r) => [r.line, r.reason]).sort()).toEqual(dataset.malformed.map((m) => [m.line, m.reason]).sort());
      expect(records.every((r) => r.raw_object.includes(`${path.sep}raw${path.sep}year=`))).toBe(true);
    });

    it('gives the same rows when the bookmark is lost and every raw object is read again', async () => {
      // A data folder of its own: this test changes the bookmark the others rely on.
      const ownDir = mkdtempSync(path.join(tmpdir(), 'local-lake-bookmark-'));
      const own = await LocalLake.open(ownDir);
      try {
        writeRawObjects(ownDir, [...dataset.firstBatch, ...dataset.secondBatch]);
        await own.compact(dataset.now);
        const before = await own.query('SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM usage_events');
        unlinkSync(dataDirLayout(ownDir).compactionBookmark);
        const rerun = await own.compact(dataset.now);
        expect(rerun.files).toBe(dataset.firstBatch.length + dataset.secondBatch.length);
        expect(rerun.rows).toBe(0);
        expect(await own.query('SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM usage_events')).toEqual(before);
        expect(before.rows[0]).toEqual({ n: events.length, ids: events.length });
      } finally {
        await own.close();
        rmSync(ownDir, { recursive: true, force: true });
      }
    });

    it('keeps its bookmark across restarts', async () => {
      const reopened = await LocalLake.open(dataDir);
      try {
        expect((await reopened.compact()).files).toBe(0);
        expect((await reopened.query('SELECT count(*) AS n FROM usage_events')).rows[0].n).toBe(events.length);
      } finally {
        await reopened.close();
      }
    });
  });

  it('curates exactly as the Glue job does: the same rows, the same rejected lines, compatible reasons', async () => {
    const python = spawnSync('python3', ['-B', path.join(__dirname, '..', '..', 'support', 'glue-job-curate.py')], {
      input: JSON.stringify({
        spec: JSON.parse(renderCuratedColumnsJson()) as unknown,
        batches: [dataset.firstBatch.flatMap((o) => o.lines), dataset.secondBatch.flatMap((o) => o.lines)],
      }),
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(python.stderr).toBe('');
    const glue = JSON.parse(python.stdout) as { rows: Record<string, unknown>[]; errors: { reason: string; line: string }[] };
    const normalise = (row: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(v) ? Date.parse(v) : v]));
    const local = await lake.query(`SELECT * FROM usage_events ORDER BY event_id`);
    expect(local.rows.map(normalise)).toEqual(glue.rows.sort((a, b) => String(a.event_id).localeCompare(String(b.event_id))).map(normalise));
    const localErrors = await lake.query(`SELECT reason, line FROM read_json('${path.join(dataDir, LAKE_PREFIXES.glueErrors)}/**/*.json.gz')`);
    const reasons = new Map(localErrors.rows.map((r) => [r.line as string, r.reason as string]));
    expect([...reasons.keys()].sort()).toEqual(glue.errors.map((e) => e.line).sort());
    const disagreements = glue.errors.filter((e) => !e.reason.startsWith(reasons.get(e.line)!)).map((e) => ({ glue: e.reason, local: reasons.get(e.line) }));
    expect(disagreements).toEqual([]);
  });

  describe('named queries against an independent computation', () => {
    it('usage_events_deduped has one row per event and duplicate_event_ids finds none', async () => {
      expect((await lake.query('SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM usage_events_deduped')).rows[0]).toEqual({ n: events.length, ids: events.length });
      expect((await run('duplicate_event_ids', { start_date: '2000-01-01', end_date: '2999-12-31' })).rows).toEqual([]);
    });

    it.each(['2026-10', '2026-11'])('billing_by_tenant for %s counts billable deduplicated calls by event time, priced per operation', async (month) => {
      const result = await run('billing_by_tenant', { month });
      expect(result.columns).toEqual(['tenant_id', 'calls', 'billable_units', 'amount', 'currency']);
      const expected = expectedBilling(events, dataset.prices, month);
      expect(result.rows).toHaveLength(expected.length);
      const actual = byKey(result.rows, 'tenant_id');
      for (const row of expected) {
        const got = actual.get(row.tenant_id)!;
        expect({ ...got, amount: undefined }).toEqual({ ...row, amount: undefined });
        expect(got.amount as number).toBeCloseTo(row.amount, 6);
      }
      const amounts = result.rows.map((r) => r.amount as number);
      expect(amounts).toEqual([...amounts].sort((a, b) => b - a));
    });

    it('usage_by_api_key counts calls and units per tenant and key, with the last use', async () => {
      const result = await run('usage_by_api_key', { month: '2026-11' });
      const expected = expectedUsageByApiKey(events, '2026-11');
      expect(byKey(result.rows, 'tenant_id', 'api_key_id')).toEqual(byKey(expected, 'tenant_id', 'api_key_id'));
    });

    it('feature_usage counts calls and distinct tenants per feature', async () => {
      const result = await run('feature_usage', { start_date: '2026-10-01', end_date: '2026-11-30' });
      expect(result.columns).toEqual(['feature', 'calls', 'tenants']);
      expect(byKey(result.rows, 'feature')).toEqual(byKey(expectedFeatureUsage(events, '2026-10-01', '2026-11-30'), 'feature'));
    });

    it('trending_features compares the last 7 days with the 7 before', async () => {
      const result = await run('trending_features', { as_of: '2026-11-14' });
      expect(byKey(result.rows, 'feature')).toEqual(byKey(expectedTrending(events, '2026-11-14'), 'feature'));
    });

    it('latency_by_operation gives calls exactly and percentiles within the approximation', async () => {
      const result = await run('latency_by_operation', { start_date: '2026-10-01', end_date: '2026-10-31' });
      expect(result.columns).toEqual(['service', 'operation', 'calls', 'p50_ms', 'p95_ms', 'p99_ms']);
      const expected = expectedLatency(events, '2026-10-01', '2026-10-31');
      expect(result.rows).toHaveLength(expected.length);
      const actual = byKey(result.rows, 'service', 'operation');
      for (const row of expected) {
        const got = actual.get(`${row.service}|${row.operation}`)!;
        expect(got.calls).toBe(row.calls);
        expectApproxQuantile(got.p50_ms, row.latencies, 0.5);
        expectApproxQuantile(got.p95_ms, row.latencies, 0.95);
        expectApproxQuantile(got.p99_ms, row.latencies, 0.99);
      }
    });

    it('error_rates counts 5xx per operation', async () => {
      const result = await run('error_rates', { start_date: '2026-10-01', end_date: '2026-11-30' });
      expect(byKey(result.rows, 'service', 'operation')).toEqual(byKey(expectedErrorRates(events, '2026-10-01', '2026-11-30'), 'service', 'operation'));
    });

    it('rate_limited_by_tenant counts 429s per tenant', async () => {
      const result = await run('rate_limited_by_tenant', { start_date: '2026-10-01', end_date: '2026-11-30' });
      const expected = expectedRateLimited(events, '2026-10-01', '2026-11-30');
      expect(byKey(result.rows.map((row) => without(row, 'tier')), 'tenant_id')).toEqual(byKey(expected, 'tenant_id'));
    });

    it.each([
      ['last_hour', 3_600_000],
      ['last_24h', 24 * 3_600_000],
      ['all', Date.now()],
    ] as const)('traffic_summary over %s: an (all) row, then one per operation', async (window, span) => {
      const since = new Date(Date.now() - span);
      const result = await run('traffic_summary', { window });
      expect(result.columns).toEqual(['operation', 'requests', 'error_rate', 'avg_latency_ms', 'p95_latency_ms']);
      const expected = expectedTrafficSummary(events, since);
      expect(result.rows[0].operation).toBe('(all)');
      expect(result.rows).toHaveLength(expected.length);
      const actual = byKey(result.rows, 'operation');
      for (const row of expected) {
        const got = actual.get(row.operation)!;
        expect(got).toMatchObject({ requests: row.requests, error_rate: row.error_rate });
        expect(got.avg_latency_ms as number).toBeCloseTo(row.avg_latency_ms, 3);
        expectApproxQuantile(got.p95_latency_ms, row.latencies, 0.95);
      }
    });

    it.each([
      ['last_hour', 3_600_000, 60_000],
      ['last_24h', 24 * 3_600_000, 3_600_000],
      ['all', Date.now(), 86_400_000],
    ] as const)('traffic_timeline over %s counts requests, errors and 429s per bucket', async (window, span, bucketMs) => {
      const result = await run('traffic_timeline', { window });
      expect(result.columns).toEqual(['bucket_start', 'requests', 'errors', 'rate_limited', 'p95_latency_ms']);
      const expected = expectedTimeline(events, new Date(Date.now() - span), bucketMs);
      expect(expected.length).toBeGreaterThan(0);
      expect(result.rows.map((row) => without(row, 'p95_latency_ms'))).toEqual(expected);
    });

    it('names a missing or malformed parameter, or an unknown query, before DuckDB runs', async () => {
      await expect(run('billing_by_tenant')).rejects.toThrow('billing_by_tenant needs month=YYYY-MM: Billing month of event time (UTC), e.g. 2026-11 [a month as YYYY-MM (01-12)]');
      await expect(run('billing_by_tenant', { month: '2026-1' })).rejects.toThrow('month=2026-1: month must be a month as YYYY-MM (01-12); got "2026-1"');
      await expect(run('feature_usage', { start_date: '2026-10-1', end_date: '2026-11-30' })).rejects.toThrow(QueryParameterError);
      await expect(run('no_such_query')).rejects.toThrow(/No named query "no_such_query"\. Known: .*billing_by_tenant/);
    });
  });
});
