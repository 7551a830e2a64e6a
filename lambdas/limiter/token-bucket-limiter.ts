import { AttributeValue, ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { LIMITER_ATTRIBUTES, dayCounter, monthCounter, periodBounds, periodCounter, weekCounter } from '../../contracts/limiter-item';
import { AUTHORIZER_CACHE_TTL_SECONDS, TOKEN_TTL_SECONDS } from '../../contracts/metered-api';
import { QuotaPeriod, TierLimit, TierName, TierPolicy, TierQuota, isTierName } from '../../contracts/tiers';

// The tier policy is a contract (contracts/tiers.ts); the limiter's API speaks of it.
export type { FailMode, TierPolicy } from '../../contracts/tiers';

/** Where a tenant stands against its tier's quota in the current period (UTC). */
export interface QuotaState {
  readonly period: QuotaPeriod;
  /** Requests the quota admits per period. */
  readonly limit: number;
  /** Requests admitted in the period so far (an admitted request counts itself). */
  readonly used: number;
  readonly remaining: number;
  /** Seconds until the next period starts and the count restarts. */
  readonly resetSeconds: number;
  /** The current period's length in seconds (a month's varies): the quota's window. */
  readonly windowSeconds: number;
}

/** Who a decision is about: the tenant's bucket, and the key (checked against blocked/revoked keys). */
export interface LimitSubject {
  readonly tenantId: string;
  readonly keyId?: string;
  /**
   * The tier the caller's credential names (a token's claim, or the hint an API key's record or an
   * external identity's mapping carries); the stored tier wins when they differ, at the cost of a
   * second write. Without it, and before this instance has decided for the tenant, the first write
   * names `free`.
   */
  readonly tierHint?: TierName;
}

interface LimitState {
  readonly tier: TierName;
  readonly policy: TierPolicy;
  /** Requests that could still be admitted right now. */
  readonly remaining: number;
  /** Seconds until the bucket is full again. */
  readonly resetSeconds: number;
  /** The tier's quota, when it has one. */
  readonly quota?: QuotaState;
}

export type LimitDecision =
  | (LimitState & { readonly outcome: 'admitted'; readonly countToday: number; readonly countThisMonth: number })
  | (LimitState & { readonly outcome: 'rate-limited'; readonly retryAfterSeconds: number })
  /** The quota of the period is used up: no write was made, so neither the bucket nor the count moved. */
  | (LimitState & { readonly outcome: 'quota-exceeded'; readonly quota: QuotaState; readonly retryAfterSeconds: number })
  | { readonly outcome: 'refused'; readonly reason: 'unknown-tenant' | 'tenant-blocked' | 'key-blocked' | 'key-revoked'; readonly tier?: TierName }
  | { readonly outcome: 'store-throttled'; readonly tier: TierName; readonly policy: TierPolicy; readonly retryAfterSeconds: number; readonly error: Error }
  | {
      readonly outcome: 'store-unavailable';
      /** Admitted by the tier's fail mode: only ever for a caller whose {@link StoreFailureStanding} is not `unknown`. */
      readonly admitted: boolean;
      readonly tier: TierName;
      readonly policy: TierPolicy;
      readonly standing: StoreFailureStanding;
      readonly error: Error;
    };

/**
 * How the limiter knew the caller's blocks and revocations when its write failed: from a strongly
 * consistent read made by this request (`read`), from a write or read of this instance at most
 * {@link STANDING_MEMORY_MS} ago (`remembered`), or not at all (`unknown`: never admitted).
 */
export type StoreFailureStanding = 'read' | 'remembered' | 'unknown';

/**
 * How long an instance trusts the good standing (not blocked, key neither blocked nor revoked) it
 * last verified for a tenant's key, when neither its write nor a read can reach DynamoDB. This is
 * how late a block or revocation can act while the store fails (otherwise it acts on the very next
 * request): well below the token lifetime ({@link TOKEN_TTL_SECONDS}) and the authorizer cache
 * ({@link AUTHORIZER_CACHE_TTL_SECONDS}).
 */
export const STANDING_MEMORY_MS = 10_000;

/** Retry-After of a 429 answered because DynamoDB throttled the tenant's item. */
export const STORE_THROTTLED_RETRY_AFTER_SECONDS = 1;

/**
 * DynamoDB's throttling errors: `ProvisionedThroughputExceededException` also on on-demand tables
 * when one partition key takes more than about 1,000 write units per second ("Throughput exceeds
 * the current capacity of your table or index"), `ThrottlingException` and `RequestLimitExceeded`
 * for account and maximum-throughput limits.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/throttling-diagnosing-workflow.html
 * https://repost.aws/knowledge-center/on-demand-table-throttling-dynamodb
 */
const THROTTLING_ERRORS = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded']);

/** Whether DynamoDB throttled the request (rather than failed or timed out). */
function isThrottlingError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return THROTTLING_ERRORS.has(error.name) || /throughput exceeds the current capacity/i.test(error.message);
}


