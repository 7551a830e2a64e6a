import { MAX_KEYS_PER_TENANT } from '../../contracts/accounts';
import type { AccountResponse, CreatedOwnApiKeyResponse, OwnApiKeyResponse, RotatedApiKeyResponse } from '../../contracts/api-schemas';
import { API_KEY_PREFIX } from '../../contracts/metered-api';
import type { AuditLog } from '../admin/audit-log';
import { generateApiKey } from '../credentials/api-key';
import type { ApiKeyRecord, Tenant } from '../credentials/credential-store';
import type { SelfServiceStore } from '../credentials/self-service-store';

/** Who is asking: a signed-in account (its pool `sub`) and the tenant the authorizer found for it. */
export interface AccountCaller {
  readonly tenantId: string;
  readonly subject: string;
}

/**
 * What the account routes refuse before, or instead of, a write. Knows nothing of HTTP: the
 * account route maps the codes to 403, 404 and 409.
 */
export class OwnKeyError extends Error {
  constructor(
    public readonly code: 'not-tenant-owner' | 'key-not-found' | 'too-many-keys' | 'key-revoked' | 'key-blocked' | 'key-rotated',
    message: string,
  ) {
    super(message);
    this.name = 'OwnKeyError';
  }
}

/** What a new key's answer says of its secret. */
export const SHOWN_ONCE_NOTE = 'Store apiKey now: it is shown once and only its hash is kept.';

/** A key id as the store makes them (`key_` and base64url); anything else names no key, and is not looked up. */
const KEY_ID_FORM = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * A key as its owner sees it: never its secret, tenant or role. Keys created without a name or
 * prefix (admin keys created before keys had them) are listed with their id as their name and the
 * prefix every key shares (`aut_`): only their hash was kept, so nothing more of the secret is known.
 */
export function ownKeyView(key: ApiKeyRecord): OwnApiKeyResponse {
  return {
    keyId: key.keyId,
    name: key.name ?? key.keyId,
    prefix: key.prefix ?? API_KEY_PREFIX,
    status: key.status,
    createdAt: key.createdAt,
    ...(key.lastUsedAt === undefined ? {} : { lastUsedAt: key.lastUsedAt }),
    ...(key.expiresAt === undefined ? {} : { expiresAt: key.expiresAt }),
  };
}

/**
 * A signed-in account's own tenant and its keys (issue 15, item 2): who it is, and create, list,
 * rotate and revoke the tenant's keys. The tenant is always the caller's: the one the authorizer
 * found for the account's verified `sub`, never one a request names, and only while the account
 * is the tenant's owner (the account that registered it). A key of another tenant, an admin key
 * and a key that does not exist are all the same `key-not-found`, so that no one learns of
 * another tenant's keys.
 *
 * Every change is written in one transaction with its audit entry (actor `account:<sub>`), as
 * admin changes are (CredentialStore).
 */
export class OwnKeys {
  constructor(
    private readonly store: SelfServiceStore,
    private readonly audit: AuditLog,
    private readonly clock: () => number = Date.now,
  ) {}

  /** GET /v1/auth/me: the account's address and its tenant. */
  public async me(caller: AccountCaller): Promise<AccountResponse> {
    const { tenant, email } = await this.ownedTenant(caller);
    return { email, tenantId: tenant.tenantId, tier: tenant.tier, blocked: tenant.blocked, createdAt: tenant.createdAt };
  }

  /**
   * The tenant's keys, newest first. Listed from an eventually consistent index: a key created a
   * moment ago may be missing for as long as the index takes to catch up.
   */
  public async list(caller: AccountCaller): Promise<OwnApiKeyResponse[]> {
    await this.ownedTenant(caller);
    return (await this.tenantKeys(caller.tenantId)).map(ownKeyView);
  }

  /**
   * A new key of the tenant, its secret in this answer only; refused when the tenant holds
   * MAX_KEYS_PER_TENANT keys that still work (neither revoked nor past a rotation's grace). The
   * count is read from the index, so requests racing each other may each pass it: a bound against
   * accidents and runaway scripts, not an exact quota.
   */
  public async create(caller: AccountCaller, name: string): Promise<CreatedOwnApiKeyResponse> {
    await this.ownedTenant(caller);
    const working = (await this.tenantKeys(caller.tenantId)).filter((key) => this.stillWorks(key));
    if (working.length >= MAX_KEYS_PER_TENANT) {
      throw new OwnKeyError('too-many-keys', `Tenant "${caller.tenantId}" holds ${working.length} keys that still work, the most it may (${MAX_KEYS_PER_TENANT}); revoke one first.`);
    }
    const key = generateApiKey();
    const entry = this.audit.prepare({ actor: actorOf(caller), action: 'key.create', target: key.keyId, details: { tenantId: caller.tenantId, name } });
    const created = await this.store.createKey(caller.tenantId, 'tenant', { key, name, audit: entry });
    return { ...ownKeyView(created), apiKey: created.apiKey, note: SHOWN_ONCE_NOTE };
  }

