/**
 * The limiter item's attribute names: written by the limiter (lambdas/limiter), read by the IAM
 * grant of the tenant functions (lib/metered-http-api.ts), which may touch no other attribute.
 */

import type { QuotaPeriod } from './tiers';

/** Attribute names of a limiter item, besides the day, week and month counters. */
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

const DAY_MS = 86_400_000;

/** Midnight (UTC) of the Monday that starts the ISO 8601 week of `at`. */
function weekStart(at: Date): number {
  const midnight = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate());
  return midnight - ((at.getUTCDay() + 6) % 7) * DAY_MS;
}

/**
 * An ISO 8601 week's request count (UTC): `w<YYYY>-W<ww>`, the week-numbering year and week
 * (weeks start on Monday; week 1 holds the year's first Thursday), so `w2026-W53` runs from
 * 2026-12-28 to 2027-01-03. Written only by limiters with a tier whose quota is weekly.
 */
export const weekCounter = (at: Date) => {
  const thursday = new Date(weekStart(at) + 3 * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return `w${String(year)}-W${String(week).padStart(2, '0')}`;
};

/** The counter that holds a quota period's count at `at`: the day's, the ISO week's or the month's. */
export function periodCounter(period: QuotaPeriod, at: Date): string {
  return { day: dayCounter, week: weekCounter, month: monthCounter }[period](at);
}

/** When the period holding `at` started and when the next one starts (ms since the epoch, UTC). */
export function periodBounds(period: QuotaPeriod, at: Date): { readonly start: number; readonly end: number } {
  if (period === 'week') {
    const start = weekStart(at);
    return { start, end: start + 7 * DAY_MS };
  }
  const [year, month, date] = [at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()];
  return period === 'day'
    ? { start: Date.UTC(year, month, date), end: Date.UTC(year, month, date + 1) }
    : { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) };
}

/**
 * The counters' names as IAM `StringLike` patterns: `?` matches exactly one character, so these
 * match `d2026-11-30`, `m2026-11` and `w2026-W48` and nothing longer or shorter.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
 */
const COUNTER_NAME_PATTERNS = ['d????-??-??', 'm????-??', 'w????-W??'] as const;

/**
 * Every attribute name a tenant function's request to the limiter table may carry (key, update
 * and condition expressions, projections), for `ForAllValues:StringLike` on `dynamodb:Attributes`.
 */
export const LIMITER_ATTRIBUTE_PATTERNS: readonly string[] = [...Object.values(LIMITER_ATTRIBUTES), ...COUNTER_NAME_PATTERNS];
