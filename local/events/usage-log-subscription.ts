import type { CloudWatchLogsLogEvent } from 'aws-lambda';
import type { AccessLogRecord } from '../../contracts/metered-api';
import { authFailureOf } from '../../lambdas/access-log/gateway-answers';
import { AccountEventSignals, SignalTally, raiseSignals } from '../../lambdas/account-events/signal-detector';
import {
  ForwardResult,
  ReadLogLines,
  SkipReporter,
  decodeSubscriptionData,
  encodeSubscriptionData,
  forwardUsageLines,
  publishAccountEvents,
  readLogLines,
} from '../../lambdas/usage-log/usage-log-forwarder';
import type { UsageLogSink } from '../../lambdas/usage-log/usage-log-writer';
import type { UsageRecorder } from '../../sdk/request-usage';

/**
 * How long a failed delivery of account events waits before each retry: Lambda retries a failed
 * asynchronous invocation twice, one and then two minutes later
 * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html); locally the
 * same two retries come a second and two seconds later.
 */
export const LOCAL_DELIVERY_RETRY_DELAYS_MS: readonly number[] = [1000, 2000];

/** Account events of the local forwarders: where they go, the signal counters and thresholds (as the functions get them). */
export interface LocalAccountEventOptions {
  readonly accountEvents?: AccountEventSignals;
  /** @default LOCAL_DELIVERY_RETRY_DELAYS_MS */
  readonly retryDelaysMs?: readonly number[];
  /** A delivery's account events that could not be delivered after every retry (Lambda would put the delivery on its failure queue). */
  readonly onAccountEventFailure?: (error: Error) => void;
}

export interface LocalUsageLogSubscriptionOptions extends LocalAccountEventOptions {
  /** The publisher the forwarder hands the events to (a long-running one, sending to the local bus). */
  readonly publisher: UsageRecorder;
  /**
   * How long lines gather before a delivery, as CloudWatch Logs batches a log group's events.
   * @default 100
   */
  readonly intervalMs?: number;
  /** @default '/aws/lambda/metered-api' */
  readonly logGroup?: string;
  /** Log events the forwarder skipped, and why. */
  readonly onSkip?: SkipReporter;
}

/** Runs `attempt` until it succeeds, waiting the given delays between tries; reports the last failure. */
async function withRetries(attempt: () => Promise<unknown>, options: LocalAccountEventOptions): Promise<void> {
  const delays = options.retryDelaysMs ?? LOCAL_DELIVERY_RETRY_DELAYS_MS;
  for (let retry = 0; ; retry++) {
    try {
      await attempt();
      return;
    } catch (error) {
      if (retry >= delays.length) {
        options.onAccountEventFailure?.(error as Error);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delays[retry]).unref());
    }
  }
}

/**
 * The metered API functions' log group and its usage subscription, on one machine: the functions'
 * usage lines gather here for a moment and are delivered as CloudWatch Logs delivers them
 * (gzipped, base64 `awslogs.data`) to the forwarder's own code, which hands them to a long-running
 * publisher: PutEvents batches of up to 10, off the request path. With `accountEvents`, the
 * forwarder's code also puts account-event lines (quota thresholds) on the bus and counts 429s
 * into the signal counters, retrying a failed delivery of those as Lambda retries the forwarder.
 */
export class LocalUsageLogSubscription {
  /** Give this to the functions (`createDependencies(config, { usageLog })`): where they write their lines. */
  public readonly sink: UsageLogSink = (line) => {
    this.put(line);
  };

  private pending: CloudWatchLogsLogEvent[] = [];
  private timer?: NodeJS.Timeout;
  private sequence = 0;
  private closed = false;
  private readonly intervalMs: number;
  private accountDeliveries: Promise<void> = Promise.resolve();

  constructor(private readonly options: LocalUsageLogSubscriptionOptions) {
    this.intervalMs = options.intervalMs ?? 100;
  }

  /** One line of the functions' output. */
  public put(message: string): void {
    this.pending.push({ id: String(++this.sequence), timestamp: Date.now(), message });
    if (this.closed) {
      this.deliver();
      return;
    }
    if (!this.timer) {
      this.timer = setTimeout(() => { this.deliver(); }, this.intervalMs);
      this.timer.unref();
    }
  }

