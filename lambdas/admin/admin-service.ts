import { z } from 'zod';
import { TENANT_ID_PATTERN, TENANT_ID_RULE } from '../../contracts/tenants';
import { TIER_NAMES, TierName } from '../../contracts/tiers';
import { CredentialStore, CredentialStoreError, KeyStatus } from '../credentials/credential-store';
import { HttpError } from '../http/responses';
import { AuditLog } from './audit-log';

const createTenantBody = z
  .object({
    tenantId: z.string().regex(TENANT_ID_PATTERN, TENANT_ID_RULE).optional(),
    name: z.string().min(1).max(200),
    tier: z.enum(TIER_NAMES).default('free'),
  })
  .strict();
const setTierBody = z.object({ tier: z.enum(TIER_NAMES) }).strict();
const externalIdentityBody = z.union([
  z.object({ issuer: z.string().min(1).max(2048), subject: z.string().min(1).max(512) }).strict(),
  z.object({ issuer: z.string().min(1).max(2048), clientId: z.string().min(1).max(512) }).strict(),
]);
/** A `jti` as this API mints them (a UUID). */
const TOKEN_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Validates a body against a schema, or answers 400 naming the field. */
function validBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new HttpError(400, 'invalid-body', `${issue.path.join('.') || 'body'}: ${issue.message}`);
}

/**
 * Admin operations, each recorded in the audit log with who did it.
 *
 * A status change (tier, tenant block, key block or revocation) spans several items — the tenant
 * or key records, the limiter item and the audit entry. TransactWriteItems could write them at
 * once in AWS (up to 100 actions on different items, 4 MB;
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html),
 * but dynalite, on which the local runtime and the tests run, has none, and a fallback for it
 * would leave the path AWS runs untested. So the change is ordered instead, one path everywhere:
 * checked first (an unknown tenant or a revoked key is refused with nothing written), then its
 * audit entry is appended (the intent), then each item is changed with a write that can be
 * repeated. Whatever fails part-way, every change that happened has its entry; an entry whose
 * change failed part-way is completed by repeating the request, which adds an entry of its own.
 */
export class AdminService {
  constructor(
    private readonly store: CredentialStore,
    private readonly audit: AuditLog,
  ) {}

  public async createTenant(actor: string, body: unknown) {
    const input = validBody(createTenantBody, body);
    const tenant = await this.mapped(() => this.store.createTenant(input));
    await this.audit.append({ actor, action: 'tenant.create', target: tenant.tenantId, details: { tier: tenant.tier, name: tenant.name } });
    return tenant;
  }

  public listTenants() {
    return this.store.listTenants();
  }

  public async setTier(actor: string, tenantId: string, body: unknown) {
    const { tier } = validBody(setTierBody, body);
    const before = await this.existingTenant(tenantId);
    await this.audit.append({ actor, action: 'tenant.set-tier', target: tenantId, details: { from: before.tier, to: tier } });
    return this.mapped(() => this.store.setTier(tenantId, tier as TierName));
  }

  public async setTenantBlocked(actor: string, tenantId: string, blocked: boolean) {
    await this.existingTenant(tenantId);
    await this.audit.append({ actor, action: blocked ? 'tenant.block' : 'tenant.unblock', target: tenantId });
    return this.mapped(() => this.store.setTenantBlocked(tenantId, blocked));
  }

  /** Creates a tenant key; the secret appears in this answer only. */
  public async createKey(actor: string, tenantId: string) {
    const key = await this.mapped(() => this.store.createKey(tenantId, 'tenant'));
    await this.audit.append({ actor, action: 'key.create', target: key.keyId, details: { tenantId } });
    return key;
  }

  /** Blocks, unblocks or revokes a key; the key's records name the audit entry of their last change. */
  public async setKeyStatus(actor: string, keyId: string, status: KeyStatus) {
    const key = await this.mapped(() => this.store.keyForStatusChange(keyId, status));
    const action = { active: 'key.unblock', blocked: 'key.block', revoked: 'key.revoke' }[status];
    const entry = await this.audit.append({ actor, action, target: keyId, details: { tenantId: key.tenantId, from: key.status } });
    return this.mapped(() => this.store.setKeyStatus(keyId, status, { auditEntryId: entry.id }));
  }

  /** Maps an external issuer's subject or app client to a tenant: body `{ issuer, subject }` or `{ issuer, clientId }`. */
  public async mapExternalIdentity(actor: string, tenantId: string, body: unknown) {
    const input = validBody(externalIdentityBody, body);
    const mapping = await this.mapped(() => this.store.mapExternalIdentity({ ...input, tenantId }));
    await this.audit.append({ actor, action: 'external-identity.map', target: tenantId, details: { ...mapping } });
    return mapping;
  }

  /** Revokes an admin token by its `jti` (from the mint answer or the audit log) until it expires. */
  public async revokeAdminToken(actor: string, tokenId: string, ttlSeconds: number) {
    if (!TOKEN_ID_PATTERN.test(tokenId)) throw new HttpError(400, 'invalid-token-id', `tokenId must be the jti of an admin token (a UUID); got ${JSON.stringify(tokenId.slice(0, 64))}.`);
    await this.store.revokeAdminToken(tokenId, Math.floor(Date.now() / 1000) + ttlSeconds);
    await this.audit.append({ actor, action: 'admin-token.revoke', target: tokenId });
    return { tokenId, revoked: true };
  }

  public recentAudit(limit: number) {
    return this.audit.recent(limit);
  }

  private existingTenant(tenantId: string) {
    return this.mapped(async () => {
      const tenant = await this.store.getTenant(tenantId);
      if (!tenant) throw new CredentialStoreError('tenant-not-found', `Tenant "${tenantId}" does not exist.`);
      return tenant;
    });
  }

  private async mapped<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof CredentialStoreError) {
        const status = {
          'tenant-exists': 409,
          'key-revoked': 409,
          'external-identity-mapped': 409,
          'concurrent-change': 409,
          'invalid-tenant-id': 400,
          'reserved-tenant-id': 400,
          'tenant-not-found': 404,
          'key-not-found': 404,
        }[error.code];
        throw new HttpError(status, error.code, error.message);
      }
      throw error;
    }
  }
}