export const limiterKey = (tenantId: string) => `TENANT#${tenantId}`;
const DAY_COUNTER = /^d\d{4}-\d{2}-\d{2}$/;
const MONTH_COUNTER = /^m\d{4}-\d{2}$/;
const WEEK_COUNTER = /^w\d{4}-W\d{2}$/;
const DAY_MS = 86_400_000;

/**
 * How long a revoked key stays on the limiter item: as long as a credential naming it can still
 * reach a route without the authorizer looking the key up again — a token minted just before the
 * revocation (valid {@link TOKEN_TTL_SECONDS}, accepted 5 s past its expiry), then an authorizer
 * answer cached for it ({@link AUTHORIZER_CACHE_TTL_SECONDS}) — plus a margin for requests in
 * flight and clock skew. After that only a fresh authorizer run can admit the key, and it refuses
 * keys whose credential record says revoked.
 */
export const REVOCATION_RETENTION_MS = (TOKEN_TTL_SECONDS + AUTHORIZER_CACHE_TTL_SECONDS) * 1000 + 5 * 60_000;

/**
 * At most this many stale attributes or expired keys are removed by one write: an update expression
 * holds at most 4 KB, and 400 placeholders (`REMOVE #a0, …, #a399`) take 2.7 KB of it.
 */
const MAX_REMOVALS = 400;

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

/** A limiter item as DynamoDB returns it: any attribute may be absent. */
type Item = Partial<Record<string, AttributeValue>>;

type Refusal = Extract<LimitDecision, { outcome: 'refused' }>;

/** The next write of a decision: the tier it names, the case it predicts, what it tidies (and the old item it was planned from). */
interface Plan {
  readonly tier: TierName;
  readonly predicted: Case;
  readonly tidying: Tidying;
  readonly item?: Item;
}

/** Housekeeping a write does on the way: what keeps the item small. */
interface Tidying {
  /** Counters of earlier days and months, to REMOVE (absent ones cost nothing). */
  readonly stale: readonly string[];
  /** Keys revoked longer than the retention: deleted from `revokedKeys`, and from `blockedKeys` where they also are. */
  readonly expiredRevoked: readonly string[];
  readonly expiredBlocked: readonly string[];
  /** The next note of revoked keys and its time; `null` removes the note; absent leaves it. */
  readonly note?: { readonly keys: readonly string[]; readonly at: number } | null;
}

/** The clauses of an update expression, with their placeholders. */
class Update {
  public readonly names: Record<string, string> = {};
  public readonly values: Record<string, AttributeValue> = {};
  private readonly clauses: Record<'SET' | 'REMOVE' | 'ADD' | 'DELETE', string[]> = { SET: [], REMOVE: [], ADD: [], DELETE: [] };
  private placeholders = 0;

  public action(clause: keyof Update['clauses'], action: string): void {
    this.clauses[clause].push(action);
  }

  /** A placeholder for an attribute name that is not a fixed one. */
  public name(attribute: string): string {
    const placeholder = `#a${this.placeholders++}`;
    this.names[placeholder] = attribute;
    return placeholder;
  }

