/**
 * The account events' names and rules without their schema (issue 16): what route bundles and the
 * account function need (the log line, quota thresholds and ids, opt-out kinds) without loading
 * zod. contracts/account-events.ts re-exports all of it with the schema; import from there unless
 * a bundle's size matters.
 */

/**
 * Account events (issue 16, item 2): what happens to tenants, published on the usage bus under a
 * detail-type of their own, so that rules route them to the notifier (and to the lake) apart from
 * usage events. Producers (the admin and account functions, the limiter) write them; the notifier
 * (lambdas/notifications/) reads them. Both import these names and this schema.
 */

/** The `detail-type` of every account event on the bus (usage events carry `api-usage-event`). */
export const ACCOUNT_EVENT_DETAIL_TYPE = 'api-account-event';

/** The schema version this module describes. */
export const ACCOUNT_EVENT_SCHEMA_VERSION = '1';

/** Who hears of an event: the tenant's contact (its owner's email), or the operators. */
export type AccountEventAudience = 'tenant' | 'operators';

/** What the notifier needs to know of a kind: who hears it, whether it may be opted out of, whether a cooldown applies. */
export interface AccountEventKindPolicy {
  readonly audience: AccountEventAudience;
  /** A critical kind is always sent: a tenant cannot opt out of it. */
  readonly critical: boolean;
  /**
   * Whether the kind repeats as a signal (quota thresholds, spikes, failed authentications), so
   * that within a cooldown per tenant and kind only the first is mailed. Kinds that each record
   * one action (a block, a key revoked) are each mailed.
   */
  readonly cooldown: boolean;
}

/**
 * Each kind, its audience, and whether it is critical: blocks, keys revoked or blocked and the
 * quota exhausted change what the tenant's requests get, so they are never opted out of.
 */
export const ACCOUNT_EVENT_KINDS = {
  'tenant-created': { audience: 'tenant', critical: false, cooldown: false },
  'tier-changed': { audience: 'tenant', critical: false, cooldown: false },
  'tenant-blocked': { audience: 'tenant', critical: true, cooldown: false },
  'tenant-unblocked': { audience: 'tenant', critical: true, cooldown: false },
  'key-created': { audience: 'tenant', critical: false, cooldown: false },
  'key-revoked': { audience: 'tenant', critical: true, cooldown: false },
  'key-blocked': { audience: 'tenant', critical: true, cooldown: false },
  'quota-80': { audience: 'tenant', critical: false, cooldown: true },
  'quota-100': { audience: 'tenant', critical: true, cooldown: true },
  'rate-limit-spike': { audience: 'operators', critical: false, cooldown: true },
  'auth-failures': { audience: 'operators', critical: false, cooldown: true },
} as const satisfies Record<string, AccountEventKindPolicy>;

export type AccountEventKind = keyof typeof ACCOUNT_EVENT_KINDS;

export const ACCOUNT_EVENT_KIND_NAMES = /* @__PURE__ */ Object.keys(ACCOUNT_EVENT_KINDS) as AccountEventKind[];

/** The kinds a tenant may opt out of (the non-critical ones of its own audience). */
export const OPTIONAL_ACCOUNT_EVENT_KINDS: readonly AccountEventKind[] = /* @__PURE__ */ ACCOUNT_EVENT_KIND_NAMES.filter((kind) => {
  const policy: AccountEventKindPolicy = ACCOUNT_EVENT_KINDS[kind];
  return policy.audience === 'tenant' && !policy.critical;
});

/**
 * The tenant record's attribute that lists the kinds its contact opted out of (a list of kind
 * names): the account function writes it (PUT /v1/notifications), the notifier reads it.
 */
export const NOTIFICATION_OPT_OUTS_ATTRIBUTE = 'notificationOptOuts';

export function isAccountEventKind(value: unknown): value is AccountEventKind {
  return typeof value === 'string' && Object.hasOwn(ACCOUNT_EVENT_KINDS, value);
}


