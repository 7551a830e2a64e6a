import { DynamoDBDocumentClient, GetCommand, TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { LIMITER_ATTRIBUTES } from '../../contracts/limiter-item';
import { TierLimit, TierName, isTierName } from '../../contracts/tiers';
import { limiterKey } from './token-bucket-limiter';

/** One action of a TransactWriteItems request (document-client form) on a tenant's limiter item. */
export type LimiterItemWrite = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** The key sets a limiter item keeps, which the limiter checks on every request of a key. */
export type LimiterKeySet = 'blockedKeys' | 'revokedKeys';

/**
 * The writes to a tenant's limiter item (the enforcement copy of its tier and blocks, which the
 * limiter reads on every request), as actions for a caller to send in one TransactWriteItems with
 * its own writes (the credential store, with its records and the audit entry).
 *
 * Every action but {@link create} is conditional on the item existing, so a write for a tenant
 * that has none fails its condition (a cancelled transaction), and creates nothing.
 */
export class LimiterItemWrites {
  constructor(private readonly tableName: string) {}

  /** A new tenant's item: its tier, not blocked, no debt. */
  public create(tenantId: string, tier: TierName): LimiterItemWrite {
    return { Put: { TableName: this.tableName, Item: { pk: limiterKey(tenantId), [LIMITER_ATTRIBUTES.tier]: tier, [LIMITER_ATTRIBUTES.blocked]: false } } };
  }

  /**
   * Changes the tier from `from` (what the item held when read) to `to`, conditional on `from`
   * still being there.
   *
   * The bucket's state is its theoretical arrival time (`tat`), a debt in milliseconds. Raising
   * the tier (to a higher rate, by `tiers`) removes it in the same write, so the new tier's full
   * burst is there at once: a debt run up at 12 s per request would otherwise still weigh 12 s per
   * request against a rate of one every 0.6 s. Any other change keeps it, so after lowering the
   * tenant waits out the old debt at the new rate and is never admitted more than the new tier allows.
   */
  public setTier(tenantId: string, change: { readonly from: TierName; readonly to: TierName; readonly tiers: Readonly<Record<TierName, TierLimit>> }): LimiterItemWrite {
    const raises = change.tiers[change.from].requestsPerMinute < change.tiers[change.to].requestsPerMinute;
    return {
      Update: {
        TableName: this.tableName,
        Key: { pk: limiterKey(tenantId) },
        UpdateExpression: raises ? 'SET #tier = :tier REMOVE #tat' : 'SET #tier = :tier',
        ConditionExpression: 'attribute_exists(pk) AND #tier = :current',
        ExpressionAttributeNames: { '#tier': LIMITER_ATTRIBUTES.tier, ...(raises ? { '#tat': LIMITER_ATTRIBUTES.tat } : {}) },
        ExpressionAttributeValues: { ':tier': change.to, ':current': change.from },
      },
    };
  }

  /** Blocks or unblocks the whole tenant. */
  public setBlocked(tenantId: string, blocked: boolean): LimiterItemWrite {
    return this.update(tenantId, 'SET #blocked = :blocked', { '#blocked': LIMITER_ATTRIBUTES.blocked }, { ':blocked': blocked });
  }

  /** Adds a key to one of the item's key sets (blocks or revokes it). */
  public addKey(tenantId: string, set: LimiterKeySet, keyId: string): LimiterItemWrite {
    return this.update(tenantId, 'ADD #set :key', { '#set': LIMITER_ATTRIBUTES[set] }, { ':key': new Set([keyId]) });
  }

  /** Removes a key from one of the item's key sets (unblocks it). */
  public removeKey(tenantId: string, set: LimiterKeySet, keyId: string): LimiterItemWrite {
    return this.update(tenantId, 'DELETE #set :key', { '#set': LIMITER_ATTRIBUTES[set] }, { ':key': new Set([keyId]) });
  }

  private update(tenantId: string, expression: string, names: Record<string, string>, values: Record<string, unknown>): LimiterItemWrite {
    return {
      Update: {
        TableName: this.tableName,
        Key: { pk: limiterKey(tenantId) },
        UpdateExpression: expression,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }
}

/** The tier the limiter enforces for a tenant, read consistently; undefined when it has no item (or no valid tier). */
export async function readEnforcedTier(documents: DynamoDBDocumentClient, tableName: string, tenantId: string): Promise<TierName | undefined> {
  const { Item } = await documents.send(
    new GetCommand({
      TableName: tableName,
      Key: { pk: limiterKey(tenantId) },
      ProjectionExpression: '#tier',
      ExpressionAttributeNames: { '#tier': LIMITER_ATTRIBUTES.tier },
      ConsistentRead: true,
    }),
  );
  const tier: unknown = Item?.[LIMITER_ATTRIBUTES.tier];
  return isTierName(tier) ? tier : undefined;
}