  public tidy(tidying: Tidying): void {
    for (const attribute of tidying.stale) this.action('REMOVE', this.name(attribute));
    if (tidying.expiredRevoked.length > 0) {
      this.names['#revokedKeys'] = LIMITER_ATTRIBUTES.revokedKeys;
      this.values[':expiredRevoked'] = { SS: [...tidying.expiredRevoked] };
      this.action('DELETE', '#revokedKeys :expiredRevoked');
    }
    if (tidying.expiredBlocked.length > 0) {
      this.names['#blockedKeys'] = LIMITER_ATTRIBUTES.blockedKeys;
      this.values[':expiredBlocked'] = { SS: [...tidying.expiredBlocked] };
      this.action('DELETE', '#blockedKeys :expiredBlocked');
    }
    if (tidying.note === undefined) return;
    this.names['#revokedSeen'] = LIMITER_ATTRIBUTES.revokedSeen;
    this.names['#revokedSeenAt'] = LIMITER_ATTRIBUTES.revokedSeenAt;
    if (tidying.note === null) {
      this.action('REMOVE', '#revokedSeen');
      this.action('REMOVE', '#revokedSeenAt');
    } else {
      this.values[':revokedSeen'] = { SS: [...tidying.note.keys] };
      this.values[':revokedSeenAt'] = { N: String(tidying.note.at) };
      this.action('SET', '#revokedSeen = :revokedSeen');
      this.action('SET', '#revokedSeenAt = :revokedSeenAt');
    }
  }

  public expression(): string {
    return Object.entries(this.clauses)
      .filter(([, actions]) => actions.length > 0)
      .map(([clause, actions]) => `${clause} ${actions.join(', ')}`)
      .join(' ');
  }
}

/**
 * A token bucket per tenant in its GCRA form: one "theoretical arrival time" (TAT) per tenant in
 * DynamoDB. A request at `now` is admitted when `max(TAT, now) − now ≤ τ` (τ = (burst − 1)·T,
 * T = 60 s / rate), and moves TAT to `max(TAT, now) + T`.
 *
 * DynamoDB has no `max`, so the two cases are two conditional writes: "idle" (`TAT ≤ now`, set
 * `TAT = now + T`) and "busy" (`now < TAT ≤ now + τ`, add `T`). A decision makes the write its
 * hint predicts and, only if the condition fails for the other case (or another tier), the other
 * one: at most two `UpdateItem` calls, no read, no retry loop. The tier a write names is the one
 * this instance last saw on the item, else the one the caller's credential names (its hint), else
 * `free`; a wrong one fails the condition like a wrong case, and the second write uses the stored
 * tier the failed condition's old item shows. Each condition is evaluated
 * atomically by DynamoDB, so no interleaving admits more than the bucket allows. The failed
 * condition's old item (`ReturnValuesOnConditionCheckFailure`) says why and when to retry. Tier
 * and blocks live on the same item, so a change applies to the very next request.
 *
 * The same write counts the request: `ADD` to today's and this month's counters (`d<YYYY-MM-DD>`,
 * `m<YYYY-MM>`). `ADD` creates a counter that does not exist yet, so a new day or month needs no
 * condition and no extra write, and concurrent requests across a boundary each count in their own
 * day and month, exactly. The item keeps today's and yesterday's counters, this month's and last
 * month's — yesterday's so that a request whose clock still says yesterday counts on it, not on a
 * counter another request just removed — and writes remove the rest: each write removes the
 * counters of the day before yesterday and the month before last (and of the day this instance last
 * counted in), which costs nothing when they are absent; whatever else the new or old item still
 * shows — older counters, revoked keys past {@link REVOCATION_RETENTION_MS} — goes with the second
 * write, or with a second, unconditional write after an admitting first one. Revoked keys are
 * pruned in two steps, since the item does not say when a key was revoked: a write notes the
 * revoked keys it sees (`revokedSeen`, `revokedSeenAt`), and a write at least the retention later
 * deletes the noted ones, from `blockedKeys` too. So the item holds four counters (six where a
 * tier's quota is weekly: this ISO week's and last week's, `w<YYYY>-W<ww>`), the tier, blocks in
 * force and recent revocations: well under 1 KB, one write capacity unit per request.
 *
 * A tier's quota (a day's, week's or month's requests, UTC) is one more clause of the same
 * condition: the period's counter, which the same write ADDs to, is below the quota. So the quota
 * costs no write and no read, concurrent requests at its edge admit exactly what remains, and a
 * request it refuses moves neither the bucket nor the count (a failed condition writes nothing).
 * The failed condition's old item tells a quota refusal from a rate refusal: its counter is at the
 * quota (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html,
 * `ReturnValuesOnConditionCheckFailure: ALL_OLD`: the item as it was, with the refusal); the quota
 * is told first, since no wait for the rate helps while it is used up.
 */
