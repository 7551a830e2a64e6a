import { randomUUID } from 'node:crypto';
import { EXTERNAL, LOCAL_OPERATOR, MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

/**
 * Issue 13, item 3: at most one DynamoDB read per authorizer cache miss — a GetItem for API keys
 * and admin tokens, one BatchGetItem (both possible mappings) for external tokens, none for tenant
 * tokens — and none on an admitted tenant request beyond the limiter's one write, from the first
 * request on: the key record and the mapping carry the tenant's tier, which the authorizer hands
 * the limiter. Every DynamoDB call of the local stack is counted (a middleware on its one client),
 * so a read anywhere on the path counts. Admin routes add the documented consistent read of the
 * calling admin key's status.
 */

const READS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand', 'TransactGetItemsCommand']);
const WRITES = new Set(['UpdateItemCommand', 'PutItemCommand', 'DeleteItemCommand', 'TransactWriteItemsCommand', 'BatchWriteItemCommand']);

interface Call {
  readonly command: string;
  readonly table: string;
  readonly key: string;
  readonly consistent: boolean;
}

describe('Security: DynamoDB reads per authorizer cache miss and per admitted request', () => {
  let api: MeteredApiHarness;
  let calls: Call[] = [];
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  /** The DynamoDB calls one request makes, after the authorizer cache is cleared (a miss) or not (a hit). */
  const measure = async (route: string, headers: Record<string, string>, cache: 'miss' | 'hit' = 'miss') => {
    if (cache === 'miss') api.gateway.clearAuthorizerCache();
    calls = [];
    const answer = await api.call('GET', route, { headers });
    const made = calls;
    calls = [];
    return {
      status: answer.status,
      json: answer.json,
      reads: made.filter((call) => READS.has(call.command)),
      writes: made.filter((call) => WRITES.has(call.command)),
    };
  };

  const externalToken = (subject: string) => api.externalToken(subject);

  beforeAll(async () => {
    api = await startMeteredApi();
    api.deps.dynamodb.middlewareStack.add(
      (next, context) => (args) => {
        // Document-client commands arrive unmarshalled (`pk: 'KEY#…'`), the others marshalled (`pk: { S: 'KEY#…' }`).
        const input = args.input as { TableName?: string; Key?: { pk?: string | { S?: string } }; RequestItems?: Record<string, unknown>; ConsistentRead?: boolean };
        const table = input.TableName ?? Object.keys(input.RequestItems ?? {}).join(',');
        const pk = typeof input.Key?.pk === 'string' ? input.Key.pk : input.Key?.pk?.S;
        calls.push({ command: context.commandName ?? 'unknown', table, key: pk?.replace(/#.*/s, '#') ?? '', consistent: input.ConsistentRead === true });
        return next(args);
      },
      { step: 'initialize', name: 'countDynamoDbCalls' },
    );
  });
  afterAll(() => api.stop());

  it.each(['free', 'premium', 'enterprise'] as const)('an API key of a %s tenant: one GetItem (the key by hash) per cache miss, one write per admitted request from the first on, and the key\'s lastUsedAt at most once an hour', async (tier) => {
    // Prepare
    const { apiKey } = await api.tenantWithKey(tier);
    const headers = { authorization: `ApiKey ${apiKey}` };
    // Act
    const first = await measure('/v1/users', headers);
    const miss = await measure('/v1/users', headers);
    const hit = await measure('/v1/users', headers, 'hit');
    // Assess
    expect([first.status, miss.status, hit.status]).toEqual([200, 200, 200]);
    expect(miss.reads).toEqual([{ command: 'GetItemCommand', table: api.deps.config.tables.credentials, key: 'KEYHASH#', consistent: false }]);
    expect(first.reads).toEqual(miss.reads);
    expect(hit.reads).toEqual([]);
    // The limiter's one write, even on the first request: the key record's tier hint names the right tier.
    // The first authentication also records when the key was last used (issue 15), on the record it read; the next ones within the hour do not.
    const limiterWrite = { command: 'UpdateItemCommand', table: api.deps.config.tables.limiter, key: 'TENANT#', consistent: false };
    const lastUsedWrite = { command: 'UpdateItemCommand', table: api.deps.config.tables.credentials, key: 'KEYHASH#', consistent: false };
    expect([first.writes, miss.writes, hit.writes]).toEqual([[lastUsedWrite, limiterWrite], [limiterWrite], [limiterWrite]]);
  });

  it('an API key after a tier change: the next cache miss hands the limiter the new tier, one write on an instance that never saw the tenant', async () => {
    // Prepare
    const { apiKey, tenantId } = await api.tenantWithKey('basic');
    const headers = { authorization: `ApiKey ${apiKey}` };
    // The limiter's write and the key's first lastUsedAt.
    expect((await measure('/v1/users', headers)).writes).toHaveLength(2);
    expect((await api.admin('PUT', `/v1/admin/tenants/${tenantId}/tier`, { tier: 'premium' })).status).toBe(200);
    // A limiter instance that has not decided for this tenant yet (a new container, say).
    api.deps.limiter.forget(tenantId);
    // Act
    const after = await measure('/v1/usage', headers);
    // Assess
    expect([after.status, after.json.tier, after.reads.length, after.writes.length]).toEqual([200, 'premium', 1, 1]);
  });

  it('a tenant token: no read at all, on a cache miss or a hit', async () => {
    // Prepare
    const { apiKey } = await api.tenantWithKey('basic');
    const minted = await api.call('POST', '/v1/auth/token', { headers: { 'x-api-key': apiKey } });
    const headers = bearer(String(minted.json.access_token));
    // Act
    const miss = await measure('/v1/products', headers);
    const hit = await measure('/v1/products', headers, 'hit');
    // Assess
    expect([miss.status, hit.status]).toEqual([200, 200]);
    expect([miss.reads, hit.reads]).toEqual([[], []]);
    expect([miss.writes.length, hit.writes.length]).toEqual([1, 1]);
  });

  const oneBatchGet = () => [{ command: 'BatchGetItemCommand', table: api.deps.config.tables.credentials, key: '', consistent: false }];

  // Before any test maps the app client, which would map every subject of it.
  it('an unmapped external token: its two possible mappings in one BatchGetItem, then refused', async () => {
    const refused = await measure('/v1/usage', bearer(await externalToken(`nobody-${randomUUID()}`)));
    expect([refused.status, refused.reads, refused.writes]).toEqual([403, oneBatchGet(), []]);
  });

  it.each(['subject', 'client'] as const)('an external token mapped by its %s: one BatchGetItem per cache miss, no tenant read, one write per admitted request from the first on', async (by) => {
    // Prepare
    const { tenantId } = await api.tenantWithKey('enterprise');
    const subject = `user-${randomUUID()}`;
    if (by === 'subject') await api.deps.store.mapExternalIdentity({ issuer: EXTERNAL.issuer, subject, tenantId });
    else await api.deps.store.mapExternalIdentity({ issuer: EXTERNAL.issuer, clientId: EXTERNAL.clientId, tenantId });
    const headers = bearer(await externalToken(subject));
    // Act
    const miss = await measure('/v1/usage', headers);
    const hit = await measure('/v1/usage', headers, 'hit');
    // Assess: the first request of the tenant on this limiter instance already names its tier (enterprise).
    expect([miss.status, miss.json.tenantId, miss.json.tier, hit.status]).toEqual([200, tenantId, 'enterprise', 200]);
    expect([miss.reads, hit.reads]).toEqual([oneBatchGet(), []]);
    expect([miss.writes.length, hit.writes.length]).toEqual([1, 1]);
  });

  it('an unknown or revoked API key: one read, then refused', async () => {
    // Prepare
    const { apiKey, keyId } = await api.tenantWithKey('basic');
    expect((await api.admin('POST', `/v1/admin/keys/${keyId}/revoke`)).status).toBe(200);
    // Act
    const answers = [await measure('/v1/users', { authorization: `ApiKey ${apiKey}` }), await measure('/v1/users', { authorization: `ApiKey aut_${'x'.repeat(43)}` })];
    // Assess
    expect(answers.map((answer) => [answer.status, answer.reads.length, answer.writes.length])).toEqual([
      [403, 1, 0],
      [403, 1, 0],
    ]);
  });

  it('an admin API key: one read in the authorizer (which never caches admin answers), plus the documented consistent read of its status', async () => {
    // Act
    const answer = await measure('/v1/admin/audit?limit=1', { authorization: `ApiKey ${api.adminKey}` });
    // Assess: the audit route's own Query of the audit table is its business, not the credential's.
    const credentialReads = answer.reads.filter((call) => call.table !== api.deps.config.tables.audit);
    expect(answer.status).toBe(200);
    expect(credentialReads).toEqual([
      { command: 'GetItemCommand', table: api.deps.config.tables.credentials, key: 'KEYHASH#', consistent: false },
      { command: 'GetItemCommand', table: api.deps.config.tables.credentials, key: 'KEY#', consistent: true },
    ]);
  });

  it('an admin token: one consistent read (its revocation entry) per request', async () => {
    // Prepare
    const { token } = await api.deps.tokens.mintAdminToken(LOCAL_OPERATOR.arn);
    // Act
    const answer = await measure('/v1/admin/audit?limit=1', bearer(token));
    // Assess
    const credentialReads = answer.reads.filter((call) => call.table !== api.deps.config.tables.audit);
    expect(answer.status).toBe(200);
    expect(credentialReads).toEqual([{ command: 'GetItemCommand', table: api.deps.config.tables.credentials, key: 'ADMINTOKEN#', consistent: true }]);
  });
});
