import { AttributeValue, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { AUTHORIZER_CACHE_TTL_SECONDS, METERED_API_SERVICE } from '../../contracts/metered-api';
import { REVOCATION_RETENTION_MS, limiterKey } from '../../lambdas/limiter/token-bucket-limiter';
import { MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

/** Integration: the built-in routes through the local HTTP API gateway, on dynalite, with a loopback bus. */
describe('Integration: metered API', () => {
  let api: MeteredApiHarness;

  beforeAll(async () => {
    api = await startMeteredApi();
  });
  afterAll(() => api.stop());

  it('exchanges an API key for a short-lived Bearer token that works on the routes', async () => {
    // Prepare
    const { apiKey } = await api.tenantWithKey('basic');
    // Act
    const token = await api.call('POST', '/v1/auth/token', { headers: { 'x-api-key': apiKey } });
    const users = await api.call('GET', '/v1/users', { headers: { authorization: `Bearer ${String(token.json.access_token)}` } });
    // Assess
    expect(token.status).toBe(200);
    expect(token.json).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'api:call usage:read' });
    expect(users.status).toBe(200);
    expect((users.json.items as unknown[]).length).toBeGreaterThan(0);
  });

  it('accepts an API key directly on routes (Authorization: ApiKey ...)', async () => {
    const { apiKey } = await api.tenantWithKey('basic');
    const products = await api.call('GET', '/v1/products', { headers: { authorization: `ApiKey ${apiKey}` } });
    expect(products.status).toBe(200);
  });

  it('answers with RateLimit-Policy, RateLimit and X-RateLimit headers, and 429 with Retry-After and a JSON body', async () => {
    const { apiKey } = await api.tenantWithKey('free');
    const headers = { authorization: `ApiKey ${apiKey}` };
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await api.call('GET', '/v1/users', { headers }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(answers[0].headers.get('ratelimit-policy')).toBe('"free";q=5;w=60');
    expect(answers[0].headers.get('ratelimit')).toBe('"free";r=4;t=12');
    expect(answers[0].headers.get('x-ratelimit-limit')).toBe('5');
    expect(answers[0].headers.get('x-ratelimit-remaining')).toBe('4');
    const limited = answers[5];
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('ratelimit')).toMatch(/^"free";r=0;t=\d+$/);
    expect(limited.json).toMatchObject({ error: 'rate-limited' });
    expect(String(limited.json.message)).toContain('5/min');
  });

  it("reports the caller's tier, limit, remaining, reset and counts on GET /v1/usage", async () => {
    const { apiKey } = await api.tenantWithKey('premium');
    const headers = { authorization: `ApiKey ${apiKey}` };
    await api.call('GET', '/v1/users', { headers });
    const usage = await api.call('GET', '/v1/usage', { headers });
    expect(usage.status).toBe(200);
    expect(usage.json).toMatchObject({ tier: 'premium', limit: { requestsPerMinute: 100, burst: 100 }, remaining: 98, counts: { today: 2, thisMonth: 2 } });
  });

  it('lets admins change a tier, block and unblock keys and tenants, effective on the next request, and audits it', async () => {
    const { tenantId, apiKey, keyId } = await api.tenantWithKey('free');
    const headers = { authorization: `ApiKey ${apiKey}` };
    expect((await api.call('GET', '/v1/users', { headers })).status).toBe(200);

    expect((await api.admin('POST', `/v1/admin/keys/${keyId}/block`)).status).toBe(200);
    // The authorizer's cached "allow" for this key does not matter: the limiter refuses.
    const blocked = await api.call('GET', '/v1/users', { headers });
    expect(blocked.status).toBe(403);
    expect(blocked.json).toMatchObject({ error: 'key-blocked' });
    expect((await api.admin('POST', `/v1/admin/keys/${keyId}/unblock`)).status).toBe(200);
    expect((await api.call('GET', '/v1/users', { headers })).status).toBe(200);

    const tier = await api.admin('PUT', `/v1/admin/tenants/${tenantId}/tier`, { tier: 'enterprise' });
    expect(tier.json).toMatchObject({ tenantId, tier: 'enterprise' });
    expect((await api.call('GET', '/v1/users', { headers })).headers.get('ratelimit-policy')).toBe('"enterprise";q=1000;w=60');

    expect((await api.admin('POST', `/v1/admin/tenants/${tenantId}/block`)).status).toBe(200);
    expect((await api.call('GET', '/v1/users', { headers })).json).toMatchObject({ error: 'tenant-blocked' });

    const audit = await api.admin('GET', '/v1/admin/audit?limit=10');
    const actions = (audit.json.items as { action: string; target: string }[]).map((e) => `${e.action} ${e.target}`);
    expect(actions.slice(0, 4)).toEqual([`tenant.block ${tenantId}`, `tenant.set-tier ${tenantId}`, `key.unblock ${keyId}`, `key.block ${keyId}`]);
  });

  it('never lets a tenant credential reach the admin routes, not even to change its own tier', async () => {
    const { tenantId, apiKey } = await api.tenantWithKey('free');
    const token = await api.call('POST', '/v1/auth/token', { headers: { 'x-api-key': apiKey } });
    for (const authorization of [`ApiKey ${apiKey}`, `Bearer ${String(token.json.access_token)}`]) {
      const upgrade = await api.call('PUT', `/v1/admin/tenants/${tenantId}/tier`, { headers: { authorization }, body: { tier: 'enterprise' } });
      expect(upgrade.status).toBe(403);
      expect((await api.call('GET', '/v1/admin/tenants', { headers: { authorization } })).status).toBe(403);
    }
    const tenant = await api.admin('GET', '/v1/admin/tenants');
    expect((tenant.json.items as { tenantId: string; tier: string }[]).find((t) => t.tenantId === tenantId)?.tier).toBe('free');
  });

  it('runs routes of your own on the same per-tenant bucket as the built-in ones, and records their usage (customRoute)', async () => {
    // Prepare: a free tenant (5 per minute) that has used 4 of its requests on a built-in route.
    const { tenantId, keyId, apiKey } = await api.tenantWithKey('free');
    for (let i = 0; i < 4; i++) expect((await api.call('GET', '/v1/users', { headers: { authorization: `ApiKey ${apiKey}` } })).status).toBe(200);
    const handler = api.deps.customRoute(({ principal, event }) =>
      Promise.resolve({ statusCode: 200, body: { tenant: principal.kind === 'tenant' ? principal.tenantId : undefined, order: event.pathParameters?.id } }),
    );
    const event = {
      version: '2.0',
      routeKey: 'GET /v1/orders/{id}',
      rawPath: '/v1/orders/o-1',
      headers: {},
      pathParameters: { id: 'o-1' },
      requestContext: { http: { method: 'GET' }, requestId: 'r', authorizer: { lambda: { kind: 'tenant', tenantId, apiKeyId: keyId, tier: 'free', scopes: 'api:call usage:read', via: 'api-key', subject: keyId } } },
    };
    // Act
    const last = await handler(event as never, {});
    const over = await handler(event as never, {});
    // Assess: the fifth request of the minute is admitted with nothing left, the sixth refused.
    expect(last.statusCode).toBe(200);
    expect(JSON.parse(String(last.body))).toEqual({ tenant: tenantId, order: 'o-1' });
    expect(last.headers['RateLimit-Policy']).toBe('"free";q=5;w=60');
    expect(last.headers['X-RateLimit-Remaining']).toBe('0');
    expect(over.statusCode).toBe(429);
    // Usage events reach the bus after the answers, through the log subscription.
    await api.flushUsage();
    expect(api.bus.details).toContainEqual(expect.objectContaining({ tenantId, operation: 'GET /v1/orders/{id}', statusCode: 200 }));
    expect(api.bus.details).toContainEqual(expect.objectContaining({ tenantId, operation: 'GET /v1/orders/{id}', statusCode: 429 }));
  });

  it('shows a new key once and stores only its hash', async () => {
    const { apiKey, keyId } = await api.tenantWithKey('free');
    const stored = JSON.stringify(await api.deps.store.getKey(keyId));
    expect(apiKey).toMatch(/^aut_[A-Za-z0-9_-]{43}$/);
    expect(stored).not.toContain(apiKey);
  });

  it.each([
    ['a body that is not JSON', 'POST', '/v1/admin/tenants', '{nope', 'The request body is not valid JSON.'],
    ['an unknown tier', 'POST', '/v1/admin/tenants', { name: 'x', tier: 'gold' }, 'tier: Invalid option'],
    ['an unknown field', 'PUT', '/v1/admin/tenants/t-x/tier', { tier: 'free', extra: 1 }, 'Unrecognized key'],
    ['a missing body', 'POST', '/v1/admin/tenants', undefined, 'The request needs a JSON body.'],
  ])('answers 400 with a JSON error for %s', async (_label, method, route, body, message) => {
    const answer = await api.admin(method, route, body);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toBe('invalid-body');
    expect(String(answer.json.message)).toContain(message);
  });

  it('answers 404 and 409 with JSON errors for unknown and duplicate tenants', async () => {
    expect((await api.admin('PUT', '/v1/admin/tenants/no-such-tenant/tier', { tier: 'basic' })).json).toMatchObject({ error: 'tenant-not-found' });
    await api.admin('POST', '/v1/admin/tenants', { tenantId: 'dup-tenant', name: 'dup', tier: 'free' });
    const again = await api.admin('POST', '/v1/admin/tenants', { tenantId: 'dup-tenant', name: 'dup', tier: 'free' });
    expect(again.status).toBe(409);
  });

  it('records every request as a usage event: admitted, 401, 403 and 429', async () => {
    // Prepare
    const { tenantId, apiKey } = await api.tenantWithKey('free', 'usage-events');
    const headers = { authorization: `ApiKey ${apiKey}` };
    // Act
    for (let i = 0; i < 6; i++) await api.call('GET', '/v1/users', { headers });
    await api.call('GET', '/v1/users');
    await api.call('GET', '/v1/users', { headers: { authorization: 'Bearer not-a-token' } });
    await api.flushUsage();
    // Assess
    const events = api.bus.details.filter((d) => d.tenantId === tenantId || d.tenantId === 'anonymous');
    const byStatus = (status: number) => events.filter((d) => d.statusCode === status && d.operation === 'GET /v1/users');
    expect(byStatus(200).filter((d) => d.tenantId === tenantId)).toHaveLength(5);
    expect(byStatus(429).filter((d) => d.tenantId === tenantId)).toHaveLength(1);
    expect(byStatus(401).length).toBeGreaterThanOrEqual(1);
    expect(byStatus(403).length).toBeGreaterThanOrEqual(1);
    expect(events.every((d) => d.service === METERED_API_SERVICE)).toBe(true);
  });
});

