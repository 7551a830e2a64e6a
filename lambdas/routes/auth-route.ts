import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type * as z from 'zod/mini';
import { confirmBody, loginBody, refreshBody, registerBody } from '../../contracts/account-request-schemas';
import { METERED_API_SERVICE } from '../../contracts/metered-api';
import { RESERVED_TENANT_IDS } from '../../contracts/tenants';
import { withUsageTracking } from '../../sdk/lambda-wrapper';
import { ACCOUNTS_RETRY_AFTER_SECONDS, AccountError, AccountErrorCode, AccountService } from '../accounts/account-service';
import { HttpError, JsonResult, errorResult, json, parseJsonBody } from '../http/responses';
import { sourceIpGate } from '../limiter/source-ip-gate';
import type { SourceIpGuard } from '../limiter/source-ip-guard';
import type { UsageLogWriter } from '../usage-log/usage-log-writer';

/** The status of each account refusal (the statuses contracts/openapi.ts lists for these routes). */
const STATUS_OF: Readonly<Record<AccountErrorCode, number>> = {
  'invalid-password': 400,
  'invalid-body': 400,
  'invalid-code': 400,
  'invalid-credentials': 401,
  'account-not-confirmed': 403,
  'password-reset-required': 403,
  'accounts-unavailable': 503,
};

/**
 * A deployment without a user pool (no `ACCOUNTS_*` environment) answers every account route so.
 * 503 rather than 404: the routes exist in every stack (the OpenAPI document lists them), only their
 * backend is missing; no `Retry-After`, since waiting does not bring one.
 */
const NO_POOL = new HttpError(503, 'accounts-unavailable', 'Accounts are not enabled on this deployment: it has no user pool.');

/**
 * What a problem of a body is, in a few words, for the issues these bodies can have; a schema's own
 * message (the code's) comes first. zod's English locale would say the same at 2.7 KB of bundle.
 */
function plainMessage(issue: z.core.$ZodRawIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
    case 'invalid_format':
      return `not a valid ${issue.format}`;
    case 'too_small':
      return `must be at least ${String(issue.minimum)} long`;
    case 'too_big':
      return `must be at most ${String(issue.maximum)} long`;
    default:
      return 'not valid';
  }
}

/** Validates a body against its schema, or refuses it 400 `invalid-body` naming the field (never echoing a value). */
export function validBody<T>(schema: z.ZodMiniType<T>, body: unknown): T {
  const result = schema.safeParse(body, { error: plainMessage });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new HttpError(400, 'invalid-body', `${issue.path.join('.') || 'body'}: ${issue.message}`);
}

/** The answer of each account route: its body validated, then the service's answer. */
async function answer(accounts: AccountService, event: APIGatewayProxyEventV2): Promise<{ statusCode: number; body: unknown }> {
  const body = () => parseJsonBody(event.body, event.isBase64Encoded);
  switch (event.routeKey) {
    case 'POST /v1/auth/register':
      return { statusCode: 202, body: await accounts.register(validBody(registerBody, body())) };
    case 'POST /v1/auth/confirm':
      return { statusCode: 200, body: await accounts.confirm(validBody(confirmBody, body())) };
    case 'POST /v1/auth/login':
      return { statusCode: 200, body: await accounts.login(validBody(loginBody, body())) };
    case 'POST /v1/auth/refresh':
      return { statusCode: 200, body: await accounts.refresh(validBody(refreshBody, body())) };
    case 'POST /v1/auth/logout':
      return { statusCode: 200, body: await accounts.logout(validBody(refreshBody, body())) };
    default:
      throw new HttpError(404, 'not-found', `No account route ${event.routeKey}.`);
  }
}

/**
 * POST /v1/auth/register, /confirm, /login, /refresh and /logout (PUBLIC_ROUTES, handler `auth`):
 * no authorizer, the body validated against its zod schema (contracts/api-schemas.ts), then the
 * account service (lambdas/accounts/account-service.ts). Nothing of a request (its body, a
 * password, a token) is logged.
 */
export function authRoute(
  accounts: AccountService | undefined,
  options: { readonly logger: Logger; readonly metrics: Metrics },
): (event: APIGatewayProxyEventV2) => Promise<JsonResult> {
  const { logger, metrics } = options;
  return async (event) => {
    const requestId = event.requestContext.requestId;
    try {
      if (!accounts) throw NO_POOL;
      const { statusCode, body } = await answer(accounts, event);
      return json(statusCode, body);
    } catch (error) {
      if (error instanceof HttpError) return errorResult(error, requestId);
      if (error instanceof AccountError) {
        metrics.addMetric(`accounts.${error.code}`, MetricUnit.Count, 1);
        const retry: Record<string, string> = error.code === 'accounts-unavailable' ? { 'Retry-After': String(ACCOUNTS_RETRY_AFTER_SECONDS) } : {};
        return errorResult(new HttpError(STATUS_OF[error.code], error.code, error.message, retry), requestId);
      }
      logger.error('account route failed', { error: error as Error, requestId, routeKey: event.routeKey });
      metrics.addMetric('routeErrors', MetricUnit.Count, 1);
      return errorResult(new HttpError(500, 'internal', 'The request failed; it has been logged.'), requestId);
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}

/** What the account routes' function is composed of. */
export interface AuthHandlerDependencies {
  /** The account service; undefined on a deployment without a user pool. */
  readonly accounts: AccountService | undefined;
  /** The per-source-IP guard; undefined behind CloudFront, whose WAF limits per viewer instead. */
  readonly sourceIpGuard: SourceIpGuard | undefined;
  readonly usageLog: UsageLogWriter;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * The function of the account routes: {@link authRoute} behind the source IP guard, which decides
 * before the body is read, as on the token exchange; every answer recorded as `anonymous` usage
 * (never billed). When the guard's table does not answer, the routes refuse (503): unlike the token
 * exchange, nothing has verified the caller, and the guard is what bounds password guessing here.
 */
export function createAuthHandler(deps: AuthHandlerDependencies): (event: APIGatewayProxyEventV2, context: unknown) => Promise<JsonResult> {
  const route = authRoute(deps.accounts, deps);
  const unavailable = new HttpError(503, 'accounts-unavailable', 'The account service is temporarily unavailable; retry shortly.', { 'Retry-After': '1' });
  const guarded = deps.sourceIpGuard ? sourceIpGate(route, deps.sourceIpGuard, { logger: deps.logger, metrics: deps.metrics, whenStoreUnavailable: unavailable }) : route;
  return withUsageTracking(deps.usageLog, guarded, { service: METERED_API_SERVICE, resolveCaller: () => ({ tenantId: RESERVED_TENANT_IDS.anonymous }) });
}