  /** Delivers what has gathered now (the forwarder records it on the publisher; account events follow, see {@link flush}). */
  public deliver(): ForwardResult {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return { forwarded: 0, skipped: 0 };
    const logEvents = this.pending;
    this.pending = [];
    const logGroup = this.options.logGroup ?? '/aws/lambda/metered-api';
    const data = encodeSubscriptionData({ messageType: 'DATA_MESSAGE', owner: '000000000000', logGroup, logStream: 'local', subscriptionFilters: ['usage-lines'], logEvents });
    const decoded = decodeSubscriptionData(data);
    const onSkip = this.options.onSkip ?? (() => undefined);
    const { accountEvents } = this.options;
    if (!accountEvents) return forwardUsageLines(decoded.logEvents, this.options.publisher, onSkip);
    const tally = new SignalTally(accountEvents.signals);
    const read = readLogLines(decoded.logEvents, this.options.publisher, onSkip, tally);
    this.sendAccountEvents(read, tally, accountEvents);
    return { forwarded: read.forwarded, skipped: read.skipped, accountEvents: read.accountEvents };
  }

  /** Delivers what has gathered, then waits until the publisher has sent it and its account events are on the bus (or given up). */
  public async flush(): Promise<void> {
    this.deliver();
    await Promise.all([this.options.publisher.flush(), this.accountDeliveries]);
  }

  /** Delivers what has gathered; lines written afterwards are delivered at once. */
  public close(): void {
    this.closed = true;
    this.deliver();
  }

  /** One delivery's account events, after the ones before it; a retry adds the delivery's counts again, as a retried invocation does. */
  private sendAccountEvents(read: ReadLogLines, tally: SignalTally, accountEvents: AccountEventSignals): void {
    this.accountDeliveries = this.accountDeliveries.then(() => withRetries(() => publishAccountEvents(read, tally.copy(), accountEvents), this.options));
  }
}

export interface LocalAccessLogSignalsOptions extends LocalAccountEventOptions {
  readonly accountEvents: AccountEventSignals;
  /** How long access log records gather before their counts are added, as a subscription batches them. @default 100 */
  readonly intervalMs?: number;
}

/**
 * The local gateway's access log, for failed authentications: its 401s and 403s are counted per
 * source and window (the access-log function's code: `authFailureOf`, `raiseSignals`) in batches,
 * so that a flood of refusals costs one counter update per source and window per batch.
 *
 * @example
 * new LocalHttpApiGateway({ routes, onAccessLog: (record) => { recordUsage(record); signals.put(record); } });
 */
export class LocalAccessLogSignals {
  private tally: SignalTally;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private deliveries: Promise<void> = Promise.resolve();

  constructor(private readonly options: LocalAccessLogSignalsOptions) {
    this.tally = new SignalTally(options.accountEvents.signals);
  }

  /** One access log record of the local gateway. */
  public put(record: AccessLogRecord): void {
    const failure = authFailureOf(record);
    if (!failure) return;
    this.tally.count('auth-failures', failure.sourceKey, failure.epochMs);
    if (this.closed) {
      this.deliver();
      return;
    }
    this.timer ??= setTimeout(() => { this.deliver(); }, this.options.intervalMs ?? 100).unref();
  }

  /** Adds what has gathered to the counters and raises what went over, after the batches before it. */
  public deliver(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.tally.size === 0) return;
    const tally = this.tally;
    this.tally = new SignalTally(this.options.accountEvents.signals);
    this.deliveries = this.deliveries.then(() => withRetries(() => raiseSignals(tally.copy(), this.options.accountEvents), this.options));
  }

  /** Delivers what has gathered and waits until its events are on the bus (or given up). */
  public async flush(): Promise<void> {
    this.deliver();
    await this.deliveries;
  }

  /** Delivers what has gathered; records put afterwards are delivered at once. */
  public close(): void {
    this.closed = true;
    this.deliver();
  }
}