/**
 * The `source` of every account event: the stack's own components publish them (usage events
 * come from the services' allow-list). The stack's producer grant limits services to the usage
 * sources (`events:source`), so only the stack's own roles can put this one.
 */
export const ACCOUNT_EVENT_SOURCE = 'api-usage-tracker.accounts';

/** The rule pattern of account events: the notifier's queue and the lake's account stream both use it. */
export function accountEventPattern(): { readonly source: readonly string[]; readonly 'detail-type': readonly string[] } {
  return { source: [ACCOUNT_EVENT_SOURCE], 'detail-type': [ACCOUNT_EVENT_DETAIL_TYPE] };
}

/**
 * Event ids, decided by the occurrence itself so that every producer retry, redelivery or replay
 * of one occurrence carries the same id (the notifier and the lake's query keep one per id):
 * - an audited action: its audit entry's id (`<time>#<random>`, unique), `audit.<time>.<random>`;
 * - a quota threshold: the tenant and the period's counter key (`d2026-11-30`, `w2026-W48`, `m2026-11`);
 * - a spike or failed authentications: the tenant or source and the counting window's start (epoch minutes).
 */
export const accountEventIds = {
  ofAudit: (auditEntryId: string): string => `audit.${auditEntryId.replace('#', '.')}`,
  ofQuota: (threshold: QuotaThreshold, tenantId: string, periodKey: string): string => `quota-${threshold}.${tenantId}.${periodKey}`,
  ofSpike: (tenantId: string, windowStartMinute: number): string => `rate-limit-spike.${tenantId}.${windowStartMinute}`,
  /** `sourceKey` is the address (IPv4) or /64 prefix (IPv6) as the source IP guard keys it; ':' is allowed in ids. */
  ofAuthFailures: (sourceKey: string, windowStartMinute: number): string => `auth-failures.${sourceKey.replace(/[^A-Za-z0-9.:-]/g, '-')}.${windowStartMinute}`,
} as const;

/** The quota thresholds that raise events: the request that brings the period's count to 80 % of the quota (rounded up), and the one that uses it up. */
export const QUOTA_THRESHOLDS = [80, 100] as const;
export type QuotaThreshold = (typeof QUOTA_THRESHOLDS)[number];

/**
 * The threshold a request crosses, if any: `used` is the period's count including this request
 * (admitted requests add exactly 1 in the limiter's conditional write, so exactly one request
 * per period reaches each count). A quota too small for 80 % to differ from 100 % raises only 100.
 */
export function quotaThresholdCrossed(used: number, limit: number): QuotaThreshold | undefined {
  if (used === limit) return 100;
  if (used === Math.ceil(limit * 0.8) && used < limit) return 80;
  return undefined;
}

/** When signals count enough to raise an event: more than `count` in a window of `minutes` (UTC-aligned windows). */
export interface SignalThreshold {
  readonly count: number;
  readonly minutes: number;
}

/**
 * Signal thresholds: a rate-limit spike is more than `count` 429s of one tenant within one
 * window; failed authentications are more than `count` 401s or 403s from one source within one.
 * Configured by the `accountSignals` context (and `ACCOUNT_SIGNALS_JSON` for the functions).
 */
export interface AccountSignals {
  readonly rateLimitSpike: SignalThreshold;
  readonly authFailures: SignalThreshold;
}

export const DEFAULT_ACCOUNT_SIGNALS: AccountSignals = {
  rateLimitSpike: { count: 50, minutes: 5 },
  authFailures: { count: 20, minutes: 5 },
};

/**
 * Reads an `accountSignals` override (context or environment JSON) onto the defaults; errors
 * name the field. Counts are 1..1,000,000; windows 1..60 minutes, dividing an hour evenly so
 * windows align on the hour.
 */
