import { generateApiKey } from '../credentials/api-key';
import { CredentialStore, CredentialStoreError, KeyStatus, generateTenantId } from '../credentials/credential-store';
import { InvalidAdminInput } from './admin-errors';
import { TOKEN_ID_PATTERN, createTenantBody, externalIdentityBody, setTierBody, validBody } from './admin-request-schemas';
import { AuditLog } from './audit-log';

/**
 * Admin operations, each recorded in the audit log with who did it.
 *
 * Every change is checked first (an unknown tenant or a revoked key is refused with nothing
 * written), then written in one transaction with its audit entry: the change and its entry land
 * together or not at all (CredentialStore's TransactWriteItems).
 *
 * Refusals are domain errors, which know nothing of HTTP: InvalidAdminInput for a body or id of
 * the wrong form, CredentialStoreError for what the store refuses (see adminRoute for the answers).
 */
export class AdminService {
  constructor(
    private readonly store: CredentialStore,
    private readonly audit: AuditLog,
  ) {}

  public async createTenant(actor: string, body: unknown) {
    const input = validBody(createTenantBody, body);
    const tenantId = input.tenantId ?? generateTenantId();
    const entry = this.audit.prepare({ actor, action: 'tenant.create', target: tenantId, details: { tier: input.tier, name: input.name } });
    return this.store.createTenant({ ...input, tenantId }, entry);
  }

  public listTenants() {
    return this.store.listTenants();
  }

  public async setTier(actor: string, tenantId: string, body: unknown) {
    const { tier } = validBody(setTierBody, body);
    const before = await this.existingTenant(tenantId);
    const entry = this.audit.prepare({ actor, action: 'tenant.set-tier', target: tenantId, details: { from: before.tier, to: tier } });
    return this.store.setTier(tenantId, tier, entry);
  }

  public async setTenantBlocked(actor: string, tenantId: string, blocked: boolean) {
    await this.existingTenant(tenantId);
    const entry = this.audit.prepare({ actor, action: blocked ? 'tenant.block' : 'tenant.unblock', target: tenantId });
    return this.store.setTenantBlocked(tenantId, blocked, entry);
  }

  /** Creates a tenant key; the secret appears in this answer only. */
  public async createKey(actor: string, tenantId: string) {
    const key = generateApiKey();
    const entry = this.audit.prepare({ actor, action: 'key.create', target: key.keyId, details: { tenantId } });
    return this.store.createKey(tenantId, 'tenant', { key, audit: entry });
  }

  /** Blocks, unblocks or revokes a key; the key's records name the audit entry of their last change. */
  public async setKeyStatus(actor: string, keyId: string, status: KeyStatus) {
    const key = await this.store.keyForStatusChange(keyId, status);
    const action = { active: 'key.unblock', blocked: 'key.block', revoked: 'key.revoke' }[status];
    const entry = this.audit.prepare({ actor, action, target: keyId, details: { tenantId: key.tenantId, from: key.status } });
    return this.store.setKeyStatus(keyId, status, entry);
  }

  /** Maps an external issuer's subject or app client to a tenant: body `{ issuer, subject }` or `{ issuer, clientId }`. */
  public async mapExternalIdentity(actor: string, tenantId: string, body: unknown) {
    const input = validBody(externalIdentityBody, body);
    const entry = this.audit.prepare({ actor, action: 'external-identity.map', target: tenantId, details: { ...input, tenantId } });
    return this.store.mapExternalIdentity({ ...input, tenantId }, entry);
  }

  /** Revokes an admin token by its `jti` (from the mint answer or the audit log) until it expires. */
  public async revokeAdminToken(actor: string, tokenId: string, ttlSeconds: number) {
    if (!TOKEN_ID_PATTERN.test(tokenId)) throw new InvalidAdminInput('invalid-token-id', `tokenId must be the jti of an admin token (a UUID); got ${JSON.stringify(tokenId.slice(0, 64))}.`);
    const entry = this.audit.prepare({ actor, action: 'admin-token.revoke', target: tokenId });
    await this.store.revokeAdminToken(tokenId, Math.floor(Date.now() / 1000) + ttlSeconds, entry);
    return { tokenId, revoked: true };
  }

  public recentAudit(limit: number) {
    return this.audit.recent(limit);
  }

  private async existingTenant(tenantId: string) {
    const tenant = await this.store.getTenant(tenantId);
    if (!tenant) throw new CredentialStoreError('tenant-not-found', `Tenant "${tenantId}" does not exist.`);
    return tenant;
  }
}
