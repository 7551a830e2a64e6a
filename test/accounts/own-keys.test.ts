import { randomUUID } from 'node:crypto';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { KEY_PREFIX_LENGTH, MAX_KEYS_PER_TENANT } from '../../contracts/accounts';
import { API_KEY_PREFIX } from '../../contracts/metered-api';
import { AccountCaller, OwnKeyError, OwnKeys } from '../../lambdas/accounts/own-keys';
import { AuditLog } from '../../lambdas/admin/audit-log';
import { CredentialStoreError } from '../../lambdas/credentials/credential-store';
import { SelfServiceStore } from '../../lambdas/credentials/self-service-store';
import { hashApiKey } from '../../lambdas/credentials/api-key';
import { startDynalite } from '../support/dynalite';

const POOL_ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OwnKeys';

/**
 * Issue 15, item 2, the domain: a signed-in account's own keys on dynalite (the credential store's
 * transactions, its byEntity index, the audit log), with a clock each test moves.
 */
describe('Class: OwnKeys (dynalite)', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  const clock = { now: Date.parse('2026-11-23T10:00:00.000Z') };
  const now = () => clock.now;
  let store: SelfServiceStore;
  let audit: AuditLog;
  let keys: OwnKeys;

  /** A registered account: its own tenant (as registration writes it) and the caller the authorizer makes of its token. */
  const account = async (): Promise<AccountCaller & { email: string }> => {
    const subject = randomUUID();
    const email = `${subject.slice(0, 8)}@example.com`;
    const tenant = await store.createOwnedTenant({ owner: { subject, email }, issuer: POOL_ISSUER });
    return { tenantId: tenant.tenantId, subject, email };
  };
  /** The refusal an operation ends with: its class, code and message. */
  const refusal = async (operation: Promise<unknown>) => {
    try {
      await operation;
    } catch (error) {
      if (error instanceof OwnKeyError || error instanceof CredentialStoreError) return { kind: error.name, code: error.code, message: error.message };
      throw error;
    }
    throw new Error('the operation was not refused');
  };
  const auditOf = async (target: string) => (await audit.recent(500)).filter((entry) => entry.target === target);

  beforeAll(async () => {
    dynamo = await startDynalite();
    store = new SelfServiceStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter, clock: now });
    audit = new AuditLog(dynamo.client, dynamo.tables.audit, now);
    keys = new OwnKeys(store, audit, now);
  });
  afterAll(() => dynamo.stop());

  it('me: the account\'s address and its own tenant as registration made it', async () => {
    // Prepare
    const alice = await account();
    // Act
    const me = await keys.me(alice);
    // Assess
    expect(me).toEqual({ email: alice.email, tenantId: alice.tenantId, tier: 'free', blocked: false, createdAt: new Date(clock.now).toISOString() });
  });

  it('creates a named key whose secret is shown once, keeps its prefix, lists it without the secret, and audits the creation', async () => {
    // Prepare
    const alice = await account();
    // Act
    const created = await keys.create(alice, 'ci deploys');
    const [listed] = await keys.list(alice);
    // Assess
    expect(created).toMatchObject({ name: 'ci deploys', status: 'active', prefix: created.apiKey.slice(0, KEY_PREFIX_LENGTH), note: expect.stringContaining('shown once') as unknown });
    expect(created.prefix).toMatch(/^aut_.{4}$/);
    expect(listed).toEqual({ keyId: created.keyId, name: 'ci deploys', prefix: created.prefix, status: 'active', createdAt: created.createdAt });
    expect(JSON.stringify(await keys.list(alice))).not.toContain(created.apiKey.slice(KEY_PREFIX_LENGTH));
    expect(await store.findKey(created.apiKey)).toMatchObject({ keyId: created.keyId, tenantId: alice.tenantId, role: 'tenant' });
    expect(await auditOf(created.keyId)).toEqual([expect.objectContaining({ actor: `account:${alice.subject}`, action: 'key.create', details: { tenantId: alice.tenantId, name: 'ci deploys' } })]);
  });

  it('lists newest first, with when each key was last used', async () => {
    // Prepare
    const alice = await account();
    const first = await keys.create(alice, 'first');
    clock.now += 1000;
    const second = await keys.create(alice, 'second');
    await store.touchLastUsed(first.apiKey);
    // Act
    const listed = await keys.list(alice);
    // Assess
    expect(listed.map((key) => [key.keyId, key.lastUsedAt])).toEqual([
      [second.keyId, undefined],
      [first.keyId, new Date(clock.now).toISOString()],
    ]);
  });

  it(`refuses a key beyond ${MAX_KEYS_PER_TENANT} that still work (409 too-many-keys), counts neither revoked keys nor rotated ones past their grace`, async () => {
    // Prepare
    const alice = await account();
    const made = [];
    for (let i = 0; i < MAX_KEYS_PER_TENANT; i++) made.push(await keys.create(alice, `key ${i}`));
    // Act
    const over = await refusal(keys.create(alice, 'one too many'));
    await keys.revoke(alice, made[0].keyId);
    const afterRevoke = await keys.create(alice, 'after a revocation');
    // A rotation makes a successor while the old key still works: 21 for the grace; one revoked, 20.
    await keys.rotate(alice, made[1].keyId, 60);
    await keys.revoke(alice, made[2].keyId);
    const duringGrace = await refusal(keys.create(alice, 'during the grace'));
    clock.now += 61_000;
    const afterGrace = await keys.create(alice, 'after the grace');
    // Assess
    expect(over).toEqual({ kind: 'OwnKeyError', code: 'too-many-keys', message: expect.stringContaining(`(${MAX_KEYS_PER_TENANT})`) as unknown });
    expect(duringGrace.code).toBe('too-many-keys');
    expect([afterRevoke.status, afterGrace.status]).toEqual(['active', 'active']);
  });

  it('rotates: a successor of the same name, the old key marked to stop at now + grace, one audit entry naming both', async () => {
    // Prepare
    const alice = await account();
    const old = await keys.create(alice, 'web app');
    clock.now += 5_000;
    // Act
    const { key, previous } = await keys.rotate(alice, old.keyId, 600);
    // Assess
    const expiresAt = new Date(clock.now + 600_000).toISOString();
    expect(previous).toEqual({ keyId: old.keyId, name: 'web app', prefix: old.prefix, status: 'active', createdAt: old.createdAt, expiresAt });
    expect(key).toMatchObject({ name: 'web app', status: 'active', createdAt: new Date(clock.now).toISOString(), prefix: key.apiKey.slice(0, KEY_PREFIX_LENGTH) });
    expect(key.keyId).not.toBe(old.keyId);
    expect((await store.findKey(old.apiKey))?.expiresAt).toBe(expiresAt);
    expect(await store.findKey(key.apiKey)).toMatchObject({ keyId: key.keyId, tenantId: alice.tenantId, tierHint: 'free' });
    expect((await keys.list(alice)).map((k) => [k.keyId, k.expiresAt])).toEqual([
      [key.keyId, undefined],
      [old.keyId, expiresAt],
    ]);
    expect(await auditOf(old.keyId)).toEqual([
      expect.objectContaining({ action: 'key.rotate', actor: `account:${alice.subject}`, details: { tenantId: alice.tenantId, successor: key.keyId, graceSeconds: 600 } }),
      expect.objectContaining({ action: 'key.create' }),
    ]);
  });

  it('refuses to rotate a key rotated already, a revoked key and a key an operator blocked, with 409 codes of their own and nothing written', async () => {
    // Prepare
    const alice = await account();
    const rotated = await keys.create(alice, 'rotated');
    clock.now += 1000;
    await keys.rotate(alice, rotated.keyId, 0);
    const revoked = await keys.create(alice, 'revoked');
    await keys.revoke(alice, revoked.keyId);
    const blocked = await keys.create(alice, 'blocked');
    await store.setKeyStatus(blocked.keyId, 'blocked');
    const before = (await keys.list(alice)).length;
    // Act
    const refusals = [];
    for (const keyId of [rotated.keyId, revoked.keyId, blocked.keyId]) refusals.push(await refusal(keys.rotate(alice, keyId, 60)));
    // Assess
    expect(refusals.map((r) => r.code)).toEqual(['key-rotated', 'key-revoked', 'key-blocked']);
    expect(refusals[0].message).toContain('stopped working at');
    expect((await keys.list(alice)).length).toBe(before);
    expect((await auditOf(rotated.keyId)).map((entry) => entry.action)).toEqual(['key.rotate', 'key.create']);
  });

  it('refuses, at the store, a rotation that races a revocation (the transaction\'s condition), writing no successor', async () => {
    // Prepare: the key is checked as active, then revoked before the rotation's transaction.
    const alice = await account();
    const key = await keys.create(alice, 'raced');
    await store.setKeyStatus(key.keyId, 'revoked');
    // Act
    const raced = await refusal(store.rotateKey(key.keyId, { graceSeconds: 60, name: 'raced' }));
    // Assess
    expect(raced).toMatchObject({ kind: 'CredentialStoreError', code: 'concurrent-change' });
    expect((await keys.list(alice)).map((k) => k.keyId)).toEqual([key.keyId]);
  });

  it('revokes a key for good: the authorizer\'s record says so, the answer is the key, the audit log has it', async () => {
    // Prepare
    const alice = await account();
    const key = await keys.create(alice, 'to revoke');
    clock.now += 1000;
    // Act
    const revoked = await keys.revoke(alice, key.keyId);
    // Assess
    expect(revoked).toEqual({ keyId: key.keyId, name: 'to revoke', prefix: key.prefix, status: 'revoked', createdAt: key.createdAt });
    expect((await store.findKey(key.apiKey))?.status).toBe('revoked');
    expect((await auditOf(key.keyId)).map((entry) => [entry.action, entry.actor])).toEqual([
      ['key.revoke', `account:${alice.subject}`],
      ['key.create', `account:${alice.subject}`],
    ]);
  });

  it('answers a key of another tenant, an admin key and an unknown id with the same key-not-found, and changes none of them', async () => {
    // Prepare: two real accounts, each with a key; an admin key.
    const [alice, bob] = [await account(), await account()];
    const alicesKey = await keys.create(alice, 'alice');
    await keys.create(bob, 'bob');
    const adminKey = await store.createKey('operators', 'admin');
    const ids = [alicesKey.keyId, adminKey.keyId, 'key_doesnotexist'];
    // Act
    const refusals = [];
    for (const keyId of ids) {
      refusals.push(await refusal(keys.rotate(bob, keyId, 60)), await refusal(keys.revoke(bob, keyId)));
    }
    // Assess: the same refusal, but for the id it echoes
    expect(refusals.map((r) => ({ ...r, message: r.message.replace(/"[^"]*"/, '"<id>"') }))).toEqual(
      Array.from({ length: 6 }, () => ({ kind: 'OwnKeyError', code: 'key-not-found', message: 'Key "<id>" does not exist.' })),
    );
    expect((await keys.list(bob)).map((key) => key.name)).toEqual(['bob']);
    expect(await keys.list(alice)).toEqual([expect.objectContaining({ keyId: alicesKey.keyId, status: 'active' })]);
    expect((await store.findKey(alicesKey.apiKey))?.expiresAt).toBeUndefined();
    expect((await store.findKey(adminKey.apiKey))?.status).toBe('active');
  });

  it('refuses an account that does not own the tenant it acts for (not-tenant-owner)', async () => {
    // Prepare: a tenant an admin created, and another account's subject on a registered tenant.
    const adminMade = await store.createTenant({ name: 'admin made', tier: 'basic' });
    const alice = await account();
    // Act
    const refusals = [await refusal(keys.list({ tenantId: adminMade.tenantId, subject: alice.subject })), await refusal(keys.me({ tenantId: alice.tenantId, subject: 'someone-else' }))];
    // Assess
    expect(refusals.map((r) => r.code)).toEqual(['not-tenant-owner', 'not-tenant-owner']);
  });

  it('lists keys created before names and prefixes with their id as name and the shared prefix, and admin-made keys with their real prefix', async () => {
    // Prepare: an admin-made key of the account's tenant, and one whose records predate names and prefixes.
    const alice = await account();
    const adminMade = await store.createKey(alice.tenantId);
    clock.now += 1000;
    const legacy = await store.createKey(alice.tenantId);
    for (const pk of [`KEY#${legacy.keyId}`, `KEYHASH#${hashApiKey(legacy.apiKey)}`]) {
      await dynamo.client.send(new UpdateItemCommand({ TableName: dynamo.tables.credentials, Key: { pk: { S: pk } }, UpdateExpression: 'REMOVE #name, prefix', ExpressionAttributeNames: { '#name': 'name' } }));
    }
    // Act
    const listed = await keys.list(alice);
    const rotated = await keys.rotate(alice, legacy.keyId, 60);
    // Assess
    expect(listed.map((key) => [key.keyId, key.name, key.prefix])).toEqual([
      [legacy.keyId, legacy.keyId, API_KEY_PREFIX],
      [adminMade.keyId, adminMade.keyId, adminMade.apiKey.slice(0, KEY_PREFIX_LENGTH)],
    ]);
    expect(rotated.key.name).toBe(legacy.keyId);
  });

  it('finds when each of more than 100 keys was last used (BatchGetItem takes 100 keys a request)', async () => {
    // Prepare
    const alice = await account();
    const made = [];
    for (let i = 0; i < 101; i++) made.push(await store.createKey(alice.tenantId, 'tenant', { name: `bulk ${i}` }));
    for (const key of made) await store.touchLastUsed(key.apiKey);
    // Act
    const listed = await store.listKeys(alice.tenantId);
    // Assess
    expect(listed).toHaveLength(101);
    expect(listed.filter((key) => key.lastUsedAt === new Date(clock.now).toISOString())).toHaveLength(101);
  });
});
