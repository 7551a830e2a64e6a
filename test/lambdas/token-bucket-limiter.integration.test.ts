import { TierName, TierPolicy, resolveTierPolicies } from '../../contracts/tiers';
import { CredentialStore } from '../../lambdas/credentials/credential-store';
import { TokenBucketLimiter } from '../../lambdas/limiter/token-bucket-limiter';
import { startDynalite } from '../support/dynalite';

const tiers = resolveTierPolicies();

/** Integration: the limiter against dynalite, with a fake clock. */
describe('Integration: TokenBucketLimiter on dynalite', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let store: CredentialStore;
  let now: number;
  const clock = () => now;
  const limiter = (overrides: Partial<Record<TierName, TierPolicy>> = {}) =>
    new TokenBucketLimiter({ client: dynamo.client, tableName: dynamo.tables.limiter, tiers: { ...tiers, ...overrides }, clock });

  beforeAll(async () => {
    dynamo = await startDynalite();
    store = new CredentialStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter, clock });
  });
  afterAll(() => dynamo.stop());
  beforeEach(() => {
    now = Date.parse('2026-11-23T10:00:00Z');
  });

  it.each([
    ['free', 5, 40],
    ['basic', 20, 60],
    ['premium', 100, 150],
  ] as const)('admits exactly the burst of %s (%i) out of %i concurrent requests, and 429s the rest', async (tier, burst, n) => {
    // Prepare: separate limiter instances, as separate Lambda execution environments.
    const tenant = await store.createTenant({ name: `burst ${tier}`, tier });
    const instances = Array.from({ length: 8 }, () => limiter());
    // Act
    const decisions = await Promise.all(Array.from({ length: n }, (_, i) => instances[i % instances.length].decide({ tenantId: tenant.tenantId, tierHint: tier })));
    // Assess
    const admitted = decisions.filter((d) => d.outcome === 'admitted');
    const limited = decisions.filter((d) => d.outcome === 'rate-limited');
    expect(admitted).toHaveLength(burst);
    expect(limited).toHaveLength(n - burst);
    for (const decision of limited) {
      expect(decision.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
    expect(instances.reduce((sum, l) => sum + l.writes, 0)).toBeLessThanOrEqual(2 * n);
  });

  it('holds the steady rate over time (fake clock): burst, then one request per 60 s / rate', async () => {
    const tenant = await store.createTenant({ name: 'steady', tier: 'free' }); // 5/min: one every 12 s
    const bucket = limiter();
    let admitted = 0;
    // Ten minutes, a request every second.
    for (let second = 0; second < 600; second++) {
      now += 1000;
      const decision = await bucket.decide({ tenantId: tenant.tenantId });
      if (decision.outcome === 'admitted') admitted++;
    }
    // Burst 5, then 600 s / 12 s = 50 more (the first of which the burst already covers).
    expect(admitted).toBe(5 + 49);
  });

  it('reports remaining, reset and Retry-After consistently', async () => {
    const tenant = await store.createTenant({ name: 'headers', tier: 'free' });
    const bucket = limiter();
    const first = await bucket.decide({ tenantId: tenant.tenantId });
    expect(first).toMatchObject({ outcome: 'admitted', remaining: 4, resetSeconds: 12, countToday: 1, countThisMonth: 1 });
    for (let i = 0; i < 4; i++) await bucket.decide({ tenantId: tenant.tenantId });
    const limited = await bucket.decide({ tenantId: tenant.tenantId });
    expect(limited).toMatchObject({ outcome: 'rate-limited', remaining: 0, retryAfterSeconds: 12 });
    now += 12_000;
    expect(await bucket.decide({ tenantId: tenant.tenantId })).toMatchObject({ outcome: 'admitted', remaining: 0, countToday: 6 });
  });

  it('applies a block, an unblock and a tier change on the very next request, whatever the hints say', async () => {
    const tenant = await store.createTenant({ name: 'admin changes', tier: 'free' });
    const key = await store.createKey(tenant.tenantId);
    const bucket = limiter();
    expect((await bucket.decide({ tenantId: tenant.tenantId, keyId: key.keyId })).outcome).toBe('admitted');

    await store.setKeyStatus(key.keyId, 'blocked');
    expect(await bucket.decide({ tenantId: tenant.tenantId, keyId: key.keyId })).toMatchObject({ outcome: 'refused', reason: 'key-blocked' });
    await store.setKeyStatus(key.keyId, 'active');
    expect((await bucket.decide({ tenantId: tenant.tenantId, keyId: key.keyId })).outcome).toBe('admitted');

    await store.setTenantBlocked(tenant.tenantId, true);
    expect(await bucket.decide({ tenantId: tenant.tenantId, keyId: key.keyId })).toMatchObject({ outcome: 'refused', reason: 'tenant-blocked' });
    await store.setTenantBlocked(tenant.tenantId, false);

    // Free allows 5 at once; after 3 used, premium's burst of 100 applies from the next request.
    expect((await bucket.decide({ tenantId: tenant.tenantId, keyId: key.keyId, tierHint: 'free' })).outcome).toBe('admitted');
    await store.setTier(tenant.tenantId, 'premium');
    const upgraded = await bucket.decide({ tenantId: tenant.tenantId, keyId: key.keyId, tierHint: 'free' });
    expect(upgraded).toMatchObject({ outcome: 'admitted', tier: 'premium' });

    await store.setKeyStatus(key.keyId, 'revoked');
    expect(await bucket.decide({ tenantId: tenant.tenantId, keyId: key.keyId })).toMatchObject({ outcome: 'refused', reason: 'key-revoked' });
  });

  it('refuses tenants that were never registered', async () => {
    expect(await limiter().decide({ tenantId: 'nobody' })).toEqual({ outcome: 'refused', reason: 'unknown-tenant' });
  });

  it('never makes more than two writes per decision', async () => {
    const tenant = await store.createTenant({ name: 'writes', tier: 'basic' });
    const bucket = limiter();
    for (let i = 0; i < 200; i++) {
      now += 137;
      const before = bucket.writes;
      await bucket.decide({ tenantId: tenant.tenantId, tierHint: i % 2 ? 'basic' : 'enterprise' });
      expect(bucket.writes - before).toBeLessThanOrEqual(2);
    }
  });
});
