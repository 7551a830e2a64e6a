/**
 * A usage log line: how a metered API function records a usage event without a network call.
 * The function writes the event as one JSON line on its standard output, which Lambda delivers to
 * the function's CloudWatch Logs log group; a subscription filter selects exactly these lines and
 * a forwarder function puts them on the bus in batches. The stack's filter pattern, the writer and
 * the forwarder all read these names.
 *
 * @example
 * {"usageLog":"api-usage-event/1","detail":{"schemaVersion":"1","eventId":"…",…}}
 */
export const USAGE_LOG_LINE = {
  /** The top-level key that marks a usage line, and its value: what the filter pattern matches. */
  markerKey: 'usageLog',
  marker: 'api-usage-event/1',
  /** The key holding the usage event's detail, eventId included. */
  detailKey: 'detail',
} as const;

/** The CloudWatch Logs JSON filter pattern selecting usage lines, e.g. `{ $.usageLog = "api-usage-event/1" }`. */
export const USAGE_LOG_FILTER_PATTERN = `{ $.${USAGE_LOG_LINE.markerKey} = "${USAGE_LOG_LINE.marker}" }`;
