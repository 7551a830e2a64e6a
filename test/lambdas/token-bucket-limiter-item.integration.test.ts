import { AttributeValue, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { AUTHORIZER_CACHE_TTL_SECONDS, TOKEN_TTL_SECONDS } from '../../contracts/metered-api';
import { resolveTierPolicies } from '../../contracts/tiers';
import { CredentialStore } from '../../lambdas/credentials/credential-store';
import { LimitDecision, TokenBucketLimiter, limiterKey } from '../../lambdas/limiter/token-bucket-limiter';
import { anotherClientOf, startDynalite } from '../support/dynalite';

const tiers = resolveTierPolicies();
/** An item's attribute, which may be absent (the item's type says it is always there). */
const attribute = (value: AttributeValue | undefined) => value;
const DAY = 86_400_000;
const ONE_KB = 1024;

/**
 * An item's size as DynamoDB bills it: each attribute's UTF-8 name plus its value — strings and
 * binaries by their bytes, numbers 1 byte per two significant digits plus 1, booleans and nulls 1,
 * sets the sum of their elements, lists and maps 3 bytes plus 1 per element plus the elements.
 */
function dynamoItemSize(item: Record<string, AttributeValue>): number {
  return Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + valueSize(value), 0);
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((sum, s) => sum + Buffer.byteLength(s), 0);
  if (value.NS) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS) return value.BS.reduce((sum, b) => sum + b.byteLength, 0);
  if (value.L) return 3 + value.L.reduce((sum, v) => sum + 1 + valueSize(v), 0);
  if (value.M) return 3 + Object.entries(value.M).reduce((sum, [k, v]) => sum + 1 + Buffer.byteLength(k) + valueSize(v), 0);
  throw new Error(`unknown attribute value ${JSON.stringify(value)}`);
}

