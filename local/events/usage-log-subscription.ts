import type { CloudWatchLogsLogEvent } from 'aws-lambda';
import type { UsageRecorder } from '../../sdk/request-usage';
import { ForwardResult, SkipReporter, decodeSubscriptionData, encodeSubscriptionData, forwardUsageLines } from '../../lambdas/usage-log/usage-log-forwarder';
import type { UsageLogSink } from '../../lambdas/usage-log/usage-log-writer';

export interface LocalUsageLogSubscriptionOptions {
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

/**
 * The metered API functions' log group and its usage subscription, on one machine: the functions'
 * usage lines gather here for a moment and are delivered as CloudWatch Logs delivers them
 * (gzipped, base64 `awslogs.data`) to the forwarder's own code, which hands them to a long-running
 * publisher: PutEvents batches of up to 10, off the request path.
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

  /** Delivers what has gathered now (the forwarder records it on the publisher). */
  public deliver(): ForwardResult {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return { forwarded: 0, skipped: 0 };
    const logEvents = this.pending;
    this.pending = [];
    const logGroup = this.options.logGroup ?? '/aws/lambda/metered-api';
    const data = encodeSubscriptionData({ messageType: 'DATA_MESSAGE', owner: '000000000000', logGroup, logStream: 'local', subscriptionFilters: ['usage-lines'], logEvents });
    const decoded = decodeSubscriptionData(data);
    return forwardUsageLines(decoded.logEvents, this.options.publisher, this.options.onSkip ?? (() => undefined));
  }

  /** Delivers what has gathered, then waits until the publisher has sent it. */
  public async flush(): Promise<void> {
    this.deliver();
    await this.options.publisher.flush();
  }

  /** Delivers what has gathered; lines written afterwards are delivered at once. */
  public close(): void {
    this.closed = true;
    this.deliver();
  }
}
