import { createHmac } from 'node:crypto';
import * as jose from 'jose';
import { ADMIN_SECRET, AUDIENCE, EXTERNAL, ISSUER, MeteredApiHarness, TENANT_SECRET, startMeteredApi } from '../support/metered-api-harness';

const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** A token signed with our own tenant secret, with any header and claims. */
async function ownToken(claims: jose.JWTPayload, header: Partial<jose.JWTHeaderParameters> = {}, secret = TENANT_SECRET) {
  return new jose.SignJWT({ tid: 'victim', scope: 'api:call usage:read', jti: 'j', ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'tenant', ...header })
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(String(claims.aud ?? AUDIENCE))
    .setSubject('key_x')
    .setIssuedAt(now() - 10)
    .setExpirationTime(claims.exp ?? now() + 600)
    .sign(new TextEncoder().encode(secret));
}

/** An HMAC-signed token built by hand, so the header can be anything. */
function handSigned(header: object, payload: object, key: string | Buffer) {
  const input = `${encode(header)}.${encode(payload)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

/**
 * Integration: a corpus of bad credentials against the local HTTP API gateway. Each is refused as
 * API Gateway's HTTP API refuses it — 401 when no credential is sent, 403 when the authorizer says
 * `isAuthorized: false` — with API Gateway's own JSON body: never a 2xx, never a 5xx, no stack.
 */
describe('Integration: bad credentials', () => {
  let api: MeteredApiHarness;
  let revokedKey: string;
  let tenantId: string;
  const corpus: [string, () => Promise<Record<string, string>>, number][] = [];

  beforeAll(async () => {
    api = await startMeteredApi();
    const revoked = await api.tenantWithKey('basic', 'victim');
    tenantId = revoked.tenantId;
    revokedKey = revoked.apiKey;
    await api.admin('POST', `/v1/admin/keys/${revoked.keyId}/revoke`);
  });
  afterAll(() => api.stop());

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const payload = () => ({ iss: ISSUER, aud: AUDIENCE, sub: 'key_x', tid: 'victim', scope: 'api:call', iat: now() - 10, exp: now() + 600, jti: 'j' });

  corpus.push(
    ['no credential at all', () => Promise.resolve(({})), 401],
    ['an empty Authorization header', () => Promise.resolve(({ authorization: '' })), 401],
    ['alg: none', () => Promise.resolve(bearer(`${encode({ alg: 'none', typ: 'at+jwt', kid: 'tenant' })}.${encode(payload())}.`)), 403],
    [
      'HS256 signed with the external issuer public key (key confusion)',
      async () => {
        const publicPem = await jose.exportSPKI(api.externalKeys.publicKey);
        const claims = { ...payload(), iss: EXTERNAL.issuer, token_use: 'access', client_id: EXTERNAL.clientId, tenant_id: 'victim' };
        return bearer(handSigned({ alg: 'HS256', typ: 'JWT', kid: EXTERNAL.kid }, claims, publicPem));
      },
      403,
    ],
    ['expired', async () => bearer(await ownToken({ exp: now() - 60 })), 403],
    ['not yet valid', async () => bearer(await new jose.SignJWT({ ...payload(), nbf: now() + 600 }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'tenant' }).sign(new TextEncoder().encode(TENANT_SECRET))), 403],
    ['wrong iss', async () => bearer(await ownToken({ iss: 'https://evil.test' })), 403],
    ['wrong aud', async () => bearer(await ownToken({ aud: 'someone-else' })), 403],
    ['wrong typ', async () => bearer(await ownToken({}, { typ: 'JWT' })), 403],
    ['bad signature', async () => bearer(await ownToken({}, {}, 'a-different-secret-0123456789abcdef0123456789')), 403],
    [
      'a tampered payload',
      async () => {
        const [h, , s] = (await ownToken({})).split('.');
        return bearer(`${h}.${encode({ ...payload(), tid: 'someone-else' })}.${s}`);
      },
      403,
    ],
    ['truncated', async () => bearer((await ownToken({})).slice(0, -20)), 403],
    ['garbage', () => Promise.resolve(bearer('%%%not.a.jwt%%%')), 403],
    ['an oversized header', async () => bearer(await ownToken({ padding: 'x'.repeat(6000) })), 403],
    ['an unknown scheme', () => Promise.resolve(({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` })), 403],
    ['an unknown API key', () => Promise.resolve(({ authorization: `ApiKey aut_${'A'.repeat(43)}` })), 403],
    ['a malformed API key', () => Promise.resolve(({ authorization: 'ApiKey not-a-key' })), 403],
    ['a revoked API key', () => Promise.resolve(({ authorization: `ApiKey ${revokedKey}` })), 403],
    ['an admin-scoped token signed with the tenant secret', async () => bearer(await ownToken({ scope: 'admin' }, { kid: 'admin' })), 403],
    ['a tenant token claiming the admin scope', async () => bearer(await ownToken({ scope: 'admin api:call' })), 403],
  );

  it.each(corpus.map(([label, headers, status]) => [label, headers, status] as const))('refuses %s', async (_label, headers, status) => {
    // Act
    const answer = await api.call('GET', '/v1/users', { headers: await headers() });
    // Assess
    expect(answer.status).toBe(status);
    expect(answer.json).toEqual({ message: status === 401 ? 'Unauthorized' : 'Forbidden' });
  });

  it.each([
    ['no x-api-key on the token exchange', {}, 401],
    ['a revoked key on the token exchange', 'revoked', 403],
    ['a Bearer token instead of a key on the token exchange', 'bearer', 401],
  ] as const)('refuses %s', async (_label, kind, status) => {
    const headers: Record<string, string> = kind === 'revoked' ? { 'x-api-key': revokedKey } : kind === 'bearer' ? bearer(await ownToken({})) : {};
    const answer = await api.call('POST', '/v1/auth/token', { headers });
    expect(answer.status).toBe(status);
  });

  it('refuses the admin routes to a token minted with the admin secret but a tenant key id', async () => {
    const forged = await new jose.SignJWT({ scope: 'admin', jti: 'j' })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'tenant' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('ops')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(ADMIN_SECRET));
    expect((await api.call('GET', '/v1/admin/tenants', { headers: bearer(forged) })).status).toBe(403);
  });

  it('accepts a genuine admin token minted from the admin secret, and a genuine external token of a mapped identity for tenants only', async () => {
    const { token } = await api.deps.tokens.mintAdminToken('operator@example.com');
    expect((await api.call('GET', '/v1/admin/tenants', { headers: bearer(token) })).status).toBe(200);
    expect((await api.admin('POST', `/v1/admin/tenants/${tenantId}/external-identities`, { issuer: EXTERNAL.issuer, subject: 'user-1' })).status).toBe(201);
    const external = await new jose.SignJWT({ token_use: 'access', client_id: EXTERNAL.clientId, scope: 'admin' })
      .setProtectedHeader({ alg: 'ES256', kid: EXTERNAL.kid })
      .setIssuer(EXTERNAL.issuer)
      .setSubject('user-1')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(api.externalKeys.privateKey);
    expect((await api.call('GET', '/v1/users', { headers: bearer(external) })).status).toBe(200);
    expect((await api.call('GET', '/v1/admin/tenants', { headers: bearer(external) })).status).toBe(403);
  });
});
