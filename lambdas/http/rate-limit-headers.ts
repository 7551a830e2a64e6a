import type { LimitDecision } from '../limiter/token-bucket-limiter';

/**
 * Rate-limit headers of a decision: `RateLimit-Policy` and `RateLimit` as the IETF httpapi draft
 * defines them (structured fields: quota `q` per window `w`; remaining `r`, seconds to reset `t`),
 * and the widely used `X-RateLimit-*` trio. A 429 also gets `Retry-After`.
 */
export function rateLimitHeaders(decision: LimitDecision): Record<string, string> {
  if (decision.outcome !== 'admitted' && decision.outcome !== 'rate-limited') return {};
  const policy = `"${decision.tier}"`;
  const headers: Record<string, string> = {
    'RateLimit-Policy': `${policy};q=${decision.policy.burst};w=60`,
    RateLimit: `${policy};r=${decision.remaining};t=${decision.resetSeconds}`,
    'X-RateLimit-Limit': String(decision.policy.requestsPerMinute),
    'X-RateLimit-Remaining': String(decision.remaining),
    'X-RateLimit-Reset': String(decision.resetSeconds),
  };
  if (decision.outcome === 'rate-limited') headers['Retry-After'] = String(decision.retryAfterSeconds);
  return headers;
}
