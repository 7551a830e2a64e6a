import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as jose from 'jose';
import { ACCOUNT_SCOPES, SCOPES } from '../../contracts/metered-api';
import { LAMBDA_ENV } from '../../contracts/lambda-environment';
import { Authenticator, mayAccess } from '../../lambdas/auth/authenticator';
import { RuntimeConfigError, readRuntimeConfig } from '../../lambdas/runtime/runtime-config';
import { LocalAdminTokenSigner } from '../../lambdas/tokens/admin-token-signer';
import { TokenRejectedError, TokenService } from '../../lambdas/tokens/token-service';
import { EXTERNAL, MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

/**
 * Issue 15, item 1: the project's own user pool. Its access tokens are verified against its keys
 * (chosen by `iss`), speak for the tenant the credentials table maps their `sub` to, and alone
 * carry the account scope that manages keys; an external issuer's tokens and key-minted tokens never do.
 */
describe('Security: account tokens of the project\'s user pool', () => {
  const POOL = { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool', clientId: 'pool-client', kid: 'pool-key' };
  let api: MeteredApiHarness;
  let poolKeys: jose.GenerateKeyPairResult;
  let tokens: TokenService;
  let authenticator: Authenticator;
  let tenantId: string;

  const accountToken = (claims: jose.JWTPayload = {}, options: { subject?: string; issuer?: string; key?: jose.CryptoKey; expiresAt?: string | number } = {}) =>
    new jose.SignJWT({ token_use: 'access', client_id: POOL.clientId, scope: 'aws.cognito.signin.user.admin', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: POOL.kid })
      .setIssuer(options.issuer ?? POOL.issuer)
      .setSubject(options.subject ?? 'owner-sub')
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime(options.expiresAt ?? '15m')
      .sign(options.key ?? poolKeys.privateKey);
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    api = await startMeteredApi();
    poolKeys = await jose.generateKeyPair('RS256');
    const jwks = { keys: [{ ...(await jose.exportJWK(poolKeys.publicKey)), kid: POOL.kid, alg: 'RS256' }] };
    const externalJwks = { keys: [{ ...(await jose.exportJWK(api.externalKeys.publicKey)), kid: EXTERNAL.kid }] };
    tokens = new TokenService({
      issuer: 'own-issuer',
      audience: 'own-audience',
      tenantSecret: () => Promise.resolve(new Uint8Array(40)),
      adminSigner: new LocalAdminTokenSigner(path.join(mkdtempSync(path.join(tmpdir(), 'admin-key-')), 'admin.pem')),
      external: { issuer: EXTERNAL.issuer, clientIds: [EXTERNAL.clientId], jwks: externalJwks, algorithms: ['ES256'] },
      accounts: { issuer: POOL.issuer, clientIds: [POOL.clientId], jwks },
    });
    authenticator = new Authenticator(api.deps.store, tokens);
    tenantId = (await api.tenantWithKey('basic', 'account-owner')).tenantId;
    await api.deps.store.mapExternalIdentity({ issuer: POOL.issuer, subject: 'owner-sub', tenantId });
  });
  afterAll(() => api.stop());

  it('acts for the tenant mapped to the account\'s sub, with the account scope', async () => {
    // Act
    const outcome = await authenticator.authenticate(bearer(await accountToken()), 'authorization');
    // Assess
    if (!outcome.ok) throw new Error(`refused: ${outcome.reason}`);
    expect(outcome.principal).toMatchObject({ kind: 'tenant', tenantId, via: 'account', subject: 'owner-sub', scopes: [...ACCOUNT_SCOPES] });
    expect(mayAccess(outcome.principal, 'account')).toBe(true);
    expect(mayAccess(outcome.principal, 'tenant')).toBe(true);
    expect(mayAccess(outcome.principal, 'admin')).toBe(false);
  });

  it('refuses an account without a tenant, a token signed by another key, an ID token, another client and an expired token', async () => {
    // Prepare
    const other = await jose.generateKeyPair('RS256');
    const candidates = [
      await accountToken({}, { subject: 'no-tenant-sub' }),
      await accountToken({}, { key: other.privateKey }),
      await accountToken({ token_use: 'id' }),
      await accountToken({ client_id: 'someone-elses-client' }),
      await accountToken({}, { expiresAt: Math.floor(Date.now() / 1000) - 60 }),
    ];
    // Act
    const outcomes = await Promise.all(candidates.map(async (token) => authenticator.authenticate(bearer(token), 'authorization')));
    // Assess
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([false, false, false, false, false]);
    expect(outcomes.map((outcome) => (outcome.ok ? '' : outcome.reason))).toEqual([
      'token rejected: account has no tenant',
      expect.stringContaining('signature verification failed'),
      'token rejected: external token is not an access token',
      'token rejected: external token of a client not on the allow-list',
      expect.stringContaining('"exp" claim timestamp check failed'),
    ]);
  });

  it('never gives the account scope to an external issuer\'s token for the same mapped tenant, nor to a key', async () => {
    // Prepare: the external issuer's user mapped to the same tenant
    await api.deps.store.mapExternalIdentity({ issuer: EXTERNAL.issuer, subject: 'external-user', tenantId });
    const external = await new jose.SignJWT({ token_use: 'access', client_id: EXTERNAL.clientId, scope: SCOPES.account })
      .setProtectedHeader({ alg: 'ES256', kid: EXTERNAL.kid })
      .setIssuer(EXTERNAL.issuer)
      .setSubject('external-user')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(api.externalKeys.privateKey);
    const { apiKey } = await api.deps.store.createKey(tenantId);
    // Act
    const outcomes = [await authenticator.authenticate(bearer(external), 'authorization'), await authenticator.authenticate({ authorization: `ApiKey ${apiKey}` }, 'authorization')];
    // Assess
    expect(outcomes.map((outcome) => outcome.ok && outcome.principal.via)).toEqual(['token', 'api-key']);
    expect(outcomes.map((outcome) => outcome.ok && mayAccess(outcome.principal, 'account'))).toEqual([false, false]);
    expect(outcomes.map((outcome) => outcome.ok && mayAccess(outcome.principal, 'tenant'))).toEqual([true, true]);
  });

  it('takes an account\'s tenant from its subject\'s mapping only, never from a mapping of the pool\'s app client', async () => {
    // Prepare: an admin maps the pool's app client to a tenant (as one may for an external issuer)
    const other = (await api.tenantWithKey('enterprise', 'client-mapped')).tenantId;
    await api.deps.store.mapExternalIdentity({ issuer: POOL.issuer, clientId: POOL.clientId, tenantId: other });
    // Act
    const outcome = await authenticator.authenticate(bearer(await accountToken({}, { subject: 'unmapped-sub' })), 'authorization');
    // Assess
    expect(outcome).toEqual({ ok: false, reason: 'token rejected: account has no tenant' });
  });

  it('does not verify a token claiming the pool\'s issuer with the external issuer\'s keys', async () => {
    // Prepare: signed by the external issuer's key, claiming the pool as issuer
    const forged = await new jose.SignJWT({ token_use: 'access', client_id: POOL.clientId })
      .setProtectedHeader({ alg: 'ES256', kid: EXTERNAL.kid })
      .setIssuer(POOL.issuer)
      .setSubject('owner-sub')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(api.externalKeys.privateKey);
    // Act / Assess
    await expect(tokens.verify(forged)).rejects.toThrow(TokenRejectedError);
  });
});

