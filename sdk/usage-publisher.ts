import { EventBridgeClient, PutEventsRequestEntry, PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { PUT_EVENTS_LIMITS, putEventsEntrySize } from '../contracts/put-events-limits';
import { DEFAULT_EVENT_SOURCE, USAGE_EVENT_DETAIL_TYPE } from '../contracts/usage-event-constants';
import { UsageEventValidationError, UsagePublishError, UsagePublishFailureReason } from './errors';
import { EventSpool } from './event-spool';
import { ExitHooks } from './exit-hooks';
import { FlushBarriers } from './flush-barriers';
import { PendingEvent, PublisherCounters } from './pending-event';
import { nextBatchLength } from './put-events-batch';
import { PutEventsTransport, publisherTransport } from './put-events-transport';
import { errorName, fullJitterDelay, isRetryableCallError, isRetryableEntryError } from './retry-policy';
import { SpoolBridge, SpoolBridgeHost } from './spool-bridge';
import { UsageEventDefaults, UsageEventFields, buildUsageEventDetail } from './usage-event-builder';

/** Properties of a {@link UsagePublisher}. */
export interface UsagePublisherOptions {
  /** The usage bus's name or ARN (the stack output `EventBusName`). */
  readonly eventBusName: string;
  /** The EventBridge `source` of the events; must be on the stack's allow-list. */
  readonly source: string;
  /**
   * The client to send with, through its middleware. Give it `maxAttempts: 1`: the publisher
   * retries itself, per entry. The SDK costs a few hundred microseconds of CPU per call.
   * @default - the SDK's configuration from the environment (region, credentials,
   * `AWS_ENDPOINT_URL_EVENTBRIDGE`), sent through a lean signed HTTP transport
   */
  readonly client?: EventBridgeClient;
  /**
   * How often a partial batch is sent.
   * @default 1000
   */
  readonly flushIntervalMs?: number;
  /**
   * Events held in memory (queued, in flight or waiting to retry); beyond it new events go to the
   * spool, or are dropped and reported without one.
   * @default 10000
   */
  readonly maxQueueSize?: number;
  /**
   * Folder for events the bus could not take (outage, overflow); they are sent on the next start
   * and as soon as the bus answers again.
   * @default - no spool: such events are counted in `dropped`/`failed` and reported to `onError`
   */
  readonly spoolDir?: string;
  /**
   * Cap on the spool folder's size in bytes.
   * @default 1 GiB
   */
  readonly maxSpoolBytes?: number;
  /**
   * Called with every delivery failure; it must not throw.
   * @default - failures are only counted in `stats()`
   */
  readonly onError?: (error: UsagePublishError) => void;
  /** Fields every event gets unless it has its own, e.g. `{ service: 'orders' }`. */
  readonly defaults?: UsageEventDefaults;
  /**
   * PutEvents requests in flight at once. Throughput is about this × 10 events ÷ the round trip:
   * 64 × 10 / 25 ms ≈ 25,600 events/s to a regional endpoint.
   * @default 64
   */
  readonly maxConcurrentRequests?: number;
  /**
   * Where requests are signed and sent when the publisher makes its own client: on a thread of
   * its own (`thread`), so that the request-serving thread only pays for `record()`, or on the
   * event loop (`event-loop`).
   * @default 'event-loop' in AWS Lambda (a thread only adds start-up time there), 'thread' elsewhere
   */
  readonly sendFrom?: 'thread' | 'event-loop';
  /**
   * Retries of an entry before it is spooled (or reported as failed).
   * @default 6
   */
  readonly maxRetries?: number;
  /** @default 100 */
  readonly retryBaseDelayMs?: number;
  /** @default 5000 */
  readonly retryMaxDelayMs?: number;
  /**
   * Flush and close on SIGTERM and SIGINT, then let the signal take its default course.
   * @default true
   */
  readonly flushOnExitSignals?: boolean;
}

/** Counters since the publisher was created. */
export interface UsagePublisherStats {
  /** Events accepted by `record()`. */
  readonly recorded: number;
  /** Events EventBridge accepted. */
  readonly published: number;
  /** Entry retries (one event retried twice counts 2). */
  readonly retried: number;
  /** Events lost for good: rejected by EventBridge, or out of retries without a spool. */
  readonly failed: number;
  /** Events written to the spool. */
  readonly spooled: number;
  /** Events dropped because the queue was full and there is no spool. */
  readonly dropped: number;
  /** Events in memory now: queued, in flight or waiting to retry. */
  readonly queued: number;
}

/**
 * Publishes usage events to EventBridge without slowing the caller: `record()` validates and
 * queues in microseconds; batches of up to 10 entries within PutEvents' size limit go out in the
 * background; only failed entries are retried, with the same `eventId`, with exponential backoff
 * and full jitter; what the bus cannot take is spooled to disk and sent later.
 *
 * This class holds the queue and the retries; {@link SpoolBridge} moves events to and from the
 * spool, {@link FlushBarriers} tracks what each `flush()` waits for, and {@link ExitHooks} flushes
 * when the process ends.
 *
 * @example
 * const publisher = new UsagePublisher({ eventBusName: 'usage', source: 'my-applications', spoolDir: '/var/spool/usage' });
 * publisher.record({ service: 'orders', tenantId: 'acme', operation: 'GET /v1/orders/{id}', method: 'GET', statusCode: 200, latencyMs: 12 });
 * await publisher.close();
 */
export class UsagePublisher {
  private readonly transport: PutEventsTransport;
  private readonly ownsTransport: boolean;
  private readonly eventBusName: string;
  private readonly source: string;
  private readonly maxQueueSize: number;
  private readonly maxConcurrentRequests: number;
  private readonly maxRetries: number;
  private readonly backoff: { baseDelayMs: number; maxDelayMs: number };
  private readonly defaults?: UsageEventDefaults;
  private readonly onError?: (error: UsagePublishError) => void;
  private readonly spoolBridge?: SpoolBridge;
  private readonly barriers = new FlushBarriers();
  private readonly exitHooks: ExitHooks;
  private readonly timer: NodeJS.Timeout;

  private queue: PendingEvent[] = [];
  private head = 0;
  private seq = 0;
  private inFlight = 0;
  private inMemory = 0;
  private pumpScheduled = false;
  private closed = false;
  private closing?: Promise<void>;
  private readonly counters: PublisherCounters = { recorded: 0, published: 0, retried: 0, failed: 0, spooled: 0, dropped: 0 };

  constructor(options: UsagePublisherOptions) {
    if (!options.eventBusName) throw new Error('UsagePublisher needs eventBusName: the usage bus name or ARN (stack output EventBusName).');
    if (!options.source) throw new Error(`UsagePublisher needs source: an event source on the stack allow-list, e.g. "${DEFAULT_EVENT_SOURCE}".`);
    this.eventBusName = options.eventBusName;
    this.source = options.source;
    this.maxConcurrentRequests = positiveInteger('maxConcurrentRequests', options.maxConcurrentRequests ?? 64);
    this.ownsTransport = options.client === undefined;
    const sendFrom = options.sendFrom ?? (process.env.AWS_LAMBDA_FUNCTION_NAME ? 'event-loop' : 'thread');
    this.transport = publisherTransport(options.client, sendFrom, this.maxConcurrentRequests);
    this.maxQueueSize = positiveInteger('maxQueueSize', options.maxQueueSize ?? 10_000);
    this.maxRetries = nonNegativeInteger('maxRetries', options.maxRetries ?? 6);
    this.backoff = { baseDelayMs: options.retryBaseDelayMs ?? 100, maxDelayMs: options.retryMaxDelayMs ?? 5000 };
    this.defaults = options.defaults;
    this.onError = options.onError;
    const flushIntervalMs = positiveInteger('flushIntervalMs', options.flushIntervalMs ?? 1000);
    this.timer = setInterval(() => { this.pump(true); }, flushIntervalMs);
    this.timer.unref();
    const beforeExit = () => {
      if (this.inMemory > 0) void this.flush();
    };
    this.exitHooks = new ExitHooks({ beforeExit, close: () => this.close() }, options.flushOnExitSignals ?? true);
    if (options.spoolDir) {
      this.spoolBridge = new SpoolBridge(new EventSpool(options.spoolDir, { maxBytes: options.maxSpoolBytes }), this.spoolBridgeHost());
      // Events left by an earlier run (or another process that ended) go out first.
      this.spoolBridge.replay();
    }
  }

  /**
   * Records one usage event and returns its `eventId` at once; delivery happens in the background.
   *
   * @throws UsageEventValidationError when the event does not match the contract
   */
  public record(fields: UsageEventFields): string {
    const detail = buildUsageEventDetail(fields, this.defaults);
    const text = JSON.stringify(detail);
    const size = putEventsEntrySize({ Source: this.source, DetailType: USAGE_EVENT_DETAIL_TYPE, Detail: text });
    if (size > PUT_EVENTS_LIMITS.maxRequestBytes) {
      throw new UsageEventValidationError('(event)', `entry of ${size} bytes exceeds PutEvents' ${PUT_EVENTS_LIMITS.maxRequestBytes}-byte limit`);
    }
    this.counters.recorded++;
    const event: PendingEvent = { eventId: detail.eventId, source: this.source, detail: text, size, seq: ++this.seq, attempts: 0 };
    if (this.closed || this.inMemory >= this.maxQueueSize) {
      this.overflow([event]);
    } else {
      this.enqueue(event);
    }
    return detail.eventId;
  }

  /** Resolves when every event recorded so far has been delivered, spooled or reported as failed. */
  public async flush(): Promise<void> {
    if (this.inMemory > 0) {
      const settled = this.barriers.add(this.seq, this.inMemory);
      this.pump(true);
      await settled;
    }
    await this.spoolBridge?.flush();
  }

  /** Flushes, then stops the timer and the signal handlers. Events recorded afterwards go to the spool or are dropped. */
  public close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      clearInterval(this.timer);
      this.spoolBridge?.stopWaitingForCapacity();
      await this.flush();
      await this.spoolBridge?.replayEnded();
      await this.flush();
      await this.spoolBridge?.close();
      if (this.ownsTransport) await this.transport.close();
      this.exitHooks.remove();
    })();
    return this.closing;
  }

  /** Counters since creation, and the number of events in memory. */
  public stats(): UsagePublisherStats {
    return { ...this.counters, queued: this.inMemory };
  }

  private enqueue(event: PendingEvent): void {
    this.queue.push(event);
    this.inMemory++;
    if (this.queue.length - this.head >= PUT_EVENTS_LIMITS.maxEntries) this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.inFlight >= this.maxConcurrentRequests) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump(false);
    });
  }

  /** Sends batches while there is room in flight; partial batches only when `partial` or flushing. */
  private pump(partial: boolean): void {
    const sendPartial = partial || this.barriers.waiting || this.closed;
    while (this.inFlight < this.maxConcurrentRequests) {
      const available = this.queue.length - this.head;
      if (available === 0 || (available < PUT_EVENTS_LIMITS.maxEntries && !sendPartial)) break;
      const batch = this.takeBatch();
      this.inFlight++;
      void this.send(batch).finally(() => {
        this.inFlight--;
        this.pump(false);
      });
    }
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Up to 10 entries whose sizes add up to at most 256 KB, oldest first. */
  private takeBatch(): PendingEvent[] {
    const count = nextBatchLength((i) => this.queue[i].size, this.head, this.queue.length);
    const batch = this.queue.slice(this.head, this.head + count);
    this.queue.fill(undefined as unknown as PendingEvent, this.head, this.head + count);
    this.head += count;
    return batch;
  }

  private async send(batch: PendingEvent[]): Promise<void> {
    const entries: PutEventsRequestEntry[] = batch.map((event) => ({
      EventBusName: this.eventBusName,
      Source: event.source,
      DetailType: USAGE_EVENT_DETAIL_TYPE,
      Detail: event.detail,
    }));
    let results: PutEventsResultEntry[] | undefined;
    try {
      results = await this.transport.putEvents(entries);
    } catch (error) {
      if (isRetryableCallError(error)) this.retry(batch, errorName(error));
      else this.fail(batch, 'rejected', `were refused by PutEvents: ${(error as Error).message}`, errorName(error));
      return;
    }
    if (results?.length !== batch.length) {
      this.retry(batch, 'IncompleteResponse');
      return;
    }
    this.settleResults(batch, results);
  }

  /** Per entry: delivered, to retry, or rejected for good. */
  private settleResults(batch: PendingEvent[], results: PutEventsResultEntry[]): void {
    const retryable: PendingEvent[] = [];
    const rejected = new Map<string, PendingEvent[]>();
    let delivered = false;
    for (const [i, result] of results.entries()) {
      const event = batch[i];
      if (!result.ErrorCode) {
        this.counters.published++;
        delivered = true;
        this.settle(event);
      } else if (isRetryableEntryError(result.ErrorCode)) {
        retryable.push(event);
      } else {
        rejected.set(result.ErrorCode, [...(rejected.get(result.ErrorCode) ?? []), event]);
      }
    }
    for (const [code, events] of rejected) this.fail(events, 'rejected', `were rejected by EventBridge (${code})`, code);
    if (retryable.length > 0) this.retry(retryable, 'EntryFailed');
    if (delivered) this.spoolBridge?.busAnswered();
  }

  private retry(events: PendingEvent[], cause: string): void {
    const exhausted: PendingEvent[] = [];
    const again: PendingEvent[] = [];
    for (const event of events) (++event.attempts > this.maxRetries ? exhausted : again).push(event);
    if (exhausted.length > 0) this.overflow(exhausted, cause, true);
    if (again.length === 0) return;
    this.counters.retried += again.length;
    const attempt = Math.max(...again.map((event) => event.attempts));
    // Not unref'd: a pending retry keeps the process alive, so a graceful exit loses nothing.
    setTimeout(() => {
      // Retries go to the front: they are the oldest events.
      this.queue.splice(this.head, 0, ...again);
      this.pump(true);
    }, fullJitterDelay(attempt, this.backoff));
  }

  /** Events that cannot stay in memory: spooled if there is a spool, otherwise counted and reported. */
  private overflow(events: PendingEvent[], cause?: string, wereInMemory = false): void {
    if (this.spoolBridge) {
      this.spoolBridge.keep(events, wereInMemory);
      return;
    }
    const reason: UsagePublishFailureReason = wereInMemory ? 'retries-exhausted' : 'overflow';
    if (wereInMemory) this.counters.failed += events.length;
    else this.counters.dropped += events.length;
    const full = this.closed ? 'the publisher is closed' : `more than maxQueueSize (${this.maxQueueSize}) events in memory`;
    const message = wereInMemory
      ? `were not delivered after ${this.maxRetries} retries (${cause ?? ''}) and no spoolDir is set`
      : `were dropped: ${full} and no spoolDir is set`;
    this.report(new UsagePublishError(reason, events.map((e) => e.eventId), message, cause));
    if (wereInMemory) for (const event of events) this.settle(event);
  }

  private fail(events: PendingEvent[], reason: UsagePublishFailureReason, message: string, code: string): void {
    this.counters.failed += events.length;
    this.report(new UsagePublishError(reason, events.map((e) => e.eventId), message, code));
    for (const event of events) this.settle(event);
  }

  /** An in-memory event is done: delivered, spooled or failed. */
  private settle(event: PendingEvent): void {
    this.inMemory--;
    this.barriers.settled(event.seq);
    this.spoolBridge?.settled(event, this.inMemory);
  }

  private report(error: UsagePublishError): void {
    try {
      this.onError?.(error);
    } catch {
      // A failing error handler must not break delivery.
    }
  }

  /** The queue as the spool bridge sees it. */
  private spoolBridgeHost(): SpoolBridgeHost {
    return {
      counters: this.counters,
      maxQueueSize: this.maxQueueSize,
      inMemory: () => this.inMemory,
      isClosed: () => this.closed,
      nextSeq: () => ++this.seq,
      enqueue: (event) => { this.enqueue(event); },
      sendPartialBatches: () => { this.pump(true); },
      settle: (event) => { this.settle(event); },
      report: (error) => { this.report(error); },
    };
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive whole number; got ${value}.`);
  return value;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number, 0 or more; got ${value}.`);
  return value;
}
