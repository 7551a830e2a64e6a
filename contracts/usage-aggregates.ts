/**
 * Usage events that stand for many requests: refused requests no tenant made (reserved tenant
 * `anonymous`), counted per route, status and minute by the access-log handler so that a flood
 * costs one usage event per aggregate rather than one per request. Such an event says so in its
 * `attributes`; the curated view turns that into its `request_count`, which every query that counts
 * requests sums (`queries/usage_events_deduped.sql`; a test checks the SQL against these names).
 */
export const REFUSED_ANONYMOUS_AGGREGATE = {
  /** `attributes[kindAttribute]` of an aggregate event. */
  kind: 'refused-anonymous',
  kindAttribute: 'aggregate',
  /** `attributes[countAttribute]`: how many requests the event stands for, as a decimal string. */
  countAttribute: 'requests',
  /** `attributes[windowAttribute]`: the counting window in seconds, starting on the minute (UTC). */
  windowAttribute: 'windowSeconds',
  windowSeconds: 60,
} as const;
