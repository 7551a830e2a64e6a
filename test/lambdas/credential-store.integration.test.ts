import { AttributeValue, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { RESERVED_TENANT_IDS } from '../../contracts/tenants';
import { TierName, TierPolicy, resolveTierPolicies } from '../../contracts/tiers';
import { CredentialStore, CredentialStoreError } from '../../lambdas/credentials/credential-store';
import { LimitDecision, TokenBucketLimiter, limiterKey } from '../../lambdas/limiter/token-bucket-limiter';
import { anotherClientOf, startDynalite } from '../support/dynalite';

const tiers = resolveTierPolicies();

/** A client on the same dynalite whose first TransactWriteItems is lost, as on a dropped connection. */
async function faultyClient(endpointClient: DynamoDBClient): Promise<DynamoDBClient> {
  const client = await anotherClientOf(endpointClient);
  let failed = false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!failed && context.commandName === 'TransactWriteItemsCommand') {
        failed = true;
        throw new Error('socket hang up');
      }
      return next(args);
    },
    { step: 'initialize', name: 'injectFault' },
  );
  return client;
}

/** Integration: tenants, keys, tiers and blocks in the credential store, enforced by the limiter, on dynalite. */
describe('Integration: CredentialStore on dynalite', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  /** Each test's own clock, stores and limiters on it: tests share only the tables, and their tenants differ. */
  const onClock = () => {
    const clock = { now: Date.parse('2026-11-23T10:00:00Z') };
    const now = () => clock.now;
    const storeWith = (client: DynamoDBClient, overrides: Partial<Record<TierName, TierPolicy>> = {}) =>
      new CredentialStore({ client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter, tiers: { ...tiers, ...overrides }, clock: now });
    const limiter = () => new TokenBucketLimiter({ client: dynamo.client, tableName: dynamo.tables.limiter, tiers, clock: now });
    return { clock, store: storeWith(dynamo.client), storeWith, limiter };
  };
  /** The limiter item as stored; an attribute it lacks is undefined. */
  const limiterItem = async (tenantId: string): Promise<Partial<Record<string, AttributeValue>> | undefined> =>
    (await dynamo.client.send(new GetItemCommand({ TableName: dynamo.tables.limiter, Key: { pk: { S: limiterKey(tenantId) } }, ConsistentRead: true }))).Item;
  /** Decides `n` requests at the current instant, alternating between instances, and counts the outcomes. */
  const burst = async (instances: TokenBucketLimiter[], tenantId: string, n: number, tierHint?: TierName) => {
    const decisions: LimitDecision[] = [];
    for (let i = 0; i < n; i++) decisions.push(await instances[i % instances.length].decide({ tenantId, tierHint }));
    return { admitted: decisions.filter((d) => d.outcome === 'admitted').length, decisions };
  };

  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(() => dynamo.stop());

  describe('Method: createTenant', () => {
    it.each(Object.values(RESERVED_TENANT_IDS))('refuses the reserved tenant id "%s", and creates nothing', async (tenantId) => {
      // Prepare
      const { store } = onClock();
      // Act
      const attempt = store.createTenant({ tenantId, name: 'squatter', tier: 'enterprise' });
      // Assess
      await expect(attempt).rejects.toThrow(CredentialStoreError);
      await expect(attempt).rejects.toMatchObject({ code: 'reserved-tenant-id' });
      await expect(attempt).rejects.toThrow(`"${tenantId}" is reserved`);
      expect(await store.getTenant(tenantId)).toBeUndefined();
      expect(await limiterItem(tenantId)).toBeUndefined();
    });

    it('refuses an id of the wrong form with the rule and the bad value', async () => {
      const { store } = onClock();
      await expect(store.createTenant({ tenantId: 'Acme Corp', name: 'x', tier: 'free' })).rejects.toMatchObject({
        code: 'invalid-tenant-id',
        message: 'tenantId must be 2-63 lower-case letters, digits and dashes, starting with a letter or digit; got "Acme Corp".',
      });
    });
  });

  describe('Method: setTier', () => {
    it('raising the tier grants the new tier’s full burst on the very next request, whatever the instances remember', async () => {
      // Prepare: a free tenant that used its whole burst, seen by two instances.
      const { store, limiter } = onClock();
      const tenant = await store.createTenant({ name: 'upgrade', tier: 'free' });
      const instances = [limiter(), limiter()];
      expect((await burst(instances, tenant.tenantId, tiers.free.burst + 1, 'free')).admitted).toBe(tiers.free.burst);
      // Act
      await store.setTier(tenant.tenantId, 'premium');
      const after = await burst(instances, tenant.tenantId, tiers.premium.burst + 1, 'free');
      // Assess: premium's whole burst at once, at the same instant, then the 429.
      expect(after.admitted).toBe(tiers.premium.burst);
      expect(after.decisions[0]).toMatchObject({ outcome: 'admitted', tier: 'premium', remaining: tiers.premium.burst - 1 });
      expect(after.decisions[tiers.premium.burst]).toMatchObject({ outcome: 'rate-limited', tier: 'premium' });
    });

    it('lowering the tier keeps the debt: never more than the new tier admits, at once or over the next minutes', async () => {
      // Prepare: a premium tenant that used its whole burst (60 s of debt at premium's rate).
      const { clock, store, limiter } = onClock();
      const tenant = await store.createTenant({ name: 'downgrade', tier: 'premium' });
      const bucket = limiter();
      expect((await burst([bucket], tenant.tenantId, tiers.premium.burst)).admitted).toBe(tiers.premium.burst);
      // Act
      await store.setTier(tenant.tenantId, 'free');
      // Assess: 60 s of premium debt is 5 free requests' worth, so nothing now and one per 12 s once it is below free's tolerance.
      expect(await bucket.decide({ tenantId: tenant.tenantId, tierHint: 'premium' })).toMatchObject({ outcome: 'rate-limited', tier: 'free' });
      const admittedAt: number[] = [];
      const start = clock.now;
      for (let second = 1; second <= 180; second++) {
        clock.now = start + second * 1000;
        if ((await bucket.decide({ tenantId: tenant.tenantId })).outcome === 'admitted') admittedAt.push(second);
      }
      expect(admittedAt).toEqual([12, 24, 36, 48, 60, 72, 84, 96, 108, 120, 132, 144, 156, 168, 180]);
      // A free bucket admits at most its burst (5) plus one per 12 s in any window; this one never more.
      for (const from of admittedAt) expect(admittedAt.filter((at) => at >= from && at < from + 60).length).toBeLessThanOrEqual(tiers.free.burst);
    });

    it.each([
      // free: τ = 48 s, T = 12 s: (48 - 1.2) / 12 → 3, plus the first.
      ['free', 4],
      // basic, above a slower tier (free), so the write that would raise is tried first and declines: (57 - 1.2) / 3 → 18, plus the first.
      ['basic', 19],
    ] as const)('lowering to %s after a little use leaves what the debt allows of the new burst (%i), not the whole of it', async (lower, expected) => {
      const { store, limiter } = onClock();
      const tenant = await store.createTenant({ name: `light downgrade to ${lower}`, tier: 'premium' });
      const bucket = limiter();
      expect((await burst([bucket], tenant.tenantId, 2)).admitted).toBe(2); // 1.2 s of debt
      await store.setTier(tenant.tenantId, lower);
      expect((await burst([bucket], tenant.tenantId, 25)).admitted).toBe(expected);
    });

    it('setting the tier a tenant already has leaves its bucket as it is', async () => {
      const { store, limiter } = onClock();
      const tenant = await store.createTenant({ name: 'same tier', tier: 'free' });
      expect((await burst([limiter()], tenant.tenantId, tiers.free.burst)).admitted).toBe(tiers.free.burst);
      await store.setTier(tenant.tenantId, 'free');
      expect(await limiter().decide({ tenantId: tenant.tenantId })).toMatchObject({ outcome: 'rate-limited' });
    });

    it('judges raising by the deployment’s rates, not by the tier names', async () => {
      // Prepare: a deployment where basic is slower than free.
      const { storeWith, limiter } = onClock();
      const slowBasic = storeWith(dynamo.client, { basic: { requestsPerMinute: 2, burst: 2, failMode: 'closed' } });
      const tenant = await slowBasic.createTenant({ name: 'odd tiers', tier: 'free' });
      await limiter().decide({ tenantId: tenant.tenantId });
      const tatBefore = (await limiterItem(tenant.tenantId))?.tat?.N;
      // Act
      await slowBasic.setTier(tenant.tenantId, 'basic');
      // Assess: a lowering there, so the debt stays.
      const item = await limiterItem(tenant.tenantId);
      expect(item?.tier?.S).toBe('basic');
      expect(item?.tat?.N).toBe(tatBefore);
    });

    it('refuses an unknown tenant, and changes nothing', async () => {
      const { store } = onClock();
      await expect(store.setTier('no-such-tenant', 'premium')).rejects.toMatchObject({ code: 'tenant-not-found' });
      expect(await limiterItem('no-such-tenant')).toBeUndefined();
    });
  });

  describe('Method: setKeyStatus', () => {
    it('changes nothing when a revocation is lost, and completes it when called again', async () => {
      // Prepare
      const { store, storeWith, limiter } = onClock();
      const tenant = await store.createTenant({ name: 'lost revocation', tier: 'basic' });
      const key = await store.createKey(tenant.tenantId);
      const faulty = storeWith(await faultyClient(dynamo.client));
      // Act
      await expect(faulty.setKeyStatus(key.keyId, 'revoked')).rejects.toThrow('socket hang up');
      // Assess: no record says revoked, so none disagrees with another ...
      expect((await store.getKey(key.keyId))?.status).toBe('active');
      expect((await store.findKey(key.apiKey))?.status).toBe('active');
      expect((await limiterItem(tenant.tenantId))?.revokedKeys).toBeUndefined();
      // ... and calling it again revokes it everywhere, for good.
      await expect(faulty.setKeyStatus(key.keyId, 'revoked')).resolves.toMatchObject({ status: 'revoked' });
      expect((await store.findKey(key.apiKey))?.status).toBe('revoked');
      expect(await limiter().decide({ tenantId: tenant.tenantId, keyId: key.keyId })).toMatchObject({ outcome: 'refused', reason: 'key-revoked' });
      await expect(store.setKeyStatus(key.keyId, 'active')).rejects.toMatchObject({ code: 'key-revoked' });
    });

    it('never lets concurrent unblocks and a revocation end with a key that is revoked on one record and active on another', async () => {
      // Prepare
      const { store, limiter } = onClock();
      const tenant = await store.createTenant({ name: 'racing changes', tier: 'basic' });
      const key = await store.createKey(tenant.tenantId);
      await store.setKeyStatus(key.keyId, 'blocked');
      // Act
      const outcomes = await Promise.allSettled([store.setKeyStatus(key.keyId, 'active'), store.setKeyStatus(key.keyId, 'revoked'), store.setKeyStatus(key.keyId, 'active')]);
      // Assess
      expect(outcomes[1].status).toBe('fulfilled');
      for (const outcome of outcomes) if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ code: 'key-revoked' });
      expect((await store.getKey(key.keyId))?.status).toBe('revoked');
      expect((await store.findKey(key.apiKey))?.status).toBe('revoked');
      expect(await limiter().decide({ tenantId: tenant.tenantId, keyId: key.keyId })).toMatchObject({ outcome: 'refused', reason: 'key-revoked' });
    });

    it('blocks and unblocks on the limiter item, which the very next decision reads', async () => {
      const { store, limiter } = onClock();
      const tenant = await store.createTenant({ name: 'block unblock', tier: 'basic' });
      const key = await store.createKey(tenant.tenantId);
      const bucket = limiter();
      await store.setKeyStatus(key.keyId, 'blocked');
      expect(await bucket.decide({ tenantId: tenant.tenantId, keyId: key.keyId })).toMatchObject({ outcome: 'refused', reason: 'key-blocked' });
      await store.setKeyStatus(key.keyId, 'active');
      expect(await bucket.decide({ tenantId: tenant.tenantId, keyId: key.keyId })).toMatchObject({ outcome: 'admitted' });
      await store.setKeyStatus(key.keyId, 'blocked');
      expect(await bucket.decide({ tenantId: tenant.tenantId, keyId: key.keyId })).toMatchObject({ outcome: 'refused', reason: 'key-blocked' });
    });
  });
});
