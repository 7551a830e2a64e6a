import { randomUUID } from 'node:crypto';
import { accountEventDetailSchema } from '../../contracts/account-events';
import { OwnKeys } from '../../lambdas/accounts/own-keys';
import { AUDITED_EVENT_ACTIONS, accountEventOfAudit, auditEntryOfItem } from '../../lambdas/account-events/audit-account-events';
import { AdminService } from '../../lambdas/admin/admin-service';
import { AppendedAuditEntry, AuditLog } from '../../lambdas/admin/audit-log';
import { CredentialStore } from '../../lambdas/credentials/credential-store';
import { SelfServiceStore } from '../../lambdas/credentials/self-service-store';
import { startDynalite } from '../support/dynalite';
import { auditEntries } from './support';

const POOL_ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AuditEvents';

/**
 * Issue 16, item 2: the account event of each audited action, from the entries the real services
 * write on dynalite (AdminService, OwnKeys), read back from the audit table as the stream and the
 * tailer read them.
 */
describe('accountEventOfAudit (entries of the real services on dynalite)', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let tick = Date.parse('2026-11-23T10:00:00.000Z');
  const clock = () => (tick += 1);
  let admin: AdminService;
  let ownKeys: OwnKeys;
  let selfService: SelfServiceStore;

  beforeAll(async () => {
    dynamo = await startDynalite();
    const props = { client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter, clock };
    const audit = new AuditLog(dynamo.client, dynamo.tables.audit, clock);
    admin = new AdminService(new CredentialStore(props), audit);
    selfService = new SelfServiceStore(props);
    ownKeys = new OwnKeys(selfService, audit, clock);
  });
  afterAll(() => dynamo.stop());

  /** The entries the table holds for a target, oldest first. */
  const entriesOf = async (target: string) => (await auditEntries(dynamo.client, dynamo.tables.audit, '2026-11')).filter((entry) => entry.target === target);
  /** The one entry of an action on a target. */
  const entryOf = async (target: string, action: string): Promise<AppendedAuditEntry> => {
    const found = (await entriesOf(target)).filter((entry) => entry.action === action);
    expect(found).toHaveLength(1);
    return found[0];
  };
  /** The event of an entry, checked against the contract. */
  const eventOf = (entry: AppendedAuditEntry) => {
    const event = accountEventOfAudit(entry);
    expect(event).toBeDefined();
    return accountEventDetailSchema.parse(event);
  };

  it('tenant.create by an operator: tenant-created with its tier, name and via admin; the id and time are the entry\'s', async () => {
    // Act
    const tenant = await admin.createTenant('admin:ops', { name: 'Acme Corp', tier: 'premium' });
    // Assess
    const entry = await entryOf(tenant.tenantId, 'tenant.create');
    expect(eventOf(entry)).toEqual({
      schemaVersion: '1',
      eventId: `audit.${entry.id.replace('#', '.')}`,
      kind: 'tenant-created',
      tenantId: tenant.tenantId,
      occurredAt: entry.at,
      data: { tier: 'premium', name: 'Acme Corp', via: 'admin' },
    });
    expect(entry.at).toMatch(/^2026-11-23T10:00:00\.\d{3}Z$/);
  });

  it('tenant.set-tier: tier-changed from and to (the names the templates read)', async () => {
    // Prepare
    const tenant = await admin.createTenant('admin:ops', { name: 'Tiers', tier: 'free' });
    // Act
    await admin.setTier('admin:ops', tenant.tenantId, { tier: 'enterprise' });
    // Assess
    const event = eventOf(await entryOf(tenant.tenantId, 'tenant.set-tier'));
    expect(event).toMatchObject({ kind: 'tier-changed', tenantId: tenant.tenantId, data: { from: 'free', to: 'enterprise' } });
  });

  it('tenant.block and tenant.unblock: tenant-blocked and tenant-unblocked, one event per entry', async () => {
    // Prepare
    const tenant = await admin.createTenant('admin:ops', { name: 'Blocky' });
    // Act
    await admin.setTenantBlocked('admin:ops', tenant.tenantId, true);
    await admin.setTenantBlocked('admin:ops', tenant.tenantId, false);
    // Assess
    const blocked = eventOf(await entryOf(tenant.tenantId, 'tenant.block'));
    const unblocked = eventOf(await entryOf(tenant.tenantId, 'tenant.unblock'));
    expect([blocked.kind, blocked.tenantId, blocked.data]).toEqual(['tenant-blocked', tenant.tenantId, {}]);
    expect([unblocked.kind, unblocked.tenantId, unblocked.data]).toEqual(['tenant-unblocked', tenant.tenantId, {}]);
    expect(blocked.eventId).not.toBe(unblocked.eventId);
  });

  it('key.create, key.block and key.revoke by an operator: key-created, key-blocked and key-revoked of the key\'s tenant; key.unblock raises none', async () => {
    // Prepare
    const tenant = await admin.createTenant('admin:ops', { name: 'Keys' });
    // Act
    const key = await admin.createKey('admin:ops', tenant.tenantId);
    await admin.setKeyStatus('admin:ops', key.keyId, 'blocked');
    await admin.setKeyStatus('admin:ops', key.keyId, 'active');
    await admin.setKeyStatus('admin:ops', key.keyId, 'blocked');
    await admin.setKeyStatus('admin:ops', key.keyId, 'revoked');
    // Assess
    const entries = await entriesOf(key.keyId);
    expect(entries.map((entry) => entry.action)).toEqual(['key.create', 'key.block', 'key.unblock', 'key.block', 'key.revoke']);
    expect(entries.map((entry) => accountEventOfAudit(entry)).map((event) => event && { kind: event.kind, tenantId: event.tenantId, data: event.data })).toEqual([
      { kind: 'key-created', tenantId: tenant.tenantId, data: { keyId: key.keyId } },
      { kind: 'key-blocked', tenantId: tenant.tenantId, data: { keyId: key.keyId, from: 'active' } },
      undefined,
      { kind: 'key-blocked', tenantId: tenant.tenantId, data: { keyId: key.keyId, from: 'active' } },
      { kind: 'key-revoked', tenantId: tenant.tenantId, data: { keyId: key.keyId, from: 'blocked' } },
    ]);
  });

  it('an account\'s own keys: key.create (with its name), key.rotate (the successor, rotated from the old key) and key.revoke', async () => {
    // Prepare
    const subject = randomUUID();
    const tenant = await selfService.createOwnedTenant({ owner: { subject, email: `${subject.slice(0, 8)}@example.com` }, issuer: POOL_ISSUER });
    const caller = { tenantId: tenant.tenantId, subject };
    // Act
    const created = await ownKeys.create(caller, 'ci deploys');
    const rotated = await ownKeys.rotate(caller, created.keyId, 3600);
    await ownKeys.revoke(caller, rotated.key.keyId);
    // Assess
    expect(eventOf(await entryOf(created.keyId, 'key.create'))).toMatchObject({ kind: 'key-created', tenantId: tenant.tenantId, data: { keyId: created.keyId, name: 'ci deploys' } });
    expect(eventOf(await entryOf(created.keyId, 'key.rotate'))).toMatchObject({
      kind: 'key-created',
      tenantId: tenant.tenantId,
      data: { keyId: rotated.key.keyId, rotatedFrom: created.keyId, graceSeconds: 3600 },
    });
    expect(eventOf(await entryOf(rotated.key.keyId, 'key.revoke'))).toMatchObject({ kind: 'key-revoked', tenantId: tenant.tenantId, data: { keyId: rotated.key.keyId, from: 'active' } });
  });

  it('raises no event for admin tokens and identity mappings', async () => {
    // Prepare
    const tenant = await admin.createTenant('admin:ops', { name: 'Quiet' });
    const tokenId = randomUUID();
    // Act
    await admin.mapExternalIdentity('admin:ops', tenant.tenantId, { issuer: 'https://issuer.example.com', subject: 'svc-1' });
    await admin.revokeAdminToken('admin:ops', tokenId, 60);
    // Assess
    const mapped = await entryOf(tenant.tenantId, 'external-identity.map');
    const revoked = await entryOf(tokenId, 'admin-token.revoke');
    expect([accountEventOfAudit(mapped), accountEventOfAudit(revoked)]).toEqual([undefined, undefined]);
    expect(AUDITED_EVENT_ACTIONS).not.toContain('external-identity.map');
  });
});

