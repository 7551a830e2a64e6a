import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { RESERVED_TENANT_IDS, TENANT_ID_PATTERN, TENANT_ID_RULE, isReservedTenantId } from '../../contracts/tenants';
import { DEFAULT_TIERS, TIER_NAMES, TierLimit, TierName } from '../../contracts/tiers';
import { LIMITER_ATTRIBUTES, limiterKey } from '../limiter/token-bucket-limiter';
import { generateApiKey, hashApiKey, looksLikeApiKey, sameDigest } from './api-key';

export type KeyRole = 'tenant' | 'admin';
export type KeyStatus = 'active' | 'blocked' | 'revoked';

export interface Tenant {
  readonly tenantId: string;
  readonly name: string;
  readonly tier: TierName;
  readonly blocked: boolean;
  readonly createdAt: string;
}

export interface ApiKeyRecord {
  readonly keyId: string;
  readonly tenantId: string;
  readonly role: KeyRole;
  readonly status: KeyStatus;
  readonly createdAt: string;
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

const tenantItemKey = (tenantId: string) => `TENANT#${tenantId}`;
const keyItemKey = (keyId: string) => `KEY#${keyId}`;
const hashItemKey = (hash: string) => `KEYHASH#${hash}`;
// JSON keeps the parts apart whatever characters an issuer or subject holds.
const externalItemKey = (issuer: string, by: 'subject' | 'client', value: string) => `EXTID#${JSON.stringify([issuer, by, value])}`;
const revokedAdminTokenKey = (tokenId: string) => `ADMINTOKEN#${tokenId}`;

/**
 * Tenants and API keys in DynamoDB, and the tier and blocks on each tenant's limiter item (the
 * copy the limiter enforces on every request). Keys are stored only as SHA-256 hashes.
 */
export class CredentialStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly clock: () => number;
  private readonly tiers: Readonly<Record<TierName, TierLimit>>;

  constructor(private readonly props: CredentialStoreProps) {
    this.documents = DynamoDBDocumentClient.from(props.client);
    this.clock = props.clock ?? Date.now;
    this.tiers = props.tiers ?? DEFAULT_TIERS;
  }

