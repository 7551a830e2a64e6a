import { request } from 'node:http';

/**
 * Sends matched events to API destinations as EventBridge does
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html): each
 * request times out after 5 seconds; timeouts, network errors and answers 401, 407, 409, 429 and
 * 5xx are retried with backoff (the later of the backoff and a `Retry-After`, which stops the
 * retries when negative); other answers are final. Bounded: at most `maxInFlight` requests at
 * once and `maxQueued` waiting, beyond which an event is dropped and counted. PutEvents never
 * waits for any of it.
 */

/** One invocation of an API destination. */
export interface DeliveryRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Retries after the first attempt. */
  readonly maxRetries: number;
}

export interface DeliveryOptions {
  /** @default 8 */
  readonly maxInFlight?: number;
  /** @default 1000 */
  readonly maxQueued?: number;
  /** The service's client timeout. @default 5000 */
  readonly timeoutMs?: number;
  /** The first retry's delay, doubled for each next one (with jitter). @default 200 */
  readonly backoffMs?: number;
  /** Longest wait before a retry, whatever `Retry-After` asks. @default 10000 */
  readonly maxDelayMs?: number;
}

export interface DeliveryStats {
  readonly delivered: number;
  /** Events given up: a final error answer, or retries exhausted. */
  readonly failed: number;
  readonly retries: number;
  /** Events not delivered nor given up: the queue was full, or the bus closed before they were done. */
  readonly dropped: number;
  readonly inFlight: number;
  readonly queued: number;
}

/** Statuses EventBridge retries for an API destination. */
export const isRetryableStatus = (status: number): boolean => status === 401 || status === 407 || status === 409 || status === 429 || status >= 500;

interface Job {
  readonly request: DeliveryRequest;
  attempt: number;
}

type AttemptOutcome = { readonly kind: 'delivered' } | { readonly kind: 'final' } | { readonly kind: 'retry'; readonly retryAfterMs?: number } | { readonly kind: 'stop' };

export class ApiDestinationDelivery {
  private readonly queue: Job[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly aborts = new Set<AbortController>();
  private readonly waiters: (() => void)[] = [];
  private inFlight = 0;
  private closed = false;
  private counts = { delivered: 0, failed: 0, retries: 0, dropped: 0 };
  private readonly limits: Required<DeliveryOptions>;

  constructor(options: DeliveryOptions = {}) {
    this.limits = { maxInFlight: 8, maxQueued: 1000, timeoutMs: 5000, backoffMs: 200, maxDelayMs: 10_000, ...options };
  }

  /** Queues one invocation; returns false when it was dropped (queue full, or closed). */
  public enqueue(deliveryRequest: DeliveryRequest): boolean {
    if (this.closed || this.queue.length >= this.limits.maxQueued) {
      this.counts.dropped++;
      return false;
    }
    this.queue.push({ request: deliveryRequest, attempt: 0 });
    this.pump();
    return true;
  }

  public stats(): DeliveryStats {
    return { ...this.counts, inFlight: this.inFlight, queued: this.queue.length + this.timers.size };
  }

  /** Resolves once nothing is queued, waiting for a retry, or in flight. */
  public idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stops: waiting retries and queued events are dropped, requests in flight aborted. */
  public close(): Promise<void> {
    this.closed = true;
    this.counts.dropped += this.queue.length + this.timers.size;
    this.queue.length = 0;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const abort of this.aborts) abort.abort();
    return this.idle();
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.timers.size === 0 && this.inFlight === 0;
  }

  private pump(): void {
    while (!this.closed && this.inFlight < this.limits.maxInFlight && this.queue.length > 0) {
      const job = this.queue.shift();
      if (job) void this.run(job);
    }
    if (this.isIdle()) for (const resolve of this.waiters.splice(0)) resolve();
  }

  private async run(job: Job): Promise<void> {
    this.inFlight++;
    const outcome = await this.attempt(job.request);
    this.inFlight--;
    if (outcome.kind === 'delivered') this.counts.delivered++;
    else if (outcome.kind === 'retry' && job.attempt < job.request.maxRetries && !this.closed) this.retryLater(job, outcome.retryAfterMs);
    else if (this.closed && outcome.kind === 'retry') this.counts.dropped++;
    else this.counts.failed++;
    this.pump();
  }

  private retryLater(job: Job, retryAfterMs: number | undefined): void {
    job.attempt++;
    this.counts.retries++;
    const backoff = this.limits.backoffMs * 2 ** (job.attempt - 1) * (0.5 + Math.random() / 2);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.queue.push(job);
      this.pump();
    }, Math.min(this.limits.maxDelayMs, Math.max(backoff, retryAfterMs ?? 0)));
    this.timers.add(timer);
  }

  /** One HTTP request; its outcome by the service's retry rules. */
  private attempt(deliveryRequest: DeliveryRequest): Promise<AttemptOutcome> {
    const abort = new AbortController();
    this.aborts.add(abort);
    return new Promise<AttemptOutcome>((resolve) => {
      const options = { method: deliveryRequest.method, headers: deliveryRequest.headers, signal: abort.signal, timeout: this.limits.timeoutMs };
      const req = request(deliveryRequest.url, options, (res) => {
        res.resume();
        res.on('error', () => { resolve({ kind: 'retry' }); });
        res.on('end', () => { resolve(outcomeOf(res.statusCode ?? 0, res.headers['retry-after'])); });
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', () => { resolve({ kind: 'retry' }); });
      req.end(deliveryRequest.body);
    }).finally(() => this.aborts.delete(abort));
  }
}

function outcomeOf(status: number, retryAfter: string | undefined): AttemptOutcome {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (!isRetryableStatus(status)) return { kind: 'final' };
  const seconds = retryAfter === undefined ? undefined : Number(retryAfter);
  if (seconds !== undefined && Number.isFinite(seconds)) return seconds < 0 ? { kind: 'stop' } : { kind: 'retry', retryAfterMs: seconds * 1000 };
  return { kind: 'retry' };
}
