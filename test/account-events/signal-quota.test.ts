import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ACCOUNT_EVENT_LOG_LINE, AccountEventDetail, QUOTA_THRESHOLDS, accountEventIds, quotaThresholdCrossed } from '../../contracts/account-events';
import { dayCounter, monthCounter, periodBounds, weekCounter } from '../../contracts/limiter-item';
import { TierName, TierPolicy, TierQuota, resolveTierPolicies } from '../../contracts/tiers';
import { ACCOUNT_EVENT_LINE } from '../../contracts/usage-log-line';
import { quotaPeriodKey, quotaThresholdEvent, quotaThresholdRecorder } from '../../lambdas/account-events/account-event-log';
import type { AuthorizerContext } from '../../lambdas/auth/authenticator';
import { CredentialStore } from '../../lambdas/credentials/credential-store';
import { AuthorizedEvent, meteredRoute } from '../../lambdas/http/metered-route';
import { TokenBucketLimiter } from '../../lambdas/limiter/token-bucket-limiter';
import { readLogLines } from '../../lambdas/usage-log/usage-log-forwarder';
import { UsageLogWriter } from '../../lambdas/usage-log/usage-log-writer';
import { startDynalite } from '../support/dynalite';

const logger = new Logger({ logLevel: 'SILENT' });
const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });

describe('Quota thresholds without zod on the request path (account-event-log.ts)', () => {
  it('each threshold is reached by exactly one count of a quota, for quotas 1 to 300 (80 % rounded up, unless that is the quota)', () => {
    for (let limit = 1; limit <= 300; limit++) {
      const reached = Array.from({ length: limit + 3 }, (_, used) => quotaThresholdCrossed(used, limit));
      expect(reached.filter((t) => t === 100)).toHaveLength(1);
      expect(reached.filter((t) => t === 80)).toHaveLength(Math.ceil(limit * 0.8) < limit ? 1 : 0);
    }
    expect(Array.from({ length: 12 }, (_, used) => quotaThresholdCrossed(used, 10))).toEqual([...Array<undefined>(8).fill(undefined), 80, undefined, 100, undefined]);
  });

  it('the route bundles take their names from the zod-free contract', () => {
    for (const threshold of QUOTA_THRESHOLDS) expect(accountEventIds.ofQuota(threshold, 'acme', 'w2026-W48')).toBe(`quota-${String(threshold)}.acme.w2026-W48`);
    expect(ACCOUNT_EVENT_LINE).toBe(ACCOUNT_EVENT_LOG_LINE);
  });

  it.each([
    ['day', dayCounter],
    ['week', weekCounter],
    ['month', monthCounter],
  ] as const)('names the %s whose count the request reached, also when it finishes just after the period ended', (period, counter) => {
    // Prepare: decided 100 ms before the period's end, finished 150 ms after it.
    const { start, end } = periodBounds(period, new Date('2026-11-30T12:00:00Z'));
    const decidedAt = end - 100;
    const quota = { period, limit: 10, used: 8, resetSeconds: Math.ceil((end - decidedAt) / 1000), windowSeconds: (end - start) / 1000 };
    // Act
    const key = quotaPeriodKey(quota, end + 150);
    // Assess
    expect(key).toBe(counter(new Date(decidedAt)));
    expect(key).not.toBe(counter(new Date(end + 150)));
  });
});

/**
 * Integration (dynalite, the real limiter): the route writes each quota threshold's account-event
 * line exactly once, however many concurrent requests pass it, through the usage lines' sink.
 */
