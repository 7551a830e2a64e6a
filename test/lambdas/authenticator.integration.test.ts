import { SelfServiceStore } from '../../lambdas/credentials/self-service-store';
import { Authenticator, fromAuthorizerContext, toAuthorizerContext } from '../../lambdas/auth/authenticator';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalAdminTokenSigner } from '../../lambdas/tokens/admin-token-signer';
import { TokenService } from '../../lambdas/tokens/token-service';
import { startDynalite } from '../support/dynalite';
import { BlackHole, faultyClient } from '../support/store-faults';
import { KEY_LAST_USED_RESOLUTION_SECONDS } from '../../contracts/accounts';
import { REQUEST_PATH_SDK } from '../../lambdas/runtime/runtime-config';

const secret = (text: string) => () => Promise.resolve(new TextEncoder().encode(text));

/** Integration: what the authorizer makes of API keys in each standing, on dynalite. */
describe('Class: Authenticator', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let store: SelfServiceStore;
  let authenticator: Authenticator;
  const withKey = (apiKey: string) => authenticator.authenticate({ authorization: `ApiKey ${apiKey}` }, 'authorization');

  beforeAll(async () => {
    dynamo = await startDynalite();
    store = new SelfServiceStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter });
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

  describe('Method: authenticate, rotated keys and lastUsedAt (issue 15, item 2)', () => {
    const clock = { now: Date.parse('2026-11-23T10:00:00.000Z') };
    let clocked: SelfServiceStore;
    let onClock: Authenticator;
    const warnings: Record<string, unknown>[] = [];
    const withKeyOnClock = (apiKey: string) => onClock.authenticate({ authorization: `ApiKey ${apiKey}` }, 'authorization');
    const lastUsedOf = async (apiKey: string) => (await clocked.findKey(apiKey))?.lastUsedAt;

    beforeAll(() => {
      clocked = new SelfServiceStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter, clock: () => clock.now });
      const tokens = new TokenService({ issuer: 'https://iss.test', audience: 'aud', tenantSecret: secret('t'.repeat(40)), adminSigner: new LocalAdminTokenSigner(path.join(mkdtempSync(path.join(tmpdir(), 'admin-key-')), 'admin.pem')) });
      onClock = new Authenticator(clocked, tokens, () => clock.now, (message, details) => warnings.push({ message, ...details }));
    });

    it('accepts a rotated key until its expiresAt and refuses it from then on, like a revoked one', async () => {
      // Prepare
      const tenant = await clocked.createTenant({ name: 'rotating', tier: 'basic' });
      const key = await clocked.createKey(tenant.tenantId, 'tenant', { name: 'old' });
      const { key: successor } = await clocked.rotateKey(key.keyId, { graceSeconds: 60, name: 'old' });
      // Act
      const during = await withKeyOnClock(key.apiKey);
      clock.now += 59_999;
      const lastMoment = await withKeyOnClock(key.apiKey);
      clock.now += 1;
      const atExpiry = await withKeyOnClock(key.apiKey);
      const successorThen = await withKeyOnClock(successor.apiKey);
      // Assess
      expect([during.ok, lastMoment.ok, atExpiry, successorThen.ok]).toEqual([true, true, { ok: false, reason: 'API key expired after its rotation' }, true]);
    });

    it('refuses a key rotated with a grace of 0 at once', async () => {
      const tenant = await clocked.createTenant({ name: 'rotated-at-once', tier: 'basic' });
      const key = await clocked.createKey(tenant.tenantId);
      await clocked.rotateKey(key.keyId, { graceSeconds: 0, name: 'k' });
      expect(await withKeyOnClock(key.apiKey)).toEqual({ ok: false, reason: 'API key expired after its rotation' });
    });

    it(`writes lastUsedAt once per ${KEY_LAST_USED_RESOLUTION_SECONDS} s: two authentications within it write once, one after it writes again`, async () => {
      // Prepare
      const tenant = await clocked.createTenant({ name: 'last-used', tier: 'basic' });
      const key = await clocked.createKey(tenant.tenantId);
      const touches = jest.spyOn(clocked, 'touchLastUsed');
      const first = new Date(clock.now).toISOString();
      // Act
      await withKeyOnClock(key.apiKey);
      clock.now += 10 * 60_000;
      await withKeyOnClock(key.apiKey);
      const withinResolution = await lastUsedOf(key.apiKey);
      clock.now += KEY_LAST_USED_RESOLUTION_SECONDS * 1000;
      await withKeyOnClock(key.apiKey);
      // Assess
      expect(withinResolution).toBe(first);
      expect(await lastUsedOf(key.apiKey)).toBe(new Date(clock.now).toISOString());
      expect(touches).toHaveBeenCalledTimes(2);
      touches.mockRestore();
    });

    it('lets concurrent authorizers that all see a stale lastUsedAt write it once (the condition)', async () => {
      // Prepare
      const tenant = await clocked.createTenant({ name: 'concurrent-use', tier: 'basic' });
      const key = await clocked.createKey(tenant.tenantId);
      const touches = jest.spyOn(clocked, 'touchLastUsed');
      // Act
      const outcomes = await Promise.all([withKeyOnClock(key.apiKey), withKeyOnClock(key.apiKey), withKeyOnClock(key.apiKey)]);
      const written = await Promise.all(touches.mock.results.map((result) => result.value as Promise<boolean>));
      // Assess
      expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, true, true]);
      expect(written.filter(Boolean)).toHaveLength(1);
      touches.mockRestore();
    });

    it('authenticates the key all the same when the lastUsedAt write fails, and logs the failure', async () => {
      // Prepare: a store whose UpdateItem calls DynamoDB throttles
      const blackHole = new BlackHole();
      const faulty = await faultyClient(dynamo.client, REQUEST_PATH_SDK, await blackHole.start());
      faulty.fail({ table: dynamo.tables.credentials, command: 'UpdateItemCommand' }, 'throttle');
      const throttled = new SelfServiceStore({ client: faulty.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter, clock: () => clock.now });
      const tokens = new TokenService({ issuer: 'https://iss.test', audience: 'aud', tenantSecret: secret('t'.repeat(40)), adminSigner: new LocalAdminTokenSigner(path.join(mkdtempSync(path.join(tmpdir(), 'admin-key-')), 'admin.pem')) });
      const authenticatorOfThrottled = new Authenticator(throttled, tokens, () => clock.now, (message, details) => warnings.push({ message, ...details }));
      const tenant = await clocked.createTenant({ name: 'throttled-use', tier: 'basic' });
      const key = await clocked.createKey(tenant.tenantId);
      warnings.length = 0;
      // Act
      const outcome = await authenticatorOfThrottled.authenticate({ authorization: `ApiKey ${key.apiKey}` }, 'authorization');
      // Assess
      expect(outcome).toMatchObject({ ok: true, principal: { keyId: key.keyId, tenantId: tenant.tenantId } });
      expect(faulty.counts.throttled).toBe(1);
      expect(warnings).toEqual([expect.objectContaining({ message: expect.stringContaining('last used') as unknown, keyId: key.keyId })]);
      expect(await lastUsedOf(key.apiKey)).toBeUndefined();
      faulty.client.destroy();
      await blackHole.stop();
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
