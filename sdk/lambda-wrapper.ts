import { performance } from 'node:perf_hooks';
import { parseAuthorizerContext } from '../contracts/authorizer-context';
import { RequestTrackingOptions, UsageRecorder, recordRequest } from './request-usage';
import { UNMATCHED_ROUTE } from './route-template';
import { UsageCaller, UsageRequestContext, runWithUsageContext } from './usage-context';

/** The parts of an API Gateway proxy event (REST v1 or HTTP API v2) the wrapper reads. */
export interface ApiGatewayProxyEventLike {
  readonly version?: string;
  /** v2: `GET /v1/orders/{id}` or `$default`. */
  readonly routeKey?: string;
  /** v1: the HTTP method. */
  readonly httpMethod?: string;
  /** v1: the resource template, `/v1/orders/{id}`. */
  readonly resource?: string;
  readonly headers?: Record<string, string | undefined> | null;
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  readonly requestContext?: {
    readonly http?: { readonly method?: string };
    readonly authorizer?: Record<string, unknown> | null;
  };
}

/** A proxy result: an object with `statusCode`, or (HTTP API v2) any other value, meaning 200. */
export type ApiGatewayProxyResultLike = { statusCode?: number; body?: string; isBase64Encoded?: boolean } | string | object | undefined;

/** Options of {@link withUsageTracking}. */
export interface LambdaUsageTrackingOptions<E extends ApiGatewayProxyEventLike> extends RequestTrackingOptions {
  /**
   * Who is calling.
   * @default - from the Lambda authorizer context (`tenantId`, `userId`, `apiKeyId`, `tier`), else tenant `anonymous`
   */
  readonly resolveCaller?: (event: E) => UsageCaller | undefined;
}

/**
 * Wraps a Lambda handler behind API Gateway (REST API v1 or HTTP API v2 events) so that each
 * invocation records one usage event, and flushes the publisher before the invocation returns
 * (Lambda freezes the process afterwards). A thrown error is recorded as 500 and rethrown.
 *
 * @example
 * export const handler = withUsageTracking(publisher, async (event) => ({ statusCode: 200, body: '[]' }));
 */
export function withUsageTracking<E extends ApiGatewayProxyEventLike, C, R extends ApiGatewayProxyResultLike>(
  publisher: UsageRecorder,
  handler: (event: E, context: C) => Promise<R>,
  options: LambdaUsageTrackingOptions<E> = {},
): (event: E, context: C) => Promise<R> {
  return async (event, lambdaContext) => {
    const started = performance.now();
    const usage: UsageRequestContext = {};
    let statusCode = 500;
    let responseBytes: number | undefined;
    try {
      const result = await runWithUsageContext(usage, () => handler(event, lambdaContext));
      statusCode = statusOf(result);
      responseBytes = bodyBytes(result);
      return result;
    } finally {
      const { method, operation } = routeOf(event);
      let caller: UsageCaller | undefined;
      try {
        caller = (options.resolveCaller ?? callerFromAuthorizer)(event);
      } catch (error) {
        options.onTrackingError?.(error as Error);
      }
      recordRequest(
        publisher,
        {
          method,
          operation,
          statusCode,
          latencyMs: performance.now() - started,
          requestBytes: bodyBytes(event),
          responseBytes,
          caller,
          context: usage,
        },
        options,
      );
      await publisher.flush();
    }
  };
}

/** Method and route template of a v1 or v2 event. */
export function routeOf(event: ApiGatewayProxyEventLike): { method: string; operation: string } {
  if (event.version === '2.0' || event.routeKey !== undefined) {
    const method = (event.requestContext?.http?.method ?? 'GET').toUpperCase();
    const routeKey = event.routeKey;
    if (!routeKey || routeKey === '$default') return { method, operation: `${method} ${UNMATCHED_ROUTE}` };
    // `ANY /v1/{proxy+}` records the method actually used.
    return { method, operation: routeKey.replace(/^ANY /, `${method} `) };
  }
  const method = (event.httpMethod ?? 'GET').toUpperCase();
  return { method, operation: event.resource ? `${method} ${event.resource}` : `${method} ${UNMATCHED_ROUTE}` };
}

/**
 * The caller the Lambda authorizer put in the request context (v2 `authorizer.lambda`, v1
 * `authorizer`), read with the authorizer context's one parser (contracts/authorizer-context.ts).
 */
export function callerFromAuthorizer(event: ApiGatewayProxyEventLike): UsageCaller | undefined {
  const context = parseAuthorizerContext(event.requestContext?.authorizer);
  if (context?.tenantId === undefined) return undefined;
  return { tenantId: context.tenantId, userId: context.userId, apiKeyId: context.apiKeyId, tier: context.tier };
}

function statusOf(result: ApiGatewayProxyResultLike): number {
  if (result && typeof result === 'object' && 'statusCode' in result && typeof result.statusCode === 'number') return result.statusCode;
  return 200;
}

function bodyBytes(message: unknown): number | undefined {
  if (!message || typeof message !== 'object' || !('body' in message)) return undefined;
  const { body, isBase64Encoded } = message as { body?: unknown; isBase64Encoded?: boolean };
  if (typeof body !== 'string') return undefined;
  return isBase64Encoded ? Buffer.from(body, 'base64').byteLength : Buffer.byteLength(body);
}
