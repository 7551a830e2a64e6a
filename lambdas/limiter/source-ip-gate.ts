import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { RESERVED_TENANT_IDS } from '../../contracts/tenants';
import { currentUsageContext } from '../../sdk/usage-context';
import { HttpError, JsonResult, errorResult } from '../http/responses';
import { InvalidSourceIpError, SourceIpDecision, SourceIpGuard } from './source-ip-guard';

/** The name of the source IP policy in the RateLimit headers of its refusals. */
export const SOURCE_IP_POLICY_NAME = 'source-ip';

/** How a {@link sourceIpGate} answers when the guard cannot decide. */
export interface SourceIpGateOptions {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * What a request gets when the guard's table does not answer: `admit` (the route goes on without
   * the guard) or the refusal to answer instead.
   */
  readonly whenStoreUnavailable: 'admit' | HttpError;
  /** The time to decide at (ms since the epoch). @default guard.clock */
  readonly clock?: () => number;
}

/**
 * A route behind the per-source-IP guard (lambdas/limiter/source-ip-guard.ts): the guard decides
 * first, before the route looks at anything of the request (credential, body), so that its refusal
 * is the same whatever the request carries. The source IP is `requestContext.http.sourceIp` of the
 * payload format 2.0 event (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html),
 * the value of `$context.identity.sourceIp`, "the source IP address of the TCP connection making the
 * request to API Gateway" (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html);
 * the local gateway puts the socket's peer address there.
 *
 * A refusal here is recorded as `anonymous` usage (never billed), whatever the request carries, and
 * publishes the gate's metric itself (the route, which publishes its own, does not run).
 */
export function sourceIpGate<E extends APIGatewayProxyEventV2>(
  route: (event: E) => Promise<JsonResult>,
  guard: SourceIpGuard,
  options: SourceIpGateOptions,
): (event: E) => Promise<JsonResult> {
  const { logger, metrics } = options;
  const clock = options.clock ?? guard.clock;
  return async (event) => {
    let decision: SourceIpDecision;
    try {
      decision = await guard.decide(event.requestContext.http.sourceIp, clock());
    } catch (error) {
      if (!(error instanceof InvalidSourceIpError)) throw error;
      logger.error('request without a source IP', { sourceIp: event.requestContext.http.sourceIp });
      return refusal(new HttpError(400, 'invalid-source-ip', 'The request\'s source address could not be read.'), event);
    }
    metrics.addMetric(`sourceIp.${decision.outcome}`, MetricUnit.Count, 1);
    if (decision.outcome === 'admitted') return route(event);
    if (decision.outcome === 'store-unavailable') {
      logger.error('source IP guard store unavailable', { error: decision.error, admitted: options.whenStoreUnavailable === 'admit' });
      if (options.whenStoreUnavailable === 'admit') return route(event);
      metrics.publishStoredMetrics();
      return refusal(options.whenStoreUnavailable, event);
    }
    metrics.publishStoredMetrics();
    return refusal(new HttpError(429, 'rate-limited', refusalMessage(decision, guard), sourceIpHeaders(decision, guard)), event);
  };
}

/** A refusal before the request is looked at: recorded as `anonymous` usage (never billed), whatever the credential. */
function refusal(error: HttpError, event: APIGatewayProxyEventV2): JsonResult {
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
