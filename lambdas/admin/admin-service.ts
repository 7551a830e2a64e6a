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

/** Validates a body against a schema, or answers 400 naming the field. */
function validBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new HttpError(400, 'invalid-body', `${issue.path.join('.') || 'body'}: ${issue.message}`);
}

/** Admin operations, each recorded in the audit log with who did it. */
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
    const before = await this.store.getTenant(tenantId);
    const tenant = await this.mapped(() => this.store.setTier(tenantId, tier as TierName));
    await this.audit.append({ actor, action: 'tenant.set-tier', target: tenantId, details: { from: before?.tier, to: tier } });
    return tenant;
  }

  public async setTenantBlocked(actor: string, tenantId: string, blocked: boolean) {
    const tenant = await this.mapped(() => this.store.setTenantBlocked(tenantId, blocked));
    await this.audit.append({ actor, action: blocked ? 'tenant.block' : 'tenant.unblock', target: tenantId });
    return tenant;
  }

  /** Creates a tenant key; the secret appears in this answer only. */
  public async createKey(actor: string, tenantId: string) {
    const key = await this.mapped(() => this.store.createKey(tenantId, 'tenant'));
    await this.audit.append({ actor, action: 'key.create', target: key.keyId, details: { tenantId } });
    return key;
  }

  public async setKeyStatus(actor: string, keyId: string, status: KeyStatus) {
    const key = await this.mapped(() => this.store.setKeyStatus(keyId, status));
    const action = { active: 'key.unblock', blocked: 'key.block', revoked: 'key.revoke' }[status];
    await this.audit.append({ actor, action, target: keyId, details: { tenantId: key.tenantId } });
    return key;
  }

  public recentAudit(limit: number) {
    return this.audit.recent(limit);
  }

  private async mapped<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (error instanceof CredentialStoreError) {
        const status = {
          'tenant-exists': 409,
          'key-revoked': 409,
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
