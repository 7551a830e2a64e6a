import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TierName } from '../../contracts/tiers';
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

/** A domain error the adapters map to 404/409. */
export class CredentialStoreError extends Error {
  constructor(
    public readonly code: 'tenant-not-found' | 'tenant-exists' | 'invalid-tenant-id' | 'key-not-found' | 'key-revoked',
    message: string,
  ) {
    super(message);
    this.name = 'CredentialStoreError';
  }
}

export interface CredentialStoreProps {
  readonly client: DynamoDBClient;
  readonly credentialsTable: string;
  readonly limiterTable: string;
  readonly clock?: () => number;
}

const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;
const tenantItemKey = (tenantId: string) => `TENANT#${tenantId}`;
const keyItemKey = (keyId: string) => `KEY#${keyId}`;
const hashItemKey = (hash: string) => `KEYHASH#${hash}`;

/**
 * Tenants and API keys in DynamoDB, and the tier and blocks on each tenant's limiter item (the
 * copy the limiter enforces on every request). Keys are stored only as SHA-256 hashes.
 */
export class CredentialStore {
  private readonly documents: DynamoDBDocumentClient;
  private readonly clock: () => number;

  constructor(private readonly props: CredentialStoreProps) {
    this.documents = DynamoDBDocumentClient.from(props.client);
    this.clock = props.clock ?? Date.now;
  }

  public async createTenant(input: { tenantId?: string; name: string; tier: TierName }): Promise<Tenant> {
    const tenantId = input.tenantId ?? `t-${randomBytes(6).toString('hex')}`;
    if (!TENANT_ID_PATTERN.test(tenantId)) {
      throw new CredentialStoreError('invalid-tenant-id', `tenantId "${tenantId}" must be 2-63 lower-case letters, digits and dashes.`);
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

  /** Changes the tier: the limiter item first, so enforcement changes with the very next request. */
  public async setTier(tenantId: string, tier: TierName): Promise<Tenant> {
    await this.updateLimiter(tenantId, 'SET #tier = :tier', { '#tier': LIMITER_ATTRIBUTES.tier }, { ':tier': tier });
    return this.updateTenant(tenantId, 'SET tier = :tier', { ':tier': tier });
  }

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

  /** Revokes a key for good, blocks or unblocks it; the limiter refuses it from the next request on. */
  public async setKeyStatus(keyId: string, status: KeyStatus): Promise<ApiKeyRecord> {
    const { Item } = await this.documents.send(new GetCommand({ TableName: this.props.credentialsTable, Key: { pk: keyItemKey(keyId) } }));
    if (!Item) throw new CredentialStoreError('key-not-found', `Key "${keyId}" does not exist.`);
    const key = toKey(Item);
    if (key.status === 'revoked' && status !== 'revoked') throw new CredentialStoreError('key-revoked', `Key "${keyId}" is revoked; revocation cannot be undone.`);
    if (key.role === 'tenant') {
      const set = status === 'revoked' ? LIMITER_ATTRIBUTES.revokedKeys : LIMITER_ATTRIBUTES.blockedKeys;
      const expression = status === 'active' ? 'DELETE #set :key' : 'ADD #set :key';
      await this.updateLimiter(key.tenantId, expression, { '#set': set }, { ':key': new Set([keyId]) });
    }
    for (const pk of [keyItemKey(keyId), hashItemKey(String(Item.hash))]) {
      await this.documents.send(
        new UpdateCommand({ TableName: this.props.credentialsTable, Key: { pk }, UpdateExpression: 'SET #status = :status', ExpressionAttributeNames: { '#status': 'status' }, ExpressionAttributeValues: { ':status': status } }),
      );
    }
    return { ...key, status };
  }

  private async updateLimiter(tenantId: string, expression: string, names: Record<string, string>, values: Record<string, unknown>): Promise<void> {
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.props.limiterTable,
          Key: { pk: limiterKey(tenantId) },
          UpdateExpression: expression,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new CredentialStoreError('tenant-not-found', `Tenant "${tenantId}" does not exist.`);
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
