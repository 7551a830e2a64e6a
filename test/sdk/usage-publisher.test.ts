import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EventBridgeClient, PutEventsCommand, PutEventsCommandInput, PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { PUT_EVENTS_LIMITS, putEventsEntrySize } from '../../contracts/put-events-limits';
import { DEFAULT_EVENT_SOURCE } from '../../contracts/usage-event';
import { UsageEventValidationError, UsagePublishError } from '../../sdk/errors';
import { UsagePublisher, UsagePublisherOptions } from '../../sdk/usage-publisher';
import { waitUntil } from './helpers';

const ebMock = mockClient(EventBridgeClient);
const client = () => new EventBridgeClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const fields = (i = 0) => ({ service: 'orders', tenantId: `tenant-${i % 3}`, operation: 'GET /v1/orders/{id}', method: 'GET', statusCode: 200, latencyMs: 3 + i });
const open: UsagePublisher[] = [];

function publisher(options: Partial<UsagePublisherOptions> = {}): UsagePublisher {
  const created = new UsagePublisher({
    eventBusName: 'usage-bus',
    source: DEFAULT_EVENT_SOURCE,
    client: client(),
    flushOnExitSignals: false,
    retryBaseDelayMs: 1,
    retryMaxDelayMs: 5,
    ...options,
  });
  open.push(created);
  return created;
}

const sentCalls = () => ebMock.commandCalls(PutEventsCommand).map((call) => call.args[0].input);
const eventIdOf = (entry: { Detail?: string }) => (JSON.parse(entry.Detail!) as { eventId: string }).eventId;
const sentEventIds = () => sentCalls().flatMap((input) => input.Entries!.map(eventIdOf));
/** Fake timers for the publisher's own timers (interval, setImmediate); promises run as usual. */
const useFakeTimers = () => jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
const accept = (input: PutEventsCommandInput) => ({ FailedEntryCount: 0, Entries: input.Entries!.map(() => ({ EventId: 'eb-id' })) });