export class TokenBucketLimiter {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly tiers: Readonly<Record<TierName, TierPolicy>>;
  private readonly clock: () => number;
  private readonly hints = new Map<string, { tat: number; tier: TierName; day: string }>();
  private readonly hintCapacity: number;
  /** Whether a tier's quota is weekly: then every write counts the ISO week too, so a tier change mid-week finds the week's count. */
  private readonly countsWeeks: boolean;
  /** When this instance last verified each tenant key's good standing (tenant → key → time, tier). */
  private readonly standing = new Map<string, Map<string, { at: number; tier: TierName }>>();
  /** `UpdateItem` calls made, for benchmarks and metrics. */
  public writes = 0;
  /** `GetItem` calls made (only when a write fails), for benchmarks and metrics. */
  public reads = 0;

  constructor(props: TokenBucketLimiterProps) {
    this.client = props.client;
    this.tableName = props.tableName;
    this.tiers = props.tiers;
    this.clock = props.clock ?? Date.now;
    this.hintCapacity = props.hintCapacity ?? 10_000;
    this.countsWeeks = Object.values(props.tiers).some((policy) => policy.quota?.period === 'week');
  }

  public async decide(subject: LimitSubject): Promise<LimitDecision> {
    const now = this.clock();
    const hint = this.hints.get(subject.tenantId);
    let plan: Plan = {
      tier: hint?.tier ?? subject.tierHint ?? 'free',
      predicted: hint && hint.tat > now ? 'busy' : 'idle',
      tidying: { stale: likelyStale(now, hint?.day, this.countsWeeks), expiredRevoked: [], expiredBlocked: [] },
    };
    const attempts = 2;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let old: Item | undefined;
      try {
        const item = await this.write(subject, plan.tier, plan.predicted, now, plan.tidying);
        // What the new item still shows to tidy goes with this decision's second write, if it has one left.
        return await this.admit(subject, plan.tier, item, now, attempt === 1);
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) return this.whenStoreFails(subject, plan.tier, error as Error, now);
        old = error.Item;
      }
      // Why did the condition fail? The old item tells, without a read.
      const next = this.afterFailedCondition(old, subject, now, hint?.day);
      if ('outcome' in next) return next;
      // Wrong case or wrong tier: the second (and last) write uses what the old item showed, and tidies what it showed.
      plan = next;
    }
    // Both writes lost a race (the state changed between them): refusing never over-admits.
    const policy = this.tiers[plan.tier];
    const tat = this.hints.get(subject.tenantId)?.tat ?? now + gcra(policy).emissionMs;
    return { outcome: 'rate-limited', ...this.state(plan.tier, tat, now, plan.item), retryAfterSeconds: 1 };
  }

  /** An admitting write's decision: the new item's bucket, counts and quota, after tidying what it shows (if this was the first write). */
  private async admit(subject: LimitSubject, tier: TierName, item: Item, now: number, mayTidy: boolean): Promise<LimitDecision> {
    const tat = Number(item[LIMITER_ATTRIBUTES.tat]?.N);
    this.remember(subject.tenantId, tat, tier, dayCounter(new Date(now)));
    this.rememberStanding(subject, tier, now);
    const left = mayTidy ? tidyingOf(item, now) : undefined;
    if (left) await this.tidy(subject.tenantId, left);
    return {
      outcome: 'admitted',
      ...this.state(tier, tat, now, item),
      countToday: Number(item[dayCounter(new Date(now))]?.N ?? 0),
      countThisMonth: Number(item[monthCounter(new Date(now))]?.N ?? 0),
    };
  }

  /**
   * What a failed condition's old item says: a refusal (blocks, then the quota of the stored tier,
   * then its rate), or else the plan of the next write (the stored tier, the case its TAT shows).
   * The quota goes first: while it is used up, no wait for the rate helps.
   */
  private afterFailedCondition(old: Item | undefined, subject: LimitSubject, now: number, lastDay: string | undefined): LimitDecision | Plan {
    const standing = this.standingBy(old, subject);
    if ('outcome' in standing) return standing;
    const storedTier = standing.tier;
    this.rememberStanding(subject, storedTier, now);
    const storedTat = standing.item[LIMITER_ATTRIBUTES.tat]?.N;
    const tat = storedTat === undefined ? undefined : Number(storedTat);
    const { toleranceMs } = gcra(this.tiers[storedTier]);
    const state = this.state(storedTier, tat ?? now, now, standing.item);
    const quotaUsedUp = state.quota !== undefined && state.quota.used >= state.quota.limit;
    if (tat !== undefined && (quotaUsedUp || tat - now > toleranceMs)) this.remember(subject.tenantId, tat, storedTier, lastDay ?? dayCounter(new Date(now)));
    if (state.quota && quotaUsedUp) return { outcome: 'quota-exceeded', ...state, quota: state.quota, retryAfterSeconds: Math.max(1, state.quota.resetSeconds) };
    if (tat !== undefined && tat - now > toleranceMs) {
      return { outcome: 'rate-limited', ...state, retryAfterSeconds: Math.max(1, Math.ceil((tat - toleranceMs - now) / 1000)) };
    }
    return {
      tier: storedTier,
      predicted: tat !== undefined && tat > now ? 'busy' : 'idle',
      tidying: tidyingOf(standing.item, now) ?? { stale: [], expiredRevoked: [], expiredBlocked: [] },
      item: standing.item,
    };
  }

  /** Forgets what this instance remembers about a tenant (after an admin change, say). */
  public forget(tenantId: string): void {
    this.hints.delete(tenantId);
    this.standing.delete(tenantId);
  }

  /**
   * A write failed for another reason than its condition. Throttling of the tenant's own item is
   * a rate decision DynamoDB made: 429, whatever the tier (a tenant can cause it by its own
   * traffic, so it must never admit). Anything else (timeouts, 5xx, lost connections) leaves the
   * rate unknown, and the tier's fail mode decides that, but only for a caller whose blocks and
   * revocations are known: from a strongly consistent read of the item now, or else from this
   * instance's own verification at most {@link STANDING_MEMORY_MS} ago. A blocked or revoked caller is
   * refused; an unknown one is not admitted.
   */
  private async whenStoreFails(subject: LimitSubject, tier: TierName, error: Error, now: number): Promise<LimitDecision> {
    if (isThrottlingError(error)) {
      return { outcome: 'store-throttled', tier, policy: this.tiers[tier], retryAfterSeconds: STORE_THROTTLED_RETRY_AFTER_SECONDS, error };
    }
    let item: Item | undefined;
    try {
      item = await this.readStanding(subject.tenantId);
    } catch {
      const remembered = this.standing.get(subject.tenantId)?.get(subject.keyId ?? NO_KEY);
      if (remembered && now - remembered.at >= 0 && now - remembered.at <= STANDING_MEMORY_MS) {
        const policy = this.tiers[remembered.tier];
        return { outcome: 'store-unavailable', admitted: policy.failMode === 'open', tier: remembered.tier, policy, standing: 'remembered', error };
      }
      return { outcome: 'store-unavailable', admitted: false, tier, policy: this.tiers[tier], standing: 'unknown', error };
    }
    const standing = this.standingBy(item, subject);
    if ('outcome' in standing) return standing;
    const storedTier = standing.tier;
    this.rememberStanding(subject, storedTier, now);
    const policy = this.tiers[storedTier];
    return { outcome: 'store-unavailable', admitted: policy.failMode === 'open', tier: storedTier, policy, standing: 'read', error };
  }

  /**
   * The refusal an item (old, or read) shows for a subject, if any, forgetting the standing it
   * refutes; else the item and its tier.
   */
  private standingBy(item: Item | undefined, subject: LimitSubject): Refusal | { readonly item: Item; readonly tier: TierName } {
    const key = subject.keyId ?? NO_KEY;
    const storedTier = item?.[LIMITER_ATTRIBUTES.tier]?.S;
    let refusal: Refusal | undefined;
    if (!item || !isTierName(storedTier)) refusal = { outcome: 'refused', reason: 'unknown-tenant' };
    else if (item[LIMITER_ATTRIBUTES.blocked]?.BOOL) refusal = { outcome: 'refused', reason: 'tenant-blocked', tier: storedTier };
    else if (item[LIMITER_ATTRIBUTES.revokedKeys]?.SS?.includes(key)) refusal = { outcome: 'refused', reason: 'key-revoked', tier: storedTier };
    else if (item[LIMITER_ATTRIBUTES.blockedKeys]?.SS?.includes(key)) refusal = { outcome: 'refused', reason: 'key-blocked', tier: storedTier };
    else return { item, tier: storedTier };
    if (refusal.reason === 'unknown-tenant' || refusal.reason === 'tenant-blocked') this.standing.delete(subject.tenantId);
    else this.standing.get(subject.tenantId)?.delete(key);
    return refusal;
  }

  /**
   * The item's tier and blocks, read strongly consistently, so that it reflects every block and
   * revocation written before it; made only after a failed write that was not throttled (a throttled
   * item is answered 429 without it), at most one read unit.
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.ReadConsistency.html
   */
  private async readStanding(tenantId: string): Promise<Item | undefined> {
    this.reads++;
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: limiterKey(tenantId) } },
        ConsistentRead: true,
        ProjectionExpression: '#pk, #tier, #blocked, #blockedKeys, #revokedKeys',
        ExpressionAttributeNames: {
          '#pk': LIMITER_ATTRIBUTES.pk,
          '#tier': LIMITER_ATTRIBUTES.tier,
          '#blocked': LIMITER_ATTRIBUTES.blocked,
          '#blockedKeys': LIMITER_ATTRIBUTES.blockedKeys,
          '#revokedKeys': LIMITER_ATTRIBUTES.revokedKeys,
        },
      }),
    );
    return Item;
  }

  private rememberStanding(subject: LimitSubject, tier: TierName, now: number): void {
    let keys = this.standing.get(subject.tenantId);
    if (!keys) {
      evictOldest(this.standing, this.hintCapacity);
      keys = new Map();
      this.standing.set(subject.tenantId, keys);
    }
    const key = subject.keyId ?? NO_KEY;
    // Delete first so that the map's order stays "least recently verified first".
    keys.delete(key);
    evictOldest(keys, this.hintCapacity);
    keys.set(key, { at: now, tier });
  }

  private async write(subject: LimitSubject, tier: TierName, which: Case, now: number, tidying: Tidying): Promise<Item> {
    const { emissionMs, toleranceMs } = gcra(this.tiers[tier]);
    const at = new Date(now);
    const update = new Update();
    Object.assign(update.names, {
      '#tat': LIMITER_ATTRIBUTES.tat,
      '#tier': LIMITER_ATTRIBUTES.tier,
      '#blocked': LIMITER_ATTRIBUTES.blocked,
      '#blockedKeys': LIMITER_ATTRIBUTES.blockedKeys,
      '#revokedKeys': LIMITER_ATTRIBUTES.revokedKeys,
      '#day': dayCounter(at),
      '#month': monthCounter(at),
    });
    Object.assign(update.values, {
      ':tier': { S: tier },
      ':true': { BOOL: true },
      ':key': { S: subject.keyId ?? NO_KEY },
      ':now': { N: String(now) },
      ':one': { N: '1' },
    });
    const common =
      'attribute_exists(pk) AND #tier = :tier AND (attribute_not_exists(#blocked) OR #blocked <> :true)' +
      ' AND NOT contains(#blockedKeys, :key) AND NOT contains(#revokedKeys, :key)';
    let condition: string;
    if (which === 'idle') {
      update.action('SET', '#tat = :next');
      condition = `${common} AND (attribute_not_exists(#tat) OR #tat <= :now)`;
      update.values[':next'] = { N: String(now + emissionMs) };
    } else {
      update.action('SET', '#tat = #tat + :emission');
      condition = `${common} AND #tat > :now AND #tat <= :limit`;
      update.values[':emission'] = { N: String(emissionMs) };
      update.values[':limit'] = { N: String(now + toleranceMs) };
    }
    update.action('ADD', '#day :one');
    update.action('ADD', '#month :one');
    if (this.countsWeeks) {
      update.names['#week'] = weekCounter(at);
      update.action('ADD', '#week :one');
    }
    condition += quotaCondition(update, this.tiers[tier].quota);
    update.tidy(tidying);
    this.writes++;
    const result = await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { pk: { S: limiterKey(subject.tenantId) } },
        UpdateExpression: update.expression(),
        ConditionExpression: condition,
        ExpressionAttributeNames: update.names,
        ExpressionAttributeValues: update.values,
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return result.Attributes ?? {};
  }

  /**
   * Housekeeping alone, after an admitting first write: no condition on the bucket, since removing
   * past counters and expired revocations is right whatever its state. A failure changes nothing
   * for the decision already made; a later write tidies instead.
   */
  private async tidy(tenantId: string, tidying: Tidying): Promise<void> {
    const update = new Update();
    update.tidy(tidying);
    this.writes++;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: { S: limiterKey(tenantId) } },
          UpdateExpression: update.expression(),
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: update.names,
          ExpressionAttributeValues: Object.keys(update.values).length > 0 ? update.values : undefined,
        }),
      );
    } catch {
      // Left for a later write: the decision stands either way.
    }
  }

  /** The bucket at `tat`, and the quota as `item` (new or old) counts it. */
  private state(tier: TierName, tat: number, now: number, item?: Item): LimitState {
    const policy = this.tiers[tier];
    const { emissionMs, toleranceMs } = gcra(policy);
    const backlog = Math.max(0, tat - now);
    const quota = quotaState(policy.quota, item, now);
    return {
      tier,
      policy,
      remaining: Math.max(0, Math.min(policy.burst, Math.floor((toleranceMs - backlog) / emissionMs) + 1)),
      resetSeconds: Math.ceil(backlog / 1000),
      ...(quota ? { quota } : {}),
    };
  }

  private remember(tenantId: string, tat: number, tier: TierName, day: string): void {
    if (!this.hints.has(tenantId)) evictOldest(this.hints, this.hintCapacity);
    this.hints.set(tenantId, { tat, tier, day });
  }
}

