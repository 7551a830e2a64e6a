import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as jose from 'jose';
import { DEFAULT_ROTATION_GRACE_SECONDS, MAX_KEYS_PER_TENANT, MAX_ROTATION_GRACE_SECONDS } from '../../contracts/accounts';
import { OPTIONAL_ACCOUNT_EVENT_KINDS } from '../../contracts/account-events';
import { accountResponse, createdOwnApiKeyResponse, errorBody, notificationSettingsResponse, ownApiKeyListResponse, ownApiKeyResponse, rotatedApiKeyResponse } from '../../contracts/api-schemas';
import { AuditLog } from '../../lambdas/admin/audit-log';
import { NotificationStore } from '../../lambdas/notifications/notification-store';
import { resolveTierPolicies } from '../../contracts/tiers';
import { Authenticator, Principal, toAuthorizerContext } from '../../lambdas/auth/authenticator';
import { createAccountHandler } from '../../lambdas/routes/account-route';
import type { AuthorizedEvent } from '../../lambdas/http/metered-route';
import { MeteredApiDependencies, createDependencies } from '../../lambdas/runtime/dependencies';
import { LocalAdminTokenSigner } from '../../lambdas/tokens/admin-token-signer';
import { TokenService } from '../../lambdas/tokens/token-service';
import { startDynalite } from '../support/dynalite';

