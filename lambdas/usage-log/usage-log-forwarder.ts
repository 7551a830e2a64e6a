import { gunzipSync, gzipSync } from 'node:zlib';
import type { CloudWatchLogsDecodedData, CloudWatchLogsLogEvent } from 'aws-lambda';
import { AccountEventDetail, accountEventDetailSchema } from '../../contracts/account-events';
import { isReservedTenantId } from '../../contracts/tenants';
import { ACCOUNT_EVENT_LINE, USAGE_LOG_LINE } from '../../contracts/usage-log-line';
import type { UsageRecorder } from '../../sdk/request-usage';
import type { UsageEventFields } from '../../sdk/usage-event-builder';
import { AccountEventSignals, SignalTally, raiseSignals } from '../account-events/signal-detector';

/** What one delivery of usage lines came to. */
export interface ForwardResult {
  /** Usage events handed to the publisher, each with the `eventId` its line carries. */
  readonly forwarded: number;
  /** Log events that are no usage line, or whose event the contract refuses: retrying cannot help them. */
  readonly skipped: number;
  /** Account events of account-event lines (quota thresholds) put on the bus. */
  readonly accountEvents?: number;
  /** Signal events (rate-limit spikes) this delivery's counts raised. */
  readonly raised?: number;
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

/** A log line as a JSON object, or why it is none. */
function objectOfLine(message: string): { record: Record<string, unknown> } | { problem: string } {
  let line: unknown;
  try {
    line = JSON.parse(message);
  } catch {
    return { problem: 'not JSON' };
  }
  if (typeof line !== 'object' || line === null) return { problem: 'not a JSON object' };
  return { record: line as Record<string, unknown> };
}

/** The usage event of a parsed line (see {@link usageOfLogLine}). */
function usageOfRecord(record: Record<string, unknown>): { fields: UsageEventFields } | { problem: string } {
  if (record[USAGE_LOG_LINE.markerKey] !== USAGE_LOG_LINE.marker) return { problem: 'not a usage line' };
  const detail = record[USAGE_LOG_LINE.detailKey];
  if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return { problem: 'usage line without a detail object' };
  // The publisher sets the schema version itself and keeps eventId and occurredAt as written.
  const fields: Record<string, unknown> = { ...detail };
  delete fields.schemaVersion;
  return { fields: fields as unknown as UsageEventFields };
}

/**
 * The usage event a log line carries, or why it carries none. The line must be a JSON object
 * whose marker is the usage line's (contracts/usage-log-line.ts) with a detail object: the filter
 * pattern already selects only those, and this check holds even if a filter were widened.
 */
export function usageOfLogLine(message: string): { fields: UsageEventFields } | { problem: string } {
  const line = objectOfLine(message);
  return 'problem' in line ? line : usageOfRecord(line.record);
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

/** The account event of a parsed line, checked against the contract; undefined when it is no account-event line. */
function accountEventOfRecord(record: Record<string, unknown>): { detail: AccountEventDetail } | { problem: string } | undefined {
  if (record[ACCOUNT_EVENT_LINE.markerKey] !== ACCOUNT_EVENT_LINE.marker) return undefined;
  const parsed = accountEventDetailSchema.safeParse(record[ACCOUNT_EVENT_LINE.detailKey]);
  if (!parsed.success) return { problem: `account event refused by the contract: ${parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`).join('; ')}` };
  const problem = notAQuotaThreshold(parsed.data);
  return problem ? { problem } : { detail: parsed.data };
}

/** A route's account-event line id: `quota-<80|100>.<tenantId>.<d|w|m period key>` (accountEventIds.ofQuota). */
const QUOTA_EVENT_ID = /^quota-(80|100)\.(.+)\.(d\d{4}-\d{2}-\d{2}|w\d{4}-W\d{2}|m\d{4}-\d{2})$/;

/**
 * Route functions raise only quota thresholds in their log: any other kind from a log line (a
 * tenant block, a key revoked) would let whoever can write a subscribed log line (a custom
 * route's code, a route logging untrusted JSON as a raw line) mail any tenant's contact about
 * it, so it is refused, as is a quota event whose id does not name its own threshold, tenant and
 * period. (A custom route is trusted with its tenants' limiter items, and so with their quota events.)
 */
function notAQuotaThreshold(detail: AccountEventDetail): string | undefined {
  if (detail.kind !== 'quota-80' && detail.kind !== 'quota-100') return `account event of kind ${detail.kind} refused: a log line may raise only quota-80 and quota-100`;
  const match = QUOTA_EVENT_ID.exec(detail.eventId);
  if (match?.[1] !== detail.kind.slice('quota-'.length) || match[2] !== detail.tenantId) return `quota event ${detail.eventId} refused: its id must be quota-<threshold>.<tenantId>.<period>`;
  return undefined;
}

/**
 * The account event an account-event line carries (contracts/usage-log-line.ts `ACCOUNT_EVENT_LINE`),
 * checked against the contract, or why it carries none (`undefined`: not such a line at all).
 */
export function accountEventOfLogLine(message: string): { detail: AccountEventDetail } | { problem: string } | undefined {
  const line = objectOfLine(message);
  return 'problem' in line ? undefined : accountEventOfRecord(line.record);
}

/** A delivery read: its usage events recorded, its account events checked, its 429s counted. */
export interface ReadLogLines extends ForwardResult {
  readonly accountEvents: number;
  readonly events: AccountEventDetail[];
}

/**
 * Reads a delivery's log events: usage lines go to the publisher (as {@link forwardUsageLines}),
 * account-event lines are checked against the account-event contract and returned, and each
 * usage event with status 429 of a tenant (not `operator` or `anonymous`) is counted into `tally`
 * at its `occurredAt` (rate-limit spikes).
 */
export function readLogLines(logEvents: readonly Pick<CloudWatchLogsLogEvent, 'id' | 'message'>[], publisher: UsageRecorder, onSkip: SkipReporter, tally?: SignalTally): ReadLogLines {
  const events: AccountEventDetail[] = [];
  let forwarded = 0;
  let skipped = 0;
  const skip = (id: string, problem: string) => {
    skipped++;
    onSkip(id, problem);
  };
  for (const logEvent of logEvents) {
    // Each line is parsed once: it is a usage line or an account-event line.
    const line = objectOfLine(logEvent.message);
    const read = 'problem' in line ? line : (accountEventOfRecord(line.record) ?? usageOfRecord(line.record));
    if ('problem' in read) {
      skip(logEvent.id, read.problem);
    } else if ('detail' in read) {
      events.push(read.detail);
    } else {
      try {
        publisher.record(read.fields);
        forwarded++;
      } catch (error) {
        skip(logEvent.id, (error as Error).message);
        continue;
      }
      const { statusCode, tenantId, occurredAt } = read.fields;
      if (tally && statusCode === 429 && !isReservedTenantId(tenantId)) tally.count('rate-limit-spike', tenantId, Date.parse(String(occurredAt)));
    }
  }
  return { forwarded, skipped, accountEvents: events.length, events };
}

/**
 * Puts a delivery's account events on the bus and raises the signals its tally counted (see
 * `raiseSignals`): throws when either could not be delivered, so that the delivery is retried with
 * the same event ids (and its counts added again: over, never under).
 */
export async function publishAccountEvents(read: ReadLogLines, tally: SignalTally | undefined, accountEvents: AccountEventSignals): Promise<ForwardResult> {
  if (read.events.length > 0) await accountEvents.sink.publish(read.events);
  const raised = tally ? await raiseSignals(tally, accountEvents) : [];
  return { forwarded: read.forwarded, skipped: read.skipped, accountEvents: read.accountEvents, raised: raised.length };
}
