import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException, DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AuditWrite, TransactItem } from '../admin/audit-log';
import { KEY_LAST_USED_RESOLUTION_SECONDS, KEY_PREFIX_LENGTH } from '../../contracts/accounts';
import { CREDENTIALS_TTL_ATTRIBUTE } from '../../contracts/metered-api';
import { RESERVED_TENANT_IDS, TENANT_ID_PATTERN, TENANT_ID_RULE, isReservedTenantId } from '../../contracts/tenants';
import { DEFAULT_TIERS, TierLimit, TierName, isTierName } from '../../contracts/tiers';
import { LimiterItemWrite, LimiterItemWrites, readEnforcedTier } from '../limiter/limiter-item-writes';
import { NewApiKey, generateApiKey, hashApiKey, looksLikeApiKey, sameDigest } from './api-key';

export type KeyRole = 'tenant' | 'admin';
export type KeyStatus = 'active' | 'blocked' | 'revoked';

export interface Tenant {
  readonly tenantId: string;
  readonly name: string;
  readonly tier: TierName;
  readonly blocked: boolean;
  readonly createdAt: string;
  /** The account that registered the tenant (self-service, issue 15): its pool `sub` and its email; absent for tenants admins created. */
  readonly owner?: TenantOwner;
}

/** Who owns a self-service tenant: stored on the tenant record as `ownerSubject` and `ownerEmail`. */
export interface TenantOwner {
  readonly subject: string;
  readonly email: string;
}

export interface ApiKeyRecord {
  readonly keyId: string;
  readonly tenantId: string;
  readonly role: KeyRole;
  readonly status: KeyStatus;
  readonly createdAt: string;
  /** The name its owner gave it (self-service keys, issue 15); absent on keys created without one (by admins). */
  readonly name?: string;
  /** The secret's first KEY_PREFIX_LENGTH characters, to recognise it in a list; absent on keys created before prefixes were kept. */
  readonly prefix?: string;
  /**
   * When the authorizer last accepted the key, to KEY_LAST_USED_RESOLUTION_SECONDS: written by the
   * authorizer on the by-hash record it reads ({@link CredentialStore.touchLastUsed}), so found by
   * {@link CredentialStore.findKey} and {@link CredentialStore.listKeys} only.
   */
  readonly lastUsedAt?: string;
  /** When a rotated key stops working (the end of its successor's grace); absent for a key never rotated. */
  readonly expiresAt?: string;
}

/**
 * A key as the authorizer finds it by its secret: its record, and its tenant's tier as that record
 * last heard it. The tier is a hint for the limiter (whose item holds the tier it enforces): it is
 * written with the key and rewritten by each tier change, and is absent on records written before
 * keys carried it.
 */
export interface FoundApiKey extends ApiKeyRecord {
  readonly tierHint?: TierName;
}

/** The tenant an external identity acts for, and the tier hint its mapping carries (as {@link FoundApiKey.tierHint}). */
export interface ExternalTenant {
  readonly tenantId: string;
  readonly tierHint?: TierName;
}

/** A domain error the adapters map to 400/404/409. */
export class CredentialStoreError extends Error {
  constructor(
    public readonly code:
      | 'tenant-not-found'
      | 'tenant-exists'
      | 'invalid-tenant-id'
      | 'reserved-tenant-id'
      | 'key-not-found'
      | 'key-revoked'
      | 'concurrent-change'
      | 'external-identity-mapped',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CredentialStoreError';
  }
}

/**
 * An identity at an external issuer, mapped to a tenant by an admin: either one subject (a user
 * of a Cognito pool) or one app client (machine-to-machine tokens, whose subject is the client).
 */
export interface ExternalIdentityMapping {
  readonly issuer: string;
  readonly subject?: string;
  readonly clientId?: string;
  readonly tenantId: string;
  readonly createdAt: string;
}

/** An external identity to map: one subject, or one app client, of an issuer. */
export type ExternalIdentityInput = { readonly issuer: string; readonly tenantId: string } & (
  | { readonly subject: string; readonly clientId?: undefined }
  | { readonly clientId: string; readonly subject?: undefined }
);