describe('Integration: quota threshold lines from meteredRoute (dynalite, the real TokenBucketLimiter)', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let store: CredentialStore;
  let now = Date.parse('2026-11-30T10:00:00Z');
  const clock = () => now;
  const tiers = (quota: TierQuota): Readonly<Record<TierName, TierPolicy>> => resolveTierPolicies({ basic: { requestsPerMinute: 60_000, burst: 1000, quota } });
  const contextOf = (tenantId: string): AuthorizerContext => ({ kind: 'tenant', tenantId, apiKeyId: 'key_1', tier: 'basic', scopes: 'api:call', via: 'api-key', subject: 'key_1', standing: 'active' });
  const eventOf = (tenantId: string, i: number) =>
    ({ version: '2.0', routeKey: 'GET /v1/users', rawPath: '/v1/users', headers: {}, requestContext: { requestId: `r-${String(i)}`, http: { method: 'GET' }, authorizer: { lambda: contextOf(tenantId) } } }) as unknown as AuthorizedEvent;

  /** 8 function instances (each its own limiter and route) writing their lines to one log. */
  const instances = (quota: TierQuota, lines: string[]) =>
    Array.from({ length: 8 }, () => {
      const limiter = new TokenBucketLimiter({ client: dynamo.client, tableName: dynamo.tables.limiter, tiers: tiers(quota), clock });
      const accountEvents = new UsageLogWriter({ service: 'metered-api' }, (line) => lines.push(line));
      return meteredRoute(() => Promise.resolve({ statusCode: 200, body: { ok: true } }), { access: 'tenant', metered: true, limiter, logger, metrics, quotaThresholds: quotaThresholdRecorder(accountEvents, clock) });
    });

  beforeAll(async () => {
    dynamo = await startDynalite();
    store = new CredentialStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter, clock });
  });
  afterAll(() => dynamo.stop());

  it.each([
    ['day', 'd2026-11-30'],
    ['week', 'w2026-W49'],
    ['month', 'm2026-11'],
  ] as const)('writes quota-80 and quota-100 exactly once when rounds of 20 concurrent requests pass them (%s quota of 10)', async (period, periodKey) => {
    // Prepare
    const { tenantId } = await store.createTenant({ name: `quota lines ${period}`, tier: 'basic' });
    const lines: string[] = [];
    const routes = instances({ period, requests: 10 }, lines);
    // Act: rounds of 20 concurrent requests until the quota is used up, and one round more.
    const statuses: number[] = [];
    const admitted = () => statuses.filter((status) => status === 200).length;
    for (let round = 0; round < 12 && (round === 0 || admitted() < 10 || statuses.length % 40 !== 0); round++) {
      now += 1000;
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => routes[i % 8](eventOf(tenantId, round * 20 + i))));
      statuses.push(...answers.map((answer) => answer.statusCode));
    }
    // Assess: 10 admitted in all, the last round all refused; the forwarder's code reads two contract-valid events from the lines.
    expect(admitted()).toBe(10);
    expect(statuses.slice(-20).every((status) => status === 429)).toBe(true);
    expect(lines.every((line) => line.startsWith('{"accountEventLog":"api-account-event/1","detail":{'))).toBe(true);
    const read = readLogLines(lines.map((message, i) => ({ id: String(i), message })), { record: () => '', flush: () => Promise.resolve() }, (id, reason) => { throw new Error(`${id}: ${reason}`); });
    const events: AccountEventDetail[] = read.events;
    expect(events.map((event) => [event.kind, event.eventId, event.data]).sort()).toEqual([
      ['quota-100', `quota-100.${tenantId}.${periodKey}`, { period, limit: 10, used: 10, tier: 'basic', resetsAt: expect.stringMatching(/T00:00:00\.000Z$/) as unknown }],
      ['quota-80', `quota-80.${tenantId}.${periodKey}`, { period, limit: 10, used: 8, tier: 'basic', resetsAt: expect.stringMatching(/T00:00:00\.000Z$/) as unknown }],
    ]);
    expect(events.every((event) => event.tenantId === tenantId)).toBe(true);
  });

  it('builds no event for a count that reaches no threshold, and quota-100 alone for a quota of 1', () => {
    expect(quotaThresholdEvent({ period: 'day', limit: 10, used: 9, resetSeconds: 60, windowSeconds: 86_400 }, { tenantId: 'acme', tier: 'basic' }, now)).toBeUndefined();
    expect(quotaThresholdEvent({ period: 'day', limit: 1, used: 1, resetSeconds: 60, windowSeconds: 86_400 }, { tenantId: 'acme', tier: 'basic' }, now)?.kind).toBe('quota-100');
  });
});
