import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { RouteAccess } from '../../contracts/metered-api';
import { Principal, fromAuthorizerContext, mayAccess } from '../auth/authenticator';
import { LimitDecision, TokenBucketLimiter } from '../limiter/token-bucket-limiter';
import { HttpError, JsonResult, errorResult, json } from './responses';
import { rateLimitHeaders } from './rate-limit-headers';

/** An HTTP API v2 event after a Lambda authorizer (simple responses). */
export type AuthorizedEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & { authorizer?: { lambda?: Record<string, unknown> } };
};

/** What a route's business logic receives. */
export interface RouteRequest {
  readonly event: AuthorizedEvent;
  readonly principal: Principal;
  /** The limiter's decision, for metered routes. */
  readonly decision?: Extract<LimitDecision, { outcome: 'admitted' }>;
}

/** What it returns: a status and a JSON body. */
export interface RouteResponse {
  readonly statusCode: number;
  readonly body: unknown;
  readonly headers?: Record<string, string>;
}

export type RouteLogic = (request: RouteRequest) => Promise<RouteResponse>;

export interface MeteredRouteOptions {
  readonly access: RouteAccess;
  /** Whether calls consume the caller's rate limit. */
  readonly metered: boolean;
  readonly limiter: TokenBucketLimiter;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * The adapter every route shares: checks the authorizer's principal against the route's access
 * (again: authorizer answers are cached per credential, not per route), asks the limiter, runs the
 * route's logic, and answers with rate-limit headers — 403, 429 or a JSON error when it must.
 */
export function meteredRoute(logic: RouteLogic, options: MeteredRouteOptions): (event: AuthorizedEvent) => Promise<JsonResult> {
  const { limiter, logger, metrics } = options;
  return async (event) => {
    const requestId = event.requestContext?.requestId;
    try {
      const principal = fromAuthorizerContext(event.requestContext?.authorizer?.lambda);
      if (!principal) throw new HttpError(401, 'unauthorized', 'No credential was verified for this request.');
      if (!mayAccess(principal, options.access)) {
        throw new HttpError(403, 'forbidden', options.access === 'admin' ? 'This route needs the admin scope.' : 'This route is for tenant credentials.');
      }
      let admitted: RouteRequest['decision'];
      let headers: Record<string, string> = {};
      if (options.metered) {
        const decision = await limiter.decide({ tenantId: principal.tenantId!, keyId: principal.keyId, tierHint: principal.tier });
        metrics.addMetric(`limiter.${decision.outcome}`, MetricUnit.Count, 1);
        headers = rateLimitHeaders(decision);
        admitted = refuseUnlessAdmitted(decision, headers, logger);
      }
      const response = await logic({ event, principal, decision: admitted });
      return json(response.statusCode, response.body, { ...headers, ...response.headers });
    } catch (error) {
      if (error instanceof HttpError) {
        if (error.statusCode === 429) metrics.addMetric('throttled', MetricUnit.Count, 1);
        return errorResult(error, requestId);
      }
      logger.error('route failed', { error: error as Error, requestId });
      metrics.addMetric('routeErrors', MetricUnit.Count, 1);
      return errorResult(new HttpError(500, 'internal', 'The request failed; it has been logged.'), requestId);
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}

function refuseUnlessAdmitted(decision: LimitDecision, headers: Record<string, string>, logger: Logger): RouteRequest['decision'] {
  switch (decision.outcome) {
    case 'admitted':
      return decision;
    case 'rate-limited':
      throw new HttpError(429, 'rate-limited', `Rate limit of the ${decision.tier} tier (${decision.policy.requestsPerMinute}/min, burst ${decision.policy.burst}) exceeded; retry after ${decision.retryAfterSeconds} s.`, headers);
    case 'refused':
      throw new HttpError(403, decision.reason, refusalMessage(decision.reason));
    case 'store-unavailable':
      logger.error('limiter store unavailable', { error: decision.error, failMode: decision.policy.failMode, tier: decision.tier });
      if (decision.admitted) return undefined;
      throw new HttpError(503, 'limiter-unavailable', 'Rate limiting is temporarily unavailable; retry shortly.', { 'Retry-After': '1' });
  }
}

function refusalMessage(reason: Extract<LimitDecision, { outcome: 'refused' }>['reason']): string {
  return {
    'unknown-tenant': 'The tenant is not registered.',
    'tenant-blocked': 'The tenant is blocked.',
    'key-blocked': 'The API key is blocked.',
    'key-revoked': 'The API key is revoked.',
  }[reason];
}

/** Path parameter, or 400. */
export function pathParameter(event: AuthorizedEvent, name: string): string {
  const value = event.pathParameters?.[name];
  if (!value) throw new HttpError(400, 'invalid-path', `Missing path parameter ${name}.`);
  return value;
}

export type { APIGatewayProxyStructuredResultV2 };