export interface CredentialStoreProps {
  readonly client: DynamoDBClient;
  readonly credentialsTable: string;
  readonly limiterTable: string;
  /**
   * The tiers' limits, which decide whether a tier change raises the limit (see {@link CredentialStore.setTier}).
   * @default DEFAULT_TIERS - pass the deployment's tiers when it overrides them
   */
  readonly tiers?: Readonly<Record<TierName, TierLimit>>;
  readonly clock?: () => number;
}

export const tenantItemKey = (tenantId: string) => `TENANT#${tenantId}`;
export const keyItemKey = (keyId: string) => `KEY#${keyId}`;
export const hashItemKey = (hash: string) => `KEYHASH#${hash}`;
// JSON keeps the parts apart whatever characters an issuer or subject holds.
export const externalItemKey = (issuer: string, by: 'subject' | 'client', value: string) => `EXTID#${JSON.stringify([issuer, by, value])}`;
const revokedAdminTokenKey = (tokenId: string) => `ADMINTOKEN#${tokenId}`;

/** A new tenant id, when the admin gives none. */
export const generateTenantId = (): string => `t-${randomBytes(6).toString('hex')}`;

/** Which action of a cancelled transaction failed its condition, by index. */
export type FailedConditions = (index: number) => boolean;

/**
 * TransactWriteItems takes at most 100 actions
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html);
 * a tier change sends its limiter item, tenant record and audit entry, and at most this many
 * records' tier hints with them.
 */
const TIER_HINTS_PER_TRANSACTION = 97;

/** How often a write that depends on a tenant's tier reads the tier again when it changed in between. */
const TIER_ROUNDS = 3;

/** The attribute of key records (by hash) and external identity mappings that holds the tenant's tier, a hint for the limiter. */
export const TIER_HINT = 'tier';

/**
 * Tenants and API keys in DynamoDB, and the tier and blocks on each tenant's limiter item (the
 * copy the limiter enforces on every request), which it changes with the writes the limiter module
 * builds (LimiterItemWrites). Keys are stored only as SHA-256 hashes.
 *
 * Every change that spans several items (a tenant and its limiter item, a key's two records and
 * the limiter item) is one TransactWriteItems, with the audit entry that records it when the
 * caller passes one (`audit`): all of it lands, or none of it
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html).
 * Locally, dynalite runs the same requests (local/dynalite-transactions.ts). The one exception is
 * a tenant's tier hint on its key records and identity mappings beyond what a tier change's
 * transaction takes (see {@link setTier}): a hint, never what the limiter enforces.
 */
export class CredentialStore {
  protected readonly documents: DynamoDBDocumentClient;
  protected readonly clock: () => number;
  protected readonly tiers: Readonly<Record<TierName, TierLimit>>;
  protected readonly limiterItem: LimiterItemWrites;

  constructor(protected readonly props: CredentialStoreProps) {
    this.documents = DynamoDBDocumentClient.from(props.client);
    this.clock = props.clock ?? Date.now;
    this.tiers = props.tiers ?? DEFAULT_TIERS;
    this.limiterItem = new LimiterItemWrites(props.limiterTable);
  }

  public async createTenant(input: { tenantId?: string; name: string; tier: TierName }, audit?: AuditWrite): Promise<Tenant> {
    const tenantId = input.tenantId ?? generateTenantId();
    if (!TENANT_ID_PATTERN.test(tenantId)) {
      throw new CredentialStoreError('invalid-tenant-id', `${TENANT_ID_RULE}; got ${JSON.stringify(tenantId)}.`);
    }
    if (isReservedTenantId(tenantId)) {
      throw new CredentialStoreError(
        'reserved-tenant-id',
        `tenantId "${tenantId}" is reserved for traffic no tenant made (${Object.values(RESERVED_TENANT_IDS).join(', ')}), which is recorded but never billed; choose another id.`,
      );
    }
    const tenant: Tenant = { tenantId, name: input.name, tier: input.tier, blocked: false, createdAt: this.now() };
    await this.transact(
      [
        { Put: { TableName: this.props.credentialsTable, Item: { pk: tenantItemKey(tenantId), entity: 'tenant', sk: tenantId, ...tenant }, ConditionExpression: 'attribute_not_exists(pk)' } },
        // The enforcement copy: tier and blocks the limiter checks on every request.
        this.limiterItem.create(tenantId, input.tier),
      ],
      audit,
      (failed) => {
        if (failed(0)) throw new CredentialStoreError('tenant-exists', `Tenant "${tenantId}" already exists.`);
      },
    );
    return tenant;
  }

