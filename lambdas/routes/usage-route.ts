import type { UsageResponse } from '../../contracts/api-schemas';
import { RouteLogic } from '../http/metered-route';
import { HttpError } from '../http/responses';

/**
 * GET /v1/usage: the caller's tier, limit, what is left, when it resets, and counts today and this
 * month; with the quota's period, limit, use, remainder and reset when the tier has a quota (this
 * request counts in it, as in the counts).
 */
export function usageRoute(): RouteLogic {
  return ({ principal, decision }) => {
    if (!decision) return Promise.reject(new HttpError(503, 'limiter-unavailable', 'Usage is unavailable while rate limiting is degraded; retry shortly.'));
    const { quota } = decision;
    return Promise.resolve({
      statusCode: 200,
      body: {
        tenantId: principal.kind === 'tenant' ? principal.tenantId : undefined,
        tier: decision.tier,
        limit: { requestsPerMinute: decision.policy.requestsPerMinute, burst: decision.policy.burst },
        remaining: decision.remaining,
        resetSeconds: decision.resetSeconds,
        counts: { today: decision.countToday, thisMonth: decision.countThisMonth },
        ...(quota ? { quota: { period: quota.period, limit: quota.limit, used: quota.used, remaining: quota.remaining, resetSeconds: quota.resetSeconds } } : {}),
      } satisfies UsageResponse,
    });
  };
}
