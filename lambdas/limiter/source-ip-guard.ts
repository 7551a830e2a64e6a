import { isIP } from 'node:net';
import { AttributeValue, ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { LIMITER_ATTRIBUTES } from '../../contracts/limiter-item';
import {
  BAN_DECAY_SECONDS,
  BAN_MULTIPLIER,
  MAX_BAN_SECONDS,
  OFFENCES_BEFORE_BAN,
  OFFENCE_WINDOW_SECONDS,
  SOURCE_IP_ATTRIBUTES,
  SOURCE_IP_IDLE_RETENTION_SECONDS,
  SOURCE_IP_LIMIT,
  TEMP_BAN_SECONDS,
  sourceIpItemKey,
} from '../../contracts/source-ip-limits';
import type { TierLimit } from '../../contracts/tiers';
import LRUCache from '../runtime/lru-cache';
import { gcra } from './token-bucket-limiter';

/** What the guard decided for one request of a source IP. */
export type SourceIpDecision =
  | { readonly outcome: 'admitted'; readonly remaining: number; readonly resetSeconds: number }
  /** Refused by the rate: an offence, counted towards a ban (unless it lost a race, which is never counted). */
  | { readonly outcome: 'limited'; readonly retryAfterSeconds: number }
  /** Banned until `until` (ms since the epoch); `bans` is how many bans the IP has had, this one included. */
  | { readonly outcome: 'banned'; readonly until: number; readonly retryAfterSeconds: number; readonly bans: number }
  /** DynamoDB failed (throttled the item, timed out, ...): the rate is unknown. */
  | { readonly outcome: 'store-unavailable'; readonly error: Error };

/** The source address is not an IP address (API Gateway always gives one; a local socket may be gone). */
export class InvalidSourceIpError extends Error {
  constructor(value: string) {
    super(`The source address ${JSON.stringify(value)} is not an IPv4 or IPv6 address.`);
    this.name = 'InvalidSourceIpError';
  }
}

/** How the guard limits and bans; every field defaults to contracts/source-ip-limits.ts. */
export interface SourceIpPolicy {
  readonly limit: TierLimit;
  readonly tempBanSeconds: number;
  readonly banMultiplier: number;
  readonly maxBanSeconds: number;
  readonly offencesBeforeBan: number;
  readonly offenceWindowSeconds: number;
  readonly banDecaySeconds: number;
  readonly idleRetentionSeconds: number;
}

export const DEFAULT_SOURCE_IP_POLICY: SourceIpPolicy = {
  limit: SOURCE_IP_LIMIT,
  tempBanSeconds: TEMP_BAN_SECONDS,
  banMultiplier: BAN_MULTIPLIER,
  maxBanSeconds: MAX_BAN_SECONDS,
  offencesBeforeBan: OFFENCES_BEFORE_BAN,
  offenceWindowSeconds: OFFENCE_WINDOW_SECONDS,
  banDecaySeconds: BAN_DECAY_SECONDS,
  idleRetentionSeconds: SOURCE_IP_IDLE_RETENTION_SECONDS,
};

/** Properties of a {@link SourceIpGuard}. */
export interface SourceIpGuardProps {
  readonly client: DynamoDBClient;
  /** The limiter table: the guard's items are `IP#<address or /64>` beside the tenants' `TENANT#<id>`. */
  readonly tableName: string;
  /** @default DEFAULT_SOURCE_IP_POLICY */
  readonly policy?: Partial<SourceIpPolicy>;
  /** The time callers decide at (ms since the epoch), as the rest of the API's dependencies tell it. @default Date.now */
  readonly clock?: () => number;
  /**
   * Source IPs whose last seen state is remembered, to send the right write first. A hint only:
   * correctness comes from the conditions (and a remembered ban, which nothing shortens).
   * @default 10000
   */
  readonly hintCapacity?: number;
}

/** A source IP item as the guard reads it (absent attributes: never set). */
export interface IpState {
  readonly tat?: number;
  readonly offences?: number;
  readonly offencesSince?: number;
  readonly bannedUntil?: number;
  readonly bans?: number;
  readonly banHistoryEnds?: number;
}

/** What to do for a request, planned from a state (the remembered one, or the item a failed write returned). */
export type Plan =
  | { readonly kind: 'banned'; readonly until: number; readonly bans: number }
  | { readonly kind: 'admit'; readonly busy: boolean; readonly expiresAtMs: number }
  | { readonly kind: 'offence' }
  | { readonly kind: 'transition'; readonly from: IpState; readonly to: IpState; readonly banned: boolean };

type Item = Partial<Record<string, AttributeValue>>;

const A = { tat: LIMITER_ATTRIBUTES.tat, ...SOURCE_IP_ATTRIBUTES } as const;
const STATE_FIELDS = ['tat', 'offences', 'offencesSince', 'bannedUntil', 'bans', 'banHistoryEnds'] as const;

/**
 * The per-source-IP limit of the unauthenticated routes, with escalating bans: the limiter's GCRA
 * (`gcra` of token-bucket-limiter.ts, the same emission interval and tolerance) on one item per
 * source IP in the limiter table, decided with one conditional UpdateItem and no read in the
 * steady state. An IPv6 address counts by its /64 prefix ({@link sourceKeyOf}).
 *
 * A request the rate refuses is an offence. {@link SourceIpPolicy.offencesBeforeBan} offences within
 * {@link SourceIpPolicy.offenceWindowSeconds} (from the first of them) ban the IP for
 * `tempBanSeconds × banMultiplier^(bans so far)`, at most `maxBanSeconds`; each full
 * `banDecaySeconds` after a ban ends without a new one forgives one ban. The item expires (TTL)
 * `idleRetentionSeconds` after its last admission, and never before its ban count has decayed.
 *
 * Writes are conditional on the state they were planned from; a write whose condition fails returns
 * the item as it was (`ReturnValuesOnConditionCheckFailure`), and the second (last) write is planned
 * from it. Two lost races refuse (not counted as an offence): never an over-admission.
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html
 */
export class SourceIpGuard {
  /** DynamoDB calls made so far (the write budget: at most one per decision in the steady state). */
  public writes = 0;
  public readonly policy: SourceIpPolicy;
  /** The time to decide at, for callers that do not give one. */
  public readonly clock: () => number;
  private readonly client: DynamoDBClient;
  private readonly tableName: string;
  private readonly hints: LRUCache<string, IpState>;

  constructor(props: SourceIpGuardProps) {
    this.client = props.client;
    this.tableName = props.tableName;
    this.policy = { ...DEFAULT_SOURCE_IP_POLICY, ...props.policy };
    this.clock = props.clock ?? Date.now;
    this.hints = new LRUCache(props.hintCapacity ?? 10_000);
  }

  /** Decides one request of `ip` at `now` (ms since the epoch). Throws {@link InvalidSourceIpError} for a value that is no IP. */
  public async decide(ip: string, now: number): Promise<SourceIpDecision> {
    const key = sourceKeyOf(ip);
    let plan = planFor(this.hints.get(key), now, this.policy);
    for (let attempt = 1; attempt <= 2; attempt++) {
      if (plan.kind === 'banned') return banned(plan.until, plan.bans, now);
      try {
        const item = await this.send(key, plan, now);
        const state = stateOf(item);
        this.remember(key, state);
        return this.verdict(plan, state, now);
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) return { outcome: 'store-unavailable', error: error as Error };
        const old = stateOf(error.Item ?? {});
        this.remember(key, old);
        plan = planFor(old, now, this.policy);
      }
    }
    if (plan.kind === 'banned') return banned(plan.until, plan.bans, now);
    return { outcome: 'limited', retryAfterSeconds: 1 };
  }

  /** Forgets what this instance remembers about a source (tests, or after an operator's change). */
  public forget(ip: string): void {
    this.hints.delete(sourceKeyOf(ip));
  }

  private verdict(plan: Exclude<Plan, { kind: 'banned' }>, state: IpState, now: number): SourceIpDecision {
    const { emissionMs, toleranceMs } = gcra(this.policy.limit);
    const tat = state.tat ?? now;
    if (plan.kind === 'admit') {
      const backlog = Math.max(0, tat - now);
      const remaining = Math.max(0, Math.min(this.policy.limit.burst, Math.floor((toleranceMs - backlog) / emissionMs) + 1));
      return { outcome: 'admitted', remaining, resetSeconds: Math.ceil(backlog / 1000) };
    }
    if (plan.kind === 'transition' && plan.banned) return banned(state.bannedUntil ?? now, state.bans ?? 1, now);
    return { outcome: 'limited', retryAfterSeconds: Math.max(1, Math.ceil((tat - toleranceMs - now) / 1000)) };
  }

  private async send(key: string, plan: Exclude<Plan, { kind: 'banned' }>, now: number): Promise<Item> {
    const write = plan.kind === 'admit' ? admitWrite(plan, now, this.policy) : plan.kind === 'offence' ? offenceWrite(now, this.policy) : transitionWrite(plan);
    this.writes++;
    const result = await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: { [LIMITER_ATTRIBUTES.pk]: { S: sourceIpItemKey(key) } },
        ...write,
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return result.Attributes ?? {};
  }

  private remember(key: string, state: IpState): void {
    this.hints.set(key, state);
  }
}

