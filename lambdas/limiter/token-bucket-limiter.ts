import { AttributeValue, ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { AUTHORIZER_CACHE_TTL_SECONDS, TOKEN_TTL_SECONDS } from '../../contracts/metered-api';
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

/** Attribute names of a limiter item (besides the counters named by {@link dayCounter} and {@link monthCounter}). */
export const LIMITER_ATTRIBUTES = {
  pk: 'pk',
  tat: 'tat',
  tier: 'tier',
  blocked: 'blocked',
  blockedKeys: 'blockedKeys',
  revokedKeys: 'revokedKeys',
  /** The revoked keys as the limiter last noted them, and when: pruned once {@link REVOCATION_RETENTION_MS} has passed. */
  revokedSeen: 'revokedSeen',
  revokedSeenAt: 'revokedSeenAt',
} as const;

export const limiterKey = (tenantId: string) => `TENANT#${tenantId}`;
/** A day's request count (UTC): one attribute per day, of which the item keeps today's and yesterday's. */
export const dayCounter = (at: Date) => `d${at.toISOString().slice(0, 10)}`;
/** A month's request count, of which the item keeps this month's and last month's. */
export const monthCounter = (at: Date) => `m${at.toISOString().slice(0, 7)}`;
const DAY_COUNTER = /^d\d{4}-\d{2}-\d{2}$/;
const MONTH_COUNTER = /^m\d{4}-\d{2}$/;
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
 * one: at most two `UpdateItem` calls, no read, no retry loop. Each condition is evaluated
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
 * deletes the noted ones, from `blockedKeys` too. So the item holds four counters, the tier, blocks
 * in force and recent revocations: well under 1 KB, one write capacity unit per request.
 */
export class TokenBucketLimiter {
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly tiers: Readonly<Record<TierName, TierPolicy>>;
  private readonly clock: () => number;
  private readonly hints = new Map<string, { tat: number; tier: TierName; day: string }>();
  private readonly hintCapacity: number;
  /** DynamoDB calls made (all of them `UpdateItem`), for benchmarks and metrics. */
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
    let tidying: Tidying = { stale: likelyStale(now, hint?.day), expiredRevoked: [], expiredBlocked: [] };
    for (let attempt = 1; attempt <= 2; attempt++) {
      let old: Record<string, AttributeValue> | undefined;
      try {
        const item = await this.write(subject, tier, predicted, now, tidying);
        const tat = Number(item[LIMITER_ATTRIBUTES.tat].N);
        this.remember(subject.tenantId, tat, tier, dayCounter(new Date(now)));
        // What the new item still shows to tidy goes with this decision's second write, if it has one left.
        const left = attempt === 1 ? tidyingOf(item, now) : undefined;
        if (left) await this.tidy(subject.tenantId, left);
        return {
          outcome: 'admitted',
          ...this.state(tier, tat, now),
          countToday: Number(item[dayCounter(new Date(now))]?.N ?? 0),
          countThisMonth: Number(item[monthCounter(new Date(now))]?.N ?? 0),
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
        this.remember(subject.tenantId, tat, storedTier, hint?.day ?? dayCounter(new Date(now)));
        return {
          outcome: 'rate-limited',
          ...this.state(storedTier, tat, now),
          retryAfterSeconds: Math.max(1, Math.ceil((tat - toleranceMs - now) / 1000)),
        };
      }
      if (attempt === 2) break;
      // Wrong case or wrong tier: the second (and last) write uses what the old item showed, and tidies what it showed.
      tier = storedTier;
      predicted = tat !== undefined && tat > now ? 'busy' : 'idle';
      tidying = tidyingOf(old, now) ?? { stale: [], expiredRevoked: [], expiredBlocked: [] };
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

  private async write(subject: LimitSubject, tier: TierName, which: Case, now: number, tidying: Tidying): Promise<Record<string, AttributeValue>> {
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

  private remember(tenantId: string, tat: number, tier: TierName, day: string): void {
    if (this.hints.size >= this.hintCapacity && !this.hints.has(tenantId)) {
      this.hints.delete(this.hints.keys().next().value!);
    }
    this.hints.set(tenantId, { tat, tier, day });
  }
}

/** The day and month counters the item keeps at `now`: today's and yesterday's, this month's and last month's. */
function keptCounters(now: number): { today: string; yesterday: string; month: string; lastMonth: string } {
  const at = new Date(now);
  return {
    today: dayCounter(at),
    yesterday: dayCounter(new Date(now - DAY_MS)),
    month: monthCounter(at),
    lastMonth: monthCounter(new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - 1, 1))),
  };
}

/**
 * Counters an item probably still holds from before the kept ones: the day before yesterday's,
 * the month before last's, and those of the day this instance last counted in. Removing an absent
 * attribute is free.
 */
function likelyStale(now: number, lastDay: string | undefined): string[] {
  const { yesterday, lastMonth } = keptCounters(now);
  const at = new Date(now);
  const names = new Set([dayCounter(new Date(now - 2 * DAY_MS)), monthCounter(new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - 2, 1)))]);
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
function tidyingOf(item: Record<string, AttributeValue>, now: number): Tidying | undefined {
  const { yesterday, lastMonth } = keptCounters(now);
  const stale = Object.keys(item)
    .filter((name) => (DAY_COUNTER.test(name) && name < yesterday) || (MONTH_COUNTER.test(name) && name < lastMonth))
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

/** The GCRA parameters of a tier: emission interval T and tolerance τ, in whole milliseconds. */
export function gcra(limit: TierLimit): { emissionMs: number; toleranceMs: number } {
  // Rounding T up never admits more than the rate.
  const emissionMs = Math.ceil(60_000 / limit.requestsPerMinute);
  return { emissionMs, toleranceMs: emissionMs * (limit.burst - 1) };
}
