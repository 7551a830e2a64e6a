import type { LimitDecision } from '../limiter/token-bucket-limiter';

/** The name of a tier's quota policy in the RateLimit fields: `<tier>-quota`. */
export const quotaPolicyName = (tier: string) => `${tier}-quota`;

/**
 * Rate-limit headers of a decision: `RateLimit-Policy` and `RateLimit` as the IETF httpapi draft
 * defines them (draft-ietf-httpapi-ratelimit-headers-10, sections 3 and 4,
 * https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/10/: each a List of
 * structured-field Items named by a String; quota `q` per window `w` seconds; remaining `r`,
 * seconds until more quota `t`), and the widely used `X-RateLimit-*` trio. The rate is the
 * `"<tier>"` policy (`q` its burst, `w` 60); a tier with a quota adds the `"<tier>-quota"` policy
 * (`q` its requests, `w` the current period's length in seconds, `t` until the period ends), as
 * the draft's "multiple policies" examples do. The `X-` trio, which holds one policy only, tells
 * the one that binds: the quota's when it is used up or has fewer requests left than the rate.
 * A 429 also gets `Retry-After`.
 */
export function rateLimitHeaders(decision: LimitDecision): Record<string, string> {
  if (decision.outcome !== 'admitted' && decision.outcome !== 'rate-limited' && decision.outcome !== 'quota-exceeded') return {};
  const rate = `"${decision.tier}"`;
  const policies = [`${rate};q=${decision.policy.burst};w=60`];
  const states = [`${rate};r=${decision.remaining};t=${decision.resetSeconds}`];
  let legacy = { limit: decision.policy.requestsPerMinute, remaining: decision.remaining, reset: decision.resetSeconds };
  const { quota } = decision;
  if (quota) {
    const name = `"${quotaPolicyName(decision.tier)}"`;
    policies.push(`${name};q=${quota.limit};w=${quota.windowSeconds}`);
    states.push(`${name};r=${quota.remaining};t=${quota.resetSeconds}`);
    if (decision.outcome === 'quota-exceeded' || quota.remaining < decision.remaining) legacy = { limit: quota.limit, remaining: quota.remaining, reset: quota.resetSeconds };
  }
  const headers: Record<string, string> = {
    'RateLimit-Policy': policies.join(', '),
    RateLimit: states.join(', '),
    'X-RateLimit-Limit': String(legacy.limit),
    'X-RateLimit-Remaining': String(legacy.remaining),
    'X-RateLimit-Reset': String(legacy.reset),
  };
  if (decision.outcome !== 'admitted') headers['Retry-After'] = String(decision.retryAfterSeconds);
  return headers;
}
