import { AsyncLocalStorage } from 'node:async_hooks';

/** Who is calling: what the usage event bills and attributes. */
export interface UsageCaller {
  readonly tenantId: string;
  readonly userId?: string;
  readonly apiKeyId?: string;
  readonly tier?: string;
}

/**
 * Usage facts about the request being handled, filled in as it runs: the middleware sets the
 * caller, a decorated method or the handler sets the feature and billable units.
 */
export interface UsageRequestContext {
  caller?: UsageCaller;
  feature?: string;
  billableUnits?: number;
  attributes?: Record<string, string>;
}

const storage = new AsyncLocalStorage<UsageRequestContext>();

/** Runs `fn` with a fresh usage context for one request. */
export function runWithUsageContext<T>(context: UsageRequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** Enters a usage context for the rest of the current asynchronous execution (Fastify hooks). */
export function enterUsageContext(context: UsageRequestContext): void {
  storage.enterWith(context);
}

/** The usage context of the request being handled, if any. */
export function currentUsageContext(): UsageRequestContext | undefined {
  return storage.getStore();
}

/**
 * Names the product feature (and optionally the billable units) of the request being handled.
 * Returns false when called outside a tracked request.
 *
 * @example
 * app.post('/v1/reports', (req, res) => { setUsageFeature('reports.export', 5); ... });
 */
export function setUsageFeature(feature: string, billableUnits?: number): boolean {
  const context = storage.getStore();
  if (!context) return false;
  context.feature = feature;
  if (billableUnits !== undefined) context.billableUnits = billableUnits;
  return true;
}
