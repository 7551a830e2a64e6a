import { CredentialStore } from '../../lambdas/credentials/credential-store';
import { Authenticator, fromAuthorizerContext, toAuthorizerContext } from '../../lambdas/auth/authenticator';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalAdminTokenSigner } from '../../lambdas/tokens/admin-token-signer';
import { TokenService } from '../../lambdas/tokens/token-service';
import { startDynalite } from '../support/dynalite';

const secret = (text: string) => () => Promise.resolve(new TextEncoder().encode(text));

/** Integration: what the authorizer makes of API keys in each standing, on dynalite. */
describe('Class: Authenticator', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let store: CredentialStore;
  let authenticator: Authenticator;
  const withKey = (apiKey: string) => authenticator.authenticate({ authorization: `ApiKey ${apiKey}` }, 'authorization');

  beforeAll(async () => {
    dynamo = await startDynalite();
    store = new CredentialStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter });
    const tokens = new TokenService({ issuer: 'https://iss.test', audience: 'aud', tenantSecret: secret('t'.repeat(40)), adminSigner: new LocalAdminTokenSigner(path.join(mkdtempSync(path.join(tmpdir(), 'admin-key-')), 'admin.pem')) });
    authenticator = new Authenticator(store, tokens);
  });
  afterAll(() => dynamo.stop());

  describe('Method: authenticate', () => {
    it('passes a blocked key and a key of a blocked tenant on with the key record\'s standing, for the route to refuse (a cached refusal would outlast an unblock)', async () => {
      // Prepare
      const tenant = await store.createTenant({ name: 'standing', tier: 'basic' });
      const key = await store.createKey(tenant.tenantId);
      // Act + Assess: the tenant's block is on its limiter item, which the route's limiter checks.
      expect(await withKey(key.apiKey)).toMatchObject({ ok: true, principal: { tenantId: tenant.tenantId, keyId: key.keyId, standing: 'active' } });
      await store.setTenantBlocked(tenant.tenantId, true);
      expect(await withKey(key.apiKey)).toMatchObject({ ok: true, principal: { tenantId: tenant.tenantId, standing: 'active' } });
      await store.setKeyStatus(key.keyId, 'blocked');
      expect(await withKey(key.apiKey)).toMatchObject({ ok: true, principal: { standing: 'key-blocked' } });
    });

    it('hands on the tier hint of the key record, current after a tier change, in the authorizer context (issue 13, item 3)', async () => {
      // Prepare
      const tenant = await store.createTenant({ name: 'hinted', tier: 'basic' });
      const key = await store.createKey(tenant.tenantId);
      const contextTier = async () => {
        const outcome = await withKey(key.apiKey);
        return outcome.ok ? toAuthorizerContext(outcome.principal).tier : outcome.reason;
      };
      // Act
      const before = await contextTier();
      await store.setTier(tenant.tenantId, 'enterprise');
      const after = await contextTier();
      // Assess
      expect([before, after]).toEqual(['basic', 'enterprise']);
    });

    it('refuses a revoked key: revocation is final, so a cached refusal is never wrong', async () => {
      const tenant = await store.createTenant({ name: 'revoked', tier: 'basic' });
      const key = await store.createKey(tenant.tenantId);
      await store.setKeyStatus(key.keyId, 'revoked');
      expect(await withKey(key.apiKey)).toEqual({ ok: false, reason: 'API key is revoked' });
    });

    it('passes a blocked admin key on too: the admin routes read its status on every request', async () => {
      const key = await store.createKey('operators', 'admin');
      await store.setKeyStatus(key.keyId, 'blocked');
      expect(await withKey(key.apiKey)).toMatchObject({ ok: true, principal: { kind: 'admin', keyId: key.keyId, standing: 'key-blocked' } });
    });
  });

  describe('Function: toAuthorizerContext', () => {
    it('names admins by the reserved tenant id operator for the records, and never as a tenant to meter', () => {
      // Act
      const context = toAuthorizerContext({ kind: 'admin', keyId: 'key_a', scopes: ['admin'], via: 'api-key', subject: 'key_a', standing: 'active' });
      // Assess
      expect(context).toMatchObject({ kind: 'admin', tenantId: 'operator', apiKeyId: 'key_a', standing: 'active' });
      expect(fromAuthorizerContext(context)).toEqual({ kind: 'admin', keyId: 'key_a', scopes: ['admin'], via: 'api-key', subject: 'key_a', standing: 'active' });
    });

    it('round-trips a tenant principal, and ignores a standing it does not know', () => {
      const principal = { kind: 'tenant' as const, tenantId: 'acme', keyId: 'key_t', tier: 'basic' as const, scopes: ['api:call'], via: 'token' as const, subject: 'key_t' };
      expect(fromAuthorizerContext(toAuthorizerContext(principal))).toEqual({ ...principal });
      expect(fromAuthorizerContext({ ...toAuthorizerContext(principal), standing: 'vip' })).not.toHaveProperty('standing');
    });
  });
});