function numberSize(text: string): number {
  const digits = text.replace(/^[-+]/, '').replace(/[eE].*$/, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

/** A client that records every command it sends and the write capacity each UpdateItem consumed. */
async function recordingClient(endpointClient: DynamoDBClient): Promise<{ client: DynamoDBClient; commands: string[]; capacity: number[]; expressions: string[] }> {
  const commands: string[] = [];
  const capacity: number[] = [];
  const expressions: string[] = [];
  const client = await anotherClientOf(endpointClient);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(context.commandName ?? 'unknown');
      // Ask for the consumed capacity (dynalite computes it as DynamoDB does: the larger of old and new item).
      if (context.commandName === 'UpdateItemCommand') {
        const input = args.input as { ReturnConsumedCapacity?: string; UpdateExpression?: string };
        input.ReturnConsumedCapacity = 'TOTAL';
        expressions.push(input.UpdateExpression ?? '');
      }
      const result = await next(args);
      const consumed = (result.output as { ConsumedCapacity?: { CapacityUnits?: number } }).ConsumedCapacity?.CapacityUnits;
      if (consumed !== undefined) capacity.push(consumed);
      return result;
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return { client, commands, capacity, expressions };
}

/** Integration: the limiter item's size, writes and counts over a long life (dynalite, fake clock). */
describe('Integration: TokenBucketLimiter item over time', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let store: CredentialStore;
  let now: number;
  const clock = () => now;
  const limiter = (client: DynamoDBClient = dynamo.client) => new TokenBucketLimiter({ client, tableName: dynamo.tables.limiter, tiers, clock });
  const stored = async (tenantId: string) =>
    (await dynamo.client.send(new GetItemCommand({ TableName: dynamo.tables.limiter, Key: { pk: { S: limiterKey(tenantId) } }, ConsistentRead: true }))).Item ?? {};
  const admitted = (decision: LimitDecision) => {
    if (decision.outcome !== 'admitted') throw new Error(`expected admission, got ${JSON.stringify(decision)}`);
    return decision;
  };

  beforeAll(async () => {
    dynamo = await startDynalite();
    store = new CredentialStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter, clock });
  });
  afterAll(() => dynamo.stop());
  beforeEach(() => {
    now = Date.parse('2026-11-23T10:00:00Z');
  });

  describe('Function: dynamoItemSize', () => {
    it('follows DynamoDB’s rules for names, strings, numbers, booleans and sets', () => {
      expect(dynamoItemSize({ pk: { S: 'TENANT#a' } })).toBe(2 + 8);
      expect(dynamoItemSize({ n: { N: '1' }, m: { N: '12' }, o: { N: '123' }, p: { N: '1000' }, q: { N: '1779530400000' } })).toBe(5 + 2 + 2 + 3 + 2 + 5);
      expect(dynamoItemSize({ b: { BOOL: false }, s: { SS: ['ab', 'cde'] } })).toBe(1 + 1 + 1 + 5);
    });
  });

  it('stays under 1 KB and costs 1 WCU per request over 400 days, across month and year boundaries, with at most 2 writes and no read per decision', async () => {
    // Prepare: a tenant that sends a few requests a day, each from a fresh instance (no hints) or the same one.
    const tenant = await store.createTenant({ name: 'long life', tier: 'enterprise' });
    const recorded = await recordingClient(dynamo.client);
    const warm = limiter(recorded.client);
    const start = now;
    let largest = 0;
    let worstWrites = 0;
    let lastMonth = '';
    // Act
    for (let day = 0; day < 400; day++) {
      for (let request = 0; request < 3; request++) {
        now = start + day * DAY + request * 3_600_000;
        const bucket = request === 1 ? limiter(recorded.client) : warm;
        const before = bucket.writes;
        const decision = admitted(await bucket.decide({ tenantId: tenant.tenantId, tierHint: 'enterprise' }));
        worstWrites = Math.max(worstWrites, bucket.writes - before);
        // Assess: today restarts every day, this month at every month (and year) boundary.
        expect(decision.countToday).toBe(request + 1);
        const month = new Date(now).toISOString().slice(0, 7);
        if (month !== lastMonth) expect(decision.countThisMonth).toBe(1);
        lastMonth = month;
        largest = Math.max(largest, dynamoItemSize(await stored(tenant.tenantId)));
      }
    }
    // Assess
    expect(new Date(now).toISOString().slice(0, 10)).toBe('2027-12-27');
    expect(largest).toBeLessThan(ONE_KB);
    expect(worstWrites).toBeLessThanOrEqual(2);
    expect(new Set(recorded.commands)).toEqual(new Set(['UpdateItemCommand']));
    expect(Math.max(...recorded.capacity.slice(-30))).toBe(1);
  });

  it('counts exactly across day and month boundaries, with warm and fresh instances alike', async () => {
    const tenant = await store.createTenant({ name: 'rollover', tier: 'enterprise' });
    const warm = limiter();
    const decide = async (at: string, bucket = warm) => {
      now = Date.parse(at);
      return admitted(await bucket.decide({ tenantId: tenant.tenantId, tierHint: 'enterprise' }));
    };
    expect(await decide('2026-11-29T23:59:58Z')).toMatchObject({ countToday: 1, countThisMonth: 1 });
    expect(await decide('2026-11-29T23:59:59Z')).toMatchObject({ countToday: 2, countThisMonth: 2 });
    expect(await decide('2026-11-30T00:00:00Z')).toMatchObject({ countToday: 1, countThisMonth: 3 });
    expect(await decide('2026-11-30T00:00:01Z', limiter())).toMatchObject({ countToday: 2, countThisMonth: 4 });
    expect(await decide('2026-12-01T00:00:00Z', limiter())).toMatchObject({ countToday: 1, countThisMonth: 1 });
    expect(await decide('2026-12-01T00:00:01Z')).toMatchObject({ countToday: 2, countThisMonth: 2 });
    // A gap of days, then a new year.
    expect(await decide('2026-12-05T08:00:00Z')).toMatchObject({ countToday: 1, countThisMonth: 3 });
    expect(await decide('2027-01-01T00:00:00Z')).toMatchObject({ countToday: 1, countThisMonth: 1 });
    expect(await decide('2027-03-15T00:00:00Z', limiter())).toMatchObject({ countToday: 1, countThisMonth: 1 });
    // Only the kept counters are left: today's and this month's (yesterday and last month had none).
    expect(Object.keys(await stored(tenant.tenantId)).filter((name) => /^[dm]\d/.test(name)).sort()).toEqual(['d2027-03-15', 'm2027-03']);
  });

  it.each([
    ['a day', '2026-11-23T23:59:59Z', '2026-11-24T00:00:00Z', 30],
    ['a month', '2026-11-30T23:59:59Z', '2026-12-01T00:00:00Z', 1],
  ])('counts N concurrent requests across %s boundary exactly, with no spurious refusal', async (_, before, after, countBefore) => {
    // Prepare: earlier traffic, so that every warm instance remembers the day before.
    const tenant = await store.createTenant({ name: `concurrent ${after}`, tier: 'enterprise' });
    const recorded = await recordingClient(dynamo.client);
    const instances = Array.from({ length: 8 }, () => limiter(recorded.client));
    now = Date.parse(before) - DAY + 1000;
    for (let i = 0; i < countBefore - 1; i++) await instances[i % 4].decide({ tenantId: tenant.tenantId, tierHint: 'enterprise' });
    now = Date.parse(before);
    for (const bucket of instances.slice(0, 4)) await bucket.decide({ tenantId: tenant.tenantId, tierHint: 'enterprise' });
    const sameMonth = before.slice(0, 7) === after.slice(0, 7);
    const earlierThisMonth = (await stored(tenant.tenantId))[`m${before.slice(0, 7)}`];
    // Act: 60 requests at once just after the boundary, half from instances with no hint.
    now = Date.parse(after);
    const n = 60;
    const writesBefore = instances.reduce((sum, l) => sum + l.writes, 0);
    const decisions = await Promise.all(Array.from({ length: n }, (_, i) => instances[i % instances.length].decide({ tenantId: tenant.tenantId, tierHint: 'enterprise' })));
    // Assess
    const counts = decisions.map((d) => admitted(d).countToday).sort((a, b) => a - b);
    expect(counts).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    const months = decisions.map((d) => admitted(d).countThisMonth).sort((a, b) => a - b);
    const offset = sameMonth ? Number(attribute(earlierThisMonth)?.N) : 0;
    expect(months).toEqual(Array.from({ length: n }, (_, i) => offset + i + 1));
    expect(instances.reduce((sum, l) => sum + l.writes, 0) - writesBefore).toBeLessThanOrEqual(2 * n);
    expect(new Set(recorded.commands)).toEqual(new Set(['UpdateItemCommand']));
    const item = await stored(tenant.tenantId);
    expect(dynamoItemSize(item)).toBeLessThan(ONE_KB);
    // The next request of the new day still counts on.
    expect(admitted(await limiter().decide({ tenantId: tenant.tenantId })).countToday).toBe(n + 1);
  });

  it('keeps a revoked key refused as long as a token or a cached authorizer answer naming it can live, then lets the item shrink again', async () => {
    const tenant = await store.createTenant({ name: 'key rotation', tier: 'enterprise' });
    const instances = [limiter(), limiter()];
    const start = now;
    let largest = 0;
    const measure = async () => {
      largest = Math.max(largest, dynamoItemSize(await stored(tenant.tenantId)));
    };
    let previous = [await store.createKey(tenant.tenantId), await store.createKey(tenant.tenantId)];
    // Act: 100 days of daily rotation of two keys, blocking one of them first.
    for (let day = 0; day < 100; day++) {
      now = start + day * DAY;
      const next = [await store.createKey(tenant.tenantId), await store.createKey(tenant.tenantId)];
      await store.setKeyStatus(previous[0].keyId, 'blocked');
      for (const key of previous) await store.setKeyStatus(key.keyId, 'revoked');
      await measure();
      const revokedAt = now;
      // A token minted just before the revocation, then an authorizer answer cached for it, may still be presented until then:
      for (const later of [0, 1000, (TOKEN_TTL_SECONDS + 5 + AUTHORIZER_CACHE_TTL_SECONDS) * 1000]) {
        now = revokedAt + later;
        for (const [i, key] of previous.entries()) {
          expect(await instances[i].decide({ tenantId: tenant.tenantId, keyId: key.keyId })).toMatchObject({ outcome: 'refused', reason: 'key-revoked' });
          admitted(await instances[i].decide({ tenantId: tenant.tenantId, keyId: next[i].keyId }));
          await measure();
        }
      }
      for (const hours of [2, 8, 20]) {
        now = revokedAt + hours * 3_600_000;
        admitted(await instances[hours % 2].decide({ tenantId: tenant.tenantId, keyId: next[0].keyId }));
        await measure();
      }
      previous = next;
    }
    // Assess
    expect(largest).toBeLessThan(ONE_KB);
    const item = await stored(tenant.tenantId);
    expect(attribute(item.revokedKeys)?.SS ?? []).toHaveLength(0);
    expect(attribute(item.blockedKeys)?.SS ?? []).toHaveLength(0);
    // A block in force stays, however long.
    await store.setKeyStatus(previous[0].keyId, 'blocked');
    for (const later of [DAY, 30 * DAY]) {
      now += later;
      expect(await instances[0].decide({ tenantId: tenant.tenantId, keyId: previous[0].keyId })).toMatchObject({ outcome: 'refused', reason: 'key-blocked' });
      admitted(await instances[0].decide({ tenantId: tenant.tenantId, keyId: previous[1].keyId }));
    }
    expect(attribute((await stored(tenant.tenantId)).blockedKeys)?.SS).toEqual([previous[0].keyId]);
  });

  it('shrinks an item written with one counter per day, as earlier versions did', async () => {
    const tenant = await store.createTenant({ name: 'legacy', tier: 'enterprise' });
    const legacy: Record<string, AttributeValue> = { ...(await stored(tenant.tenantId)) };
    for (let day = 0; day < 400; day++) legacy[`d${new Date(now - (day + 1) * DAY).toISOString().slice(0, 10)}`] = { N: String(1 + (day % 50)) };
    for (let month = 1; month <= 14; month++) legacy[`m${new Date(Date.UTC(2026, 10 - month, 1)).toISOString().slice(0, 7)}`] = { N: '1234' };
    await dynamo.client.send(new PutItemCommand({ TableName: dynamo.tables.limiter, Item: legacy }));
    expect(dynamoItemSize(await stored(tenant.tenantId))).toBeGreaterThan(4 * ONE_KB);
    const recorded = await recordingClient(dynamo.client);
    const bucket = limiter(recorded.client);
    for (let i = 0; i < 3; i++) {
      const before = bucket.writes;
      expect(admitted(await bucket.decide({ tenantId: tenant.tenantId })).countToday).toBe(i + 1);
      expect(bucket.writes - before).toBeLessThanOrEqual(2);
    }
    expect(dynamoItemSize(await stored(tenant.tenantId))).toBeLessThan(ONE_KB);
    // DynamoDB refuses expressions over 4 KB (dynalite does not check).
    expect(Math.max(...recorded.expressions.map((e) => Buffer.byteLength(e)))).toBeLessThan(4096);
  });
});