const POOL = { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AccountRoute', clientId: 'account-route-client', kid: 'pool-key' };

/**
 * Issue 15, item 2, over HTTP: the `account` handler as the registry composes it (the metered
 * route wrapper, usage tracking, the account route, OwnKeys, the credential store on dynalite),
 * called with HTTP API v2 events whose authorizer context is what the authorizer makes of real
 * account tokens (signed by a pool key, verified against its JWKS, mapped by registration).
 */
describe('Handler: account routes', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let deps: MeteredApiDependencies;
  let handler: ReturnType<typeof createAccountHandler>;
  let authenticator: Authenticator;
  let poolKeys: jose.GenerateKeyPairResult;
  const usageLines: string[] = [];
  let accounts = 0;

  const accountToken = (subject: string) =>
    new jose.SignJWT({ token_use: 'access', client_id: POOL.clientId, scope: 'aws.cognito.signin.user.admin' })
      .setProtectedHeader({ alg: 'RS256', kid: POOL.kid })
      .setIssuer(POOL.issuer)
      .setSubject(subject)
      .setIssuedAt()
      .setExpirationTime('15m')
      .sign(poolKeys.privateKey);

  /** What the authorizer makes of a credential (an account's token, or an API key). */
  const principalOf = async (authorization: string): Promise<Principal> => {
    const outcome = await authenticator.authenticate({ authorization }, 'authorization');
    if (!outcome.ok) throw new Error(`refused: ${outcome.reason}`);
    return outcome.principal;
  };

  /** A registered account (its tenant and mapping as registration writes them) and its principal. */
  const register = async () => {
    accounts++;
    const subject = `sub-${String(accounts)}-${String(Date.now())}`;
    const email = `owner${String(accounts)}@example.com`;
    const tenant = await deps.store.createOwnedTenant({ owner: { subject, email }, issuer: POOL.issuer });
    return { tenantId: tenant.tenantId, email, principal: await principalOf(`Bearer ${await accountToken(subject)}`) };
  };

  /** A request as API Gateway hands it on after the authorizer: the answer's status and JSON body. */
  const call = async (principal: Principal | undefined, routeKey: string, options: { keyId?: string; body?: unknown } = {}) => {
    const [method, route] = routeKey.split(' ');
    const event = {
      version: '2.0',
      routeKey,
      rawPath: options.keyId ? route.replace('{keyId}', options.keyId) : route,
      headers: {},
      isBase64Encoded: false,
      ...(options.body === undefined ? {} : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
      ...(options.keyId === undefined ? {} : { pathParameters: { keyId: options.keyId } }),
      requestContext: { requestId: 'req-1', http: { method, path: route }, ...(principal ? { authorizer: { lambda: toAuthorizerContext(principal) } } : {}) },
    } as unknown as AuthorizedEvent;
    const answer = await handler(event, {});
    return { status: answer.statusCode, json: JSON.parse(String(answer.body)) as Record<string, unknown> };
  };

  beforeAll(async () => {
    dynamo = await startDynalite();
    const dir = mkdtempSync(path.join(tmpdir(), 'account-route-'));
    writeFileSync(path.join(dir, 'tenant-secret'), 's'.repeat(48), { mode: 0o600 });
    deps = createDependencies(
      {
        tables: dynamo.tables,
        tokenIssuer: 'https://api.test',
        tokenAudience: 'api',
        tenantSecret: { kind: 'file', path: path.join(dir, 'tenant-secret') },
        adminKey: { kind: 'file', path: path.join(dir, 'admin.pem') },
        tiers: resolveTierPolicies(),
        demo: { latencyMs: 0, errorRate: 0 },
      },
      { dynamodb: dynamo.client, usageLog: (line) => usageLines.push(line) },
    );
    handler = createAccountHandler(deps);
    poolKeys = await jose.generateKeyPair('RS256');
    const jwks = { keys: [{ ...(await jose.exportJWK(poolKeys.publicKey)), kid: POOL.kid, alg: 'RS256' }] };
    const tokens = new TokenService({
      issuer: 'https://api.test',
      audience: 'api',
      tenantSecret: () => Promise.resolve(new Uint8Array(48)),
      adminSigner: new LocalAdminTokenSigner(path.join(dir, 'admin.pem')),
      accounts: { issuer: POOL.issuer, clientIds: [POOL.clientId], jwks },
    });
    authenticator = new Authenticator(deps.store, tokens);
  });
  afterAll(() => dynamo.stop());

  it('GET /v1/auth/me answers the account\'s address and tenant (the Account schema)', async () => {
    // Prepare
    const alice = await register();
    // Act
    const me = await call(alice.principal, 'GET /v1/auth/me');
    // Assess
    expect(me.status).toBe(200);
    expect(accountResponse.parse(me.json)).toEqual({ email: alice.email, tenantId: alice.tenantId, tier: 'free', blocked: false, createdAt: expect.any(String) as unknown });
  });

  it('creates, lists, rotates (grace 0: the old key stops at once) and revokes a key, each answer in its schema', async () => {
    // Prepare
    const alice = await register();
    // Act + Assess: create
    const created = await call(alice.principal, 'POST /v1/keys', { body: { name: 'backend' } });
    expect(created.status).toBe(201);
    const key = createdOwnApiKeyResponse.parse(created.json);
    expect((await principalOf(`ApiKey ${key.apiKey}`)).kind).toBe('tenant');
    // list
    const listed = await call(alice.principal, 'GET /v1/keys');
    expect([listed.status, ownApiKeyListResponse.parse(listed.json).items.map((k) => k.keyId)]).toEqual([200, [key.keyId]]);
    expect(JSON.stringify(listed.json)).not.toContain(key.apiKey);
    // rotate at once
    const rotated = await call(alice.principal, 'POST /v1/keys/{keyId}/rotate', { keyId: key.keyId, body: { graceSeconds: 0 } });
    expect(rotated.status).toBe(201);
    const { key: successor, previous } = rotatedApiKeyResponse.parse(rotated.json);
    expect([successor.name, previous.keyId, previous.expiresAt === undefined]).toEqual(['backend', key.keyId, false]);
    await expect(principalOf(`ApiKey ${key.apiKey}`)).rejects.toThrow('refused: API key expired after its rotation');
    expect((await principalOf(`ApiKey ${successor.apiKey}`)).keyId).toBe(successor.keyId);
    // revoke
    const revoked = await call(alice.principal, 'POST /v1/keys/{keyId}/revoke', { keyId: successor.keyId });
    expect([revoked.status, ownApiKeyResponse.parse(revoked.json).status]).toEqual([200, 'revoked']);
    await expect(principalOf(`ApiKey ${successor.apiKey}`)).rejects.toThrow('refused: API key is revoked');
  });

  it('never lets one account touch another tenant\'s keys: the same 404 key-not-found as for an unknown id, and nothing listed or changed', async () => {
    // Prepare: two real accounts' principals
    const [alice, bob] = [await register(), await register()];
    const alicesKey = createdOwnApiKeyResponse.parse((await call(alice.principal, 'POST /v1/keys', { body: { name: 'alice' } })).json);
    // Act
    const answers = [
      await call(bob.principal, 'POST /v1/keys/{keyId}/rotate', { keyId: alicesKey.keyId, body: {} }),
      await call(bob.principal, 'POST /v1/keys/{keyId}/revoke', { keyId: alicesKey.keyId }),
      await call(bob.principal, 'POST /v1/keys/{keyId}/revoke', { keyId: 'key_unknown00000' }),
    ];
    const bobsList = await call(bob.principal, 'GET /v1/keys');
    // Assess
    const idless = answers.map(({ status, json }) => [status, errorBody.parse(json).error, String(json.message).replace(/"[^"]*"/, '<id>')]);
    expect(idless).toEqual(Array.from({ length: 3 }, () => [404, 'key-not-found', 'Key <id> does not exist.']));
    expect(bobsList.json).toEqual({ items: [] });
    expect((await principalOf(`ApiKey ${alicesKey.apiKey}`)).keyId).toBe(alicesKey.keyId);
    expect((await call(alice.principal, 'GET /v1/keys')).json).toEqual({ items: [expect.objectContaining({ keyId: alicesKey.keyId, status: 'active' })] });
  });

  it.each([
    ['no body', undefined, /^The request needs a JSON body/],
    ['a name with a slash', { name: 'a/b' }, /^name: name must be 1-64/],
    ['an unknown field', { name: 'ok', tenantId: 'someone-else' }, /tenantId/],
    ['a body that is not JSON', '{name', /not valid JSON/],
  ])('POST /v1/keys with %s answers 400 with a JSON body naming the problem', async (_what, body, message) => {
    // Prepare
    const alice = await register();
    // Act
    const answer = await call(alice.principal, 'POST /v1/keys', { body });
    // Assess
    expect(answer.status).toBe(400);
    expect(errorBody.parse(answer.json)).toMatchObject({ error: 'invalid-body', message: expect.stringMatching(message) as unknown });
  });

  it(`rotates with the default grace (${DEFAULT_ROTATION_GRACE_SECONDS} s) without a body, refuses a grace over ${MAX_ROTATION_GRACE_SECONDS} s (400) and a second rotation (409 key-rotated)`, async () => {
    // Prepare
    const alice = await register();
    const key = createdOwnApiKeyResponse.parse((await call(alice.principal, 'POST /v1/keys', { body: { name: 'default grace' } })).json);
    // Act
    const tooLong = await call(alice.principal, 'POST /v1/keys/{keyId}/rotate', { keyId: key.keyId, body: { graceSeconds: MAX_ROTATION_GRACE_SECONDS + 1 } });
    const before = Date.now();
    const rotated = await call(alice.principal, 'POST /v1/keys/{keyId}/rotate', { keyId: key.keyId });
    const again = await call(alice.principal, 'POST /v1/keys/{keyId}/rotate', { keyId: key.keyId, body: { graceSeconds: 10 } });
    // Assess
    expect([tooLong.status, errorBody.parse(tooLong.json).error]).toEqual([400, 'invalid-body']);
    expect(rotated.status).toBe(201);
    const expiresAt = Date.parse(String(rotatedApiKeyResponse.parse(rotated.json).previous.expiresAt));
    expect(expiresAt - before).toBeGreaterThanOrEqual(DEFAULT_ROTATION_GRACE_SECONDS * 1000 - 1000);
    expect(expiresAt - before).toBeLessThanOrEqual(DEFAULT_ROTATION_GRACE_SECONDS * 1000 + 5000);
    expect([again.status, errorBody.parse(again.json).error]).toEqual([409, 'key-rotated']);
    expect(String(again.json.message)).toContain('rotated already');
  });

  it(`answers the ${String(MAX_KEYS_PER_TENANT + 1)}st key 409 too-many-keys`, async () => {
    // Prepare
    const alice = await register();
    for (let i = 0; i < MAX_KEYS_PER_TENANT; i++) expect((await call(alice.principal, 'POST /v1/keys', { body: { name: `k${String(i)}` } })).status).toBe(201);
    // Act
    const over = await call(alice.principal, 'POST /v1/keys', { body: { name: 'over' } });
    // Assess
    expect([over.status, errorBody.parse(over.json).error]).toEqual([409, 'too-many-keys']);
  });

  it('refuses an API key\'s principal of the same tenant (403, the account routes need the account\'s token) and a request without one (401)', async () => {
    // Prepare
    const alice = await register();
    const key = createdOwnApiKeyResponse.parse((await call(alice.principal, 'POST /v1/keys', { body: { name: 'a key' } })).json);
    const keyPrincipal = await principalOf(`ApiKey ${key.apiKey}`);
    // Act
    const answers = [await call(keyPrincipal, 'GET /v1/keys'), await call(keyPrincipal, 'POST /v1/keys', { body: { name: 'by a key' } }), await call(undefined, 'GET /v1/auth/me')];
    // Assess
    expect(answers.map(({ status, json }) => [status, errorBody.parse(json).error])).toEqual([
      [403, 'forbidden'],
      [403, 'forbidden'],
      [401, 'unauthorized'],
    ]);
  });

  describe('Issue 16: GET and PUT /v1/notifications', () => {
    it('answers no opt-outs at first, then what PUT set, which the notifier\'s own store reads back (one attribute, one writer, one reader)', async () => {
      // Prepare
      const alice = await register();
      const notifier = new NotificationStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials });
      // Act
      const before = await call(alice.principal, 'GET /v1/notifications');
      const put = await call(alice.principal, 'PUT /v1/notifications', { body: { optOuts: ['quota-80', 'tier-changed', 'quota-80'] } });
      const after = await call(alice.principal, 'GET /v1/notifications');
      // Assess
      expect([before.status, notificationSettingsResponse.parse(before.json).optOuts]).toEqual([200, []]);
      expect(notificationSettingsResponse.parse(before.json).optional).toEqual(OPTIONAL_ACCOUNT_EVENT_KINDS);
      expect(notificationSettingsResponse.parse(before.json).critical).toEqual(['tenant-blocked', 'tenant-unblocked', 'key-revoked', 'key-blocked', 'quota-100']);
      expect([put.status, notificationSettingsResponse.parse(put.json).optOuts]).toEqual([200, ['tier-changed', 'quota-80']]);
      expect(notificationSettingsResponse.parse(after.json).optOuts).toEqual(['tier-changed', 'quota-80']);
      expect((await notifier.optOuts(alice.tenantId)).sort()).toEqual(['quota-80', 'tier-changed']);
      // and back to none
      await call(alice.principal, 'PUT /v1/notifications', { body: { optOuts: [] } });
      expect(await notifier.optOuts(alice.tenantId)).toEqual([]);
    });

    it('audits each change in its transaction (action notifications.set, actor the account), and a PUT of the same list writes nothing', async () => {
      // Prepare
      const alice = await register();
      const audit = new AuditLog(dynamo.client, dynamo.tables.audit);
      const entriesOf = async () => (await audit.recent(500)).filter((entry) => entry.action === 'notifications.set' && entry.target === alice.tenantId);
      // Act
      await call(alice.principal, 'PUT /v1/notifications', { body: { optOuts: ['key-created'] } });
      await call(alice.principal, 'PUT /v1/notifications', { body: { optOuts: ['key-created'] } });
      // Assess
      const entries = await entriesOf();
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({ actor: expect.stringMatching(/^account:sub-/) as unknown, details: { optOuts: 'key-created', from: '' } });
    });

    it.each([
      ['a critical kind', { optOuts: ['key-revoked'] }, '"key-revoked"'],
      ['an operators\' kind', { optOuts: ['tier-changed', 'rate-limit-spike'] }, '"rate-limit-spike"'],
      ['a name that is no kind', { optOuts: ['newsletter'] }, '"newsletter"'],
      ['a kind that is not a string', { optOuts: [7] }, 'got 7'],
      ['no list', { optOuts: 'quota-80' }, '"optOuts":"quota-80"'],
      ['another field', { optOuts: [], mail: false }, '"mail":false'],
    ])('refuses %s with 400 invalid-body naming it, and changes nothing', async (_, body, named) => {
      // Prepare
      const alice = await register();
      await call(alice.principal, 'PUT /v1/notifications', { body: { optOuts: ['quota-80'] } });
      // Act
      const refused = await call(alice.principal, 'PUT /v1/notifications', { body });
      // Assess
      expect([refused.status, errorBody.parse(refused.json).error]).toEqual([400, 'invalid-body']);
      expect(errorBody.parse(refused.json).message).toContain(named);
      expect(notificationSettingsResponse.parse((await call(alice.principal, 'GET /v1/notifications')).json).optOuts).toEqual(['quota-80']);
    });

    it('refuses a tenant the account does not own (403 not-tenant-owner) and an API key\'s principal (403 forbidden)', async () => {
      // Prepare: a tenant an admin created, mapped to an account's subject; and a key of an owned tenant
      const admins = await deps.store.createTenant({ name: 'by admins', tier: 'free' });
      await deps.store.mapExternalIdentity({ issuer: POOL.issuer, tenantId: admins.tenantId, subject: 'sub-mapped' });
      const mapped = await principalOf(`Bearer ${await accountToken('sub-mapped')}`);
      const alice = await register();
      const key = createdOwnApiKeyResponse.parse((await call(alice.principal, 'POST /v1/keys', { body: { name: 'k' } })).json);
      const keyPrincipal = await principalOf(`ApiKey ${key.apiKey}`);
      // Act
      const answers = [await call(mapped, 'PUT /v1/notifications', { body: { optOuts: ['quota-80'] } }), await call(keyPrincipal, 'GET /v1/notifications')];
      // Assess
      expect(answers.map(({ status, json }) => [status, errorBody.parse(json).error])).toEqual([
        [403, 'not-tenant-owner'],
        [403, 'forbidden'],
      ]);
      expect(await new NotificationStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials }).optOuts(admins.tenantId)).toEqual([]);
    });
  });

  it('records each answer as a usage event of the account\'s tenant', async () => {
    // Prepare
    const alice = await register();
    usageLines.length = 0;
    // Act
    await call(alice.principal, 'GET /v1/keys');
    // Assess
    expect(usageLines.join('\n')).toContain(alice.tenantId);
  });
});