  public async getTenant(tenantId: string): Promise<Tenant | undefined> {
    const { Item } = await this.documents.send(new GetCommand({ TableName: this.props.credentialsTable, Key: { pk: tenantItemKey(tenantId) } }));
    return Item ? toTenant(Item) : undefined;
  }

  public async listTenants(): Promise<Tenant[]> {
    return (await this.entityItems('tenant')).map(toTenant);
  }

  /**
   * Changes the tier of the limiter item and the tenant record together, and the tier hint on the
   * tenant's key records (by hash) and external identity mappings, which the authorizer passes to
   * the limiter so that its first write names the right tier.
   *
   * Raising the tier clears the bucket's debt, lowering keeps it (LimiterItemWrites.setTier).
   * Whether it raises depends on the tier the item holds, read first; the write is conditional on
   * that tier still being there, and another admin's change in between means reading again.
   *
   * The hints go in the same transaction, up to {@link TIER_HINTS_PER_TRANSACTION} of them; the
   * rest follow it one by one. A hint is never what the limiter enforces (its conditional write
   * checks the item's tier), so one the change misses — a record beyond the transaction whose
   * update fails, a key the index did not list yet — costs a second write on a limiter instance's
   * first decision for the tenant, never a wrong one.
   */
  public async setTier(tenantId: string, tier: TierName, audit?: AuditWrite): Promise<Tenant> {
    for (let round = 1; round <= TIER_ROUNDS; round++) {
      const current = await readEnforcedTier(this.documents, this.props.limiterTable, tenantId);
      if (current === undefined) throw this.tenantNotFound(tenantId);
      const hinted = await this.tierHintRecords(tenantId);
      const [withChange, after] = [hinted.slice(0, TIER_HINTS_PER_TRANSACTION), hinted.slice(TIER_HINTS_PER_TRANSACTION)];
      const written = await this.transact(
        [
          this.limiterItem.setTier(tenantId, { from: current, to: tier, tiers: this.tiers }),
          this.tenantUpdate(tenantId, 'SET tier = :tier', { ':tier': tier }),
          ...withChange.map((pk) => this.tierHintUpdate(pk, tier)),
        ],
        audit,
        (failed) => {
          if (failed(1)) throw this.tenantNotFound(tenantId);
          // Another change of the tier since it was read (or a record gone since it was listed): not written, read again.
        },
      );
      if (written) {
        await this.setTierHints(after, tier);
        return this.consistentTenant(tenantId);
      }
    }
    throw new CredentialStoreError('concurrent-change', `The tier of tenant "${tenantId}" kept changing while it was being set; retry.`);
  }

  /** Blocks or unblocks a tenant: its limiter item, which every metered request checks, and its record. */
  public async setTenantBlocked(tenantId: string, blocked: boolean, audit?: AuditWrite): Promise<Tenant> {
    await this.transact(
      [
        this.limiterItem.setBlocked(tenantId, blocked),
        this.tenantUpdate(tenantId, 'SET blocked = :blocked', { ':blocked': blocked }),
      ],
      audit,
      (failed) => {
        if (failed(0) || failed(1)) throw this.tenantNotFound(tenantId);
      },
    );
    return this.consistentTenant(tenantId);
  }

  /**
   * Creates a key; the secret is returned once and never stored. `key` is for callers that must know the id first.
   *
   * A tenant key is created only for a tenant that exists, with the tenant's tier as its hint: the
   * tier is read first, and the transaction checks that the tenant still has it (a tier change in
   * between means reading again).
   */
  public async createKey(
    tenantId: string,
    role: KeyRole = 'tenant',
    options: { readonly key?: NewApiKey; readonly audit?: AuditWrite; readonly name?: string } = {},
  ): Promise<ApiKeyRecord & { apiKey: string }> {
    const key = options.key ?? generateApiKey();
    const record = newKeyRecord(key, { tenantId, role, createdAt: this.now(), name: options.name });
    const write = async (tier: TierName | undefined): Promise<boolean> => {
      const tenantCheck: TransactItem[] = tier === undefined ? [] : [this.tenantTierCheck(tenantId, tier)];
      return this.transact([...tenantCheck, ...this.newKeyPuts(key.hash, record, tier)], options.audit, (failed) => {
        // The tenant's tier changed since it was read, or the tenant is gone: read again.
        if (tenantCheck.length > 0 && failed(0)) return;
        throw new CredentialStoreError('concurrent-change', `Key "${key.keyId}" already exists; retry.`);
      });
    };
    if (role === 'tenant') await this.atTenantTier(tenantId, write);
    else await write(undefined);
    return { ...record, apiKey: key.apiKey };
  }

