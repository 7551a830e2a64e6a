import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { TokenResponse } from '../../contracts/api-schemas';
import { RESERVED_TENANT_IDS } from '../../contracts/tenants';
import { currentUsageContext } from '../../sdk/usage-context';
import { HttpError, JsonResult, errorResult } from '../http/responses';
import { AuthorizedEvent, MeteredRouteOptions, RouteLogic, meteredRoute } from '../http/metered-route';
import { InvalidSourceIpError, SourceIpDecision, SourceIpGuard } from '../limiter/source-ip-guard';
import { TokenService } from '../tokens/token-service';

/** POST /v1/auth/token: an API key (x-api-key) for a short-lived Bearer token, client-credentials style. */
export function tokenRoute(tokens: TokenService): RouteLogic {
  return async ({ principal, decision }) => {
    if (principal.kind !== 'tenant' || principal.via !== 'api-key' || !principal.keyId) {
      throw new HttpError(403, 'forbidden', 'Tokens are issued for API keys only.');
    }
    const { token, expiresIn } = await tokens.mintTenantToken({ tenantId: principal.tenantId, keyId: principal.keyId, tier: decision?.tier ?? principal.tier ?? 'free' });
    return { statusCode: 200, body: { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: principal.scopes.join(' ') } satisfies TokenResponse };
  };
}

/** The name of the source IP policy in the RateLimit headers of its refusals. */
export const SOURCE_IP_POLICY_NAME = 'source-ip';

/**
 * The token exchange: the source IP guard decides first, before anything looks at the credential
 * (the route's `meteredRoute`, then {@link tokenRoute}), so that its refusal is the same whatever
 * the credential. The source IP is `requestContext.http.sourceIp` of the payload format 2.0 event
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html),
 * the value of `$context.identity.sourceIp`, "the source IP address of the TCP connection making the
 * request to API Gateway" (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html);
 * the local gateway puts the socket's peer address there.
 */
export function tokenExchange(
  tokens: TokenService,
  options: MeteredRouteOptions,
  guard: SourceIpGuard,
  clock: () => number = guard.clock,
): (event: AuthorizedEvent) => Promise<JsonResult> {
  const route = meteredRoute(tokenRoute(tokens), options);
  return async (event) => {
    let decision: SourceIpDecision;
    try {
      decision = await guard.decide(event.requestContext.http.sourceIp, clock());
    } catch (error) {
      if (!(error instanceof InvalidSourceIpError)) throw error;
      options.logger.error('request without a source IP', { sourceIp: event.requestContext.http.sourceIp });
      return refusal(new HttpError(400, 'invalid-source-ip', 'The request\'s source address could not be read.'), event);
    }
    options.metrics.addMetric(`sourceIp.${decision.outcome}`, MetricUnit.Count, 1);
    if (decision.outcome === 'admitted') return route(event);
    if (decision.outcome === 'store-unavailable') {
      // Fails open: the authorizer has verified the key before this route runs, and the route's own
      // limiter applies the tenant tier's fail mode; a DynamoDB hiccup must not stop every exchange.
      options.logger.error('source IP guard store unavailable; the exchange goes on without it', { error: decision.error });
      return route(event);
    }
    // The route publishes its metrics when it runs; a refusal here publishes this one itself.
    options.metrics.publishStoredMetrics();
    return refusal(new HttpError(429, 'rate-limited', refusalMessage(decision, guard), sourceIpHeaders(decision, guard)), event);
  };
}

/** A refusal before the credential is looked at: recorded as `anonymous` usage (never billed), whatever the credential. */
function refusal(error: HttpError, event: AuthorizedEvent): JsonResult {
  const usage = currentUsageContext();
  if (usage) usage.caller = { tenantId: RESERVED_TENANT_IDS.anonymous };
  return errorResult(error, event.requestContext.requestId);
}

function refusalMessage(decision: Extract<SourceIpDecision, { outcome: 'limited' | 'banned' }>, guard: SourceIpGuard): string {
  const { requestsPerMinute } = guard.policy.limit;
  if (decision.outcome === 'banned') {
    return `Too many requests refused from this address: it is banned for a while; retry after ${decision.retryAfterSeconds} s.`;
  }
  return `Rate limit of ${requestsPerMinute} requests per minute from one address exceeded; retry after ${decision.retryAfterSeconds} s.`;
}

/**
 * The headers of a source IP refusal, in the form `rateLimitHeaders` (lambdas/http/rate-limit-headers.ts)
 * gives a tier's: the policy (quota per 60 s window), nothing remaining until the wait is over, and
 * `Retry-After` (https://www.rfc-editor.org/rfc/rfc9110#section-10.2.3).
 */
export function sourceIpHeaders(decision: Extract<SourceIpDecision, { outcome: 'limited' | 'banned' }>, guard: SourceIpGuard): Record<string, string> {
  const { burst, requestsPerMinute } = guard.policy.limit;
  const wait = String(decision.retryAfterSeconds);
  const policy = `"${SOURCE_IP_POLICY_NAME}"`;
  return {
    'RateLimit-Policy': `${policy};q=${burst};w=60`,
    RateLimit: `${policy};r=0;t=${wait}`,
    'X-RateLimit-Limit': String(requestsPerMinute),
    'X-RateLimit-Remaining': '0',
    'X-RateLimit-Reset': wait,
    'Retry-After': wait,
  };
}