describe('Integration: metered API with a failing upstream', () => {
  it('answers 500 with a JSON body and no stack trace, and records the 5xx as a usage event', async () => {
    // Prepare: the demo service fails every request.
    const api = await startMeteredApi({ demoErrorRate: 1 });
    try {
      const { tenantId, apiKey } = await api.tenantWithKey('basic');
      // Act
      const answer = await api.call('GET', '/v1/products', { headers: { authorization: `ApiKey ${apiKey}` } });
      await api.flushUsage();
      // Assess
      expect(answer.status).toBe(500);
      expect(answer.json).toMatchObject({ error: 'upstream-failure' });
      expect(answer.text).not.toMatch(/\bat \w|Error:/);
      expect(api.bus.details).toContainEqual(expect.objectContaining({ tenantId, operation: 'GET /v1/products', statusCode: 500 }));
    } finally {
      await api.stop();
    }
  });
});

/**
 * Integration: blocks, unblocks, revocations and tier changes through the local gateway, whose
 * authorizer cache holds answers for 60 s as API Gateway's does, on a fake clock. Each change acts
 * on the very next request, whatever the cache holds, and refusals carry the documented JSON body.
 */
describe('Integration: metered API account changes', () => {
  let api: MeteredApiHarness;
  let now = Date.parse('2026-11-23T10:00:00Z');
  const users = (authorization: string) => api.call('GET', '/v1/users', { headers: { authorization } });
  const bearerFor = async (apiKey: string) => `Bearer ${String((await api.call('POST', '/v1/auth/token', { headers: { 'x-api-key': apiKey } })).json.access_token)}`;
  const refusal = (error: string, message: string) => ({ error, message, requestId: expect.any(String) as unknown });

  beforeAll(async () => {
    api = await startMeteredApi({ clock: () => now });
  });
  afterAll(() => api.stop());

  it.each(['an API key', 'a token'] as const)('refuses a blocked key with key-blocked, admits it on the very next request after the unblock, and refuses it on the very next after a new block (%s)', async (form) => {
    // Prepare: the key is blocked before the authorizer ever saw it, so nothing is cached yet.
    const { apiKey, keyId } = await api.tenantWithKey('basic');
    const authorization = form === 'a token' ? await bearerFor(apiKey) : `ApiKey ${apiKey}`;
    await api.admin('POST', `/v1/admin/keys/${keyId}/block`);
    // Act
    const blocked = await users(authorization);
    await api.admin('POST', `/v1/admin/keys/${keyId}/unblock`);
    const unblocked = await users(authorization);
    await api.admin('POST', `/v1/admin/keys/${keyId}/block`);
    const blockedAgain = await users(authorization);
    // Assess
    expect([blocked.status, blocked.json]).toEqual([403, refusal('key-blocked', 'The API key is blocked.')]);
    expect(unblocked.status).toBe(200);
    expect([blockedAgain.status, blockedAgain.json]).toEqual([403, refusal('key-blocked', 'The API key is blocked.')]);
  });

  it.each(['an API key', 'a token'] as const)('refuses a blocked tenant with tenant-blocked, and acts on the very next request in both directions (%s)', async (form) => {
    const { tenantId, apiKey } = await api.tenantWithKey('basic');
    const authorization = form === 'a token' ? await bearerFor(apiKey) : `ApiKey ${apiKey}`;
    await api.admin('POST', `/v1/admin/tenants/${tenantId}/block`);
    const blocked = await users(authorization);
    await api.admin('POST', `/v1/admin/tenants/${tenantId}/unblock`);
    const unblocked = await users(authorization);
    await api.admin('POST', `/v1/admin/tenants/${tenantId}/block`);
    const blockedAgain = await users(authorization);
    expect([blocked.status, blocked.json]).toEqual([403, refusal('tenant-blocked', 'The tenant is blocked.')]);
    expect(unblocked.status).toBe(200);
    expect([blockedAgain.status, blockedAgain.json]).toEqual([403, refusal('tenant-blocked', 'The tenant is blocked.')]);
    // The token exchange is refused the same way: a blocked tenant gets no new tokens.
    expect((await api.call('POST', '/v1/auth/token', { headers: { 'x-api-key': apiKey } })).json).toMatchObject({ error: 'tenant-blocked' });
  });

  it('applies blocks, unblocks and revocations of admin keys on the very next admin request', async () => {
    // Prepare: a second admin key, admitted once.
    const second = await api.deps.store.createKey('operators', 'admin');
    const list = () => api.call('GET', '/v1/admin/tenants', { headers: { authorization: `ApiKey ${second.apiKey}` } });
    expect((await list()).status).toBe(200);
    // Act + Assess
    await api.admin('POST', `/v1/admin/keys/${second.keyId}/block`);
    expect(await list()).toMatchObject({ status: 403, json: refusal('key-blocked', 'The API key is blocked.') });
    await api.admin('POST', `/v1/admin/keys/${second.keyId}/unblock`);
    expect((await list()).status).toBe(200);
    // The admin authorizer caches nothing, so it refuses a revoked key itself, at once.
    await api.admin('POST', `/v1/admin/keys/${second.keyId}/revoke`);
    expect(await list()).toMatchObject({ status: 403, json: { message: 'Forbidden' } });
  });

  it('never admits a revoked key again: key-revoked while a cached authorization or a token names it, then the authorizer’s 403, also after the limiter forgot it', async () => {
    // Prepare: a key with a token and cached authorizations on both authorizers, and a second key whose traffic tidies the limiter item.
    const { tenantId, apiKey, keyId } = await api.tenantWithKey('enterprise');
    const other = `ApiKey ${String((await api.admin('POST', `/v1/admin/tenants/${tenantId}/keys`)).json.apiKey)}`;
    const bearer = await bearerFor(apiKey);
    expect((await users(`ApiKey ${apiKey}`)).status).toBe(200);
    const exchange = () => api.call('POST', '/v1/auth/token', { headers: { 'x-api-key': apiKey } });
    const revokedKeys = async () => {
      const key = { pk: { S: limiterKey(tenantId) } };
      const { Item } = await api.deps.dynamodb.send(new GetItemCommand({ TableName: api.deps.config.tables.limiter, Key: key, ConsistentRead: true }));
      // The item's type says every attribute is there; `revokedKeys` is not until a key is revoked.
      const revoked: AttributeValue | undefined = Item?.revokedKeys;
      return revoked?.SS ?? [];
    };
    // Act + Assess: at once, whatever the cache holds.
    await api.admin('POST', `/v1/admin/keys/${keyId}/revoke`);
    for (const answer of [await users(`ApiKey ${apiKey}`), await users(bearer), await exchange()]) {
      expect([answer.status, answer.json]).toEqual([403, refusal('key-revoked', 'The API key is revoked.')]);
    }
    expect((await users(other)).status).toBe(200);
    // Once the cached answers expire, the authorizer refuses the key itself; the token, still valid, is refused by the limiter.
    now += (AUTHORIZER_CACHE_TTL_SECONDS + 1) * 1000;
    expect(await users(`ApiKey ${apiKey}`)).toMatchObject({ status: 403, json: { message: 'Forbidden' } });
    expect(await users(bearer)).toMatchObject({ status: 403, json: { error: 'key-revoked' } });
    // The limiter forgets the key once no credential naming it can still pass the authorizer ...
    now += REVOCATION_RETENTION_MS;
    expect((await users(other)).status).toBe(200);
    expect(await revokedKeys()).not.toContain(keyId);
    // ... and by then every such credential is refused before any route runs.
    for (const answer of [await users(`ApiKey ${apiKey}`), await users(bearer), await exchange()]) {
      expect([answer.status, answer.json]).toEqual([403, { message: 'Forbidden' }]);
    }
  });

  it('grants the full burst of a raised tier on the very next request', async () => {
    // Prepare: a free tenant that used its burst.
    const { tenantId, apiKey } = await api.tenantWithKey('free');
    const authorization = `ApiKey ${apiKey}`;
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await users(authorization)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    // Act
    await api.admin('PUT', `/v1/admin/tenants/${tenantId}/tier`, { tier: 'premium' });
    const usage = await api.call('GET', '/v1/usage', { headers: { authorization } });
    // Assess
    expect(usage.status).toBe(200);
    expect(usage.json).toMatchObject({ tier: 'premium', limit: { requestsPerMinute: 100, burst: 100 }, remaining: 99 });
    expect(usage.headers.get('ratelimit')).toBe('"premium";r=99;t=1');
  });

  it('lets a lowered tier admit no more than it allows: the old tier’s debt is waited out at the new rate', async () => {
    const { tenantId, apiKey } = await api.tenantWithKey('premium');
    const authorization = `ApiKey ${apiKey}`;
    for (let i = 0; i < 100; i++) expect((await users(authorization)).status).toBe(200);
    await api.admin('PUT', `/v1/admin/tenants/${tenantId}/tier`, { tier: 'free' });
    const limited = await users(authorization);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('ratelimit-policy')).toBe('"free";q=5;w=60');
    expect(limited.headers.get('retry-after')).toBe('12');
    now += 12_000;
    expect((await users(authorization)).status).toBe(200);
    expect((await users(authorization)).status).toBe(429);
  });

  it('records in each usage event the tier the limiter enforced, not the one a token or a cached authorization carries', async () => {
    // Prepare: a token minted on free, and a cached authorization saying free.
    const { tenantId, apiKey } = await api.tenantWithKey('free');
    const bearer = await bearerFor(apiKey);
    await users(`ApiKey ${apiKey}`);
    // Act
    await api.admin('PUT', `/v1/admin/tenants/${tenantId}/tier`, { tier: 'premium' });
    await users(bearer);
    await users(`ApiKey ${apiKey}`);
    await api.admin('PUT', `/v1/admin/tenants/${tenantId}/tier`, { tier: 'basic' });
    await users(bearer);
    await api.admin('POST', `/v1/admin/tenants/${tenantId}/block`);
    await users(`ApiKey ${apiKey}`);
    await api.flushUsage();
    // Assess
    const events = api.bus.details.filter((d) => d.tenantId === tenantId && d.operation === 'GET /v1/users');
    expect(events.map((d) => [d.statusCode, d.tier])).toEqual([
      [200, 'free'],
      [200, 'premium'],
      [200, 'premium'],
      [200, 'basic'],
      [403, 'basic'],
    ]);
  });
});

