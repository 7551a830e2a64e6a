import { AttributeValue, ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { TierLimit, TierName, isTierName } from '../../contracts/tiers';

/** What happens when DynamoDB cannot be reached: admit (open) or refuse (closed). */
export type FailMode = 'open' | 'closed';

/** A tier's limit and what to do when the limiter store fails. */
export interface TierPolicy extends TierLimit {
  readonly failMode: FailMode;
}

/**
 * Free and basic traffic is refused when the store fails (protecting the backend), paying tiers
 * are admitted (a limiter outage should not cut off the customers who pay).
 */
export const DEFAULT_FAIL_MODES: Readonly<Record<TierName, FailMode>> = {
  free: 'closed',
  basic: 'closed',
  premium: 'open',
  enterprise: 'open',
};

/** Who a decision is about: the tenant's bucket, and the key (checked against blocked/revoked keys). */
export interface LimitSubject {
  readonly tenantId: string;
  readonly keyId?: string;
  /** The tier the caller's credential claimed; the stored tier wins when they differ. */
  readonly tierHint?: TierName;
}

interface LimitState {
  readonly tier: TierName;
  readonly policy: TierPolicy;
  /** Requests that could still be admitted right now. */
  readonly remaining: number;
  /** Seconds until the bucket is full again. */
  readonly resetSeconds: number;
}

export type LimitDecision =
  | (LimitState & { readonly outcome: 'admitted'; readonly countToday: number; readonly countThisMonth: number })
  | (LimitState & { readonly outcome: 'rate-limited'; readonly retryAfterSeconds: number })
  | { readonly outcome: 'refused'; readonly reason: 'unknown-tenant' | 'tenant-blocked' | 'key-blocked' | 'key-revoked'; readonly tier?: TierName }
  | { readonly outcome: 'store-unavailable'; readonly admitted: boolean; readonly tier: TierName; readonly policy: TierPolicy; readonly error: Error };

/** Attribute names of a limiter item. */
export const LIMITER_ATTRIBUTES = {
  pk: 'pk',
  tat: 'tat',
  tier: 'tier',
  blocked: 'blocked',
  blockedKeys: 'blockedKeys',
  revokedKeys: 'revokedKeys',
} as const;

export const limiterKey = (tenantId: string) => `TENANT#${tenantId}`;
export const dayCounter = (at: Date) => `d${at.toISOString().slice(0, 10)}`;
export const monthCounter = (at: Date) => `m${at.toISOString().slice(0, 7)}`;

/** Properties of a {@link TokenBucketLimiter}. */
export interface TokenBucketLimiterProps {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly tiers: Readonly<Record<TierName, TierPolicy>>;
  /** @default Date.now */
  readonly clock?: () => number;
  /**
   * Tenants whose last known state is remembered, to send the right write first. A hint only:
   * correctness comes from the conditions.
   * @default 10000
   */
  readonly hintCapacity?: number;
}

type Case = 'idle' | 'busy';

const NO_KEY = '-';

/**
 * A token bucket per tenant in its GCRA form: one "theoretical arrival time" (TAT) per tenant in
 * DynamoDB. A request at `now` is admitted when `max(TAT, now) − now ≤ τ` (τ = (burst − 1)·T,
 * T = 60 s / rate), and moves TAT to `max(TAT, now) + T`.
 *
 * DynamoDB has no `max`, so the two cases are two conditional writes: "idle" (`TAT ≤ now`, set
 * `TAT = now + T`) and "busy" (`now < TAT ≤ now + τ`, add `T`). A decision makes the write its
 * hint predicts and, only if the condition fails for the other case (or another tier), the other
 * one: at most two `UpdateItem` calls, no read, no retry loop. Each condition is evaluated
 * atomically by DynamoDB, so no interleaving admits more than the bucket allows. The failed
 * condition's old item (`ReturnValuesOnConditionCheckFailure`) says why and when to retry. Tier
 * and blocks live on the same item, so a change applies to the very next request.
 */
export class TokenBucketLimiter {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly tiers: Readonly<Record<TierName, TierPolicy>>;
  private readonly clock: () => number;
  private readonly hints = new Map<string, { tat: number; tier: TierName }>();
  private readonly hintCapacity: number;
  /** DynamoDB calls made, for benchmarks and metrics. */
  public writes = 0;

  constructor(props: TokenBucketLimiterProps) {
    this.client = props.client;
    this.tableName = props.tableName;
    this.tiers = props.tiers;
    this.clock = props.clock ?? Date.now;
    this.hintCapacity = props.hintCapacity ?? 10_000;
  }

  public async decide(subject: LimitSubject): Promise<LimitDecision> {
    const now = this.clock();
    const hint = this.hints.get(subject.tenantId);
    let tier: TierName = hint?.tier ?? subject.tierHint ?? 'free';
    let predicted: Case = hint && hint.tat > now ? 'busy' : 'idle';
    for (let attempt = 1; attempt <= 2; attempt++) {
      let old: Record<string, AttributeValue> | undefined;
      try {
        const updated = await this.write(subject, tier, predicted, now);
        const tat = Number(updated[LIMITER_ATTRIBUTES.tat].N);
        this.remember(subject.tenantId, tat, tier);
        return {
          outcome: 'admitted',
          ...this.state(tier, tat, now),
          countToday: Number(updated[dayCounter(new Date(now))]?.N ?? 0),
          countThisMonth: Number(updated[monthCounter(new Date(now))]?.N ?? 0),
        };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) {
          const policy = this.tiers[tier];
          return { outcome: 'store-unavailable', admitted: policy.failMode === 'open', tier, policy, error: error as Error };
        }
        old = error.Item;
      }
      // Why did the condition fail? The old item tells, without a read.
      if (!old) return { outcome: 'refused', reason: 'unknown-tenant' };
      const storedTier = old[LIMITER_ATTRIBUTES.tier]?.S;
      if (!isTierName(storedTier)) return { outcome: 'refused', reason: 'unknown-tenant' };
      if (old[LIMITER_ATTRIBUTES.blocked]?.BOOL) return { outcome: 'refused', reason: 'tenant-blocked', tier: storedTier };
      const key = subject.keyId ?? NO_KEY;
      if (old[LIMITER_ATTRIBUTES.revokedKeys]?.SS?.includes(key)) return { outcome: 'refused', reason: 'key-revoked', tier: storedTier };
      if (old[LIMITER_ATTRIBUTES.blockedKeys]?.SS?.includes(key)) return { outcome: 'refused', reason: 'key-blocked', tier: storedTier };
      const tat = old[LIMITER_ATTRIBUTES.tat]?.N === undefined ? undefined : Number(old[LIMITER_ATTRIBUTES.tat].N);
      const { toleranceMs } = gcra(this.tiers[storedTier]);
      if (tat !== undefined && tat - now > toleranceMs) {
        this.remember(subject.tenantId, tat, storedTier);
        return {
          outcome: 'rate-limited',
          ...this.state(storedTier, tat, now),
          retryAfterSeconds: Math.max(1, Math.ceil((tat - toleranceMs - now) / 1000)),
        };
      }
      if (attempt === 2) break;
      // Wrong case or wrong tier: the second (and last) write uses what the old item showed.
      tier = storedTier;
      predicted = tat !== undefined && tat > now ? 'busy' : 'idle';
    }
    // Both writes lost a race (the state changed between them): refusing never over-admits.
    const policy = this.tiers[tier];
    const tat = this.hints.get(subject.tenantId)?.tat ?? now + gcra(policy).emissionMs;
    return { outcome: 'rate-limited', ...this.state(tier, tat, now), retryAfterSeconds: 1 };
  }

  /** Forgets what this instance remembers about a tenant (after an admin change, say). */
  public forget(tenantId: string): void {
    this.hints.delete(tenantId);
  }

  private async write(subject: LimitSubject, tier: TierName, which: Case, now: number): Promise<Record<string, AttributeValue>> {
    const { emissionMs, toleranceMs } = gcra(this.tiers[tier]);
    const at = new Date(now);
    const names: Record<string, string> = {
      '#tat': LIMITER_ATTRIBUTES.tat,
      '#tier': LIMITER_ATTRIBUTES.tier,
      '#blocked': LIMITER_ATTRIBUTES.blocked,
      '#blockedKeys': LIMITER_ATTRIBUTES.blockedKeys,
      '#revokedKeys': LIMITER_ATTRIBUTES.revokedKeys,
      '#day': dayCounter(at),
      '#month': monthCounter(at),
    };
    const values: Record<string, AttributeValue> = {
      ':tier': { S: tier },
      ':true': { BOOL: true },
      ':key': { S: subject.keyId ?? NO_KEY },
      ':now': { N: String(now) },
      ':one': { N: '1' },
    };
    const common =
      'attribute_exists(pk) AND #tier = :tier AND (attribute_not_exists(#blocked) OR #blocked <> :true)' +
      ' AND NOT contains(#blockedKeys, :key) AND NOT contains(#revokedKeys, :key)';
    let update: string;
    let condition: string;
    if (which === 'idle') {
      update = 'SET #tat = :next ADD #day :one, #month :one';
      condition = `${common} AND (attribute_not_exists(#tat) OR #tat <= :now)`;
      values[':next'] = { N: String(now + emissionMs) };
    } else {
      update = 'SET #tat = #tat + :emission ADD #day :one, #month :one';
      condition = `${common} AND #tat > :now AND #tat <= :limit`;
      values[':emission'] = { N: String(emissionMs) };
      values[':limit'] = { N: String(now + toleranceMs) };
    }
    this.writes++;
    const result = await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: limiterKey(subject.tenantId) } },
        UpdateExpression: update,
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'UPDATED_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return result.Attributes ?? {};
  }

  private state(tier: TierName, tat: number, now: number): LimitState {
    const policy = this.tiers[tier];
    const { emissionMs, toleranceMs } = gcra(policy);
    const backlog = Math.max(0, tat - now);
    return {
      tier,
      policy,
      remaining: Math.max(0, Math.min(policy.burst, Math.floor((toleranceMs - backlog) / emissionMs) + 1)),
      resetSeconds: Math.ceil(backlog / 1000),
    };
  }

  private remember(tenantId: string, tat: number, tier: TierName): void {
    if (this.hints.size >= this.hintCapacity && !this.hints.has(tenantId)) {
      this.hints.delete(this.hints.keys().next().value!);
    }
    this.hints.set(tenantId, { tat, tier });
  }
}

/** The GCRA parameters of a tier: emission interval T and tolerance τ, in whole milliseconds. */
export function gcra(limit: TierLimit): { emissionMs: number; toleranceMs: number } {
  // Rounding T up never admits more than the rate.
  const emissionMs = Math.ceil(60_000 / limit.requestsPerMinute);
  return { emissionMs, toleranceMs: emissionMs * (limit.burst - 1) };
}
