import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { AuthorizerConfig } from '../../contracts/metered-api';
import { AuthorizerContext, Authenticator, mayAccess, toAuthorizerContext } from '../auth/authenticator';

/**
 * The Lambda REQUEST authorizer (simple responses): authenticates the route's credential and
 * answers `isAuthorized` with the principal as context. It never throws for a bad credential —
 * API Gateway answers 403 for `false` — and never echoes why to the caller.
 *
 * Which access it grants and which header it reads come from its own configuration (`config`:
 * in AWS the alias through which its authorizer invokes the function, set by the stack for that
 * authorizer only), never from the request: the event's `routeKey` names the route, but a route
 * added with `addMeteredRoute` is in no table, and an access looked up by route would treat it as
 * a tenant route whatever it declared. Each (access, credential source) has an authorizer of its
 * own, so a route is guarded exactly as the authorizer it is attached to.
 *
 * API Gateway caches the answer per identity source value (the credential) for the authorizer's
 * TTL and, with simple responses, applies it to every route of the authorizer
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html#http-api-lambda-authorizer.caching).
 * All routes of an authorizer share its access, so a cached answer is right for each of them; the
 * admin authorizer does not cache at all. The authorizer answers `false` only for what never
 * changes back — a credential that does not verify, a revoked key, the wrong kind of principal —
 * and lets blocked keys and tenants through with their standing in the context: the route refuses
 * them from the current state, with a JSON body (a simple response can only make API Gateway
 * answer 401, 403 or 500, with its own body), and an unblock is not held back by a cached refusal.
 * An allow is cached for `config.cacheTtlSeconds`, so a token is allowed only if it is still valid
 * then.
 */
export function authorizeRequest(authenticator: Authenticator, config: AuthorizerConfig, logger: Logger, metrics: Metrics) {
  return async (event: APIGatewayRequestAuthorizerEventV2): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext | Record<string, never>>> => {
    const { access, credential } = config;
    try {
      const outcome = await authenticator.authenticate(event.headers ?? {}, credential, { answerHeldForSeconds: config.cacheTtlSeconds });
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