/** Makes room for one more entry in a map kept in least-recently-used-first order, at most `capacity` long. */
function evictOldest(map: Map<string, unknown>, capacity: number): void {
  if (map.size < capacity) return;
  const oldest = map.keys().next();
  if (!oldest.done) map.delete(oldest.value);
}

/** The counters the item keeps at `now`: today's and yesterday's, this month's and last month's, this week's and last week's. */
function keptCounters(now: number): { today: string; yesterday: string; month: string; lastMonth: string; lastWeek: string } {
  const at = new Date(now);
  return {
    today: dayCounter(at),
    yesterday: dayCounter(new Date(now - DAY_MS)),
    month: monthCounter(at),
    lastMonth: monthCounter(new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - 1, 1))),
    lastWeek: weekCounter(new Date(now - 7 * DAY_MS)),
  };
}

/**
 * Counters an item probably still holds from before the kept ones: the day before yesterday's,
 * the month before last's (and the week before last's, where weeks are counted), and those of the
 * day this instance last counted in. Removing an absent attribute is free.
 */
function likelyStale(now: number, lastDay: string | undefined, countsWeeks: boolean): string[] {
  const { yesterday, lastMonth } = keptCounters(now);
  const at = new Date(now);
  const names = new Set([dayCounter(new Date(now - 2 * DAY_MS)), monthCounter(new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - 2, 1)))]);
  if (countsWeeks) names.add(weekCounter(new Date(now - 14 * DAY_MS)));
  if (lastDay !== undefined && lastDay < yesterday) {
    names.add(lastDay);
    const monthOfLastDay = `m${lastDay.slice(1, 8)}`;
    if (monthOfLastDay < lastMonth) names.add(monthOfLastDay);
  }
  return [...names];
}