describe('Runtime configuration of the accounts pool', () => {
  const base = {
    [LAMBDA_ENV.tables.credentials]: 'c',
    [LAMBDA_ENV.tables.limiter]: 'l',
    [LAMBDA_ENV.tables.audit]: 'a',
    [LAMBDA_ENV.tokenIssuer]: 'i',
    [LAMBDA_ENV.tokenAudience]: 'a',
    [LAMBDA_ENV.tenantTokenSecretFile]: 'secret',
    [LAMBDA_ENV.adminTokenKeyFile]: 'key.pem',
  };

  it('reads the pool, its client and its JWKS URL from the issuer', () => {
    // Act
    const config = readRuntimeConfig({
      ...base,
      [LAMBDA_ENV.accountsUserPoolId]: 'eu-west-1_Pool',
      [LAMBDA_ENV.accountsClientId]: 'client',
      [LAMBDA_ENV.accountsIssuer]: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool',
    });
    // Assess
    expect(config.accounts).toMatchObject({ userPoolId: 'eu-west-1_Pool', clientId: 'client', clientIds: ['client'] });
    expect(config.accounts?.jwks instanceof URL && config.accounts.jwks.href).toBe('https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Pool/.well-known/jwks.json');
    expect(readRuntimeConfig(base).accounts).toBeUndefined();
  });

  it('names what is missing, and refuses a plain-HTTP issuer that is not on loopback', () => {
    // Act / Assess
    expect(() => readRuntimeConfig({ ...base, [LAMBDA_ENV.accountsUserPoolId]: 'p' })).toThrow(
      'ACCOUNTS_CLIENT_ID, ACCOUNTS_ISSUER not set: the accounts pool needs all of ACCOUNTS_USER_POOL_ID, ACCOUNTS_CLIENT_ID, ACCOUNTS_ISSUER',
    );
    const plain = { ...base, [LAMBDA_ENV.accountsUserPoolId]: 'p', [LAMBDA_ENV.accountsClientId]: 'c', [LAMBDA_ENV.accountsIssuer]: 'http://idp.test/p' };
    expect(() => readRuntimeConfig(plain)).toThrow(RuntimeConfigError);
    expect(readRuntimeConfig({ ...plain, [LAMBDA_ENV.accountsIssuer]: 'http://127.0.0.1:4020/p' }).accounts?.issuer).toBe('http://127.0.0.1:4020/p');
  });
});
