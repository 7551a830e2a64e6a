import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { FIREHOSE_RAW_PREFIX, renderFirehosePrefix } from '../../../contracts/lake-layout';
import { RESERVED_TENANT_IDS } from '../../../contracts/tenants';
import { REFUSED_ANONYMOUS_AGGREGATE } from '../../../contracts/usage-aggregates';
import { LocalLake } from '../../../local/lake/local-lake';
import { RefusedAnonymousAggregator } from '../../../lambdas/access-log/gateway-answers';
import { DatasetEvent, envelopeLine, writeRawObjects } from '../../support/usage-dataset';

// The access-log handler records a flood of refused anonymous requests as one event per route,
// status and minute; every query that counts requests must count what such an event stands for.
describe('Aggregated refused requests are counted as the requests they stand for', () => {
  const day = '2026-11-20';
  const at = (minute: number) => new Date(Date.parse(`${day}T10:00:00Z`) + minute * 60_000);
  /** Anonymous requests API Gateway refused in one minute: throttled (429), and failing (503). */
  const THROTTLED = 50;
  const FAILING = 7;
  /** Ordinary events of tenant acme besides the aggregates: one answered 200, one 429. */
  const ACME_CALLS = 2;
  const ACME_RATE_LIMITED = 1;
  const ANONYMOUS = THROTTLED + FAILING;
  const REQUESTS = ANONYMOUS + ACME_CALLS;
  let dataDir: string;
  let lake: LocalLake;

  beforeAll(async () => {
    const aggregator = new RefusedAnonymousAggregator();
    // Throttled and failing anonymous requests in one minute, as API Gateway logged them.
    for (let i = 0; i < ANONYMOUS; i++) {
      aggregator.absorb({
        eventId: `apigw-req-${i}`,
        service: 'metered-api',
        occurredAt: at(0),
        tenantId: RESERVED_TENANT_IDS.anonymous,
        operation: 'GET /v1/products',
        method: 'GET',
        statusCode: i < THROTTLED ? 429 : 503,
        latencyMs: 2,
      });
    }
    const aggregates = aggregator.drain();
    expect(aggregates).toHaveLength(2); // one per status of the minute
    const single = (id: string, statusCode: number, tenantId: string) => ({
      eventId: id, schemaVersion: '1' as const, occurredAt: at(1).toISOString(), service: 'metered-api', tenantId,
      operation: 'GET /v1/products', method: 'GET', statusCode, latencyMs: 10,
    });
    const events: DatasetEvent[] = [
      ...aggregates.map((a) => ({
        detail: { ...a, schemaVersion: '1' as const, eventId: a.eventId!, occurredAt: (a.occurredAt as Date).toISOString() },
        receivedAt: at(2).toISOString(),
        source: 'my-applications',
      })),
      // An ordinary event whose producer happens to use a `requests` attribute: it stays one request.
      { detail: { ...single('evt-tagged-0001', 200, 'acme'), attributes: { [REFUSED_ANONYMOUS_AGGREGATE.countAttribute]: '1000' } }, receivedAt: at(2).toISOString(), source: 'my-applications' },
      { detail: single('evt-plain-0002', 429, 'acme'), receivedAt: at(2).toISOString(), source: 'my-applications' },
    ] as DatasetEvent[];
    dataDir = mkdtempSync(path.join(tmpdir(), 'aggregate-requests-'));
    writeRawObjects(dataDir, [{ key: `${renderFirehosePrefix(FIREHOSE_RAW_PREFIX, at(2))}agg.gz`, lines: events.map(envelopeLine) }]);
    lake = await LocalLake.open(dataDir);
    const run = await lake.compact();
    expect(run.rows).toBe(events.length);
  });

  afterAll(async () => {
    await lake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('gives each aggregate the count of requests it stands for, and every other row (a `requests` attribute included) a count of 1', async () => {
    const { rows } = await lake.query('SELECT event_id, request_count FROM usage_events_deduped ORDER BY event_id');
    expect(rows.map((r) => Number(r.request_count)).sort((a, b) => a - b)).toEqual([...Array<number>(ACME_CALLS).fill(1), FAILING, THROTTLED]);
  });

  it('error_rates, rate_limited_by_tenant, traffic_summary and traffic_timeline count the requests, not the rows', async () => {
    const errors = await lake.runNamedQuery('error_rates', { start_date: day, end_date: day });
    expect(errors.rows.map((r) => [Number(r.calls), Number(r.errors)])).toEqual([[REQUESTS, FAILING]]);
    const limited = await lake.runNamedQuery('rate_limited_by_tenant', { start_date: day, end_date: day });
    const byTenant = Object.fromEntries(limited.rows.map((r) => [String(r.tenant_id), [Number(r.calls), Number(r.rate_limited)]]));
    expect(byTenant).toEqual({ [RESERVED_TENANT_IDS.anonymous]: [ANONYMOUS, THROTTLED], acme: [ACME_CALLS, ACME_RATE_LIMITED] });
    const summary = await lake.runNamedQuery('traffic_summary', { window: 'all' });
    expect(Number(summary.rows[0].requests)).toBe(REQUESTS);
    const timeline = await lake.runNamedQuery('traffic_timeline', { window: 'all' });
    expect(timeline.rows.map((r) => [Number(r.requests), Number(r.errors), Number(r.rate_limited)])).toEqual([[REQUESTS, FAILING, THROTTLED + ACME_RATE_LIMITED]]);
  });
});