/**
 * What an item (new or old) shows to tidy at `now`, if anything: counters older than the kept ones
 * (later ones, from an instance whose clock is ahead, are left), and the revoked keys — noted now
 * if not yet noted, deleted if noted at least the retention ago.
 */
function tidyingOf(item: Item, now: number): Tidying | undefined {
  const { yesterday, lastMonth, lastWeek } = keptCounters(now);
  const stale = Object.keys(item)
    .filter((name) => (DAY_COUNTER.test(name) && name < yesterday) || (MONTH_COUNTER.test(name) && name < lastMonth) || (WEEK_COUNTER.test(name) && name < lastWeek))
    .slice(0, MAX_REMOVALS);
  const revoked = item[LIMITER_ATTRIBUTES.revokedKeys]?.SS ?? [];
  const blocked = item[LIMITER_ATTRIBUTES.blockedKeys]?.SS ?? [];
  const seen = item[LIMITER_ATTRIBUTES.revokedSeen]?.SS ?? [];
  const seenAt = item[LIMITER_ATTRIBUTES.revokedSeenAt]?.N;
  let expired: string[] = [];
  let note: Tidying['note'];
  if (seen.length === 0 || seenAt === undefined) {
    // Not noted (or a note without its time, which no write leaves): note what is revoked now.
    if (revoked.length > 0) note = { keys: revoked.slice(0, MAX_REMOVALS), at: now };
    else if (seen.length > 0 || seenAt !== undefined) note = null;
  } else if (now - Number(seenAt) >= REVOCATION_RETENTION_MS) {
    expired = seen.slice(0, MAX_REMOVALS);
    const rest = revoked.filter((key) => !expired.includes(key)).slice(0, MAX_REMOVALS);
    note = rest.length > 0 ? { keys: rest, at: now } : null;
  }
  const expiredRevoked = expired.filter((key) => revoked.includes(key));
  const expiredBlocked = expired.filter((key) => blocked.includes(key));
  if (stale.length === 0 && expiredRevoked.length === 0 && expiredBlocked.length === 0 && note === undefined) return undefined;
  return { stale, expiredRevoked, expiredBlocked, note };
}

