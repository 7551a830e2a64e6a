import { RequestTrackingOptions, contentLength, recordRequest } from './request-usage';
import { operationOf } from './route-template';
import { UsageCaller, UsageRequestContext, enterUsageContext } from './usage-context';
import { UsagePublisher } from './usage-publisher';

/** The parts of a Fastify request the plugin reads (structural, so Fastify stays optional). */
export interface FastifyLikeRequest {
  readonly method: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly routeOptions?: { readonly url?: string };
}

/** The parts of a Fastify reply the plugin reads. */
export interface FastifyLikeReply {
  readonly statusCode: number;
  readonly elapsedTime: number;
  getHeader(name: string): unknown;
}

type HookDone = (error?: Error) => void;

/** The parts of a Fastify instance the plugin uses. */
export interface FastifyLikeInstance {
  addHook(name: 'onRequest' | 'onResponse', hook: (request: FastifyLikeRequest, reply: FastifyLikeReply, done: HookDone) => void): unknown;
}

/** Options of {@link usageFastifyPlugin}. */
export interface UsageFastifyOptions extends RequestTrackingOptions {
  /** The usage publisher to record with. */
  readonly publisher: UsagePublisher;
  /**
   * Who is calling, read when the response was sent (after authentication ran).
   * @default - the caller set in the usage context, or tenant `anonymous`
   */
  readonly resolveCaller?: (request: FastifyLikeRequest, reply: FastifyLikeReply) => UsageCaller | undefined;
  /**
   * Requests not to track, such as health checks.
   * @default - every request is tracked
   */
  readonly skip?: (request: FastifyLikeRequest) => boolean;
}

const contexts = new WeakMap<FastifyLikeRequest, UsageRequestContext>();

/**
 * A Fastify plugin that records one usage event per request in an `onResponse` hook: the route
 * template (`request.routeOptions.url`), status, Fastify's own elapsed time and bytes. It applies
 * to the whole instance (it skips Fastify's encapsulation, as `fastify-plugin` would).
 *
 * @example
 * await app.register(usageFastifyPlugin, { publisher, resolveCaller: (req) => req.caller });
 */
export function usageFastifyPlugin(fastify: FastifyLikeInstance, options: UsageFastifyOptions, done: HookDone): void {
  const { publisher } = options;
  fastify.addHook('onRequest', (request, _reply, next) => {
    try {
      if (!options.skip?.(request)) {
        const context: UsageRequestContext = {};
        contexts.set(request, context);
        enterUsageContext(context);
      }
    } catch (error) {
      options.onTrackingError?.(error as Error);
    }
    next();
  });
  fastify.addHook('onResponse', (request, reply, next) => {
    const context = contexts.get(request);
    if (context) {
      let caller: UsageCaller | undefined;
      try {
        caller = options.resolveCaller?.(request, reply);
      } catch (error) {
        options.onTrackingError?.(error as Error);
      }
      recordRequest(
        publisher,
        {
          method: request.method,
          operation: operationOf(request.method, request.routeOptions?.url),
          statusCode: reply.statusCode,
          latencyMs: reply.elapsedTime,
          requestBytes: contentLength(request.headers['content-length']),
          responseBytes: contentLength(reply.getHeader('content-length')),
          caller,
          context,
        },
        options,
      );
    }
    next();
  });
  done();
}

// Register on the instance itself rather than an encapsulated child, like fastify-plugin does.
Object.assign(usageFastifyPlugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'api-usage-tracker',
});
