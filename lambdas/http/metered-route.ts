import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { RouteAccess } from '../../contracts/metered-api';
import { RESERVED_TENANT_IDS } from '../../contracts/tenants';
import { UsageCaller, currentUsageContext } from '../../sdk/usage-context';
import { Principal, fromAuthorizerContext, mayAccess } from '../auth/authenticator';
import type { KeyStatus } from '../credentials/credential-store';
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

/**
 * API Gateway's own answer when a Lambda authorizer says `isAuthorized: false` (a 403 with this
 * body and a JSON content type; https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html).
 * A route answers a credential that leads to no tenant with exactly these bytes, so that a caller
 * cannot tell a credential mapped to a tenant that does not exist from one the authorizer refused.
 */
export const GATEWAY_FORBIDDEN: JsonResult = { statusCode: 403, headers: { 'content-type': 'application/json' }, body: '{"message":"Forbidden"}' };

/** The limiter found no tenant for the credential: answered as {@link GATEWAY_FORBIDDEN}. */
class NoSuchTenant extends Error {}

export interface MeteredRouteOptions {
  readonly access: RouteAccess;
  /** Whether calls consume the caller's rate limit. */
  readonly metered: boolean;
  /** The limiter of metered routes; a function whose routes are all unmetered has none (and none in its bundle). */
  readonly limiter?: TokenBucketLimiter;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * Reads an API key's current status, on every request of a route the limiter does not check
   * (admin routes): the authorizer's answer may be cached, so this is what makes a block, unblock
   * or revocation of such a key act on the very next request.
   * @default - no check beyond the authorizer's
   */
  readonly keyStatus?: (keyId: string) => Promise<KeyStatus | undefined>;
  /**
   * Called with each admitted decision that carries a quota, to raise the account event of a
   * request that brings its tenant's count to 80 % or 100 % (`quotaThresholdRecorder` of
   * lambdas/account-events/account-event-log.ts: a log line, no network call). A hook rather than
   * an import, so that functions without metered routes do not bundle it.
   * @default - quota thresholds raise no event
   */
  readonly quotaThresholds?: (decision: NonNullable<RouteRequest['decision']>, tenantId: string) => void;
}

/** Why a principal that may not call a route of this access is refused. */
const FORBIDDEN_MESSAGES: Readonly<Record<RouteAccess, string>> = {
  admin: 'This route needs the admin scope.',
  tenant: 'This route is for tenant credentials.',
  account: "This route is for a signed-in account's access token (POST /v1/auth/login), not an API key or a token minted from one.",
};

/**
 * The adapter every route shares: checks the authorizer's principal against the route's access
 * (again: authorizer answers are cached per credential, not per route), asks the limiter, runs the
 * route's logic, and answers with rate-limit headers — 403, 429 or a JSON error when it must.
 *
 * The authorizer's context is what API Gateway cached for this credential (HTTP API simple
 * responses "fully allow or deny all API requests that match the cached identity source values",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html#http-api-lambda-authorizer.caching),
 * so nothing in it that can change is trusted here: blocks, revocations and the tier come from the
 * limiter's item (or the key's record), read by this very request. The same goes for the usage
 * event: it names the tenant the request was for (`operator` on admin routes, `anonymous` without a
 * verified credential) and the tier the limiter enforced.
 */