/** Integration: traffic no tenant made is recorded under the reserved tenant ids, which no tenant can take. */
describe('Integration: metered API traffic of no tenant', () => {
  let api: MeteredApiHarness;

  beforeAll(async () => {
    api = await startMeteredApi();
  });
  afterAll(() => api.stop());

  it.each(['anonymous', 'operator'])('refuses to create a tenant with the reserved id "%s": 400 with a JSON body naming the problem', async (tenantId) => {
    // Act
    const answer = await api.admin('POST', '/v1/admin/tenants', { tenantId, name: 'squatter', tier: 'enterprise' });
    // Assess
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: 'reserved-tenant-id', message: expect.stringContaining(`tenantId "${tenantId}" is reserved for traffic no tenant made`) as unknown });
    const tenants = await api.admin('GET', '/v1/admin/tenants');
    expect((tenants.json.items as { tenantId: string }[]).map((t) => t.tenantId)).not.toContain(tenantId);
  });

  it('records admin calls under operator, and unauthenticated, refused and unmatched calls under anonymous', async () => {
    // Prepare
    const { token } = await api.deps.tokens.mintAdminToken('operator@example.com');
    await api.flushUsage();
    const seen = api.bus.details.length;
    // Act
    await api.admin('GET', '/v1/admin/tenants');
    await api.call('GET', '/v1/admin/audit', { headers: { authorization: `Bearer ${token}` } });
    await api.admin('PUT', '/v1/admin/tenants/no-such-tenant/tier', { tier: 'basic' });
    await api.call('GET', '/v1/admin/tenants');
    await api.call('GET', '/v1/users', { headers: { authorization: 'Bearer not-a-token' } });
    await api.call('GET', '/v1/no-such-route');
    await api.flushUsage();
    // Assess
    const events = api.bus.details.slice(seen).map((d) => [d.operation, d.statusCode, d.tenantId, d.tier ?? null]);
    expect(events).toHaveLength(6);
    expect(events).toEqual(
      expect.arrayContaining([
        ['GET /v1/admin/tenants', 200, 'operator', null],
        ['GET /v1/admin/audit', 200, 'operator', null],
        ['PUT /v1/admin/tenants/{tenantId}/tier', 404, 'operator', null],
        ['GET /v1/admin/tenants', 401, 'anonymous', null],
        ['GET /v1/users', 403, 'anonymous', null],
        ['GET (unmatched route)', 404, 'anonymous', null],
      ]),
    );
  });
});