describe('Class: UsagePublisher', () => {
  beforeEach(() => {
    ebMock.reset();
    ebMock.on(PutEventsCommand).callsFake(accept);
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((p) => p.close()));
    jest.useRealTimers();
  });

  describe('Method: record', () => {
    it('returns the eventId synchronously and sends nothing on the caller stack', () => {
      // Prepare
      const usage = publisher();
      // Act
      const eventId = usage.record(fields());
      // Assess
      expect(typeof eventId).toBe('string');
      expect(ebMock.calls()).toHaveLength(0);
      expect(usage.stats()).toMatchObject({ recorded: 1, queued: 1, published: 0 });
    });

    it('throws UsageEventValidationError naming the field, and counts nothing', () => {
      const usage = publisher();
      expect(() => usage.record({ ...fields(), latencyMs: -5 })).toThrow(UsageEventValidationError);
      expect(() => usage.record({ ...fields(), latencyMs: -5 })).toThrow(/^Invalid usage event: latencyMs: /);
      expect(usage.stats().recorded).toBe(0);
    });

    it('sends the detail-type, source and bus of the contract', async () => {
      const usage = publisher();
      const eventId = usage.record({ ...fields(), eventId: 'evt-fixed-01' });
      await usage.flush();
      const [entry] = sentCalls()[0].Entries!;
      expect(entry).toMatchObject({ EventBusName: 'usage-bus', Source: 'my-applications', DetailType: 'api-usage-event' });
      expect(entry.Time).toBeUndefined();
      expect(JSON.parse(entry.Detail!)).toMatchObject({ eventId, schemaVersion: '1', tenantId: 'tenant-0', billableUnits: 1 });
    });
  });

  describe('Method: flush', () => {
    it('batches at most 10 entries per PutEvents call', async () => {
      const usage = publisher();
      for (let i = 0; i < 25; i++) usage.record(fields(i));
      await usage.flush();
      expect(sentCalls().map((input) => input.Entries!.length)).toEqual([10, 10, 5]);
      expect(usage.stats()).toMatchObject({ recorded: 25, published: 25, queued: 0, failed: 0 });
    });

    it('sends full batches on the next turn of the event loop, without a flush or the interval', async () => {
      // Prepare
      useFakeTimers();
      const usage = publisher({ flushIntervalMs: 60_000 });
      // Act
      for (let i = 0; i < 25; i++) usage.record(fields(i));
      const sentOnTheCallerStack = sentCalls().length;
      await jest.advanceTimersByTimeAsync(0);
      // Assess: the partial batch of 5 waits.
      expect(sentOnTheCallerStack).toBe(0);
      expect(sentCalls().map((input) => input.Entries!.length)).toEqual([10, 10]);
    });

    it('sends a partial batch when the interval elapses, not before', async () => {
      // Prepare
      useFakeTimers();
      const usage = publisher({ flushIntervalMs: 20 });
      usage.record(fields());
      // Act and assess
      await jest.advanceTimersByTimeAsync(19);
      expect(sentCalls()).toHaveLength(0);
      await jest.advanceTimersByTimeAsync(1);
      expect(sentCalls().map((input) => input.Entries!.length)).toEqual([1]);
    });
  });

  describe('Retries', () => {
    it('retries only the failed entries, with the same eventIds', async () => {
      // Prepare: the first call fails entries 2 and 5 with a throttle.
      let call = 0;
      ebMock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
        call++;
        const entries: PutEventsResultEntry[] = input.Entries!.map((_, i) =>
          call === 1 && (i === 2 || i === 5) ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' } : { EventId: 'ok' },
        );
        return { FailedEntryCount: entries.filter((e) => e.ErrorCode).length, Entries: entries };
      });
      const usage = publisher();
      const ids = Array.from({ length: 10 }, (_, i) => usage.record(fields(i)));
      // Act
      await usage.flush();
      // Assess
      const calls = sentCalls();
      expect(calls).toHaveLength(2);
      expect(calls[1].Entries!.map(eventIdOf)).toEqual([ids[2], ids[5]]);
      expect(usage.stats()).toMatchObject({ published: 10, retried: 2, failed: 0 });
    });

    it('retries a whole call that was throttled or hit a network error', async () => {
      ebMock
        .on(PutEventsCommand)
        .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
        .rejectsOnce(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))
        .callsFake(accept);
      const usage = publisher();
      const ids = [usage.record(fields(1)), usage.record(fields(2))];
      await usage.flush();
      expect(sentEventIds()).toEqual([...ids, ...ids, ...ids]);
      expect(usage.stats()).toMatchObject({ published: 2, retried: 4 });
    });

    it('reports entries EventBridge rejects for good and does not retry them', async () => {
      ebMock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({
        FailedEntryCount: 1,
        Entries: input.Entries!.map((_, i) => (i === 0 ? { ErrorCode: 'MalformedDetail', ErrorMessage: 'bad' } : { EventId: 'ok' })),
      }));
      const errors: UsagePublishError[] = [];
      const usage = publisher({ onError: (error) => errors.push(error) });
      const first = usage.record(fields(0));
      usage.record(fields(1));
      await usage.flush();
      expect(sentCalls()).toHaveLength(1);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ reason: 'rejected', errorCode: 'MalformedDetail', eventIds: [first] });
      expect(usage.stats()).toMatchObject({ published: 1, failed: 1, retried: 0 });
    });

    it('reports a whole call refused as malformed, without retrying', async () => {
      ebMock.on(PutEventsCommand).rejects(Object.assign(new Error('bad request'), { name: 'ValidationException' }));
      const errors: UsagePublishError[] = [];
      const usage = publisher({ onError: (error) => errors.push(error) });
      usage.record(fields());
      await usage.flush();
      expect(sentCalls()).toHaveLength(1);
      expect(errors[0]).toMatchObject({ reason: 'rejected', errorCode: 'ValidationException' });
    });

    it('gives up after maxRetries without a spool, reporting the events as failed', async () => {
      ebMock.on(PutEventsCommand).rejects(Object.assign(new Error('down'), { code: 'ECONNREFUSED' }));
      const errors: UsagePublishError[] = [];
      const usage = publisher({ maxRetries: 2, onError: (error) => errors.push(error) });
      const id = usage.record(fields());
      await usage.flush();
      expect(sentCalls()).toHaveLength(3);
      expect(errors).toEqual([expect.objectContaining({ reason: 'retries-exhausted', eventIds: [id], errorCode: 'ECONNREFUSED' })]);
      expect(usage.stats()).toMatchObject({ failed: 1, retried: 2, queued: 0 });
    });
  });

  describe('Bounded memory', () => {
    it('drops and reports events beyond maxQueueSize when there is no spool', async () => {
      // Prepare: the bus does not answer until the end of the test, so nothing leaves memory.
      const answers: (() => void)[] = [];
      ebMock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => new Promise<ReturnType<typeof accept>>((resolve) => answers.push(() => { resolve(accept(input)); })));
      const errors: UsagePublishError[] = [];
      const usage = publisher({ maxQueueSize: 5, onError: (error) => errors.push(error) });
      // Act
      const ids = Array.from({ length: 8 }, (_, i) => usage.record(fields(i)));
      // Assess: the first five wait in memory, the last three are dropped and reported.
      expect(usage.stats()).toMatchObject({ recorded: 8, queued: 5, dropped: 3 });
      expect(errors.map((error) => [error.reason, error.eventIds])).toEqual(ids.slice(5).map((id) => ['overflow', [id]]));
      // The bus answers: the five in memory are delivered, and only they.
      const flushed = usage.flush();
      await waitUntil(() => answers.length > 0, 'the queued events are sent');
      for (const answer of answers.splice(0)) answer();
      await flushed;
      expect(sentEventIds()).toEqual(ids.slice(0, 5));
    });

    it('spools overflow and retry-exhausted events, and replays them on the next start', async () => {
      // Prepare: the bus is down.
      const spoolDir = mkdtempSync(path.join(tmpdir(), 'usage-spool-'));
      ebMock.on(PutEventsCommand).rejects(Object.assign(new Error('down'), { code: 'ECONNREFUSED' }));
      const first = publisher({ spoolDir, maxRetries: 1, maxQueueSize: 10 });
      const ids = Array.from({ length: 15 }, (_, i) => first.record(fields(i)));
      // Act
      await first.close();
      // Assess: nothing lost, nothing delivered.
      expect(first.stats()).toMatchObject({ recorded: 15, spooled: 15, failed: 0, dropped: 0, published: 0 });
      expect(readdirSync(spoolDir).length).toBeGreaterThan(0);

      // Prepare: the bus is back; a new process starts with the same spool.
      ebMock.reset();
      ebMock.on(PutEventsCommand).callsFake(accept);
      const second = publisher({ spoolDir });
      // Act
      await waitUntil(() => second.stats().published === 15, 'the spooled events are replayed');
      await second.close();
      // Assess: the same events, same ids, and the spool is empty.
      expect(sentEventIds().sort()).toEqual([...ids].sort());
      expect(second.stats()).toMatchObject({ published: 15 });
      expect(readdirSync(spoolDir)).toEqual([]);
    });

    it('splits batches by the 256 KB request size, counting bytes as EventBridge does', async () => {
      // Prepare: a spool left by an earlier run holds three 100 KB events (a valid event from
      // record() is far smaller, so the spool is the way to put large entries in the queue).
      const spoolDir = mkdtempSync(path.join(tmpdir(), 'usage-spool-'));
      const big = (i: number) => ({ v: 1, eventId: `evt-big-${i}`, source: DEFAULT_EVENT_SOURCE, detail: JSON.stringify({ eventId: `evt-big-${i}`, pad: 'é'.repeat(50 * 1024) }) });
      writeFileSync(path.join(spoolDir, 'usage-events.999999999-deadbeef.20261123T000000000Z.000001.ndjson'), [1, 2, 3].map((i) => `${JSON.stringify(big(i))}\n`).join(''));
      // Act
      const usage = publisher({ spoolDir });
      await waitUntil(() => usage.stats().published === 3, 'the spooled events are replayed');
      await usage.flush();
      // Assess: 2 × 100 KB fit in 256 KB ('é' is 2 bytes in UTF-8), a third does not.
      expect(sentCalls().map((input) => input.Entries!.length)).toEqual([2, 1]);
      for (const input of sentCalls()) {
        const bytes = input.Entries!.reduce((sum, entry) => sum + putEventsEntrySize(entry), 0);
        expect(bytes).toBeLessThanOrEqual(PUT_EVENTS_LIMITS.maxRequestBytes);
      }
    });

    it('replays the spool as soon as the bus answers again', async () => {
      const spoolDir = mkdtempSync(path.join(tmpdir(), 'usage-spool-'));
      let busUp = false;
      ebMock.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => {
        if (!busUp) throw Object.assign(new Error('down'), { code: 'ECONNRESET' });
        return accept(input);
      });
      const usage = publisher({ spoolDir, maxRetries: 0 });
      const lost = Array.from({ length: 12 }, (_, i) => usage.record(fields(i)));
      await usage.flush();
      expect(usage.stats()).toMatchObject({ spooled: 12, published: 0 });
      // Act: the bus recovers; the next delivery triggers the replay.
      busUp = true;
      const later = usage.record(fields(99));
      await usage.flush();
      await waitUntil(() => usage.stats().published === 13, 'the spooled events are replayed');
      await usage.flush();
      // Assess
      expect(new Set(sentEventIds())).toEqual(new Set([...lost, later]));
      expect(usage.stats()).toMatchObject({ published: 13, failed: 0 });
    });
  });

  describe('Method: close', () => {
    it('sends a partial batch before it resolves', async () => {
      const usage = publisher({ flushIntervalMs: 60_000 });
      usage.record(fields(1));
      usage.record(fields(2));
      await usage.close();
      expect(sentCalls().map((input) => input.Entries!.length)).toEqual([2]);
      expect(usage.stats()).toMatchObject({ published: 2, queued: 0 });
    });

    it('drops, reports and does not send events recorded after close when there is no spool', async () => {
      const errors: UsagePublishError[] = [];
      const usage = publisher({ onError: (error) => errors.push(error) });
      await usage.close();
      const id = usage.record(fields());
      await usage.flush();
      expect(usage.stats()).toMatchObject({ dropped: 1, queued: 0, published: 0 });
      expect(errors).toEqual([expect.objectContaining({ reason: 'overflow', eventIds: [id] })]);
      expect(errors[0].message).toContain('the publisher is closed');
      expect(sentCalls()).toHaveLength(0);
    });
  });

  describe('Options', () => {
    it.each([
      [{ eventBusName: '' }, 'UsagePublisher needs eventBusName: the usage bus name or ARN (stack output EventBusName).'],
      [{ source: '' }, 'UsagePublisher needs source: an event source on the stack allow-list, e.g. "my-applications".'],
      [{ maxQueueSize: 0 }, 'maxQueueSize must be a positive whole number; got 0.'],
      [{ maxRetries: -1 }, 'maxRetries must be a whole number, 0 or more; got -1.'],
    ])('refuses %o', (override, message) => {
      expect(() => publisher(override)).toThrow(message);
    });
  });
});
