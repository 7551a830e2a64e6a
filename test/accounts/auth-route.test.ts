import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ACCOUNT_TOKEN_VALIDITY } from '../../contracts/accounts';
import { ACCOUNT_SCOPES } from '../../contracts/metered-api';
import { OFFENCES_BEFORE_BAN, SOURCE_IP_LIMIT } from '../../contracts/source-ip-limits';
import { REGISTERED } from '../../lambdas/accounts/account-service';
import { createAuthHandler } from '../../lambdas/routes/auth-route';
import { SourceIpGuard } from '../../lambdas/limiter/source-ip-guard';
import { accountServiceOf } from '../../lambdas/runtime/lambda-wiring';
import { AccountRoutes, GOOD_PASSWORD, UNREACHABLE_ENDPOINT, newEmail, startAccountRoutes } from './support-accounts';

const withoutRequestId = (body: Record<string, unknown>) => ({ ...body, requestId: undefined });

/** An API Gateway payload format 2.0 event of an account route, for the function called directly. */
const eventOf = (routeKey: string, body: unknown, sourceIp = '192.0.2.10') => ({
  version: '2.0',
  routeKey,
  rawPath: routeKey.split(' ')[1],
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
  isBase64Encoded: false,
  requestContext: { http: { method: 'POST', sourceIp }, requestId: `r-${routeKey}` },
});

/**
 * Integration (issue 15, items 1 and 3): POST /v1/auth/register, /confirm, /login, /refresh and
 * /logout through the local gateway (the socket's address as the source IP), the `auth` function as
 * the handler registry composes it, dynalite, and a real cognito-local with the stack's pool settings.
 */
