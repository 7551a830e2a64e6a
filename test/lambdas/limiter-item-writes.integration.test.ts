import { randomBytes } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { LIMITER_ATTRIBUTES } from '../../contracts/limiter-item';
import { DEFAULT_TIERS } from '../../contracts/tiers';
import { LimiterItemWrite, LimiterItemWrites, readEnforcedTier } from '../../lambdas/limiter/limiter-item-writes';
import { limiterKey } from '../../lambdas/limiter/token-bucket-limiter';
import { startDynalite } from '../support/dynalite';

/** Integration: the writes the limiter module builds on its item, sent as transactions on dynalite. */
describe('Integration: LimiterItemWrites on dynalite', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let documents: DynamoDBDocumentClient;
  let writes: LimiterItemWrites;

  beforeAll(async () => {
    dynamo = await startDynalite();
    documents = DynamoDBDocumentClient.from(dynamo.client);
    writes = new LimiterItemWrites(dynamo.tables.limiter);
  });
  afterAll(() => dynamo.stop());

  const newTenantId = () => `t-${randomBytes(6).toString('hex')}`;
  const send = (...items: LimiterItemWrite[]) => documents.send(new TransactWriteCommand({ TransactItems: items }));
  const item = async (tenantId: string): Promise<Record<string, unknown> | undefined> => {
    const { Item } = await documents.send(new GetCommand({ TableName: dynamo.tables.limiter, Key: { pk: limiterKey(tenantId) }, ConsistentRead: true }));
    return Item;
  };
  /** A tenant's item with a debt (`tat`) run up at `tier`. */
  const indebted = async (tier: 'free' | 'premium') => {
    const tenantId = newTenantId();
    await send(writes.create(tenantId, tier));
    await documents.send(new TransactWriteCommand({
      TransactItems: [{ Update: { TableName: dynamo.tables.limiter, Key: { pk: limiterKey(tenantId) }, UpdateExpression: 'SET #tat = :tat', ExpressionAttributeNames: { '#tat': LIMITER_ATTRIBUTES.tat }, ExpressionAttributeValues: { ':tat': 123 } } }],
    }));
    return tenantId;
  };

  it('creates a tenant’s item with its tier, not blocked, which the enforced tier then reads', async () => {
    const tenantId = newTenantId();
    await send(writes.create(tenantId, 'basic'));
    expect(await item(tenantId)).toEqual({ pk: limiterKey(tenantId), [LIMITER_ATTRIBUTES.tier]: 'basic', [LIMITER_ATTRIBUTES.blocked]: false });
    expect(await readEnforcedTier(documents, dynamo.tables.limiter, tenantId)).toBe('basic');
  });

  it('reads no enforced tier for a tenant without an item', async () => {
    expect(await readEnforcedTier(documents, dynamo.tables.limiter, newTenantId())).toBeUndefined();
  });

  it.each<[string, (tenantId: string) => LimiterItemWrite]>([
    ['a tier change', (tenantId) => writes.setTier(tenantId, { from: 'free', to: 'premium', tiers: DEFAULT_TIERS })],
    ['a block', (tenantId) => writes.setBlocked(tenantId, true)],
    ['a key block', (tenantId) => writes.addKey(tenantId, 'blockedKeys', 'k-1')],
    ['a key unblock', (tenantId) => writes.removeKey(tenantId, 'blockedKeys', 'k-1')],
  ])('cancels %s of a tenant without an item, and creates none', async (_what, write) => {
    const tenantId = newTenantId();
    await expect(send(write(tenantId))).rejects.toThrow(TransactionCanceledException);
    expect(await item(tenantId)).toBeUndefined();
  });

  it('raising the tier clears the debt', async () => {
    const tenantId = await indebted('free');
    await send(writes.setTier(tenantId, { from: 'free', to: 'premium', tiers: DEFAULT_TIERS }));
    expect(await item(tenantId)).toMatchObject({ [LIMITER_ATTRIBUTES.tier]: 'premium' });
    expect(await item(tenantId)).not.toHaveProperty(LIMITER_ATTRIBUTES.tat);
  });

  it('lowering the tier keeps the debt', async () => {
    const tenantId = await indebted('premium');
    await send(writes.setTier(tenantId, { from: 'premium', to: 'free', tiers: DEFAULT_TIERS }));
    expect(await item(tenantId)).toMatchObject({ [LIMITER_ATTRIBUTES.tier]: 'free', [LIMITER_ATTRIBUTES.tat]: 123 });
  });

  it('cancels a tier change from a tier the item no longer holds, and leaves it as it is', async () => {
    const tenantId = await indebted('premium');
    await expect(send(writes.setTier(tenantId, { from: 'free', to: 'enterprise', tiers: DEFAULT_TIERS }))).rejects.toThrow(TransactionCanceledException);
    expect(await item(tenantId)).toMatchObject({ [LIMITER_ATTRIBUTES.tier]: 'premium', [LIMITER_ATTRIBUTES.tat]: 123 });
  });

  it('adds keys to a set and removes them from it, and blocks and unblocks the tenant', async () => {
    const tenantId = newTenantId();
    await send(writes.create(tenantId, 'free'));
    await send(writes.addKey(tenantId, 'blockedKeys', 'k-1'));
    await send(writes.addKey(tenantId, 'blockedKeys', 'k-2'));
    await send(writes.addKey(tenantId, 'revokedKeys', 'k-3'));
    await send(writes.removeKey(tenantId, 'blockedKeys', 'k-1'));
    await send(writes.setBlocked(tenantId, true));
    expect(await item(tenantId)).toMatchObject({ [LIMITER_ATTRIBUTES.blockedKeys]: new Set(['k-2']), [LIMITER_ATTRIBUTES.revokedKeys]: new Set(['k-3']), [LIMITER_ATTRIBUTES.blocked]: true });
    await send(writes.setBlocked(tenantId, false));
    expect(await item(tenantId)).toMatchObject({ [LIMITER_ATTRIBUTES.blocked]: false });
  });
});