describe('accountEventOfAudit (entries the services never write)', () => {
  const entry = (overrides: Partial<AppendedAuditEntry>): AppendedAuditEntry => ({
    id: '2026-11-23T10:00:00.000Z#00112233aabbccdd',
    at: '2026-11-23T10:00:00.000Z',
    actor: 'admin:ops',
    action: 'tenant.create',
    target: 't-1',
    ...overrides,
  });

  it('cuts long strings to the contract\'s 1024 characters and leaves out values that are not scalars', () => {
    // Act
    const event = accountEventOfAudit(entry({ details: { name: 'n'.repeat(5000), tier: { nested: true } } }));
    // Assess
    expect(accountEventDetailSchema.safeParse(event).success).toBe(true);
    expect(event?.data).toEqual({ name: 'n'.repeat(1024), via: 'admin' });
  });

  it('raises none for a key change that names no tenant, an unknown action, or an action named like an object property', () => {
    // Act
    const events = [
      accountEventOfAudit(entry({ action: 'key.create', target: 'key_1', details: {} })),
      accountEventOfAudit(entry({ action: 'key.rotate', target: 'key_1', details: { tenantId: 't-1' } })),
      accountEventOfAudit(entry({ action: 'tenant.delete' })),
      accountEventOfAudit(entry({ action: 'toString' })),
      accountEventOfAudit(entry({ action: '__proto__' })),
    ];
    // Assess
    expect(events).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });

  it('auditEntryOfItem: reads a stored item, refuses items outside the audit partitions or missing a field', () => {
    // Prepare
    const item = { pk: 'AUDIT#2026-11', sk: '2026-11-23T10:00:00.000Z#ab', at: '2026-11-23T10:00:00.000Z', actor: 'a', action: 'tenant.block', target: 't', details: { x: 1 } };
    // Act
    const read = auditEntryOfItem(item);
    // Assess
    expect(read).toEqual({ id: item.sk, at: item.at, actor: 'a', action: 'tenant.block', target: 't', details: { x: 1 } });
    expect(auditEntryOfItem({ ...item, pk: 'TENANT#t' })).toBeUndefined();
    expect(auditEntryOfItem({ ...item, action: 7 })).toBeUndefined();
    expect(auditEntryOfItem({ ...item, details: ['x'] })).toEqual({ id: item.sk, at: item.at, actor: 'a', action: 'tenant.block', target: 't' });
  });
});
