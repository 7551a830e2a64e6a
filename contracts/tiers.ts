/** A customer tier's rate limit. */
export interface TierLimit {
  /** Sustained rate: requests per minute. */
  readonly requestsPerMinute: number;
  /** Requests that may arrive at once after a quiet period (the bucket's capacity). */
  readonly burst: number;
}

export const TIER_NAMES = ['free', 'basic', 'premium', 'enterprise'] as const;
export type TierName = (typeof TIER_NAMES)[number];

/** The default tiers; burst equals the per-minute figure unless a deployment configures it. */
export const DEFAULT_TIERS: Readonly<Record<TierName, TierLimit>> = {
  free: { requestsPerMinute: 5, burst: 5 },
  basic: { requestsPerMinute: 20, burst: 20 },
  premium: { requestsPerMinute: 100, burst: 100 },
  enterprise: { requestsPerMinute: 1000, burst: 1000 },
};

export const isTierName = (value: unknown): value is TierName =>
  typeof value === 'string' && (TIER_NAMES as readonly string[]).includes(value);

/**
 * The tier table with a deployment's overrides applied. An override may give only the rate, in
 * which case burst follows it.
 */
export function resolveTiers(
  overrides: Partial<Record<TierName, Partial<TierLimit>>> = {},
): Readonly<Record<TierName, TierLimit>> {
  const entries = TIER_NAMES.map((name) => {
    const override = overrides[name] ?? {};
    const requestsPerMinute = override.requestsPerMinute ?? DEFAULT_TIERS[name].requestsPerMinute;
    const burst = override.burst ?? (override.requestsPerMinute !== undefined ? requestsPerMinute : DEFAULT_TIERS[name].burst);
    for (const [field, value] of [['requestsPerMinute', requestsPerMinute], ['burst', burst]] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new Error(`Tier "${name}": ${field} must be a positive whole number; got ${value}.`);
      }
    }
    return [name, { requestsPerMinute, burst }] as const;
  });
  const unknown = Object.keys(overrides).filter((name) => !isTierName(name));
  if (unknown.length > 0) {
    throw new Error(`Unknown tier(s) ${unknown.join(', ')}; the tiers are ${TIER_NAMES.join(', ')}.`);
  }
  return Object.fromEntries(entries) as Record<TierName, TierLimit>;
}