/**
 * The quota's part of a write's condition: the period's counter, before this request, is below the
 * quota (an absent counter is a new period's). DynamoDB evaluates it atomically with the rate's,
 * so concurrent requests at the quota's edge admit exactly what remains, and a refused request
 * changes nothing. The counter's placeholder is the one the write ADDs to.
 */
function quotaCondition(update: Update, quota: TierQuota | undefined): string {
  if (!quota) return '';
  const counter = { day: '#day', week: '#week', month: '#month' }[quota.period];
  update.values[':quota'] = { N: String(quota.requests) };
  return ` AND (attribute_not_exists(${counter}) OR ${counter} < :quota)`;
}

/** Where an item (new or old; absent: nothing counted) stands against a quota at `now`. */
function quotaState(quota: TierQuota | undefined, item: Item | undefined, now: number): QuotaState | undefined {
  if (!quota) return undefined;
  const at = new Date(now);
  const used = Number(item?.[periodCounter(quota.period, at)]?.N ?? 0);
  const { start, end } = periodBounds(quota.period, at);
  return {
    period: quota.period,
    limit: quota.requests,
    used,
    remaining: Math.max(0, quota.requests - used),
    resetSeconds: Math.ceil((end - now) / 1000),
    windowSeconds: (end - start) / 1000,
  };
}

/** The GCRA parameters of a tier: emission interval T and tolerance τ, in whole milliseconds. */
export function gcra(limit: TierLimit): { emissionMs: number; toleranceMs: number } {
  // Rounding T up never admits more than the rate.
  const emissionMs = Math.ceil(60_000 / limit.requestsPerMinute);
  return { emissionMs, toleranceMs: emissionMs * (limit.burst - 1) };
}
