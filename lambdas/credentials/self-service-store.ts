import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { NOTIFICATION_SETTINGS, OptionalNotificationKind } from '../../contracts/account-request-schemas';
import type { AuditWrite, TransactItem } from '../admin/audit-log';
import { NewApiKey, generateApiKey } from './api-key';
import { OwnedTenants } from './owned-tenants';
import {
  ApiKeyRecord,
  CredentialStore,
  CredentialStoreError,
  Tenant,
  TenantOwner,
  hashItemKey,
  keyItemKey,
  newKeyRecord,
  tenantItemKey,
  toKey,
} from './credential-store';

/** A tenant's notification settings as its record holds them: who owns it, and the kinds its contact opted out of. */
export interface TenantNotificationSettings {
  /** The pool `sub` of the account that registered the tenant (a string); none for tenants admins created, or no tenant. */
  readonly ownerSubject: unknown;
  readonly optOuts: readonly OptionalNotificationKind[];
}

/**
 * What self-service (issue 15) adds to the credential store: an account's own tenant, and its
 * keys' listing and rotation. A subclass of its own, so that only the functions that serve
 * accounts (`auth`, `account`) and the local runtime carry it; the admin function's bundle stays
 * within its bound.
 */
export class SelfServiceStore extends CredentialStore {
  /** {@link OwnedTenants.createOwnedTenant}: an account's own tenant. */
  public async createOwnedTenant(input: { readonly tenantId?: string; readonly owner: TenantOwner; readonly issuer: string }, audit?: AuditWrite): Promise<Tenant> {
    return new OwnedTenants(this.props).createOwnedTenant(input, audit);
  }

  /**
   * A tenant's keys (tenant and admin keys alike, as the byEntity index lists them: eventually
   * consistent, so a key created a moment ago may be missing), newest first, with when each was
   * last used: that is on the by-hash records (where the authorizer writes it, see
   * {@link touchLastUsed}), fetched in BatchGetItem requests of at most 100 keys, the operation's
   * limit (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html).
   */
  public async listKeys(tenantId: string): Promise<ApiKeyRecord[]> {
    const items = (await this.entityItems('key', `${tenantId}#`)).filter((item) => item.tenantId === tenantId && typeof item.hash === 'string');
    const byHash = new Map<string, Record<string, unknown>>();
    const hashKeys = items.map((item) => hashItemKey(String(item.hash)));
    for (let start = 0; start < hashKeys.length; start += 100) {
      for (const [pk, item] of await this.credentialItems(hashKeys.slice(start, start + 100))) byHash.set(pk, item);
    }
    return items
      .map((item) => {
        const lastUsedAt = byHash.get(hashItemKey(String(item.hash)))?.lastUsedAt;
        return { ...toKey(item), ...(typeof lastUsedAt === 'string' ? { lastUsedAt } : {}) };
      })
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.keyId.localeCompare(a.keyId));
  }

  /**
   * Rotates a tenant key: a successor (named `name`, its secret returned once) and, on both of the
   * old key's records, `expiresAt` = now + `graceSeconds`, after which the authorizer refuses the
   * old key (0: at once). One transaction writes both, with the audit entry, on the conditions
   * that the old key is still active and not rotated already, and that its tenant still has the
   * tier the successor's hint records (a tier change in between means reading again, as
   * {@link createKey}). A key that does not exist, or is an admin key, is `key-not-found`; one
   * revoked, blocked or rotated, before or while this runs, is `concurrent-change` (the caller
   * checks the key first to say which).
   */
  public async rotateKey(
    keyId: string,
    options: { readonly graceSeconds: number; readonly name: string; readonly key?: NewApiKey; readonly audit?: AuditWrite },
  ): Promise<{ readonly key: ApiKeyRecord & { apiKey: string }; readonly previous: ApiKeyRecord }> {
    const { Item } = await this.documents.send(new GetCommand({ TableName: this.props.credentialsTable, Key: { pk: keyItemKey(keyId) }, ConsistentRead: true }));
    if (!Item || Item.role !== 'tenant' || typeof Item.hash !== 'string') throw new CredentialStoreError('key-not-found', `Key "${keyId}" does not exist.`);
    const previous = toKey(Item);
    const now = this.clock();
    const expiresAt = new Date(now + options.graceSeconds * 1000).toISOString();
    const successor = options.key ?? generateApiKey();
    const record = newKeyRecord(successor, { tenantId: previous.tenantId, role: 'tenant', createdAt: new Date(now).toISOString(), name: options.name });
    const oldRecords: TransactItem[] = [hashItemKey(Item.hash), keyItemKey(keyId)].map((pk) => ({
      Update: {
        TableName: this.props.credentialsTable,
        Key: { pk },
        UpdateExpression: options.audit === undefined ? 'SET #expiresAt = :expiresAt' : 'SET #expiresAt = :expiresAt, #audit = :audit',
        ConditionExpression: 'attribute_exists(pk) AND #status = :active AND attribute_not_exists(#expiresAt)',
        ExpressionAttributeNames: { '#expiresAt': 'expiresAt', '#status': 'status', ...(options.audit === undefined ? {} : { '#audit': 'lastAuditEntry' }) },
        ExpressionAttributeValues: { ':expiresAt': expiresAt, ':active': 'active', ...(options.audit === undefined ? {} : { ':audit': options.audit.entry.id }) },
      },
    }));
    await this.atTenantTier(previous.tenantId, (tier) =>
      this.transact([this.tenantTierCheck(previous.tenantId, tier), ...oldRecords, ...this.newKeyPuts(successor.hash, record, tier)], options.audit, (failed) => {
        if (failed(0)) return;
        throw new CredentialStoreError('concurrent-change', `Key "${keyId}" was revoked, blocked or rotated while it was being rotated; read it again.`);
      }),
    );
    return { key: { ...record, apiKey: successor.apiKey }, previous: { ...previous, expiresAt } };
  }

  /**
   * A tenant's owner and opt-outs (NOTIFICATION_SETTINGS.attribute), read consistently so that a
   * change is seen by the next read; no owner and no opt-outs when the tenant does not exist.
   * Names that are no optional kind (any more) are left out.
   */
  public async notificationSettings(tenantId: string): Promise<TenantNotificationSettings> {
    const { Item } = await this.documents.send(new GetCommand({ TableName: this.props.credentialsTable, Key: { pk: tenantItemKey(tenantId) }, ConsistentRead: true }));
    const stored: unknown = Item?.[NOTIFICATION_SETTINGS.attribute];
    return { ownerSubject: Item?.ownerSubject, optOuts: NOTIFICATION_SETTINGS.optional.filter((kind) => Array.isArray(stored) && stored.includes(kind)) };
  }

  /**
   * Replaces a tenant's opt-outs (a list, empty for none) in one transaction with its audit entry:
   * an UpdateItem of that attribute alone, on the condition that the tenant exists
   * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
   * The caller checks the kinds; a tenant gone in between is `tenant-not-found`.
   */
  public async setNotificationOptOuts(tenantId: string, optOuts: readonly OptionalNotificationKind[], audit?: AuditWrite): Promise<void> {
    const update: TransactItem = {
      Update: {
        TableName: this.props.credentialsTable,
        Key: { pk: tenantItemKey(tenantId) },
        UpdateExpression: 'SET #optOuts = :optOuts',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#optOuts': NOTIFICATION_SETTINGS.attribute },
        ExpressionAttributeValues: { ':optOuts': [...optOuts] },
      },
    };
    await this.transact([update], audit, () => {
      throw new CredentialStoreError('tenant-not-found', 'The tenant does not exist.');
    });
  }
}
