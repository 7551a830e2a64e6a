import { RouteLogic } from '../http/metered-route';
import { HttpError } from '../http/responses';

/** GET /v1/usage: the caller's tier, limit, what is left, when it resets, and counts today and this month. */
export function usageRoute(): RouteLogic {
  return async ({ principal, decision }) => {
    if (!decision) throw new HttpError(503, 'limiter-unavailable', 'Usage is unavailable while rate limiting is degraded; retry shortly.');
    return {
      statusCode: 200,
      body: {
        tenantId: principal.tenantId,
        tier: decision.tier,
        limit: { requestsPerMinute: decision.policy.requestsPerMinute, burst: decision.policy.burst },
        remaining: decision.remaining,
        resetSeconds: decision.resetSeconds,
        counts: { today: decision.countToday, thisMonth: decision.countThisMonth },
      },
    };
  };
}