function banned(until: number, bans: number, now: number): SourceIpDecision {
  return { outcome: 'banned', until, bans, retryAfterSeconds: Math.max(1, Math.ceil((until - now) / 1000)) };
}

/** The plan for a request at `now` if the item is as `state` says (undefined: no item, or nothing known). */
export function planFor(state: IpState | undefined, now: number, policy: SourceIpPolicy): Plan {
  const { toleranceMs } = gcra(policy.limit);
  if (state?.bannedUntil !== undefined && state.bannedUntil > now) return { kind: 'banned', until: state.bannedUntil, bans: state.bans ?? 1 };
  const tat = state?.tat;
  if (tat === undefined || tat <= now + toleranceMs) {
    const idleUntil = now + policy.idleRetentionSeconds * 1000;
    return { kind: 'admit', busy: tat !== undefined && tat > now, expiresAtMs: Math.max(idleUntil, state?.banHistoryEnds ?? 0) };
  }
  const windowOpen = state?.offencesSince !== undefined && now - state.offencesSince < policy.offenceWindowSeconds * 1000;
  const offences = (windowOpen ? (state.offences ?? 0) : 0) + 1;
  if (windowOpen && offences < policy.offencesBeforeBan) return { kind: 'offence' };
  if (offences < policy.offencesBeforeBan) {
    return { kind: 'transition', from: state ?? {}, to: { ...state, offences, offencesSince: now }, banned: false };
  }
  const bans = decayedBans(state, now, policy) + 1;
  const banMs = Math.min(policy.tempBanSeconds * policy.banMultiplier ** (bans - 1), policy.maxBanSeconds) * 1000;
  const bannedUntil = now + banMs;
  const to: IpState = { tat, bannedUntil, bans, banHistoryEnds: bannedUntil + bans * policy.banDecaySeconds * 1000 };
  return { kind: 'transition', from: state ?? {}, to, banned: true };
}

