import { once } from 'node:events';
import type { AccountEventDetail } from '../../contracts/account-events';
import { USAGE_LOG_LINE } from '../../contracts/usage-log-line';
import { AccountEventLog, accountEventLogLine } from '../account-events/account-event-log';
import type { UsageRecorder } from '../../sdk/request-usage';
import { UsageEventDefaults, UsageEventFields, buildUsageEventDetail } from '../../sdk/usage-event-builder';

/** Where usage log lines go: one call per line, without its newline. */
export type UsageLogSink = (line: string) => void;

/**
 * Standard output, which Lambda delivers to the function's log group: each line one log event,
 * left as written, so that a JSON filter pattern can match it
 * (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-logging.html).
 */
export const stdoutSink: UsageLogSink = (line) => {
  process.stdout.write(`${line}\n`);
};

/**
 * Records usage events as log lines instead of PutEvents calls: `record()` completes the event
 * (its `eventId` and `occurredAt` are decided here, in the function that answered), checks it
 * against the contract and writes it as one JSON line (contracts/usage-log-line.ts). A CloudWatch
 * Logs subscription on the function's log group hands the lines to the forwarder, which puts them
 * on the bus in batches of up to 10 with these very `eventId`s.
 *
 * `flush()` resolves once the lines have left the process: at once when standard output took the
 * write (a pipe that the Lambda service reads; Node only buffers when it is full), otherwise on
 * its `drain`. No network call is ever on the request path, and nothing waits in memory for a
 * later invocation: a function frozen or stopped after answering has lost nothing.
 *
 * @example
 * const usage = new UsageLogWriter({ service: 'metered-api' });
 * export const handler = withUsageTracking(usage, route);
 */
export class UsageLogWriter implements UsageRecorder, AccountEventLog {
  constructor(
    private readonly defaults?: UsageEventDefaults,
    private readonly sink: UsageLogSink = stdoutSink,
  ) {}

  /**
   * Writes one usage event's line and returns its `eventId`.
   *
   * @throws UsageEventValidationError when the event does not match the contract
   */
  public record(fields: UsageEventFields): string {
    const detail = buildUsageEventDetail(fields, this.defaults);
    this.sink(usageLogLine(detail));
    return detail.eventId;
  }

  /**
   * Writes an account event raised on the request path (a quota threshold) as one line through the
   * same sink: the subscription's filter selects both kinds of line, and the forwarder checks this
   * one against the account-event contract before it puts it on the bus with its `eventId`.
   */
  public recordAccountEvent(detail: AccountEventDetail): void {
    this.sink(accountEventLogLine(detail));
  }

  /** Resolves when standard output has handed every line written so far to the system. */
  public async flush(): Promise<void> {
    if (this.sink !== stdoutSink) return;
    while (process.stdout.writableLength > 0) await once(process.stdout, 'drain');
  }
}

/** The log line of a usage event's detail (one line: JSON escapes every newline). */
export function usageLogLine(detail: object): string {
  return JSON.stringify({ [USAGE_LOG_LINE.markerKey]: USAGE_LOG_LINE.marker, [USAGE_LOG_LINE.detailKey]: detail });
}
