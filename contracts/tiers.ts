/** A customer tier's rate limit. */
export interface TierLimit {
  /** Sustained rate: requests per minute. */
  readonly requestsPerMinute: number;
  /** Requests that may arrive at once after a quiet period (the bucket's capacity). */
  readonly burst: number;
}

/** What happens when the limiter's store cannot be reached: admit (open) or refuse (closed). */
export type FailMode = 'open' | 'closed';

export const QUOTA_PERIODS = ['day', 'week', 'month'] as const;
/** A quota's period, in UTC: a calendar day, an ISO 8601 week (Monday to Sunday) or a calendar month. */
export type QuotaPeriod = (typeof QUOTA_PERIODS)[number];

/**
 * A cap on the requests a tenant may make in each period, on top of the rate (as API Gateway's
 * usage plans put a quota per day, week or month on top of their throttle). Only admitted
 * requests count; the count restarts when a new period starts.
 */
export interface TierQuota {
  readonly period: QuotaPeriod;
  /** Requests admitted per period. */
  readonly requests: number;
}

/** A tier's limit and what the limiter does when its store fails. */
export interface TierPolicy extends TierLimit {
  readonly failMode: FailMode;
  /**
   * The tier's quota.
   * @default - none: only the rate limits the tier
   */
  readonly quota?: TierQuota;
}

/** What a deployment may override of a tier: any of its rate, burst, fail mode and quota. */
export type TierOverride = Partial<TierPolicy>;

/** A deployment's tier overrides, by tier name. */
export type TierOverrides = Partial<Record<TierName, TierOverride>>;

export const TIER_NAMES = ['free', 'basic', 'premium', 'enterprise'] as const;
export type TierName = (typeof TIER_NAMES)[number];

/** The default tiers; burst equals the per-minute figure unless a deployment configures it. */
export const DEFAULT_TIERS: Readonly<Record<TierName, TierLimit>> = {
  free: { requestsPerMinute: 5, burst: 5 },
  basic: { requestsPerMinute: 20, burst: 20 },
  premium: { requestsPerMinute: 100, burst: 100 },
  enterprise: { requestsPerMinute: 1000, burst: 1000 },
};

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

export const isTierName = (value: unknown): value is TierName =>
  typeof value === 'string' && (TIER_NAMES as readonly string[]).includes(value);

const isFailMode = (value: unknown): value is FailMode => value === 'open' || value === 'closed';

const isQuotaPeriod = (value: unknown): value is QuotaPeriod => typeof value === 'string' && (QUOTA_PERIODS as readonly string[]).includes(value);

/**
 * The tier policy of a deployment: the defaults with its overrides applied, validated. An
 * override may give only the rate, in which case burst follows it. No tier has a quota unless the
 * deployment gives one (`{"period":"day"|"week"|"month","requests":N}`). Throws, naming the tier and
 * field, for an unknown tier, a rate or burst that is not a positive whole number, a fail mode
 * other than `open` or `closed`, or a quota that is not such an object. The one place tiers are
 * resolved: the stack, the Lambda runtime and the local runtime all call it.
 */
export function resolveTierPolicies(overrides: Readonly<Record<string, TierOverride | undefined>> = {}): Readonly<Record<TierName, TierPolicy>> {
  const unknown = Object.keys(overrides).filter((name) => !isTierName(name));
  const entries = TIER_NAMES.map((name) => [name, resolveTier(name, overrides[name] ?? {})] as const);
  if (unknown.length > 0) {
    throw new Error(`Unknown tier(s) ${unknown.join(', ')}; the tiers are ${TIER_NAMES.join(', ')}.`);
  }
  return Object.fromEntries(entries) as Record<TierName, TierPolicy>;
}

function resolveTier(name: TierName, override: TierOverride): TierPolicy {
  const requestsPerMinute = override.requestsPerMinute ?? DEFAULT_TIERS[name].requestsPerMinute;
  const burst = override.burst ?? (override.requestsPerMinute !== undefined ? requestsPerMinute : DEFAULT_TIERS[name].burst);
  for (const [field, value] of [['requestsPerMinute', requestsPerMinute], ['burst', burst]] as const) {
    if (!Number.isInteger(value) || value < 1) {
      throw new Error(`Tier "${name}": ${field} must be a positive whole number; got ${value}.`);
    }
  }
  const failMode: unknown = override.failMode ?? DEFAULT_FAIL_MODES[name];
  if (!isFailMode(failMode)) throw new Error(`Tier "${name}": failMode must be "open" or "closed"; got ${JSON.stringify(failMode)}.`);
  const quota = override.quota === undefined ? undefined : validQuota(name, override.quota);
  return { requestsPerMinute, burst, failMode, ...(quota ? { quota } : {}) };
}

/** A tier's quota as configured (JSON, so anything), or an error naming the tier and the field. */
function validQuota(name: TierName, quota: unknown): TierQuota {
  if (typeof quota !== 'object' || quota === null || Array.isArray(quota)) {
    throw new Error(`Tier "${name}": quota must be an object such as {"period":"day","requests":1000}; got ${JSON.stringify(quota)}.`);
  }
  const { period, requests, ...rest } = quota as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new Error(`Tier "${name}": quota has unknown field(s) ${unknown.join(', ')}; a quota has period and requests.`);
  if (!isQuotaPeriod(period)) throw new Error(`Tier "${name}": quota.period must be one of ${QUOTA_PERIODS.map((p) => `"${p}"`).join(', ')}; got ${JSON.stringify(period)}.`);
  if (typeof requests !== 'number' || !Number.isSafeInteger(requests) || requests < 1) {
    throw new Error(`Tier "${name}": quota.requests must be a positive whole number; got ${JSON.stringify(requests)}.`);
  }
  return { period, requests };
}

/**
 * A deployment's overrides as the functions receive them (validated by {@link resolveTierPolicies}
 * first): every tier's rate and burst, the fail modes the deployment set and the quotas. The
 * functions resolve the same policy from it.
 */
export function tierOverridesOf(overrides: TierOverrides): Readonly<Record<TierName, TierOverride>> {
  const policies = resolveTierPolicies(overrides);
  return Object.fromEntries(
    TIER_NAMES.map((name) => {
      const { requestsPerMinute, burst, quota } = policies[name];
      const failMode = overrides[name]?.failMode;
      return [name, { requestsPerMinute, burst, ...(failMode ? { failMode } : {}), ...(quota ? { quota } : {}) }];
    }),
  ) as Record<TierName, TierOverride>;
}