  /**
   * A successor of an active key, with its name, and the old key working `graceSeconds` longer
   * (0: not at all). A revoked key, a key an operator blocked (its successor would not be) and a
   * key rotated already are refused, each with its own code.
   */
  public async rotate(caller: AccountCaller, keyId: string, graceSeconds: number): Promise<RotatedApiKeyResponse> {
    await this.ownedTenant(caller);
    const key = await this.ownKey(caller, keyId);
    if (key.status === 'revoked') throw new OwnKeyError('key-revoked', `Key "${keyId}" is revoked; a revoked key cannot be rotated. Create a new key instead.`);
    if (key.status === 'blocked') throw new OwnKeyError('key-blocked', `Key "${keyId}" is blocked by an operator; a blocked key cannot be rotated.`);
    if (key.expiresAt !== undefined) {
      const when = this.stillWorks(key) ? 'stops' : 'stopped';
      throw new OwnKeyError('key-rotated', `Key "${keyId}" was rotated already and ${when} working at ${key.expiresAt}; rotate its successor instead.`);
    }
    const successor = generateApiKey();
    const entry = this.audit.prepare({ actor: actorOf(caller), action: 'key.rotate', target: keyId, details: { tenantId: caller.tenantId, successor: successor.keyId, graceSeconds } });
    const rotated = await this.store.rotateKey(keyId, { graceSeconds, name: ownKeyView(key).name, key: successor, audit: entry });
    return { key: { ...ownKeyView(rotated.key), apiKey: rotated.key.apiKey, note: SHOWN_ONCE_NOTE }, previous: ownKeyView(rotated.previous) };
  }

  /** Revokes a key for good (again, if it is already: the answer is the same). */
  public async revoke(caller: AccountCaller, keyId: string): Promise<OwnApiKeyResponse> {
    await this.ownedTenant(caller);
    const key = await this.ownKey(caller, keyId);
    const entry = this.audit.prepare({ actor: actorOf(caller), action: 'key.revoke', target: keyId, details: { tenantId: caller.tenantId, from: key.status } });
    return ownKeyView(await this.store.setKeyStatus(keyId, 'revoked', entry));
  }

  /**
   * The caller's tenant, while the caller owns it (an eventually consistent read: an account signs
   * in only after confirming its address, long after its tenant was written). The authorizer found the
   * tenant by the account's mapping; the owner check also keeps out an account that reached a
   * tenant some other way (an identity mapping an admin made for a tenant it did not register).
   */
  private async ownedTenant(caller: AccountCaller): Promise<{ tenant: Tenant; email: string }> {
    const tenant = await this.store.getTenant(caller.tenantId);
    if (tenant?.owner?.subject !== caller.subject) {
      throw new OwnKeyError('not-tenant-owner', 'This account does not own its tenant: only the account that registered a tenant manages its keys.');
    }
    return { tenant, email: tenant.owner.email };
  }

  /** A key of the caller's tenant, read consistently; any other key is `key-not-found`, exactly as one that does not exist. */
  private async ownKey(caller: AccountCaller, keyId: string): Promise<ApiKeyRecord> {
    const key = KEY_ID_FORM.test(keyId) ? await this.store.getKey(keyId, true) : undefined;
    if (key?.role !== 'tenant' || key.tenantId !== caller.tenantId) throw new OwnKeyError('key-not-found', `Key "${keyId.slice(0, 128)}" does not exist.`);
    return key;
  }

  /** The tenant's own keys (never an admin key that happens to name it). */
  private async tenantKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    return (await this.store.listKeys(tenantId)).filter((key) => key.role === 'tenant');
  }

  /** Whether a key still works: not revoked, and not past a rotation's grace. */
  private stillWorks(key: ApiKeyRecord): boolean {
    return key.status !== 'revoked' && (key.expiresAt === undefined || Date.parse(key.expiresAt) > this.clock());
  }
}

/** Who the audit log names for an account's change. */
export const actorOf = (caller: AccountCaller): string => `account:${caller.subject}`;