  public async createTenant(input: { tenantId?: string; name: string; tier: TierName }): Promise<Tenant> {
    const tenantId = input.tenantId ?? `t-${randomBytes(6).toString('hex')}`;
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
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.props.credentialsTable,
          Item: { pk: tenantItemKey(tenantId), entity: 'tenant', sk: tenantId, ...tenant },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new CredentialStoreError('tenant-exists', `Tenant "${tenantId}" already exists.`);
      throw error;
    }
    // The enforcement copy: tier and blocks the limiter checks on every request.
    await this.documents.send(
      new PutCommand({
        TableName: this.props.limiterTable,
        Item: { pk: limiterKey(tenantId), [LIMITER_ATTRIBUTES.tier]: input.tier, [LIMITER_ATTRIBUTES.blocked]: false },
      }),
    );
    return tenant;
  }

  public async getTenant(tenantId: string): Promise<Tenant | undefined> {
    const { Item } = await this.documents.send(new GetCommand({ TableName: this.props.credentialsTable, Key: { pk: tenantItemKey(tenantId) } }));
    return Item ? toTenant(Item) : undefined;
  }

  public async listTenants(): Promise<Tenant[]> {
    const tenants: Tenant[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page = await this.documents.send(
        new QueryCommand({
          TableName: this.props.credentialsTable,
          IndexName: 'byEntity',
          KeyConditionExpression: 'entity = :tenant',
          ExpressionAttributeValues: { ':tenant': 'tenant' },
          ExclusiveStartKey: cursor,
        }),
      );
      tenants.push(...(page.Items ?? []).map(toTenant));
      cursor = page.LastEvaluatedKey;
    } while (cursor);
    return tenants;
  }

  /**
   * Changes the tier: the limiter item first, so enforcement changes with the very next request.
   *
   * The bucket's state is its theoretical arrival time (`tat`), a debt in milliseconds. Raising
   * the tier (to a higher rate) removes it in the same write, so the new tier's full burst is
   * there at once: a debt run up at 12 s per request would otherwise still weigh 12 s per request
   * against a rate of one every 0.6 s. Any other change keeps it, so after lowering the tenant
   * waits out the old debt at the new rate and is never admitted more than the new tier allows.
   * Whether it raises depends on the tier the item holds, so each write is conditional on it.
   */
  public async setTier(tenantId: string, tier: TierName): Promise<Tenant> {
    const rate = this.tiers[tier].requestsPerMinute;
    const slower = TIER_NAMES.filter((name) => this.tiers[name].requestsPerMinute < rate);
    const fromSlower = slower.map((_, i) => `:from${i}`);
    const slowerValues = Object.fromEntries(slower.map((name, i) => [fromSlower[i], name]));
    const names = { '#tier': LIMITER_ATTRIBUTES.tier, '#tat': LIMITER_ATTRIBUTES.tat };
    // Another admin may change the tier between the two writes; a third round is rarer still.
    for (let round = 1; round <= 3; round++) {
      if (slower.length > 0) {
        const raised = await this.updateLimiter(tenantId, 'SET #tier = :tier REMOVE #tat', names, { ':tier': tier, ...slowerValues }, `#tier IN (${fromSlower.join(', ')})`);
        if (raised) return this.updateTenant(tenantId, 'SET tier = :tier', { ':tier': tier });
      }
      const kept = await this.updateLimiter(
        tenantId,
        'SET #tier = :tier',
        { '#tier': LIMITER_ATTRIBUTES.tier },
        { ':tier': tier, ...slowerValues },
        slower.length > 0 ? `NOT (#tier IN (${fromSlower.join(', ')}))` : undefined,
      );
      if (kept) return this.updateTenant(tenantId, 'SET tier = :tier', { ':tier': tier });
    }
    throw new CredentialStoreError('concurrent-change', `The tier of tenant "${tenantId}" kept changing while it was being set; retry.`);
  }

  /** Blocks or unblocks a tenant: the limiter item first, which every metered request checks. */
  public async setTenantBlocked(tenantId: string, blocked: boolean): Promise<Tenant> {
    await this.updateLimiter(tenantId, 'SET #blocked = :blocked', { '#blocked': LIMITER_ATTRIBUTES.blocked }, { ':blocked': blocked });
    return this.updateTenant(tenantId, 'SET blocked = :blocked', { ':blocked': blocked });
  }

  /** Creates a key; the secret is returned once and never stored. */
  public async createKey(tenantId: string, role: KeyRole = 'tenant'): Promise<ApiKeyRecord & { apiKey: string }> {
    if (role === 'tenant' && !(await this.getTenant(tenantId))) {
      throw new CredentialStoreError('tenant-not-found', `Tenant "${tenantId}" does not exist.`);
    }
    const { apiKey, keyId, hash } = generateApiKey();
    const record: ApiKeyRecord = { keyId, tenantId, role, status: 'active', createdAt: this.now() };
    await this.documents.send(new PutCommand({ TableName: this.props.credentialsTable, Item: { pk: hashItemKey(hash), hash, ...record }, ConditionExpression: 'attribute_not_exists(pk)' }));
    await this.documents.send(
      new PutCommand({ TableName: this.props.credentialsTable, Item: { pk: keyItemKey(keyId), entity: 'key', sk: `${tenantId}#${keyId}`, hash, ...record } }),
    );
    return { ...record, apiKey };
  }

  /** The key a secret belongs to, if any: one lookup by hash, then a constant-time comparison. */
  public async findKey(apiKey: string): Promise<ApiKeyRecord | undefined> {
    if (!looksLikeApiKey(apiKey)) return undefined;
    const hash = hashApiKey(apiKey);
    const { Item } = await this.documents.send(new GetCommand({ TableName: this.props.credentialsTable, Key: { pk: hashItemKey(hash) } }));
    if (!Item || typeof Item.hash !== 'string' || !sameDigest(Item.hash, hash)) return undefined;
    return toKey(Item);
  }

  public async getKey(keyId: string): Promise<ApiKeyRecord | undefined> {
    const { Item } = await this.documents.send(new GetCommand({ TableName: this.props.credentialsTable, Key: { pk: keyItemKey(keyId) } }));
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
    const { Item } = await this.documents.send(new GetCommand({ TableName: this.props.credentialsTable, Key: { pk: keyItemKey(keyId) }, ConsistentRead: true }));
    if (!Item) throw new CredentialStoreError('key-not-found', `Key "${keyId}" does not exist.`);
    const key = toKey(Item);
    if (key.status === 'revoked' && status !== 'revoked') throw new CredentialStoreError('key-revoked', `Key "${keyId}" is revoked; revocation cannot be undone.`);
    return key;
  }

  /**
   * Revokes a key for good, blocks or unblocks it; the limiter refuses it from the next request on.
   *
   * Each step can be repeated, so a call that failed half-way is completed by calling it again.
   * The key's records come first, the record the authorizer reads (by hash) before the one by id:
   * they are what lasts, while the limiter forgets a revoked key once no credential naming it can
   * still get past the authorizer (REVOCATION_RETENTION_MS), so a revocation must never be on the
   * limiter item only. A block or unblock of a revoked key is refused by the condition on the
   * first record, before anything changes, even when an earlier revocation stopped half-way.
   *
   * With `change.auditEntryId`, both key records name the audit entry of this change
   * (`lastAuditEntry`), which the caller appends before calling: a changed record always points
   * at an entry that exists.
   */
  public async setKeyStatus(keyId: string, status: KeyStatus, change: { readonly auditEntryId?: string } = {}): Promise<ApiKeyRecord> {
    const { Item } = await this.documents.send(new GetCommand({ TableName: this.props.credentialsTable, Key: { pk: keyItemKey(keyId) }, ConsistentRead: true }));
    if (!Item) throw new CredentialStoreError('key-not-found', `Key "${keyId}" does not exist.`);
    const key = toKey(Item);
    const revokedError = () => new CredentialStoreError('key-revoked', `Key "${keyId}" is revoked; revocation cannot be undone.`);
    if (key.status === 'revoked' && status !== 'revoked') throw revokedError();
    for (const pk of [hashItemKey(String(Item.hash)), keyItemKey(keyId)]) {
      try {
        await this.documents.send(
          new UpdateCommand({
            TableName: this.props.credentialsTable,
            Key: { pk },
            UpdateExpression: change.auditEntryId === undefined ? 'SET #status = :status' : 'SET #status = :status, #audit = :audit',
            ConditionExpression: status === 'revoked' ? 'attribute_exists(pk)' : 'attribute_exists(pk) AND #status <> :revoked',
            ExpressionAttributeNames: { '#status': 'status', ...(change.auditEntryId === undefined ? {} : { '#audit': 'lastAuditEntry' }) },
            ExpressionAttributeValues: {
              ':status': status,
              ...(status === 'revoked' ? {} : { ':revoked': 'revoked' }),
              ...(change.auditEntryId === undefined ? {} : { ':audit': change.auditEntryId }),
            },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) throw status === 'revoked' ? new CredentialStoreError('key-not-found', `Key "${keyId}" does not exist.`, { cause: error }) : revokedError();
        throw error;
      }
    }
    if (key.role === 'tenant') {
      const set = status === 'revoked' ? LIMITER_ATTRIBUTES.revokedKeys : LIMITER_ATTRIBUTES.blockedKeys;
      const expression = status === 'active' ? 'DELETE #set :key' : 'ADD #set :key';
      await this.updateLimiter(key.tenantId, expression, { '#set': set }, { ':key': new Set([keyId]) });
    }
    return { ...key, status };
  }

  /**
   * Maps an external identity (issuer and subject, or issuer and app client) to an existing
   * tenant. A mapping is never overwritten: moving an identity to another tenant is a deliberate
   * second step, so a typo cannot silently hand one tenant's users to another.
   */
  public async mapExternalIdentity(input: { issuer: string; subject?: string; clientId?: string; tenantId: string }): Promise<ExternalIdentityMapping> {
    if (!(await this.getTenant(input.tenantId))) throw new CredentialStoreError('tenant-not-found', `Tenant "${input.tenantId}" does not exist.`);
    const by = input.subject !== undefined ? ('subject' as const) : ('client' as const);
    const value = input.subject ?? input.clientId!;
    const mapping: ExternalIdentityMapping = {
      issuer: input.issuer,
      ...(by === 'subject' ? { subject: value } : { clientId: value }),
      tenantId: input.tenantId,
      createdAt: this.now(),
    };
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.props.credentialsTable,
          Item: { pk: externalItemKey(input.issuer, by, value), entity: 'external-identity', sk: `${input.tenantId}#${by}#${value}`, ...mapping },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new CredentialStoreError('external-identity-mapped', `This ${by} of ${input.issuer} is already mapped to a tenant.`, { cause: error });
      }
      throw error;
    }
    return mapping;
  }

  /**
   * The tenant an external identity acts for: the subject's own mapping first, else its app
   * client's. Undefined when neither is mapped; the caller cannot tell that from an unknown tenant.
   */
  public async findExternalTenant(identity: { issuer: string; subject: string; clientId: string }): Promise<string | undefined> {
    for (const [by, value] of [['subject', identity.subject], ['client', identity.clientId]] as const) {
      const { Item } = await this.documents.send(new GetCommand({ TableName: this.props.credentialsTable, Key: { pk: externalItemKey(identity.issuer, by, value) } }));
      if (Item && typeof Item.tenantId === 'string') return Item.tenantId;
    }
    return undefined;
  }

  /** Denies an admin token (by `jti`) until it would have expired anyway. Repeatable. */
  public async revokeAdminToken(tokenId: string, expiresAt: number): Promise<void> {
    await this.documents.send(
      new PutCommand({
        TableName: this.props.credentialsTable,
        Item: { pk: revokedAdminTokenKey(tokenId), tokenId, revokedAt: this.now(), expiresAt },
      }),
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
   * An update of a tenant's limiter item. With a `condition` besides the item's existence, answers
   * false when that condition does not hold (and the item exists); a missing item is a missing tenant.
   */
  private async updateLimiter(tenantId: string, expression: string, names: Record<string, string>, values: Record<string, unknown>, condition?: string): Promise<boolean> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.props.limiterTable,
          Key: { pk: limiterKey(tenantId) },
          UpdateExpression: expression,
          ConditionExpression: condition ? `attribute_exists(pk) AND ${condition}` : 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: condition ? 'ALL_OLD' : undefined,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        if (condition && error.Item) return false;
        throw new CredentialStoreError('tenant-not-found', `Tenant "${tenantId}" does not exist.`, { cause: error });
      }
      throw error;
    }
  }

  private async updateTenant(tenantId: string, expression: string, values: Record<string, unknown>): Promise<Tenant> {
    const { Attributes } = await this.documents.send(
      new UpdateCommand({
        TableName: this.props.credentialsTable,
        Key: { pk: tenantItemKey(tenantId) },
        UpdateExpression: expression,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }),
    );
    return toTenant(Attributes!);
  }

  private now(): string {
    return new Date(this.clock()).toISOString();
  }
}

function toTenant(item: Record<string, unknown>): Tenant {
  return { tenantId: String(item.tenantId), name: String(item.name), tier: item.tier as TierName, blocked: item.blocked === true, createdAt: String(item.createdAt) };
}

function toKey(item: Record<string, unknown>): ApiKeyRecord {
  return { keyId: String(item.keyId), tenantId: String(item.tenantId), role: item.role as KeyRole, status: item.status as KeyStatus, createdAt: String(item.createdAt) };
}
