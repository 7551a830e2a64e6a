import { putEventsEntrySize } from '../contracts/put-events-limits';
import { USAGE_EVENT_DETAIL_TYPE } from '../contracts/usage-event-constants';
import { UsagePublishError } from './errors';
import { EventSpool, SpooledEvent } from './event-spool';
import { PendingEvent, PublisherCounters, ReplayFile } from './pending-event';
import { errorName } from './retry-policy';

/** What the spool bridge needs of the publisher's queue. */
export interface SpoolBridgeHost {
  readonly counters: PublisherCounters;
  readonly maxQueueSize: number;
  /** Events in memory now: queued, in flight or waiting to retry. */
  inMemory(): number;
  isClosed(): boolean;
  /** The next sequence number in the order of recording. */
  nextSeq(): number;
  /** Puts a replayed event at the back of the queue. */
  enqueue(event: PendingEvent): void;
  /** Sends what is queued now, partial batches included. */
  sendPartialBatches(): void;
  /** An in-memory event is done (here: spooled, or failed to spool). */
  settle(event: PendingEvent): void;
  report(error: UsagePublishError): void;
}

/**
 * Moves events between the publisher's queue and its {@link EventSpool}: events that cannot stay
 * in memory are written to disk (one append per turn of the event loop), and spooled events are
 * sent again, without taking more memory than `maxQueueSize`, on start and once the bus answers.
 */
export class SpoolBridge {
  private buffer: { event: PendingEvent; wasInMemory: boolean }[] = [];
  private readonly pendingWrites = new Set<Promise<void>>();
  private readonly capacityWaiters: (() => void)[] = [];
  private replaying?: Promise<void>;
  private spooledSinceReplay = false;

  constructor(
    private readonly spool: EventSpool,
    private readonly host: SpoolBridgeHost,
  ) {}

  /** Keeps events on disk; those that were in memory settle once written (or refused). */
  public keep(events: readonly PendingEvent[], wereInMemory: boolean): void {
    // Gathered and written once per turn of the event loop: one append for many events.
    for (const event of events) this.buffer.push({ event, wasInMemory: wereInMemory });
    if (this.buffer.length !== events.length) return;
    const written: Promise<void> = new Promise<void>((resolve) => {
      setImmediate(() => {
        void this.writeBuffer().finally(() => {
          this.pendingWrites.delete(written);
          resolve();
        });
      });
    });
    this.pendingWrites.add(written);
  }

  /** A delivery succeeded: the bus answers again, so what was spooled since the last replay goes out. */
  public busAnswered(): void {
    if (this.spooledSinceReplay) this.replay();
  }

  /** An in-memory event settled: its replayed file may be done, and a replay may go on. */
  public settled(event: PendingEvent, inMemory: number): void {
    if (event.origin && --event.origin.outstanding === 0 && event.origin.finishedReading) {
      void this.spool.remove(event.origin.file);
    }
    if (this.capacityWaiters.length > 0 && inMemory < this.host.maxQueueSize) this.capacityWaiters.shift()?.();
  }

  /** Waits for the spool writes so far and forces them to disk. */
  public async flush(): Promise<void> {
    await Promise.all([...this.pendingWrites]);
    await this.spool.flush();
  }

  /** Lets a replay waiting for room in memory see that the publisher is closing. */
  public stopWaitingForCapacity(): void {
    for (const wake of this.capacityWaiters.splice(0)) wake();
  }

  /** Resolves when the replay in progress, if any, has ended. */
  public async replayEnded(): Promise<void> {
    await this.replaying;
  }

  public close(): Promise<void> {
    return this.spool.close();
  }

  /** Sends spooled events again, without taking more memory than maxQueueSize. */
  public replay(): void {
    if (this.replaying || this.host.isClosed()) return;
    this.spooledSinceReplay = false;
    this.replaying = this.replayClaimedFiles()
      .catch((error: unknown) => {
        const message = `could not be replayed from the spool: ${(error as Error).message}`;
        this.host.report(new UsagePublishError('spool-failed', [], message, errorName(error)));
      })
      .finally(() => {
        this.replaying = undefined;
        if (this.spooledSinceReplay && !this.host.isClosed()) this.replay();
      });
  }

  private async writeBuffer(): Promise<void> {
    const batch = this.buffer;
    this.buffer = [];
    const { counters } = this.host;
    try {
      await this.spool.append(batch.map(({ event: { eventId, source, detail } }) => ({ eventId, source, detail })));
      counters.spooled += batch.length;
      this.spooledSinceReplay = true;
    } catch (error) {
      counters.failed += batch.length;
      const eventIds = batch.map((b) => b.event.eventId);
      this.host.report(new UsagePublishError('spool-failed', eventIds, `could not be spooled: ${(error as Error).message}`, errorName(error)));
    }
    for (const { event, wasInMemory } of batch) if (wasInMemory) this.host.settle(event);
  }

  private async replayClaimedFiles(): Promise<void> {
    await Promise.all([...this.pendingWrites]);
    for (const file of await this.spool.claimReplayable()) await this.replayFile(file);
  }

  private async replayFile(file: string): Promise<void> {
    const events = await this.spool.read(file);
    const origin: ReplayFile = { file, outstanding: 0, finishedReading: false };
    let index = 0;
    for (; index < events.length && !this.host.isClosed(); index++) {
      await this.waitForCapacity();
      if (this.host.isClosed()) break;
      origin.outstanding++;
      this.host.enqueue(this.pendingFrom(events[index], origin));
    }
    if (index < events.length) await this.spool.append(events.slice(index)); // closing: keep the unread rest
    origin.finishedReading = true;
    if (origin.outstanding === 0) await this.spool.remove(file);
    this.host.sendPartialBatches();
  }

  private async waitForCapacity(): Promise<void> {
    while (this.host.inMemory() >= this.host.maxQueueSize && !this.host.isClosed()) {
      await new Promise<void>((resolve) => this.capacityWaiters.push(resolve));
    }
  }

  private pendingFrom(event: SpooledEvent, origin: ReplayFile): PendingEvent {
    const size = putEventsEntrySize({ Source: event.source, DetailType: USAGE_EVENT_DETAIL_TYPE, Detail: event.detail });
    return { ...event, size, seq: this.host.nextSeq(), attempts: 0, origin };
  }
}
