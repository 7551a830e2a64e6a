import { AttributeValue, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { periodCounter } from '../../contracts/limiter-item';
import { TierName, TierPolicy, TierQuota, resolveTierPolicies } from '../../contracts/tiers';
import { CredentialStore } from '../../lambdas/credentials/credential-store';
import { LimitDecision, TokenBucketLimiter, limiterKey } from '../../lambdas/limiter/token-bucket-limiter';
import { startDynalite } from '../support/dynalite';

/** A tier with a quota and a rate that does not bind (unless a test says otherwise). */
const withQuota = (quota: TierQuota, rate: Partial<TierPolicy> = {}) => resolveTierPolicies({ basic: { requestsPerMinute: 6000, burst: 100, quota, ...rate } });

/** Integration: tier quotas in the limiter's one conditional write, on dynalite, with a fake clock (issue 16, item 1). */
describe('Integration: TokenBucketLimiter quotas on dynalite', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let store: CredentialStore;
  let now: number;
  const clock = () => now;
  const limiter = (tiers: Readonly<Record<TierName, TierPolicy>>) => new TokenBucketLimiter({ client: dynamo.client, tableName: dynamo.tables.limiter, tiers, clock });
  const stored = async (tenantId: string): Promise<Record<string, AttributeValue>> =>
    (await dynamo.client.send(new GetItemCommand({ TableName: dynamo.tables.limiter, Key: { pk: { S: limiterKey(tenantId) } }, ConsistentRead: true }))).Item ?? {};
  const tenant = async (name: string, tier: TierName = 'basic') => (await store.createTenant({ name, tier })).tenantId;
  /** `n` decisions one after the other, each a little later. */
  const sequential = async (bucket: TokenBucketLimiter, tenantId: string, n: number) => {
    const decisions: LimitDecision[] = [];
    for (let i = 0; i < n; i++) {
      now += 100;
      decisions.push(await bucket.decide({ tenantId, tierHint: 'basic' }));
    }
    return decisions;
  };

  beforeAll(async () => {
    dynamo = await startDynalite();
    store = new CredentialStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter, clock });
  });
  afterAll(() => dynamo.stop());
  beforeEach(() => {
    now = Date.parse('2026-11-30T10:00:00Z');
  });

  it.each([
    ['day', 'warm'],
    ['week', 'warm'],
    ['month', 'warm'],
    ['day', 'cold'],
  ] as const)('admits exactly what remains of a %s quota to 20 concurrent requests from 8 %s instances (quota 10, 9 used): 1', async (period, warmth) => {
    // Prepare: 9 of 10 used. Warm instances made those 9 themselves, so each predicts the bucket's
    // case right and only the quota's clause can refuse; cold ones come after a pause, with no hints.
    const tenantId = await tenant(`edge ${period} ${warmth}`);
    const tiers = withQuota({ period, requests: 10 });
    const instances = Array.from({ length: 8 }, () => limiter(tiers));
    const used = await Promise.all(Array.from({ length: 9 }, (_, i) => instances[i % 8].decide({ tenantId, tierHint: 'basic' })));
    expect(used.every((d) => d.outcome === 'admitted')).toBe(true);
    const deciders = warmth === 'warm' ? instances : instances.map(() => limiter(tiers));
    if (warmth === 'cold') now += 60_000;
    // Act
    const decisions = await Promise.all(Array.from({ length: 20 }, (_, i) => deciders[i % 8].decide({ tenantId, tierHint: 'basic' })));
    // Assess
    const outcomes = decisions.map((d) => d.outcome);
    expect(outcomes.filter((o) => o === 'admitted')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'quota-exceeded')).toHaveLength(19);
    expect(Number((await stored(tenantId))[periodCounter(period, new Date(now))].N)).toBe(10);
    expect(deciders.reduce((sum, l) => sum + l.writes, 0)).toBeLessThanOrEqual(2 * 20 + (warmth === 'warm' ? 2 * 9 : 0));
    expect(deciders.reduce((sum, l) => sum + l.reads, 0)).toBe(0);
  });

  it('refuses over quota with one write and no read, and moves neither the bucket nor the counters', async () => {
    const tenantId = await tenant('no consumption');
    const tiers = withQuota({ period: 'day', requests: 3 });
    const bucket = limiter(tiers);
    await sequential(bucket, tenantId, 3);
    const before = await stored(tenantId);
    const writesBefore = bucket.writes;
    // Act: five refusals from a warm instance and five from fresh ones (no hints).
    const refusals = [...(await sequential(bucket, tenantId, 5)), ...(await Promise.all(Array.from({ length: 5 }, () => limiter(tiers).decide({ tenantId }))))];
    // Assess
    expect(refusals.map((d) => d.outcome)).toEqual(Array(10).fill('quota-exceeded'));
    expect(bucket.writes - writesBefore).toBe(5);
    expect(bucket.reads).toBe(0);
    expect(await stored(tenantId)).toEqual(before);
  });

  it('answers the quota, the rate and when the period resets; Retry-After is the time to the next UTC midnight', async () => {
    const tenantId = await tenant('reset');
    const bucket = limiter(withQuota({ period: 'day', requests: 2 }));
    now = Date.parse('2026-11-30T23:00:00Z');
    const first = await bucket.decide({ tenantId, tierHint: 'basic' });
    expect(first).toMatchObject({ outcome: 'admitted', quota: { period: 'day', limit: 2, used: 1, remaining: 1, resetSeconds: 3600, windowSeconds: 86_400 } });
    now += 1000;
    expect(await bucket.decide({ tenantId, tierHint: 'basic' })).toMatchObject({ outcome: 'admitted', quota: { used: 2, remaining: 0, resetSeconds: 3599 } });
    now = Date.parse('2026-11-30T23:59:58.500Z');
    const refused = await bucket.decide({ tenantId, tierHint: 'basic' });
    expect(refused).toMatchObject({ outcome: 'quota-exceeded', tier: 'basic', retryAfterSeconds: 2, quota: { used: 2, remaining: 0, resetSeconds: 2 }, remaining: 100 });
  });

  it.each([
    ['day', '2026-11-30T23:59:59.999Z', '2026-12-01T00:00:00.000Z'],
    ['week', '2026-12-06T23:59:59.999Z', '2026-12-07T00:00:00.000Z'],
    ['month', '2026-12-31T23:59:59.999Z', '2027-01-01T00:00:00.000Z'],
  ] as const)('starts a new %s quota at the period boundary, UTC (%s refused, %s admitted)', async (period, last, next) => {
    const tenantId = await tenant(`rollover ${period}`);
    const tiers = withQuota({ period, requests: 2 });
    const bucket = limiter(tiers);
    now = Date.parse(last) - 10_000;
    await sequential(bucket, tenantId, 2);
    now = Date.parse(last);
    expect(await bucket.decide({ tenantId, tierHint: 'basic' })).toMatchObject({ outcome: 'quota-exceeded', retryAfterSeconds: 1 });
    now = Date.parse(next);
    expect(await limiter(tiers).decide({ tenantId, tierHint: 'basic' })).toMatchObject({ outcome: 'admitted', quota: { used: 1, remaining: 1 } });
  });

  it('tells a rate refusal from a quota refusal by the old item alone, the quota first', async () => {
    const tenantId = await tenant('told apart');
    // Burst 2, rate 1/min; quota 3 a day.
    const tiers = withQuota({ period: 'day', requests: 3 }, { requestsPerMinute: 1, burst: 2 });
    const bucket = limiter(tiers);
    const [a, b, c] = await sequential(bucket, tenantId, 3);
    expect([a.outcome, b.outcome, c.outcome]).toEqual(['admitted', 'admitted', 'rate-limited']);
    expect(c).toMatchObject({ quota: { used: 2, remaining: 1 } });
    now += 60_000;
    expect((await bucket.decide({ tenantId, tierHint: 'basic' })).outcome).toBe('admitted');
    // Both used up now: the quota is the answer, since no wait for the rate would help.
    now += 100;
    const both = await bucket.decide({ tenantId, tierHint: 'basic' });
    expect(both).toMatchObject({ outcome: 'quota-exceeded', remaining: 0 });
    expect(bucket.reads).toBe(0);
  });

  it('applies the quota of the stored tier, whatever tier the caller names', async () => {
    const tenantId = await tenant('tier change', 'free');
    const tiers = resolveTierPolicies({ premium: { quota: { period: 'month', requests: 2 } } });
    const bucket = limiter(tiers);
    expect((await sequential(bucket, tenantId, 2)).map((d) => d.outcome)).toEqual(['admitted', 'admitted']);
    await store.setTier(tenantId, 'premium');
    // The month's count (2) already reaches premium's quota: refused on the first request after the change, with a stale hint.
    const decision = await limiter(tiers).decide({ tenantId, tierHint: 'free' });
    expect(decision).toMatchObject({ outcome: 'quota-exceeded', tier: 'premium', quota: { period: 'month', limit: 2, used: 2 } });
    await store.setTier(tenantId, 'free');
    expect(await bucket.decide({ tenantId, tierHint: 'premium' })).toMatchObject({ outcome: 'admitted', tier: 'free' });
  });

  it('counts ISO weeks only where a tier has a weekly quota, and keeps only this week’s and last week’s counters', async () => {
    const daily = await tenant('no weeks');
    await sequential(limiter(withQuota({ period: 'day', requests: 100 })), daily, 1);
    expect(Object.keys(await stored(daily)).filter((name) => name.startsWith('w'))).toEqual([]);
    const weekly = await tenant('weeks');
    const bucket = limiter(withQuota({ period: 'week', requests: 100 }));
    for (let week = 0; week < 5; week++) {
      now = Date.parse('2026-11-30T10:00:00Z') + week * 7 * 86_400_000;
      await sequential(bucket, weekly, 2);
    }
    const weeks = Object.keys(await stored(weekly)).filter((name) => name.startsWith('w')).sort();
    expect(weeks).toEqual(['w2026-W52', 'w2026-W53']);
    expect(Number((await stored(weekly))['w2026-W53'].N)).toBe(2);
  });
});
