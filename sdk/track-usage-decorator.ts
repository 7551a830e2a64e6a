import { performance } from 'node:perf_hooks';
import { RequestTrackingOptions, recordRequest } from './request-usage';
import { UsageCaller, currentUsageContext } from './usage-context';
import { UsagePublisher } from './usage-publisher';

let defaultPublisher: UsagePublisher | undefined;

/** The publisher `@trackUsage` records with when its options name none. */
export function setDefaultUsagePublisher(publisher: UsagePublisher | undefined): void {
  defaultPublisher = publisher;
}

/** Options of {@link trackUsage}. */
export interface TrackUsageOptions extends RequestTrackingOptions {
  /** The product feature the method implements, e.g. `reports.export`. */
  readonly feature?: string;
  /**
   * Units billed per call.
   * @default 1
   */
  readonly billableUnits?: number;
  /**
   * Operation of calls made outside a tracked request.
   * @default `<ClassName>.<method>`
   */
  readonly operation?: string;
  /**
   * Caller of calls made outside a tracked request, from the method's arguments.
   * @default - the usage context's caller, else tenant `anonymous`
   */
  readonly caller?: (...args: unknown[]) => UsageCaller | undefined;
  /**
   * The publisher to record with.
   * @default - the one given to `setDefaultUsagePublisher`
   */
  readonly publisher?: UsagePublisher;
}

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

/** A method decorator for both decorator dialects. */
export interface UsageMethodDecorator {
  /** Standard (TC39) decorators. */
  <This, Args extends unknown[], Return>(
    method: (this: This, ...args: Args) => Return,
    context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Return>,
  ): (this: This, ...args: Args) => Return;
  /** `experimentalDecorators`. */
  (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): PropertyDescriptor;
}

/**
 * Tracks a method in one line. Inside a request tracked by the middleware, the Fastify plugin or
 * the Lambda wrapper, it names the request's feature (one event per request, never two). Called
 * anywhere else, it records an event of its own: operation `<ClassName>.<method>`, method
 * `INVOKE`, status 200 or 500 if it throws or rejects, and its latency.
 *
 * Works with standard decorators and with `experimentalDecorators` (NestJS).
 *
 * @example
 * class ReportsController {
 *   @trackUsage({ feature: 'reports.export', billableUnits: 5 })
 *   async export(req: Request, res: Response) { ... }
 * }
 */
export function trackUsage(options: TrackUsageOptions = {}): UsageMethodDecorator {
  // Standard: (method, context). Legacy: (prototype, name, descriptor).
  return function (target: unknown, contextOrName: unknown, descriptor?: PropertyDescriptor): unknown {
    if (descriptor && typeof descriptor.value === 'function') {
      descriptor.value = trackedMethod(descriptor.value as AnyMethod, String(contextOrName), options);
      return descriptor;
    }
    const context = contextOrName as { kind?: string; name?: string | symbol } | undefined;
    if (typeof target !== 'function' || context?.kind !== 'method') {
      throw new TypeError('@trackUsage decorates methods only.');
    }
    return trackedMethod(target as AnyMethod, String(context.name), options);
  } as UsageMethodDecorator;
}

/** The method wrapped: inside a tracked request it names the feature, elsewhere it records a call. */
function trackedMethod(method: AnyMethod, methodName: string, options: TrackUsageOptions): AnyMethod {
  return function tracked(this: unknown, ...args: unknown[]): unknown {
    const context = currentUsageContext();
    if (context) {
      if (options.feature) context.feature = options.feature;
      if (options.billableUnits !== undefined) context.billableUnits = options.billableUnits;
      return method.apply(this, args);
    }
    const publisher = options.publisher ?? defaultPublisher;
    if (!publisher) return method.apply(this, args);
    const className = (this as { constructor?: { name?: string } } | undefined)?.constructor?.name;
    const operation = options.operation ?? `${className && className !== 'Object' ? className : 'function'}.${methodName}`;
    const record = callRecorder(publisher, operation, args, options);
    let result: unknown;
    try {
      result = method.apply(this, args);
    } catch (error) {
      record(500);
      throw error;
    }
    if (result instanceof Promise) {
      return (result as Promise<unknown>).then(
        (value) => {
          record(200);
          return value;
        },
        (error: unknown) => {
          record(500);
          throw error;
        },
      );
    }
    record(200);
    return result;
  };
}

/** Starts the clock of a call made outside a tracked request; the returned function records its outcome. */
function callRecorder(publisher: UsagePublisher, operation: string, args: unknown[], options: TrackUsageOptions): (statusCode: number) => void {
  const started = performance.now();
  return (statusCode) => {
    let caller: UsageCaller | undefined;
    try {
      caller = options.caller?.(...args);
    } catch (error) {
      options.onTrackingError?.(error as Error);
    }
    recordRequest(
      publisher,
      {
        method: 'INVOKE',
        operation,
        statusCode,
        latencyMs: performance.now() - started,
        caller,
        context: { feature: options.feature, billableUnits: options.billableUnits },
      },
      options,
    );
  };
}
