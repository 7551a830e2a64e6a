/**
 * The usage event's names without its schema: what producers and functions need at run time
 * (contracts/usage-event.ts re-exports them beside the zod schema, which stays out of the Lambda
 * bundles; the validator they run is compiled at build time, contracts/generated/).
 */

/** The `detail-type` every usage event carries on the bus. */
export const USAGE_EVENT_DETAIL_TYPE = 'api-usage-event';

/** The schema version contracts/usage-event.ts describes. */
export const USAGE_EVENT_SCHEMA_VERSION = '1';

/**
 * Event sources the rule accepts unless a deployment configures its own allow-list.
 * `my-applications` is what the original service's producers used.
 */
export const DEFAULT_EVENT_SOURCE = 'my-applications';
export const DEFAULT_EVENT_SOURCES: readonly string[] = [DEFAULT_EVENT_SOURCE];
