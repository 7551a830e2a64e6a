import { mkdtempSync } from 'node:fs';
import * as jose from 'jose';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalAdminTokenSigner } from '../../lambdas/tokens/admin-token-signer';
import { TokenRejectedError, TokenService } from '../../lambdas/tokens/token-service';

const secret = (text: string) => () => Promise.resolve(new TextEncoder().encode(text));
const adminSigner = new LocalAdminTokenSigner(path.join(mkdtempSync(path.join(tmpdir(), 'admin-key-')), 'admin.pem'));
const service = (clock: () => number = Date.now) =>
  new TokenService({ issuer: 'https://iss.test', audience: 'aud', tenantSecret: secret('t'.repeat(40)), adminSigner, clock });

describe('Class: TokenService', () => {
  it('mints tenant tokens it verifies back to the same principal', async () => {
    const tokens = service();
    const { token, expiresIn } = await tokens.mintTenantToken({ tenantId: 'acme', keyId: 'key_1', tier: 'premium' });
    expect(expiresIn).toBe(900);
    await expect(tokens.verify(token)).resolves.toEqual({ kind: 'tenant', subject: 'key_1', tenantId: 'acme', keyId: 'key_1', tier: 'premium', scopes: ['api:call', 'usage:read'] });
  });

  it('allows 5 s of clock skew on exp, and no more', async () => {
    let now = Date.parse('2026-11-23T10:00:00Z');
    const tokens = service(() => now);
    const { token } = await tokens.mintTenantToken({ tenantId: 'acme', keyId: 'key_1', tier: 'free' });
    now += 903_000;
    await expect(tokens.verify(token)).resolves.toMatchObject({ tenantId: 'acme' });
    now += 10_000;
    await expect(tokens.verify(token)).rejects.toThrow(TokenRejectedError);
  });

  it('keeps admin and tenant tokens apart: neither verifies as the other', async () => {
    // Prepare
    const tokens = service();
    const admin = await tokens.mintAdminToken('ops');
    const tenant = await tokens.mintTenantToken({ tenantId: 'acme', keyId: 'key_1', tier: 'free' });
    // A token signed with the right key for its own kind, presented under the other kind's key id.
    const asKid = (token: string, kid: 'tenant' | 'admin') => {
      const [header, ...rest] = token.split('.');
      const decoded = JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as Record<string, unknown>;
      return [Buffer.from(JSON.stringify({ ...decoded, kid })).toString('base64url'), ...rest].join('.');
    };
    // Act + Assess: each verifies as what it is...
    await expect(tokens.verify(admin.token)).resolves.toEqual({ kind: 'admin', subject: 'ops', scopes: ['admin'], tokenId: admin.tokenId });
    await expect(tokens.verify(tenant.token)).resolves.toMatchObject({ kind: 'tenant', tenantId: 'acme' });
    // ...and never as the other: an admin token under the tenant key id, a tenant token under the admin key id.
    await expect(tokens.verify(asKid(admin.token, 'tenant'))).rejects.toThrow(TokenRejectedError);
    await expect(tokens.verify(asKid(tenant.token, 'admin'))).rejects.toThrow(TokenRejectedError);
  });

  it('refuses a tenant-signed token that claims the admin scope', async () => {
    // Prepare: a token signed with the tenant secret, as anyone holding it could, claiming admin.
    const tokens = service();
    const forged = await new jose.SignJWT({ tid: 'acme', scope: 'admin' })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'tenant' })
      .setIssuer('https://iss.test')
      .setAudience('aud')
      .setSubject('key_1')
      .setJti('j')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('t'.repeat(40)));
    // Act + Assess
    await expect(tokens.verify(forged)).rejects.toThrow('tenant token claiming the admin scope');
  });

  it('refuses weak secrets', async () => {
    const weak = new TokenService({ issuer: 'i', audience: 'a', tenantSecret: secret('short'), adminSigner });
    await expect(weak.mintTenantToken({ tenantId: 'a', keyId: 'k', tier: 'free' })).rejects.toThrow('A token signing secret must be at least 32 bytes (256 bits) for HS256.');
  });
});
