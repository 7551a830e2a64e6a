import { RESERVED_TENANT_IDS } from '../contracts/tenants';
import { UsageCaller, UsageRequestContext } from './usage-context';
import { UsageEventFields } from './usage-event-builder';
import { UsagePublisher } from './usage-publisher';

/**
 * Tenant recorded for requests whose caller is unknown (unauthenticated, refused before auth): one
 * of the ids reserved for traffic no tenant made, which no tenant can have and billing leaves out.
 */
export const ANONYMOUS_TENANT = RESERVED_TENANT_IDS.anonymous;

/** Options every integration (middleware, plugin, Lambda wrapper) shares. */
export interface RequestTrackingOptions {
  /**
   * The producing service.
   * @default - the publisher's `defaults.service`
   */
  readonly service?: string;
  /**
   * Called when tracking itself fails (a caller field that breaks the contract, say); it never
   * reaches the request.
   * @default - a process warning, once per distinct message
   */
  readonly onTrackingError?: (error: Error) => void;
}

/** What an integration measured about one request. */
export interface MeasuredRequest {
  readonly method: string;
  readonly operation: string;
  readonly statusCode: number;
  readonly latencyMs: number;
  readonly requestBytes?: number;
  readonly responseBytes?: number;
  readonly caller?: UsageCaller;
  readonly context?: UsageRequestContext;
}

const warned = new Set<string>();

function warnOnce(error: Error): void {
  if (warned.has(error.message)) return;
  warned.add(error.message);
  process.emitWarning(`api-usage-tracker: a request was not tracked: ${error.message}`, 'UsageTrackingWarning');
}

/**
 * What records a request's usage event: a {@link UsagePublisher}, or anything with its `record`
 * and `flush` (the metered API's functions write the event as a log line instead).
 */
export type UsageRecorder = Pick<UsagePublisher, 'record' | 'flush'>;

/** Records one request; never throws. */
export function recordRequest(publisher: UsageRecorder, request: MeasuredRequest, options: RequestTrackingOptions = {}): string | undefined {
  try {
    const caller = request.context?.caller ?? request.caller;
    const fields: UsageEventFields = {
      ...(options.service ? { service: options.service } : {}),
      tenantId: caller?.tenantId ?? ANONYMOUS_TENANT,
      ...(caller?.userId ? { userId: caller.userId } : {}),
      ...(caller?.apiKeyId ? { apiKeyId: caller.apiKeyId } : {}),
      ...(caller?.tier ? { tier: caller.tier } : {}),
      operation: request.operation,
      method: request.method.toUpperCase(),
      statusCode: request.statusCode,
      latencyMs: Math.round(request.latencyMs * 1000) / 1000,
      ...(request.requestBytes !== undefined ? { requestBytes: request.requestBytes } : {}),
      ...(request.responseBytes !== undefined ? { responseBytes: request.responseBytes } : {}),
      ...(request.context?.feature ? { feature: request.context.feature } : {}),
      ...(request.context?.billableUnits !== undefined ? { billableUnits: request.context.billableUnits } : {}),
      ...(request.context?.attributes ? { attributes: request.context.attributes } : {}),
    };
    return publisher.record(fields);
  } catch (error) {
    try {
      (options.onTrackingError ?? warnOnce)(error as Error);
    } catch {
      // The error handler's own failure must not reach the request either.
    }
    return undefined;
  }
}

/** A byte count from a `content-length` value, if it is one. */
export function contentLength(value: unknown): number | undefined {
  const text: unknown = Array.isArray(value) ? (value as unknown[])[0] : value;
  if (typeof text === 'number') return Number.isSafeInteger(text) && text >= 0 ? text : undefined;
  if (typeof text !== 'string' || !/^\d{1,15}$/.test(text)) return undefined;
  return Number(text);
}
