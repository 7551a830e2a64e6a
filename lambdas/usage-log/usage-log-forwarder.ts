import { gunzipSync, gzipSync } from 'node:zlib';
import type { CloudWatchLogsDecodedData, CloudWatchLogsLogEvent } from 'aws-lambda';
import { USAGE_LOG_LINE } from '../../contracts/usage-log-line';
import type { UsageRecorder } from '../../sdk/request-usage';
import type { UsageEventFields } from '../../sdk/usage-event-builder';

/** What one delivery of usage lines came to. */
export interface ForwardResult {
  /** Usage events handed to the publisher, each with the `eventId` its line carries. */
  readonly forwarded: number;
  /** Log events that are no usage line, or whose event the contract refuses: retrying cannot help them. */
  readonly skipped: number;
}

/** Why a log event was skipped, for the forwarder's own log. */
export type SkipReporter = (id: string, reason: string) => void;

/**
 * A subscription delivery's `awslogs.data`: base64 of the gzipped JSON of the log events
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#LambdaFunctionExample).
 * CloudWatch Logs delivers at least once and batches the matching events of a log group.
 */
export function decodeSubscriptionData(data: string): CloudWatchLogsDecodedData {
  return JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8')) as CloudWatchLogsDecodedData;
}

/** The `awslogs.data` CloudWatch Logs would deliver for these log events (the local subscription's encoding). */
export function encodeSubscriptionData(data: CloudWatchLogsDecodedData): string {
  return gzipSync(Buffer.from(JSON.stringify(data), 'utf8')).toString('base64');
}

/**
 * The usage event a log line carries, or why it carries none. The line must be a JSON object
 * whose marker is the usage line's (contracts/usage-log-line.ts) with a detail object: the filter
 * pattern already selects only those, and this check holds even if a filter were widened.
 */
export function usageOfLogLine(message: string): { fields: UsageEventFields } | { problem: string } {
  let line: unknown;
  try {
    line = JSON.parse(message);
  } catch {
    return { problem: 'not JSON' };
  }
  if (typeof line !== 'object' || line === null) return { problem: 'not a JSON object' };
  const record = line as Record<string, unknown>;
  if (record[USAGE_LOG_LINE.markerKey] !== USAGE_LOG_LINE.marker) return { problem: 'not a usage line' };
  const detail = record[USAGE_LOG_LINE.detailKey];
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return { problem: 'usage line without a detail object' };
  // The publisher sets the schema version itself and keeps eventId and occurredAt as written.
  const fields: Record<string, unknown> = { ...detail };
  delete fields.schemaVersion;
  return { fields: fields as unknown as UsageEventFields };
}

/**
 * Hands the usage events of a delivery's log events to a publisher, which checks each against
 * the contract and sends them in batches of up to 10 with their own `eventId`s: a delivery made
 * twice gives the same events, which the lake deduplicates.
 */
export function forwardUsageLines(logEvents: readonly Pick<CloudWatchLogsLogEvent, 'id' | 'message'>[], publisher: UsageRecorder, onSkip: SkipReporter): ForwardResult {
  let forwarded = 0;
  let skipped = 0;
  for (const logEvent of logEvents) {
    const usage = usageOfLogLine(logEvent.message);
    if ('problem' in usage) {
      skipped++;
      onSkip(logEvent.id, usage.problem);
      continue;
    }
    try {
      publisher.record(usage.fields);
      forwarded++;
    } catch (error) {
      skipped++;
      onSkip(logEvent.id, (error as Error).message);
    }
  }
  return { forwarded, skipped };
}
