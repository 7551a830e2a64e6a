import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { BUILT_IN_ROUTES, CredentialSource, RouteAccess } from '../../contracts/metered-api';
import { AuthorizerContext, Authenticator, mayAccess, toAuthorizerContext } from '../auth/authenticator';

/** Access and credential source of a route: built-in routes by their table, routes added by users are tenant routes. */
export function routePolicy(routeKey: string): { access: RouteAccess; credential: CredentialSource } {
  const route = BUILT_IN_ROUTES.find((r) => r.routeKey === routeKey);
  return route ? { access: route.access, credential: route.credential } : { access: 'tenant', credential: 'authorization' };
}

/**
 * The Lambda REQUEST authorizer (simple responses): authenticates the route's credential and
 * answers `isAuthorized` with the principal as context. It never throws for a bad credential —
 * API Gateway answers 403 for `false` — and never echoes why to the caller.
 *
 * API Gateway caches the answer per identity source value (the credential) for the authorizer's
 * TTL and, with simple responses, applies it to every route of the authorizer
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html#http-api-lambda-authorizer.caching).
 * So it answers `false` only for what never changes back — a credential that does not verify, a
 * revoked key, the wrong kind of principal for the route — and lets blocked keys and tenants
 * through with their standing in the context: the route refuses them from the current state,
 * with a JSON body (a simple response can only make API Gateway answer 401, 403 or 500, with its
 * own body), and an unblock is not held back by a cached refusal.
 */
export function authorizeRequest(authenticator: Authenticator, logger: Logger, metrics: Metrics) {
  return async (event: APIGatewayRequestAuthorizerEventV2): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext | Record<string, never>>> => {
    const { access, credential } = routePolicy(event.routeKey);
    try {
      const outcome = await authenticator.authenticate(event.headers ?? {}, credential);
      if (!outcome.ok) {
        logger.info('credential refused', { reason: outcome.reason, routeKey: event.routeKey });
        metrics.addMetric('authorizer.refused', MetricUnit.Count, 1);
        return { isAuthorized: false, context: {} };
      }
      if (!mayAccess(outcome.principal, access)) {
        logger.info('route not allowed for this principal', { routeKey: event.routeKey, kind: outcome.principal.kind });
        metrics.addMetric('authorizer.refused', MetricUnit.Count, 1);
        return { isAuthorized: false, context: {} };
      }
      metrics.addMetric('authorizer.allowed', MetricUnit.Count, 1);
      if (outcome.principal.standing !== undefined && outcome.principal.standing !== 'active') {
        logger.info('blocked credential passed on for the route to refuse', { standing: outcome.principal.standing, routeKey: event.routeKey });
      }
      return { isAuthorized: true, context: toAuthorizerContext(outcome.principal) };
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}