/** The bans an IP still counts at `now`: one fewer for each full decay period since its last ban ended. */
export function decayedBans(state: IpState | undefined, now: number, policy: SourceIpPolicy): number {
  const bans = state?.bans ?? 0;
  if (bans === 0 || state?.bannedUntil === undefined || now <= state.bannedUntil) return bans;
  return Math.max(0, bans - Math.floor((now - state.bannedUntil) / (policy.banDecaySeconds * 1000)));
}

type Write = Pick<UpdateItemCommand['input'], 'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>;

const num = (value: number): AttributeValue => ({ N: String(value) });
const NOT_BANNED = '(attribute_not_exists(#bannedUntil) OR #bannedUntil <= :now)';

/**
 * An admission, as the limiter's (range conditions, so that concurrent requests each take their
 * own emission interval): idle sets `tat = now + T`, busy adds T while `tat ≤ now + τ`. The TTL
 * moves to `expiresAtMs`, conditional on the ban history not lasting longer (else the item as it
 * was tells how long it does, for the second write).
 */
function admitWrite(plan: Extract<Plan, { kind: 'admit' }>, now: number, policy: SourceIpPolicy): Write {
  const { emissionMs, toleranceMs } = gcra(policy.limit);
  const history = '(attribute_not_exists(#banHistoryEnds) OR #banHistoryEnds <= :expiresAtMs)';
  const names = { '#tat': A.tat, '#bannedUntil': A.bannedUntil, '#banHistoryEnds': A.banHistoryEnds, '#expiresAt': A.expiresAt };
  const values = { ':now': num(now), ':emission': num(emissionMs), ':expiresAtMs': num(plan.expiresAtMs), ':expiresAt': num(Math.ceil(plan.expiresAtMs / 1000)) };
  if (!plan.busy) {
    return {
      UpdateExpression: 'SET #tat = :now + :emission, #expiresAt = :expiresAt',
      ConditionExpression: `${NOT_BANNED} AND ${history} AND (attribute_not_exists(#tat) OR #tat <= :now)`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }
  return {
    UpdateExpression: 'SET #tat = #tat + :emission, #expiresAt = :expiresAt',
    ConditionExpression: `${NOT_BANNED} AND ${history} AND #tat > :now AND #tat <= :limit`,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: { ...values, ':limit': num(now + toleranceMs) },
  };
}

/** One more offence in an open window that stays below the ban: a range condition, like an admission. */
function offenceWrite(now: number, policy: SourceIpPolicy): Write {
  const { toleranceMs } = gcra(policy.limit);
  return {
    UpdateExpression: 'SET #offences = #offences + :one',
    ConditionExpression: `${NOT_BANNED} AND #tat > :limit AND #offencesSince > :windowStart AND #offences < :lastBelowBan`,
    ExpressionAttributeNames: { '#tat': A.tat, '#bannedUntil': A.bannedUntil, '#offences': A.offences, '#offencesSince': A.offencesSince },
    ExpressionAttributeValues: {
      ':now': num(now),
      ':one': num(1),
      ':limit': num(now + toleranceMs),
      ':windowStart': num(now - policy.offenceWindowSeconds * 1000),
      ':lastBelowBan': num(policy.offencesBeforeBan - 1),
    },
  };
}

/**
 * A window's first offence, or a ban: the whole new state, conditional on every field still being
 * what it was planned from. A ban clears the offences and moves the TTL to the end of the ban history.
 */
function transitionWrite(plan: Extract<Plan, { kind: 'transition' }>): Write {
  const names: Record<string, string> = {};
  const values: Record<string, AttributeValue> = {};
  const conditions: string[] = [];
  const set: string[] = [];
  const remove: string[] = [];
  for (const field of STATE_FIELDS) {
    names[`#${field}`] = A[field];
    const from = plan.from[field];
    if (from === undefined) conditions.push(`attribute_not_exists(#${field})`);
    else {
      conditions.push(`#${field} = :from_${field}`);
      values[`:from_${field}`] = num(from);
    }
    const to = plan.to[field];
    if (to === undefined) {
      if (from !== undefined) remove.push(`#${field}`);
    } else if (to !== from) {
      set.push(`#${field} = :to_${field}`);
      values[`:to_${field}`] = num(to);
    }
  }
  if (plan.banned && plan.to.banHistoryEnds !== undefined) {
    names['#expiresAt'] = A.expiresAt;
    set.push('#expiresAt = :expiresAt');
    values[':expiresAt'] = num(Math.ceil(plan.to.banHistoryEnds / 1000));
  }
  return {
    UpdateExpression: [set.length > 0 ? `SET ${set.join(', ')}` : '', remove.length > 0 ? `REMOVE ${remove.join(', ')}` : ''].filter(Boolean).join(' '),
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
  };
}

function stateOf(item: Item): IpState {
  const state: Partial<Record<(typeof STATE_FIELDS)[number], number>> = {};
  for (const field of STATE_FIELDS) {
    const value = item[A[field]]?.N;
    if (value !== undefined) state[field] = Number(value);
  }
  return state;
}

/**
 * The key a source address counts under: an IPv4 address as it is (also when IPv4-mapped, `::ffff:a.b.c.d`),
 * an IPv6 address by its /64 prefix (`2001:0db8:0000:0001::/64`). A /64 is one subnet, the least any
 * site is given, and its hosts pick the low 64 bits freely (temporary addresses change them at will),
 * so counting whole addresses would let one customer count as 2^64 callers.
 * https://www.rfc-editor.org/rfc/rfc6177 (sites get more than one /64), https://www.rfc-editor.org/rfc/rfc4291#section-2.5.1
 * (64-bit interface identifiers), https://serverfault.com/questions/863501/blocking-or-rate-limiting-ipv6-what-size-prefix
 */
export function sourceKeyOf(ip: string | undefined): string {
  // A payload without requestContext.http.sourceIp (API Gateway always sets it) is refused, not a crash.
  if (typeof ip !== 'string') throw new InvalidSourceIpError(String(ip));
  const address = ip.trim().replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped && isIP(mapped[1]) === 4) return mapped[1];
  const version = isIP(address);
  if (version === 4) return address;
  if (version !== 6) throw new InvalidSourceIpError(ip);
  return `${ipv6Groups(address).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address, four hex digits each (an embedded IPv4 tail counts as two). */
function ipv6Groups(address: string): string[] {
  const toGroups = (part: string): string[] => {
    if (part === '') return [];
    return part.split(':').flatMap((group) => {
      if (!group.includes('.')) return [group];
      const [a, b, c, d] = group.split('.').map(Number);
      return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
    });
  };
  const halves = address.toLowerCase().split('::');
  const tail = halves.length > 1 ? halves[1] : undefined;
  const left = toGroups(halves[0]);
  const right = tail === undefined ? [] : toGroups(tail);
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.map((group) => group.padStart(4, '0'));
}