  /**
   * Records that the authorizer accepted a key now, on the by-hash record it reads: one
   * conditional UpdateItem that writes only when the record's `lastUsedAt` is missing or older
   * than KEY_LAST_USED_RESOLUTION_SECONDS, so that of concurrent authorizers one writes and the
   * others' conditions fail (false). It never creates a record (`attribute_exists(pk)`).
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html
   */
  public async touchLastUsed(apiKey: string): Promise<boolean> {
    const now = this.clock();
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.props.credentialsTable,
          Key: { pk: hashItemKey(hashApiKey(apiKey)) },
          UpdateExpression: 'SET #lastUsedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#lastUsedAt) OR #lastUsedAt < :stale)',
          ExpressionAttributeNames: { '#lastUsedAt': 'lastUsedAt' },
          ExpressionAttributeValues: { ':now': new Date(now).toISOString(), ':stale': new Date(now - KEY_LAST_USED_RESOLUTION_SECONDS * 1000).toISOString() },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * The key a secret belongs to, if any: one lookup by hash, then a constant-time comparison. The
   * record carries its tenant's tier as a hint ({@link FoundApiKey.tierHint}).
   */
  public async findKey(apiKey: string): Promise<FoundApiKey | undefined> {
    if (!looksLikeApiKey(apiKey)) return undefined;
    const hash = hashApiKey(apiKey);
    const { Item } = await this.documents.send(new GetCommand({ TableName: this.props.credentialsTable, Key: { pk: hashItemKey(hash) } }));
    if (!Item || typeof Item.hash !== 'string' || !sameDigest(Item.hash, hash)) return undefined;
    const tierHint: unknown = Item[TIER_HINT];
    return { ...toKey(Item), ...(isTierName(tierHint) ? { tierHint } : {}) };
  }

  /** A key by its id (without `lastUsedAt`, which is on its by-hash record); `consistent` for a strongly consistent read. */
  public async getKey(keyId: string, consistent = false): Promise<ApiKeyRecord | undefined> {
    const { Item } = await this.documents.send(new GetCommand({ TableName: this.props.credentialsTable, Key: { pk: keyItemKey(keyId) }, ConsistentRead: consistent }));
    return Item ? toKey(Item) : undefined;
  }

  /** A key's status as of now (a strongly consistent read): what admin routes check on every request. */
  public async keyStatus(keyId: string): Promise<KeyStatus | undefined> {
    const { Item } = await this.documents.send(new GetCommand({ TableName: this.props.credentialsTable, Key: { pk: keyItemKey(keyId) }, ConsistentRead: true }));
    return Item ? toKey(Item).status : undefined;
  }

  /**
   * The key a status change would change, read consistently; refuses, with nothing written, a key
   * that does not exist and a block or unblock of a revoked key (revocation is final).
   */
  public async keyForStatusChange(keyId: string, status: KeyStatus): Promise<ApiKeyRecord> {
    return toKey(await this.keyItemForStatusChange(keyId, status));
  }

  /**
   * Revokes a key for good, blocks or unblocks it; the limiter refuses it from the next request on.
   *
   * One transaction changes both key records (the one the authorizer reads by hash, and the one by
   * id), the tenant's limiter item and the audit entry. Revocation is on the key records too,
   * because the limiter forgets a revoked key once no credential naming it can still get past the
   * authorizer (REVOCATION_RETENTION_MS). A block or unblock of a revoked key is refused by the
   * conditions, with nothing written, even when the revocation raced this change.
   *
   * With `audit`, both key records name its entry (`lastAuditEntry`).
   */
  public async setKeyStatus(keyId: string, status: KeyStatus, audit?: AuditWrite): Promise<ApiKeyRecord> {
    const item = await this.keyItemForStatusChange(keyId, status);
    const key = toKey(item);
    const records: TransactItem[] = [hashItemKey(String(item.hash)), keyItemKey(keyId)].map((pk) => ({
      Update: {
        TableName: this.props.credentialsTable,
        Key: { pk },
        UpdateExpression: audit === undefined ? 'SET #status = :status' : 'SET #status = :status, #audit = :audit',
        ConditionExpression: status === 'revoked' ? 'attribute_exists(pk)' : 'attribute_exists(pk) AND #status <> :revoked',
        ExpressionAttributeNames: { '#status': 'status', ...(audit === undefined ? {} : { '#audit': 'lastAuditEntry' }) },
        ExpressionAttributeValues: {
          ':status': status,
          ...(status === 'revoked' ? {} : { ':revoked': 'revoked' }),
          ...(audit === undefined ? {} : { ':audit': audit.entry.id }),
        },
      },
    }));
    const limiter = key.role === 'tenant' ? [this.limiterKeyChange(key.tenantId, keyId, status)] : [];
    await this.transact([...records, ...limiter], audit, (failed) => {
      if (failed(2)) throw this.tenantNotFound(key.tenantId);
      if (status === 'revoked') throw new CredentialStoreError('key-not-found', `Key "${keyId}" does not exist.`);
      throw new CredentialStoreError('key-revoked', `Key "${keyId}" is revoked; revocation cannot be undone.`);
    });
    return { ...key, status };
  }

  /**
   * Maps an external identity (issuer and subject, or issuer and app client) to an existing
   * tenant. A mapping is never overwritten: moving an identity to another tenant is a deliberate
   * second step, so a typo cannot silently hand one tenant's users to another.
   *
   * The tenant must exist when the mapping is written (a ConditionCheck in the same transaction),
   * and tenants are never deleted, so the authorizer trusts a mapping without reading its tenant.
   * The mapping carries the tenant's tier as a hint, as a key record does (see {@link createKey}).
   */
  public async mapExternalIdentity(input: ExternalIdentityInput, audit?: AuditWrite): Promise<ExternalIdentityMapping> {
    const [by, value] = input.subject !== undefined ? (['subject', input.subject] as const) : (['client', input.clientId] as const);
    const mapping: ExternalIdentityMapping = {
      issuer: input.issuer,
      ...(by === 'subject' ? { subject: value } : { clientId: value }),
      tenantId: input.tenantId,
      createdAt: this.now(),
    };
    const item = { pk: externalItemKey(input.issuer, by, value), entity: 'external-identity', sk: `${input.tenantId}#${by}#${value}`, ...mapping };
    await this.atTenantTier(input.tenantId, (tier) =>
      this.transact(
        [this.tenantTierCheck(input.tenantId, tier), { Put: { TableName: this.props.credentialsTable, Item: { ...item, [TIER_HINT]: tier }, ConditionExpression: 'attribute_not_exists(pk)' } }],
        audit,
        (failed) => {
          // The tenant's tier changed since it was read, or the tenant is gone: read again.
          if (failed(0)) return;
          throw new CredentialStoreError('external-identity-mapped', `This ${by} of ${input.issuer} is already mapped to a tenant.`);
        },
      ),
    );
    return mapping;
  }

  /**
   * The tenant an external identity acts for: the subject's own mapping first, else its app
   * client's. Undefined when neither is mapped. Both mappings are fetched in one BatchGetItem (one
   * request, one read unit: two eventually consistent reads of items under 4 KB). DynamoDB may
   * leave keys unprocessed (throttling, an internal failure) and asks for a retry of those with
   * exponential backoff (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html).
   */
  /**
   * The tenant an external identity acts for: its subject's mapping, else its app client's. With
   * `bySubjectOnly` (accounts of the project's pool), only the subject's: an app client mapping of
   * the pool would otherwise hand one tenant, and the right to manage its keys, to every account.
   */
  public async findExternalTenant(
    identity: { issuer: string; subject: string; clientId: string },
    options: { readonly bySubjectOnly?: boolean } = {},
  ): Promise<ExternalTenant | undefined> {
    return findExternalTenantIn(this.documents, this.props.credentialsTable, identity, options);
  }

  /**
   * Denies an admin token (by `jti`) until it would have expired anyway; `expiresAt` (epoch
   * seconds) is the table's TTL attribute, so DynamoDB removes the entry after that. Repeatable.
   */
  public async revokeAdminToken(tokenId: string, expiresAt: number, audit?: AuditWrite): Promise<void> {
    await this.transact(
      [{ Put: { TableName: this.props.credentialsTable, Item: { pk: revokedAdminTokenKey(tokenId), tokenId, revokedAt: this.now(), [CREDENTIALS_TTL_ATTRIBUTE]: expiresAt } } }],
      audit,
      () => {
        throw new Error('TransactWriteItems was cancelled on an unconditional write.');
      },
    );
  }

  /** Whether an admin token was revoked: a strongly consistent read, so revocation acts at once. */
  public async isAdminTokenRevoked(tokenId: string): Promise<boolean> {
    const { Item } = await this.documents.send(
      new GetCommand({ TableName: this.props.credentialsTable, Key: { pk: revokedAdminTokenKey(tokenId) }, ConsistentRead: true }),
    );
    return Item !== undefined;
  }

  /**
   * Sends one transaction: `items`, then the audit entry's Put when there is one; true when it was
   * written. A cancellation for failed conditions goes to `onFailedConditions`, which throws the
   * domain error, or returns for a cancellation the caller handles (false); an audit entry whose
   * condition failed is a clash of random ids, and any other cancellation is rethrown.
   */
  protected async transact(items: TransactItem[], audit: AuditWrite | undefined, onFailedConditions: (failed: FailedConditions) => void): Promise<boolean> {
    return transactWithAudit(this.documents, items, audit, onFailedConditions);
  }

  /** A key's status on its tenant's limiter item: revoked keys and blocked keys are sets there; an active key is in neither. */
  private limiterKeyChange(tenantId: string, keyId: string, status: KeyStatus): LimiterItemWrite {
    if (status === 'revoked') return this.limiterItem.addKey(tenantId, 'revokedKeys', keyId);
    if (status === 'blocked') return this.limiterItem.addKey(tenantId, 'blockedKeys', keyId);
    return this.limiterItem.removeKey(tenantId, 'blockedKeys', keyId);
  }

  /** Credential items by key, in BatchGetItem requests until none is left unprocessed (at most 3, backing off 50 then 100 ms). */
  protected async credentialItems(pks: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    return credentialItemsIn(this.documents, this.props.credentialsTable, pks);
  }

  /** The tenant's tier, read consistently; the tenant must exist. */
  private async currentTier(tenantId: string): Promise<TierName> {
    return (await this.consistentTenant(tenantId)).tier;
  }

  /**
   * Runs a write that records the tenant's tier with the tier read now, and again (up to
   * {@link TIER_ROUNDS} times) while it reports that the tier changed in between (false).
   */
  protected async atTenantTier(tenantId: string, write: (tier: TierName) => Promise<boolean>): Promise<void> {
    for (let round = 1; round <= TIER_ROUNDS; round++) {
      if (await write(await this.currentTier(tenantId))) return;
    }
    throw new CredentialStoreError('concurrent-change', `The tier of tenant "${tenantId}" kept changing while it was being recorded; retry.`);
  }

  /**
   * A new key's two records, neither over an existing one: by hash (what the authorizer reads,
   * with the tenant's tier as the limiter's hint) and by id (what lists and changes find).
   */
  protected newKeyPuts(hash: string, record: ApiKeyRecord, tier: TierName | undefined): TransactItem[] {
    const table = this.props.credentialsTable;
    return [
      { Put: { TableName: table, Item: { pk: hashItemKey(hash), hash, ...record, ...(tier === undefined ? {} : { [TIER_HINT]: tier }) }, ConditionExpression: 'attribute_not_exists(pk)' } },
      { Put: { TableName: table, Item: { pk: keyItemKey(record.keyId), entity: 'key', sk: `${record.tenantId}#${record.keyId}`, hash, ...record }, ConditionExpression: 'attribute_not_exists(pk)' } },
    ];
  }

  /** A transaction's check that the tenant exists and still has the tier read. */
  protected tenantTierCheck(tenantId: string, tier: TierName): TransactItem {
    return {
      ConditionCheck: {
        TableName: this.props.credentialsTable,
        Key: { pk: tenantItemKey(tenantId) },
        ConditionExpression: 'attribute_exists(pk) AND #tier = :tier',
        ExpressionAttributeNames: { '#tier': 'tier' },
        ExpressionAttributeValues: { ':tier': tier },
      },
    };
  }

  /**
   * The records that carry a tenant's tier hint: the by-hash record of each key that is not
   * revoked (the authorizer refuses revoked keys), and each external identity mapping; listed from
   * the byEntity index, whose reads are eventually consistent.
   */
  private async tierHintRecords(tenantId: string): Promise<string[]> {
    const keys = await this.entityItems('key', `${tenantId}#`);
    const mappings = await this.entityItems('external-identity', `${tenantId}#`);
    return [
      ...keys.filter((item) => item.status !== 'revoked' && typeof item.hash === 'string').map((item) => hashItemKey(String(item.hash))),
      ...mappings.filter((item) => typeof item.pk === 'string').map((item) => String(item.pk)),
    ];
  }

  /** A record's tier hint: an update of a record that exists. */
  private tierHint(pk: string, tier: TierName) {
    return {
      TableName: this.props.credentialsTable,
      Key: { pk },
      UpdateExpression: 'SET #tier = :tier',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeNames: { '#tier': TIER_HINT },
      ExpressionAttributeValues: { ':tier': tier },
    };
  }

  private tierHintUpdate(pk: string, tier: TierName): TransactItem {
    return { Update: this.tierHint(pk, tier) };
  }

  /**
   * The tier hints beyond a tier change's transaction, one UpdateItem each, after the change has
   * landed: a failure leaves that hint stale, which costs a write, never a decision, so it neither
   * stops the others nor fails the change.
   */
  private async setTierHints(pks: readonly string[], tier: TierName): Promise<void> {
    for (const pk of pks) {
      try {
        await this.documents.send(new UpdateCommand(this.tierHint(pk, tier)));
      } catch {
        // Stale: the limiter's condition on the item's tier still decides.
      }
    }
  }

  /** Items of one entity in the byEntity index whose sort key starts with `prefix`, every page. */
  protected async entityItems(entity: string, prefix?: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.documents.send(
        new QueryCommand({
          TableName: this.props.credentialsTable,
          IndexName: 'byEntity',
          KeyConditionExpression: prefix === undefined ? 'entity = :entity' : 'entity = :entity AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':entity': entity, ...(prefix === undefined ? {} : { ':prefix': prefix }) },
          ExclusiveStartKey: cursor,
        }),
      );
      items.push(...(page.Items ?? []));
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    return items;
  }

  private tenantUpdate(tenantId: string, expression: string, values: Record<string, unknown>): TransactItem {
    return {
      Update: { TableName: this.props.credentialsTable, Key: { pk: tenantItemKey(tenantId) }, UpdateExpression: expression, ConditionExpression: 'attribute_exists(pk)', ExpressionAttributeValues: values },
    };
  }

  private async keyItemForStatusChange(keyId: string, status: KeyStatus): Promise<Record<string, unknown>> {
    const { Item } = await this.documents.send(new GetCommand({ TableName: this.props.credentialsTable, Key: { pk: keyItemKey(keyId) }, ConsistentRead: true }));
    if (!Item) throw new CredentialStoreError('key-not-found', `Key "${keyId}" does not exist.`);
    if (Item.status === 'revoked' && status !== 'revoked') throw new CredentialStoreError('key-revoked', `Key "${keyId}" is revoked; revocation cannot be undone.`);
    return Item;
  }

  private async consistentTenant(tenantId: string): Promise<Tenant> {
    const { Item } = await this.documents.send(new GetCommand({ TableName: this.props.credentialsTable, Key: { pk: tenantItemKey(tenantId) }, ConsistentRead: true }));
    if (!Item) throw this.tenantNotFound(tenantId);
    return toTenant(Item);
  }

  private tenantNotFound(tenantId: string): CredentialStoreError {
    return new CredentialStoreError('tenant-not-found', `Tenant "${tenantId}" does not exist.`);
  }

  protected now(): string {
    return new Date(this.clock()).toISOString();
  }
}

function toTenant(item: Record<string, unknown>): Tenant {
  const owner = typeof item.ownerSubject === 'string' && typeof item.ownerEmail === 'string' ? { owner: { subject: item.ownerSubject, email: item.ownerEmail } } : {};
  return { tenantId: String(item.tenantId), name: String(item.name), tier: item.tier as TierName, blocked: item.blocked === true, createdAt: String(item.createdAt), ...owner };
}

/** A new active key's record: its name when it has one, and its prefix (KEY_PREFIX_LENGTH characters of the secret). */
export function newKeyRecord(key: NewApiKey, fields: { tenantId: string; role: KeyRole; createdAt: string; name: string | undefined }): ApiKeyRecord {
  const { tenantId, role, createdAt, name } = fields;
  return { keyId: key.keyId, tenantId, role, status: 'active', createdAt, ...(name === undefined ? {} : { name }), prefix: key.apiKey.slice(0, KEY_PREFIX_LENGTH) };
}

/** The optional string attributes of a key record, when present. */
const KEY_OPTIONAL_FIELDS = ['name', 'prefix', 'lastUsedAt', 'expiresAt'] as const;

export function toKey(item: Record<string, unknown>): ApiKeyRecord {
  const optional: Partial<Pick<ApiKeyRecord, (typeof KEY_OPTIONAL_FIELDS)[number]>> = Object.fromEntries(
    KEY_OPTIONAL_FIELDS.flatMap((field) => (typeof item[field] === 'string' ? [[field, item[field]]] : [])),
  );
  const { keyId, tenantId, role, status, createdAt } = item;
  return { keyId: String(keyId), tenantId: String(tenantId), role: role as KeyRole, status: status as KeyStatus, createdAt: String(createdAt), ...optional };
}

/**
 * One TransactWriteItems of `items` and, when given, the audit entry that records them: all of it
 * lands, or none of it. When a condition of `items` failed, `onFailedConditions` says which (it may
 * throw the domain error) and the answer is false; other failures throw.
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
 */
export async function transactWithAudit(
  documents: DynamoDBDocumentClient,
  items: TransactItem[],
  audit: AuditWrite | undefined,
  onFailedConditions: (failed: FailedConditions) => void,
): Promise<boolean> {
  try {
    await documents.send(new TransactWriteCommand({ TransactItems: audit ? [...items, audit.put] : items }));
    return true;
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const codes = (error.CancellationReasons ?? []).map((reason) => reason.Code);
    const failed: FailedConditions = (index) => codes[index] === 'ConditionalCheckFailed';
    if (!codes.slice(0, items.length).some((code) => code === 'ConditionalCheckFailed')) throw error;
    onFailedConditions(failed);
    return false;
  }
}

/** Items of the credentials table by `pk`, in BatchGetItem requests, with unprocessed keys retried (3 attempts). */
export async function credentialItemsIn(documents: DynamoDBDocumentClient, table: string, pks: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
  const found = new Map<string, Record<string, unknown>>();
  let pending: Record<string, unknown>[] = pks.map((pk) => ({ pk }));
  for (let attempt = 0; pending.length > 0; attempt++) {
    if (attempt === 3) throw new Error(`BatchGetItem left ${String(pending.length)} of ${String(pks.length)} keys unprocessed after ${String(attempt)} attempts.`);
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** attempt));
    const { Responses, UnprocessedKeys } = await documents.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending } } }));
    for (const item of Responses?.[table] ?? []) found.set(String(item.pk), item);
    pending = UnprocessedKeys?.[table]?.Keys ?? [];
  }
  return found;
}

/** {@link CredentialStore.findExternalTenant}, for modules that need no more of the store. */
export async function findExternalTenantIn(
  documents: DynamoDBDocumentClient,
  table: string,
  identity: { issuer: string; subject: string; clientId: string },
  options: { readonly bySubjectOnly?: boolean } = {},
): Promise<ExternalTenant | undefined> {
  const bySubject = externalItemKey(identity.issuer, 'subject', identity.subject);
  const keys = options.bySubjectOnly ? [bySubject] : [bySubject, externalItemKey(identity.issuer, 'client', identity.clientId)];
  const items = await credentialItemsIn(documents, table, keys);
  for (const pk of keys) {
    const item = items.get(pk);
    const tierHint: unknown = item?.[TIER_HINT];
    if (item && typeof item.tenantId === 'string') return { tenantId: item.tenantId, ...(isTierName(tierHint) ? { tierHint } : {}) };
  }
  return undefined;
}
