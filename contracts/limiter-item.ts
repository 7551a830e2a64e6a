/**
 * The limiter item's attribute names: written by the limiter (lambdas/limiter), read by the IAM
 * grant of the tenant functions (lib/metered-http-api.ts), which may touch no other attribute.
 */

/** Attribute names of a limiter item, besides the day and month counters. */
export const LIMITER_ATTRIBUTES = {
  pk: 'pk',
  tat: 'tat',
  tier: 'tier',
  blocked: 'blocked',
  blockedKeys: 'blockedKeys',
  revokedKeys: 'revokedKeys',
  /** The revoked keys as the limiter last noted them, and when (pruned after the retention). */
  revokedSeen: 'revokedSeen',
  revokedSeenAt: 'revokedSeenAt',
} as const;

/** A day's request count (UTC): `d<YYYY-MM-DD>`. */
export const dayCounter = (at: Date) => `d${at.toISOString().slice(0, 10)}`;
/** A month's request count (UTC): `m<YYYY-MM>`. */
export const monthCounter = (at: Date) => `m${at.toISOString().slice(0, 7)}`;

/**
 * The counters' names as IAM `StringLike` patterns: `?` matches exactly one character, so these
 * match `d2026-11-30` and `m2026-11` and nothing longer or shorter.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
 */
const COUNTER_NAME_PATTERNS = ['d????-??-??', 'm????-??'] as const;

/**
 * Every attribute name a tenant function's request to the limiter table may carry (key, update
 * and condition expressions, projections), for `ForAllValues:StringLike` on `dynamodb:Attributes`.
 */
export const LIMITER_ATTRIBUTE_PATTERNS: readonly string[] = [...Object.values(LIMITER_ATTRIBUTES), ...COUNTER_NAME_PATTERNS];