export function meteredRoute(logic: RouteLogic, options: MeteredRouteOptions): (event: AuthorizedEvent) => Promise<JsonResult> {
  const { limiter, logger, metrics } = options;
  if (options.metered && !limiter) throw new Error('A metered route needs the limiter: wire its function with routeWiring, not unmeteredRouteWiring.');
  return async (event) => {
    const requestId = event.requestContext.requestId;
    const usage = currentUsageContext();
    try {
      const principal = fromAuthorizerContext(event.requestContext.authorizer?.lambda);
      if (usage) usage.caller = usageCaller(principal);
      if (!principal) throw new HttpError(401, 'unauthorized', 'No credential was verified for this request.');
      if (!mayAccess(principal, options.access)) {
        throw new HttpError(403, 'forbidden', FORBIDDEN_MESSAGES[options.access]);
      }
      if (!options.metered && principal.keyId && options.keyStatus) refuseUnlessActive(await options.keyStatus(principal.keyId));
      let admitted: RouteRequest['decision'];
      let headers: Record<string, string> = {};
      if (options.metered) {
        // mayAccess admits only tenants to a tenant route, and only tenant routes are metered.
        if (principal.kind !== 'tenant') throw new HttpError(403, 'forbidden', 'This route is for tenant credentials.');
        const decision = await (limiter as TokenBucketLimiter).decide({ tenantId: principal.tenantId, keyId: principal.keyId, tierHint: principal.tier });
        metrics.addMetric(`limiter.${decision.outcome}`, MetricUnit.Count, 1);
        if (usage) usage.caller = usageCaller(principal, decision.tier);
        headers = rateLimitHeaders(decision);
        admitted = refuseUnlessAdmitted(decision, principal, headers, logger);
        if (admitted?.quota) options.quotaThresholds?.(admitted, principal.tenantId);
      }
      const response = await logic({ event, principal, decision: admitted });
      return json(response.statusCode, response.body, { ...headers, ...response.headers });
    } catch (error) {
      if (error instanceof NoSuchTenant) return { ...GATEWAY_FORBIDDEN, headers: { ...GATEWAY_FORBIDDEN.headers } };
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

/**
 * Who a request's usage event names: the tenant, for tenant credentials; the reserved `operator`
 * for admins and `anonymous` without a verified credential, which are recorded but never billed.
 * The tier is the limiter's, once it has decided; never the authorizer's, which may be cached.
 */
function usageCaller(principal: Principal | undefined, tier?: string): UsageCaller {
  if (!principal) return { tenantId: RESERVED_TENANT_IDS.anonymous };
  const apiKey = principal.keyId ? { apiKeyId: principal.keyId } : {};
  if (principal.kind === 'admin') return { tenantId: RESERVED_TENANT_IDS.operator, ...apiKey };
  return { tenantId: principal.tenantId, ...apiKey, ...(tier ? { tier } : {}) };
}

/**
 * Writes the account event of a request whose admission reached a quota threshold (80 % or 100 %
 * of the period's requests): exactly one request per period and threshold reaches it, since the
 * limiter's conditional write adds 1 per admission. Its id names the threshold, tenant and period.
 */
function refuseUnlessActive(status: KeyStatus | undefined): void {
  if (status === 'active') return;
  if (status === 'blocked') throw new HttpError(403, 'key-blocked', refusalMessage('key-blocked'));
  if (status === 'revoked') throw new HttpError(403, 'key-revoked', refusalMessage('key-revoked'));
  throw new HttpError(403, 'forbidden', 'The API key is not registered.');
}

function refuseUnlessAdmitted(decision: LimitDecision, principal: Principal, headers: Record<string, string>, logger: Logger): RouteRequest['decision'] {
  switch (decision.outcome) {
    case 'admitted':
      return decision;
    case 'rate-limited':
      throw new HttpError(429, 'rate-limited', `Rate limit of the ${decision.tier} tier (${decision.policy.requestsPerMinute}/min, burst ${decision.policy.burst}) exceeded; retry after ${decision.retryAfterSeconds} s.`, headers);
    case 'quota-exceeded':
      // Retry-After (in the headers) is the end of the quota's period: no earlier retry can succeed.
      throw new HttpError(
        429,
        'quota-exceeded',
        `Quota of the ${decision.tier} tier (${decision.quota.limit} requests per ${decision.quota.period}, UTC) used up; it resets in ${decision.retryAfterSeconds} s.`,
        headers,
      );
    case 'refused':
      if (decision.reason === 'unknown-tenant') {
        // A dangling credential (a mapping or key of a tenant removed behind the API's back) is an operator's matter.
        logger.warn('credential names a tenant without a limiter item; answered as the gateway refuses', { tenantId: principal.kind === 'tenant' ? principal.tenantId : undefined });
        throw new NoSuchTenant('no limiter item for the tenant');
      }
      throw new HttpError(403, decision.reason, refusalMessage(decision.reason));
    case 'store-throttled':
      // DynamoDB throttled the tenant's own item, which the tenant's traffic can cause: never an admission.
      logger.warn('limiter store throttled the tenant item', { error: decision.error, tier: decision.tier });
      throw new HttpError(429, 'rate-limited', `Too many requests for this tenant right now; retry after ${decision.retryAfterSeconds} s.`, {
        'Retry-After': String(decision.retryAfterSeconds),
      });
    case 'store-unavailable':
      logger.error('limiter store unavailable', { error: decision.error, failMode: decision.policy.failMode, tier: decision.tier, standing: decision.standing });
      // Failing open decides the rate only: the limiter admits only a caller whose blocks and
      // revocations it knows, and never one the authorizer saw blocked.
      if (decision.admitted && principal.standing !== undefined && principal.standing !== 'active') {
        throw new HttpError(403, principal.standing, refusalMessage(principal.standing));
      }
      if (decision.admitted && decision.standing !== 'unknown') return undefined;
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
