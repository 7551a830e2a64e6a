import { ACCOUNT_EVENT_LOG_LINE } from './account-event-names';
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

/**
 * An account event's log line (issue 16): how a function raises an account event on its request
 * path (a quota threshold) without a network call, beside its usage lines, through the same
 * subscription (contracts/account-event-names.ts `ACCOUNT_EVENT_LOG_LINE`).
 *
 * @example
 * {"accountEventLog":"api-account-event/1","detail":{"schemaVersion":"1","eventId":"quota-80.acme.d2026-11-30",…}}
 */
export const ACCOUNT_EVENT_LINE = ACCOUNT_EVENT_LOG_LINE;

/**
 * The CloudWatch Logs JSON filter pattern of the functions' subscription: usage lines or account-event
 * lines, `{ ($.usageLog = "api-usage-event/1") || ($.accountEventLog = "api-account-event/1") }`.
 * JSON filter patterns join conditions with `&&` and `||` in parentheses
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/matching-terms-json-log-events.html);
 * it is what CDK's `FilterPattern.any(stringValue(…), stringValue(…))` writes
 * (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_logs.FilterPattern.html). The name stays: the stack and its tests use it.
 */
export const USAGE_LOG_FILTER_PATTERN = `{ ($.${USAGE_LOG_LINE.markerKey} = "${USAGE_LOG_LINE.marker}") || ($.${ACCOUNT_EVENT_LINE.markerKey} = "${ACCOUNT_EVENT_LINE.marker}") }`;
