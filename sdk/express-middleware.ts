import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { RequestTrackingOptions, contentLength, recordRequest } from './request-usage';
import { operationOf } from './route-template';
import { UsageCaller, UsageRequestContext, runWithUsageContext } from './usage-context';
import { UsagePublisher } from './usage-publisher';

/** The parts of an Express request the middleware reads. */
export interface ExpressLikeRequest extends IncomingMessage {
  baseUrl?: string;
  route?: { path?: unknown };
}

/** Options of {@link usageMiddleware}. */
export interface UsageMiddlewareOptions<Req extends ExpressLikeRequest = ExpressLikeRequest, Res extends ServerResponse = ServerResponse>
  extends RequestTrackingOptions {
  /**
   * Who is calling, read when the response finishes (after authentication ran), e.g. from
   * `res.locals.auth`. Never trust a tenant header sent by the client.
   * @default - the caller set in the usage context, or tenant `anonymous`
   */
  readonly resolveCaller?: (req: Req, res: Res) => UsageCaller | undefined;
  /**
   * The product feature of a request; a handler or `@trackUsage` can also set it.
   * @default - none: queries fall back to the operation
   */
  readonly feature?: (req: Req) => string | undefined;
  /**
   * Requests not to track, such as health checks.
   * @default - every request is tracked
   */
  readonly skip?: (req: Req) => boolean;
}

type Next = (error?: unknown) => void;

/**
 * Express-style middleware (`(req, res, next)`) that records one usage event per request when its
 * response finishes: the route template (not the raw path), status, latency and bytes. Tracking
 * errors never reach the request.
 *
 * @example
 * app.use(usageMiddleware(publisher, { resolveCaller: (req, res) => res.locals.caller }));
 */
export function usageMiddleware<Req extends ExpressLikeRequest = ExpressLikeRequest, Res extends ServerResponse = ServerResponse>(
  publisher: UsagePublisher,
  options: UsageMiddlewareOptions<Req, Res> = {},
): (req: Req, res: Res, next: Next) => void {
  return (req, res, next) => {
    let context: UsageRequestContext;
    try {
      if (options.skip?.(req)) {
        next();
        return;
      }
      const started = performance.now();
      context = {};
      const feature = options.feature?.(req);
      if (feature) context.feature = feature;
      const counted = countResponseBytes(res);
      let done = false;
      const finish = (aborted: boolean) => {
        if (done) return;
        done = true;
        let caller: UsageCaller | undefined;
        try {
          caller = options.resolveCaller?.(req, res);
        } catch (error) {
          options.onTrackingError?.(error as Error);
        }
        recordRequest(
          publisher,
          {
            method: req.method ?? 'GET',
            operation: operationOf(req.method ?? 'GET', routePattern(req)),
            // 499: the client closed the connection before the response was complete.
            statusCode: aborted ? 499 : res.statusCode,
            latencyMs: performance.now() - started,
            requestBytes: contentLength(req.headers['content-length']),
            responseBytes: counted.bytes,
            caller,
            context,
          },
          options,
        );
      };
      res.once('finish', () => { finish(false); });
      res.once('close', () => { finish(!res.writableFinished); });
    } catch (error) {
      options.onTrackingError?.(error as Error);
      next();
      return;
    }
    runWithUsageContext(context, () => { next(); });
  };
}

/** The matched route pattern, mount path included, or undefined when no route matched. */
function routePattern(req: ExpressLikeRequest): string | undefined {
  const path = req.route?.path;
  if (typeof path !== 'string') return undefined;
  return `${req.baseUrl ?? ''}${path}`;
}

/** Counts body bytes as they are written. */
function countResponseBytes(res: ServerResponse): { bytes: number } {
  const counter = { bytes: 0 };
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  const add = (chunk: unknown, encoding: unknown) => {
    if (typeof chunk === 'string') counter.bytes += Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    else if (chunk instanceof Uint8Array) counter.bytes += chunk.byteLength;
  };
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    add(chunk, rest[0]);
    return write(chunk, ...rest);
  }) as ServerResponse['write'];
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'function') add(chunk, rest[0]);
    return end(chunk, ...rest);
  }) as ServerResponse['end'];
  return counter;
}