export function resolveAccountSignals(value: unknown): AccountSignals {
  if (value === undefined || value === null || value === '') return DEFAULT_ACCOUNT_SIGNALS;
  const raw = typeof value === 'string' ? parseJson(value) : value;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('accountSignals must be an object like {"rateLimitSpike":{"count":50,"minutes":5},"authFailures":{"count":20,"minutes":5}}.');
  const known = new Set(['rateLimitSpike', 'authFailures']);
  for (const key of Object.keys(raw)) if (!known.has(key)) throw new Error(`accountSignals.${key} is not a signal; use rateLimitSpike or authFailures.`);
  const read = (name: keyof AccountSignals): SignalThreshold => {
    const given = (raw as Record<string, unknown>)[name];
    if (given === undefined) return DEFAULT_ACCOUNT_SIGNALS[name];
    if (typeof given !== 'object' || given === null) throw new Error(`accountSignals.${name} must be an object {count, minutes}.`);
    const { count = DEFAULT_ACCOUNT_SIGNALS[name].count, minutes = DEFAULT_ACCOUNT_SIGNALS[name].minutes, ...rest } = given as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw new Error(`accountSignals.${name}.${extra.join(', ')} is not a field; use count and minutes.`);
    if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > 1_000_000) throw new Error(`accountSignals.${name}.count must be an integer from 1 to 1000000; got ${JSON.stringify(count)}.`);
    if (!Number.isInteger(minutes) || (minutes as number) < 1 || (minutes as number) > 60 || 60 % (minutes as number) !== 0) throw new Error(`accountSignals.${name}.minutes must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60); got ${JSON.stringify(minutes)}.`);
    return { count: count as number, minutes: minutes as number };
  };
  return { rateLimitSpike: read('rateLimitSpike'), authFailures: read('authFailures') };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`accountSignals is not JSON: ${JSON.stringify(text.slice(0, 80))}.`);
  }
}

/** The start (epoch minutes, UTC-aligned) of the window of `minutes` holding `epochMs`. */
export function signalWindowStart(epochMs: number, minutes: number): number {
  const minute = Math.floor(epochMs / 60_000);
  return minute - (minute % minutes);
}

/**
 * Signal counters live in the limiter table as `SIGNAL#<kind>#<subject>#<windowStart>` items with
 * a `count`, a `raisingUntil` lease while one delivery raises its event, a `raisedAt` once the event went out, and the table's TTL attribute: the forwarders
 * add to them, one UpdateItem per subject and window per batch, and may write nothing else there.
 */
export const SIGNAL_PARTITION_PREFIX = 'SIGNAL#';
export const SIGNAL_ITEM_ATTRIBUTES = { count: 'signalCount', raisedAt: 'raisedAt', raisingUntil: 'raisingUntil' } as const;

/**
 * An account event as a log line, for functions that raise one on their request path (a quota
 * threshold): written to standard output like usage lines, selected by the same subscription's
 * filter pattern (an OR of both markers), and put on the bus by the forwarder with its eventId.
 */
export const ACCOUNT_EVENT_LOG_LINE = { markerKey: 'accountEventLog', marker: 'api-account-event/1', detailKey: 'detail' } as const;

/**
 * The kinds a tenant may opt out of and the ones always sent, as tuples (the request schema's enum
 * takes them), and the tenant record's attribute holding the opt-outs. Equal to the policy table's
 * (test/contracts/account-events.test.ts).
 */
export const NOTIFICATION_SETTINGS = {
  attribute: NOTIFICATION_OPT_OUTS_ATTRIBUTE,
  optional: ['tenant-created', 'tier-changed', 'key-created', 'quota-80'],
  critical: ['tenant-blocked', 'tenant-unblocked', 'key-revoked', 'key-blocked', 'quota-100'],
} as const satisfies { attribute: string; optional: readonly AccountEventKind[]; critical: readonly AccountEventKind[] };

/** A kind a tenant may opt out of. */
export type OptionalNotificationKind = (typeof NOTIFICATION_SETTINGS.optional)[number];

/**
 * How long the notifier's claim on an event shields it from other deliveries: longer than the
 * notifier function's timeout, shorter than its queue's visibility timeout (NOTIFIER_TIMING in
 * lib/account-notifications.ts; test/lib/account-notifications.test.ts checks both).
 */
export const NOTIFICATION_LEASE_SECONDS = 120;
