import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DEFAULT_EVENT_SOURCE } from '../../contracts/usage-event';
import { UsagePublishError } from '../../sdk/errors';
import { EventSpool, SpooledEvent } from '../../sdk/event-spool';
import { PendingEvent } from '../../sdk/pending-event';
import { SpoolBridge, SpoolBridgeHost } from '../../sdk/spool-bridge';
import { waitUntil } from './helpers';

const spooled = (i: number): SpooledEvent => ({ eventId: `evt-${String(i).padStart(8, '0')}`, source: DEFAULT_EVENT_SOURCE, detail: JSON.stringify({ eventId: `evt-${i}` }) });
const pending = (i: number): PendingEvent => ({ ...spooled(i), size: 100, seq: i, attempts: 0 });

/** A queue that only holds what the bridge gives it, and a bridge over a spool in a new folder. */
function bridgeWithQueue(maxQueueSize: number) {
  const dir = mkdtempSync(path.join(tmpdir(), 'spool-bridge-'));
  const queue: PendingEvent[] = [];
  const settled: PendingEvent[] = [];
  const reports: UsagePublishError[] = [];
  const state = { closed: false, seq: 0 };
  const host: SpoolBridgeHost = {
    counters: { recorded: 0, published: 0, retried: 0, failed: 0, spooled: 0, dropped: 0 },
    maxQueueSize,
    inMemory: () => queue.length,
    isClosed: () => state.closed,
    nextSeq: () => ++state.seq,
    enqueue: (event) => queue.push(event),
    sendPartialBatches: () => undefined,
    settle: (event) => settled.push(event),
    report: (error) => reports.push(error),
  };
  const bridge = new SpoolBridge(new EventSpool(dir), host);
  /** The queue delivers its oldest event. */
  const deliverOne = () => {
    const event = queue.shift();
    if (event) bridge.settled(event, queue.length);
    return event?.eventId;
  };
  return { dir, queue, settled, reports, state, host, bridge, deliverOne };
}

/** Events left in a folder by a writer that has ended. */
async function leftBehind(dir: string, events: SpooledEvent[]): Promise<void> {
  const writer = new EventSpool(dir);
  await writer.append(events);
  await writer.close();
}

describe('Class: SpoolBridge', () => {
  it('writes events kept in one turn of the event loop in one append, and settles those that were in memory', async () => {
    // Prepare
    const { dir, bridge, settled, host } = bridgeWithQueue(10);
    // Act
    bridge.keep([pending(1)], true);
    bridge.keep([pending(2)], false);
    await bridge.flush();
    // Assess
    expect(host.counters.spooled).toBe(2);
    expect(settled.map((event) => event.eventId)).toEqual([spooled(1).eventId]);
    expect(readdirSync(dir)).toHaveLength(1);
    await bridge.close();
  });

  it('reports events it cannot spool as failed, and still settles them', async () => {
    const { bridge, settled, reports, host, dir } = bridgeWithQueue(10);
    const tooBig = new SpoolBridge(new EventSpool(dir, { maxBytes: 10 }), host);
    tooBig.keep([pending(1)], true);
    await tooBig.flush();
    expect(host.counters).toMatchObject({ spooled: 0, failed: 1 });
    expect(reports).toEqual([expect.objectContaining({ reason: 'spool-failed', eventIds: [spooled(1).eventId], errorCode: 'SpoolFullError' })]);
    expect(settled).toHaveLength(1);
    await Promise.all([tooBig.close(), bridge.close()]);
  });

  it('replays a spooled file holding at most maxQueueSize events in memory, and removes the file once all settled', async () => {
    // Prepare
    const { dir, bridge, queue, deliverOne } = bridgeWithQueue(2);
    await leftBehind(dir, [1, 2, 3, 4, 5].map(spooled));
    // Act
    bridge.replay();
    const delivered: (string | undefined)[] = [];
    const inMemory: number[] = [];
    while (delivered.length < 5) {
      await waitUntil(() => queue.length === Math.min(2, 5 - delivered.length), 'the replay fills the free room');
      inMemory.push(queue.length);
      delivered.push(deliverOne());
    }
    await bridge.replayEnded();
    // Assess
    expect(delivered).toEqual([1, 2, 3, 4, 5].map((i) => spooled(i).eventId));
    expect(Math.max(...inMemory)).toBe(2);
    await waitUntil(() => readdirSync(dir).length === 0, 'the replayed file is removed');
    await bridge.close();
  });

  it('puts the events it has not read back in the spool when the publisher closes mid-replay', async () => {
    // Prepare: room for one event, and nothing is delivered.
    const { dir, bridge, queue, state, deliverOne } = bridgeWithQueue(1);
    await leftBehind(dir, [1, 2, 3].map(spooled));
    bridge.replay();
    await waitUntil(() => queue.length === 1, 'the first event is queued');
    // Act: the publisher closes, and delivers what it holds.
    state.closed = true;
    bridge.stopWaitingForCapacity();
    await bridge.replayEnded();
    const deliveredOnClose = deliverOne();
    await bridge.close();
    // Assess: the two unread events are in the spool for the next run, and only they.
    const next = new EventSpool(dir);
    const files = await next.claimReplayable();
    const events = (await Promise.all(files.map((file) => next.read(file)))).flat();
    expect(deliveredOnClose).toBe(spooled(1).eventId);
    expect(events).toEqual([spooled(2), spooled(3)]);
    await next.close();
  });

  it('replays again once the bus answers, only if something was spooled since the last replay', async () => {
    // Prepare
    const { bridge, queue } = bridgeWithQueue(10);
    bridge.busAnswered();
    await bridge.replayEnded();
    const queuedWithNothingSpooled = queue.length;
    bridge.keep([pending(7)], false);
    await bridge.flush();
    // Act
    bridge.busAnswered();
    await waitUntil(() => queue.length === 1, 'the spooled event is queued again');
    // Assess
    expect(queuedWithNothingSpooled).toBe(0);
    expect(queue[0]).toMatchObject({ eventId: spooled(7).eventId, attempts: 0, origin: expect.objectContaining({ outstanding: 1 }) as unknown });
    await bridge.replayEnded();
    await bridge.close();
  });
});
