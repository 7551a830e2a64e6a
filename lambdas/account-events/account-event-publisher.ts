import type { PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { ACCOUNT_EVENT_DETAIL_TYPE, ACCOUNT_EVENT_SOURCE, AccountEventDetail, accountEventDetailSchema } from '../../contracts/account-events';
import { PUT_EVENTS_LIMITS } from '../../contracts/put-events-limits';
import type { PutEventsTransport } from '../../sdk/put-events-transport';
import { errorName, fullJitterDelay, isRetryableCallError, isRetryableEntryError } from '../../sdk/retry-policy';

/** Where account events go: the bus, or (in tests) anything that takes them. */
export interface AccountEventSink {
  /**
   * Puts every event on the bus or throws: each keeps its `eventId` across retries, so a caller
   * that sends again after a failure (a redelivered stream batch, a retried log delivery) adds
   * duplicates the notifier and the lake's queries drop, never a second occurrence.
   */
  publish(events: readonly AccountEventDetail[]): Promise<void>;
}

export interface AccountEventPublisherOptions {
  readonly transport: PutEventsTransport;
  readonly eventBusName: string;
  /** Attempts per entry, the first included. @default 4 */
  readonly maxAttempts?: number;
  /** @default 100 */
  readonly baseDelayMs?: number;
  /** @default 2000 */
  readonly maxDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Events that could not be put on the bus after every attempt. */
export class AccountEventPublishError extends Error {
  public override readonly name = 'AccountEventPublishError';

  constructor(
    public readonly undelivered: readonly { readonly eventId: string; readonly reason: string }[],
    total: number,
  ) {
    super(`${undelivered.length} of ${total} account events were not put on the bus (${undelivered[0]?.reason ?? 'unknown'}${undelivered.length > 1 ? ', …' : ''}).`);
  }
}

/**
 * PutEvents for account events: source {@link ACCOUNT_EVENT_SOURCE}, detail-type
 * {@link ACCOUNT_EVENT_DETAIL_TYPE}, `Time` the occurrence's; up to 10 entries per call; failed
 * entries (and failed calls) retried with full-jitter backoff, each with its own `eventId`.
 * Each detail is checked against the contract first: an event the contract refuses is a bug of
 * its producer and throws before anything is sent.
 */
export class AccountEventPublisher implements AccountEventSink {
  private readonly maxAttempts: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: AccountEventPublisherOptions) {
    this.maxAttempts = options.maxAttempts ?? 4;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  public async publish(events: readonly AccountEventDetail[]): Promise<void> {
    const entries = events.map((event) => this.entryOf(event));
    const undelivered: { eventId: string; reason: string }[] = [];
    for (let start = 0; start < entries.length; start += PUT_EVENTS_LIMITS.maxEntries) {
      undelivered.push(...(await this.putWithRetries(entries.slice(start, start + PUT_EVENTS_LIMITS.maxEntries))));
    }
    if (undelivered.length > 0) throw new AccountEventPublishError(undelivered, events.length);
  }

  private entryOf(event: AccountEventDetail): { eventId: string; entry: PutEventsRequestEntry } {
    const detail = accountEventDetailSchema.parse(event);
    return {
      eventId: detail.eventId,
      entry: {
        EventBusName: this.options.eventBusName,
        Source: ACCOUNT_EVENT_SOURCE,
        DetailType: ACCOUNT_EVENT_DETAIL_TYPE,
        Time: new Date(detail.occurredAt),
        Detail: JSON.stringify(detail),
      },
    };
  }

  /**
   * Puts a batch, retrying what may succeed later: the undelivered are the entries refused for good
   * at any attempt, and those still failing after the last one.
   */
  private async putWithRetries(batch: readonly { eventId: string; entry: PutEventsRequestEntry }[]): Promise<{ eventId: string; reason: string }[]> {
    let pending = [...batch];
    const refused: { eventId: string; reason: string }[] = [];
    let failures: { eventId: string; reason: string }[] = [];
    for (let attempt = 1; attempt <= this.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 1) await this.sleep(fullJitterDelay(attempt - 1, { baseDelayMs: this.options.baseDelayMs ?? 100, maxDelayMs: this.options.maxDelayMs ?? 2000 }));
      failures = [];
      const retry: typeof pending = [];
      try {
        const results = (await this.options.transport.putEvents(pending.map(({ entry }) => entry))) ?? [];
        pending.forEach((item, index) => {
          const code = results[index]?.ErrorCode;
          if (results[index]?.EventId && !code) return;
          const failure = { eventId: item.eventId, reason: code ? `${code}: ${results[index]?.ErrorMessage ?? ''}` : 'no result entry' };
          // A refusal for good is kept apart: a later attempt that delivers the others must not forget it.
          if (code && !isRetryableEntryError(code)) { refused.push(failure); return; }
          failures.push(failure);
          retry.push(item);
        });
      } catch (error) {
        failures = pending.map(({ eventId }) => ({ eventId, reason: errorName(error) }));
        if (!isRetryableCallError(error)) return [...refused, ...failures];
        retry.push(...pending);
      }
      pending = retry;
    }
    return [...refused, ...failures];
  }
}
