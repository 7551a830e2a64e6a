import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalAdminTokenSigner } from '../../lambdas/tokens/admin-token-signer';
import { TokenRejectedError, TokenService } from '../../lambdas/tokens/token-service';

const secret = (text: string) => async () => new TextEncoder().encode(text);
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

  it('keeps admin and tenant tokens apart', async () => {
    const tokens = service();
    const admin = await tokens.verify((await tokens.mintAdminToken('ops')).token);
    expect(admin).toEqual({ kind: 'admin', subject: 'ops', scopes: ['admin'], tokenId: expect.any(String) });
  });

  it('refuses weak secrets', async () => {
    const weak = new TokenService({ issuer: 'i', audience: 'a', tenantSecret: secret('short'), adminSigner });
    await expect(weak.mintTenantToken({ tenantId: 'a', keyId: 'k', tier: 'free' })).rejects.toThrow('A token signing secret must be at least 32 bytes (256 bits) for HS256.');
  });
});