describe('Function: auth routes (local gateway, dynalite, cognito-local)', () => {
  let api: AccountRoutes;

  beforeAll(async () => {
    // Every test runs from its own loopback address; the ones not about the guard stay under its limit.
    api = await startAccountRoutes();
  });
  afterAll(() => api.stop());

  /** A confirmed account, from `from`. */
  const confirmedAccount = async (from: string, email = newEmail()) => {
    expect((await api.post('/v1/auth/register', { email, password: GOOD_PASSWORD }, from)).status).toBe(202);
    const code = await api.cognito.verificationCode(email);
    expect((await api.post('/v1/auth/confirm', { email, code }, from)).status).toBe(200);
    return email;
  };

  it('registers, confirms, signs in, refreshes and signs out; the access token speaks for the account\'s own tenant; a revoked refresh token is refused', async () => {
    // Prepare
    const from = '127.0.1.1';
    const email = newEmail('flow');
    // Act
    const registered = await api.post('/v1/auth/register', { email, password: GOOD_PASSWORD }, from);
    const confirmed = await api.post('/v1/auth/confirm', { email, code: await api.cognito.verificationCode(email) }, from);
    const login = await api.post('/v1/auth/login', { email, password: GOOD_PASSWORD }, from);
    const refreshToken = String(login.json.refresh_token);
    const refreshed = await api.post('/v1/auth/refresh', { refresh_token: refreshToken }, from);
    const principal = await api.deps.authenticator.authenticate({ authorization: `Bearer ${String(refreshed.json.access_token)}` }, 'authorization');
    const loggedOut = await api.post('/v1/auth/logout', { refresh_token: refreshToken }, from);
    const afterLogout = await api.post('/v1/auth/refresh', { refresh_token: refreshToken }, from);
    // Assess
    expect(registered).toMatchObject({ status: 202, json: REGISTERED });
    expect(confirmed).toMatchObject({ status: 200, json: { status: 'confirmed' } });
    expect(login.status).toBe(200);
    expect(login.json).toEqual({ access_token: expect.any(String) as unknown, token_type: 'Bearer', expires_in: ACCOUNT_TOKEN_VALIDITY.accessMinutes * 60, refresh_token: expect.any(String) as unknown });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json).toEqual({ access_token: expect.any(String) as unknown, token_type: 'Bearer', expires_in: ACCOUNT_TOKEN_VALIDITY.accessMinutes * 60 });
    const tenant = (await api.deps.store.listTenants()).find((t) => t.owner?.email === email);
    expect(tenant).toMatchObject({ tier: 'free', name: email, blocked: false });
    expect(principal).toEqual({ ok: true, principal: expect.objectContaining({ kind: 'tenant', tenantId: tenant?.tenantId, via: 'account', scopes: [...ACCOUNT_SCOPES] }) as unknown });
    expect(loggedOut).toMatchObject({ status: 200, json: { status: 'signed-out' } });
    expect(afterLogout).toMatchObject({ status: 401, json: { error: 'invalid-credentials' } });
    // Every answer is recorded as anonymous usage, never billed to the account's tenant.
    const events = api.usage().filter((e) => String(e.operation).startsWith('POST /v1/auth/'));
    expect(events).toHaveLength(6);
    expect(new Set(events.map((e) => e.tenantId))).toEqual(new Set(['anonymous']));
  });

  it('answers the registration of an address that has an account byte for byte as a new one, and writes nothing', async () => {
    // Prepare
    const from = '127.0.1.2';
    const taken = await confirmedAccount(from);
    const countItems = async () => {
      const counts = await Promise.all([api.tables.credentials, api.tables.limiter, api.tables.audit].map((TableName) => api.dynamodb.send(new ScanCommand({ TableName, Select: 'COUNT' }))));
      return counts.map((c) => c.Count);
    };
    const before = await countItems();
    // Act
    const again = await api.post('/v1/auth/register', { email: taken, password: `${GOOD_PASSWORD}-other` }, from);
    const otherCase = await api.post('/v1/auth/register', { email: taken.toUpperCase(), password: GOOD_PASSWORD }, from);
    const after = await countItems();
    const fresh = await api.post('/v1/auth/register', { email: newEmail('fresh'), password: GOOD_PASSWORD }, from);
    // Assess
    expect(again.status).toBe(202);
    expect(again.text).toBe(fresh.text);
    expect(otherCase.text).toBe(fresh.text);
    expect(again.headers['content-type']).toBe(fresh.headers['content-type']);
    expect(after).toEqual(before);
  });

  it('sends a new code when an address that is not confirmed yet registers again, answering as ever; a confirmed address gets no code', async () => {
    // Prepare: a registration whose code is "lost"
    const from = '127.0.1.9';
    const email = newEmail('lost-code');
    const first = await api.post('/v1/auth/register', { email, password: GOOD_PASSWORD }, from);
    const lostCode = await api.cognito.verificationCode(email);
    const newCode = async () => {
      for (let waited = 0; waited < 3000; waited += 50) {
        const code = await api.cognito.verificationCode(email);
        if (code !== lostCode) return code;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return lostCode;
    };
    // Act
    const again = await api.post('/v1/auth/register', { email, password: GOOD_PASSWORD }, from);
    const resent = await newCode();
    const confirmed = await api.post('/v1/auth/confirm', { email, code: resent }, from);
    const afterConfirmation = await api.post('/v1/auth/register', { email, password: GOOD_PASSWORD }, from);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Assess
    expect([first.status, again.status, confirmed.status, afterConfirmation.status]).toEqual([202, 202, 200, 202]);
    expect(again.text).toBe(first.text);
    expect(afterConfirmation.text).toBe(first.text);
    expect(resent).not.toBe(lostCode);
    expect(await api.cognito.verificationCode(email)).toBe(resent);
  });

  it('answers a wrong password and an unknown address with the same 401', async () => {
    // Prepare
    const from = '127.0.1.3';
    const email = await confirmedAccount(from);
    // Act
    const wrongPassword = await api.post('/v1/auth/login', { email, password: `${GOOD_PASSWORD}x` }, from);
    const unknown = await api.post('/v1/auth/login', { email: newEmail('nobody'), password: GOOD_PASSWORD }, from);
    // Assess
    expect(wrongPassword.status).toBe(401);
    expect(wrongPassword.json.error).toBe('invalid-credentials');
    expect(unknown.status).toBe(wrongPassword.status);
    expect(withoutRequestId(unknown.json)).toEqual(withoutRequestId(wrongPassword.json));
  });

  it('answers a wrong code and an address that registered nothing with the same 400 invalid-code; an unconfirmed account signs in 403', async () => {
    // Prepare
    const from = '127.0.1.4';
    const email = newEmail('unconfirmed');
    await api.post('/v1/auth/register', { email, password: GOOD_PASSWORD }, from);
    const code = await api.cognito.verificationCode(email);
    const wrong = code === '000000' ? '111111' : '000000';
    // Act
    const wrongCode = await api.post('/v1/auth/confirm', { email, code: wrong }, from);
    const unknown = await api.post('/v1/auth/confirm', { email: newEmail('nobody'), code }, from);
    const unconfirmed = await api.post('/v1/auth/login', { email, password: GOOD_PASSWORD }, from);
    // Assess
    expect(wrongCode).toMatchObject({ status: 400, json: { error: 'invalid-code' } });
    expect(withoutRequestId(unknown.json)).toEqual(withoutRequestId(wrongCode.json));
    expect(unconfirmed).toMatchObject({ status: 403, json: { error: 'account-not-confirmed' } });
  });

  it('refuses a password the policy does not accept with 400 naming each missing rule, before asking Cognito', async () => {
    // Prepare
    const from = '127.0.1.5';
    const email = newEmail('weak');
    // Act
    const weak = await api.post('/v1/auth/register', { email, password: 'short' }, from);
    const noSymbol = await api.post('/v1/auth/register', { email, password: 'Longenough1234' }, from);
    // Assess
    expect(weak).toMatchObject({ status: 400, json: { error: 'invalid-password' } });
    for (const rule of ['at least 12 characters', 'an upper-case letter', 'a digit', 'a symbol']) expect(String(weak.json.message)).toContain(rule);
    expect(String(weak.json.message)).not.toContain('a lower-case letter');
    expect(noSymbol.json.message).toBe('password: the password needs a symbol.');
    // Cognito never saw the address: nothing was sent to it.
    await expect(api.cognito.verificationCode(email, { timeoutMs: 300 })).rejects.toThrow('No verification code');
  });

  it('refuses a body that is not JSON or not the route\'s schema with 400 invalid-body naming the field, never echoing a value', async () => {
    // Prepare
    const from = '127.0.1.6';
    // Act
    const notJson = await api.post('/v1/auth/login', 'email=a&password=b', from);
    const badEmail = await api.post('/v1/auth/login', { email: 'not-an-address', password: 'secret-value' }, from);
    const extra = await api.post('/v1/auth/register', { email: newEmail(), password: GOOD_PASSWORD, tier: 'premium' }, from);
    const badCode = await api.post('/v1/auth/confirm', { email: newEmail(), code: '12ab' }, from);
    // Assess
    expect(notJson).toMatchObject({ status: 400, json: { error: 'invalid-body' } });
    expect(badEmail).toMatchObject({ status: 400, json: { error: 'invalid-body' } });
    expect(String(badEmail.json.message)).toMatch(/^email: /);
    expect(badEmail.text).not.toContain('secret-value');
    expect(extra).toMatchObject({ status: 400, json: { error: 'invalid-body' } });
    expect(String(extra.json.message)).toContain('tier');
    expect(badCode.json.message).toBe('code: code must be the 6 digits emailed');
  });

  it('answers the 11th request of a minute from one address 429 before reading its body, and bans an address that keeps going', async () => {
    // Prepare
    const from = '127.0.1.7';
    const statuses: number[] = [];
    // Act: bodies that would each be refused 400 if the route read them.
    for (let i = 0; i < SOURCE_IP_LIMIT.requestsPerMinute; i++) statuses.push((await api.post('/v1/auth/login', 'not json', from)).status);
    const limited = await api.post('/v1/auth/login', 'not json', from);
    const otherRoute = await api.post('/v1/auth/register', { email: newEmail(), password: GOOD_PASSWORD }, from);
    for (let i = 0; i < OFFENCES_BEFORE_BAN; i++) await api.post('/v1/auth/refresh', {}, from);
    const banned = await api.post('/v1/auth/logout', { refresh_token: 'x' }, from);
    const otherAddress = await api.post('/v1/auth/login', 'not json', '127.0.1.8');
    // Assess
    expect(statuses).toEqual(Array(SOURCE_IP_LIMIT.requestsPerMinute).fill(400));
    expect(limited.status).toBe(429);
    expect(limited.json).toMatchObject({ error: 'rate-limited' });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited.headers['ratelimit-policy']).toBe(`"source-ip";q=${SOURCE_IP_LIMIT.burst};w=60`);
    expect(otherRoute.status).toBe(429);
    expect(banned.status).toBe(429);
    expect(String(banned.json.message)).toContain('banned');
    expect(otherAddress.status).toBe(400);
    const refusals = api.usage().filter((e) => e.statusCode === 429);
    expect(refusals.length).toBeGreaterThanOrEqual(3);
    expect(new Set(refusals.map((e) => e.tenantId))).toEqual(new Set(['anonymous']));
  });

  it('answers 503 accounts-unavailable with Retry-After when Cognito cannot be reached, and 200 signed-out for a token Cognito refuses', async () => {
    // Prepare: the same function, its Cognito at a port nothing listens on.
    const down = accountServiceOf(api.deps.config, { dynamodb: api.dynamodb, store: api.deps.store, logger: api.deps.logger, cognitoEndpoint: UNREACHABLE_ENDPOINT });
    const handler = createAuthHandler({ ...api.deps, accounts: down });
    const up = createAuthHandler(api.deps);
    // Act
    const answers = await Promise.all([
      handler(eventOf('POST /v1/auth/register', { email: newEmail(), password: GOOD_PASSWORD }, '192.0.2.21') as never, {}),
      handler(eventOf('POST /v1/auth/login', { email: newEmail(), password: GOOD_PASSWORD }, '192.0.2.22') as never, {}),
      handler(eventOf('POST /v1/auth/logout', { refresh_token: 'a.b.c' }, '192.0.2.23') as never, {}),
    ]);
    const refusedToken = await up(eventOf('POST /v1/auth/logout', { refresh_token: 'never-issued' }, '192.0.2.24') as never, {});
    // Assess
    for (const answer of answers) {
      expect(answer.statusCode).toBe(503);
      expect(JSON.parse(String(answer.body))).toMatchObject({ error: 'accounts-unavailable' });
      expect(answer.headers['Retry-After']).toBe('5');
    }
    expect(refusedToken.statusCode).toBe(200);
    expect(JSON.parse(String(refusedToken.body))).toEqual({ status: 'signed-out' });
  });

  it('answers 503 accounts-unavailable without a user pool, and when the guard cannot reach its table (fails closed)', async () => {
    // Prepare
    const unreachable = new DynamoDBClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' }, maxAttempts: 1 });
    const noPool = createAuthHandler({ ...api.deps, accounts: undefined });
    const blindGuard = createAuthHandler({ ...api.deps, sourceIpGuard: new SourceIpGuard({ client: unreachable, tableName: 'limiter' }) });
    // Act
    const withoutPool = await noPool(eventOf('POST /v1/auth/login', { email: newEmail(), password: GOOD_PASSWORD }, '192.0.2.31') as never, {});
    const withoutGuard = await blindGuard(eventOf('POST /v1/auth/login', { email: newEmail(), password: GOOD_PASSWORD }, '192.0.2.32') as never, {});
    unreachable.destroy();
    // Assess
    expect(withoutPool.statusCode).toBe(503);
    expect(JSON.parse(String(withoutPool.body))).toMatchObject({ error: 'accounts-unavailable', message: expect.stringContaining('no user pool') as unknown });
    expect(withoutPool.headers['Retry-After']).toBeUndefined();
    expect(withoutGuard.statusCode).toBe(503);
    expect(withoutGuard.headers['Retry-After']).toBe('1');
  });
});
