import { AttributeValue, DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { resolveTierPolicies } from '../../contracts/tiers';
import { CredentialStore } from '../../lambdas/credentials/credential-store';
import { hashApiKey } from '../../lambdas/credentials/api-key';
import { TokenBucketLimiter } from '../../lambdas/limiter/token-bucket-limiter';
import { anotherClientOf, startDynalite } from '../support/dynalite';

/** A client of its own on the same dynalite, which counts its commands by name and can run a change just before its next TransactWriteItems. */
async function countingClient(endpointClient: DynamoDBClient) {
  const client = await anotherClientOf(endpointClient);
  const state: { commands: string[]; beforeTransaction?: () => Promise<unknown> } = { commands: [] };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      if (name === 'TransactWriteItemsCommand' && state.beforeTransaction) {
        const change = state.beforeTransaction;
        state.beforeTransaction = undefined;
        await change();
      }
      state.commands.push(name);
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return {
    client,
    /** The commands sent since the last call, by name. */
    take: () => state.commands.splice(0),
    beforeNextTransaction: (change: () => Promise<unknown>) => {
      state.beforeTransaction = change;
    },
  };
}

/**
 * Issue 13, item 3: the key record the authorizer reads (by hash) and each external identity
 * mapping carry their tenant's tier, which the authorizer passes to the limiter as its hint, so
 * that its first write names the right tier. On dynalite: how the admin writes keep the hint
 * current, and what it saves the limiter (DynamoDB calls counted per decision).
 */
describe('Integration: tier hints on key records and external identity mappings', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let store: CredentialStore;
  let tenantCount = 0;
  const newTenant = (tier: 'free' | 'basic' | 'premium' | 'enterprise') => store.createTenant({ tenantId: `hint-${String(++tenantCount)}`, name: 'Hinted', tier });
  const issuer = 'https://issuer.example';
  const rawTier = async (pk: string) => {
    const { Item } = await dynamo.client.send(new GetItemCommand({ TableName: dynamo.tables.credentials, Key: { pk: { S: pk } }, ConsistentRead: true }));
    const tier: AttributeValue | undefined = Item?.tier;
    return tier?.S;
  };

  beforeAll(async () => {
    dynamo = await startDynalite();
    store = new CredentialStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter });
  });
  afterAll(async () => dynamo.stop());

  it('a key and a mapping carry the tier at creation; a tier change rewrites both, and leaves revoked keys', async () => {
    // Prepare
    const { tenantId } = await newTenant('basic');
    const [live, revoked] = [await store.createKey(tenantId), await store.createKey(tenantId)];
    await store.setKeyStatus(revoked.keyId, 'revoked');
    await store.mapExternalIdentity({ issuer, subject: `user-of-${tenantId}`, tenantId });
    const identity = { issuer, subject: `user-of-${tenantId}`, clientId: 'unmapped-client' };
    const before = [(await store.findKey(live.apiKey))?.tierHint, (await store.findExternalTenant(identity))?.tierHint];
    // Act
    await store.setTier(tenantId, 'premium');
    // Assess
    expect(before).toEqual(['basic', 'basic']);
    expect([(await store.findKey(live.apiKey))?.tierHint, await store.findExternalTenant(identity)]).toEqual(['premium', { tenantId, tierHint: 'premium' }]);
    expect(await rawTier(`KEYHASH#${hashApiKey(revoked.apiKey)}`)).toBe('basic');
  });

  it('a tenant with more hinted records than one transaction takes: the rest follow it', async () => {
    // Prepare: 97 hints fit with the limiter item, the tenant record and the audit entry; 3 follow.
    const { tenantId } = await newTenant('free');
    const keys = [];
    for (let i = 0; i < 100; i++) keys.push(await store.createKey(tenantId));
    // Act
    await store.setTier(tenantId, 'enterprise');
    // Assess
    const hints = await Promise.all(keys.map(async (key) => (await store.findKey(key.apiKey))?.tierHint));
    expect(new Set(hints)).toEqual(new Set(['enterprise']));
  });

  it.each(['a key', 'an external identity mapping'] as const)('%s created while another admin changes the tier records the tier that won', async (what) => {
    // Prepare: the tier changes between the creation's read of it and its transaction.
    const { tenantId } = await newTenant('basic');
    const racing = await countingClient(dynamo.client);
    const racingStore = new CredentialStore({ client: racing.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter });
    racing.beforeNextTransaction(() => store.setTier(tenantId, 'premium'));
    // Act
    let hint;
    if (what === 'a key') hint = (await store.findKey((await racingStore.createKey(tenantId)).apiKey))?.tierHint;
    else {
      await racingStore.mapExternalIdentity({ issuer, clientId: `client-of-${tenantId}`, tenantId });
      hint = (await store.findExternalTenant({ issuer, subject: 'someone', clientId: `client-of-${tenantId}` }))?.tierHint;
    }
    // Assess: the first transaction failed its check of the tier, the second recorded the new one.
    expect(hint).toBe('premium');
    expect(racing.take().filter((name) => name === 'TransactWriteItemsCommand')).toHaveLength(2);
  });

  describe('what the hint saves the limiter (DynamoDB calls per decision, on an instance that never decided for the tenant)', () => {
    const tiers = resolveTierPolicies();
    const freshLimiter = async () => {
      const counting = await countingClient(dynamo.client);
      return { limiter: new TokenBucketLimiter({ client: counting.client, tableName: dynamo.tables.limiter, tiers }), take: counting.take };
    };

    it.each(['free', 'premium', 'enterprise'] as const)('a %s key with its hint: one UpdateItem on the first decision and on each after, no read', async (tier) => {
      // Prepare
      const { tenantId } = await newTenant(tier);
      const key = await store.findKey((await store.createKey(tenantId)).apiKey);
      const { limiter, take } = await freshLimiter();
      const subject = { tenantId, keyId: key?.keyId, tierHint: key?.tierHint };
      // Act
      const first = [(await limiter.decide(subject)).outcome, take()];
      const steady = [];
      for (let i = 0; i < 3; i++) steady.push([(await limiter.decide(subject)).outcome, take()]);
      // Assess
      expect(first).toEqual(['admitted', ['UpdateItemCommand']]);
      expect(steady).toEqual(Array.from({ length: 3 }, () => ['admitted', ['UpdateItemCommand']]));
    });

    it('a premium key without a hint (a record written before keys carried one), or with a stale one: two writes on the first decision, never three, then one', async () => {
      // Prepare: one record without its hint, one whose hint a tier change missed.
      const { tenantId } = await newTenant('premium');
      const [bare, stale] = [await store.createKey(tenantId), await store.createKey(tenantId)];
      for (const [key, update] of [[bare, 'REMOVE tier'], [stale, 'SET tier = :free']] as const) {
        await dynamo.client.send(
          new UpdateItemCommand({
            TableName: dynamo.tables.credentials,
            Key: { pk: { S: `KEYHASH#${hashApiKey(key.apiKey)}` } },
            UpdateExpression: update,
            ...(update.startsWith('SET') ? { ExpressionAttributeValues: { ':free': { S: 'free' } } } : {}),
          }),
        );
      }
      const decisions = [];
      for (const key of [bare, stale]) {
        const found = await store.findKey(key.apiKey);
        const { limiter, take } = await freshLimiter();
        const subject = { tenantId, keyId: key.keyId, tierHint: found?.tierHint };
        // Act
        decisions.push([found?.tierHint, (await limiter.decide(subject)).tier, take().length, (await limiter.decide(subject)).outcome, take().length]);
      }
      // Assess
      expect(decisions).toEqual([
        [undefined, 'premium', 2, 'admitted', 1],
        ['free', 'premium', 2, 'admitted', 1],
      ]);
    });

    it('a busy bucket (another instance just admitted): the first decision of a new instance predicts the wrong case, two writes, then one', async () => {
      // Prepare
      const { tenantId } = await newTenant('premium');
      const subject = { tenantId, tierHint: 'premium' as const };
      const [a, b] = [await freshLimiter(), await freshLimiter()];
      await a.limiter.decide(subject);
      await a.limiter.decide(subject);
      // Act
      const first = [(await b.limiter.decide(subject)).outcome, b.take().length];
      const next = [(await b.limiter.decide(subject)).outcome, b.take().length];
      // Assess: the documented budget (at most two writes, no read), with the tier right from the start.
      expect([first, next]).toEqual([
        ['admitted', 2],
        ['admitted', 1],
      ]);
    });
  });
});
