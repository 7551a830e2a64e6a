import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ACCOUNT_EVENT_DETAIL_TYPE, ACCOUNT_EVENT_SOURCE, accountEventPattern } from '../../../contracts/account-events';
import { usageEventPattern } from '../../../contracts/event-pattern';
import { DEFAULT_EVENT_SOURCE, USAGE_EVENT_DETAIL_TYPE } from '../../../contracts/usage-event';
import { dataDirLayout } from '../../../local/data-dir';
import { FirehoseBuffer, FirehoseBufferOptions } from '../../../local/events/firehose-buffer';
import { LocalEventBus } from '../../../local/events/local-event-bus';
import { listFiles } from '../../../local/lake/local-lake';

const BUS_NAME = 'usage-bus';

const detail = (eventId: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ schemaVersion: '1', eventId, occurredAt: new Date().toISOString(), service: 's', tenantId: 't', operation: 'GET /x', method: 'GET', statusCode: 200, latencyMs: 1, ...extra });
const entry = (eventId: string, overrides: Record<string, unknown> = {}) => ({
  EventBusName: BUS_NAME,
  Source: DEFAULT_EVENT_SOURCE,
  DetailType: USAGE_EVENT_DETAIL_TYPE,
  Detail: detail(eventId),
  ...overrides,
});

interface DeliveredRecord {
  readonly source: string;
  readonly 'detail-type': string;
  readonly detail: { readonly eventId: string };
}

/** Every record delivered to raw/ so far, parsed. */
async function delivered(dataDir: string): Promise<DeliveredRecord[]> {
  const files = await listFiles(path.join(dataDir, 'raw'), '.gz');
  return files.flatMap((file) =>
    gunzipSync(readFileSync(file))
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as DeliveredRecord),
  );
}

/** A buffer's default hints for these tests: nothing flushes unless a test says so. */
const QUIET = { intervalMs: 60_000, sizeBytes: 1024 * 1024 } as const;

/** A temporary data folder for one test, removed after it. */
async function withDataDir(prefix: string, test: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), prefix));
  try {
    await test(dataDir);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

interface RunningBus {
  readonly dataDir: string;
  readonly buffer: FirehoseBuffer;
  readonly bus: LocalEventBus;
  readonly client: EventBridgeClient;
  readonly endpoint: string;
}

/** A bus with the stack's rule pattern feeding a started buffer, and the real client pointed at it, for one test. */
function withBus(bufferOptions: Partial<Omit<FirehoseBufferOptions, 'dataDir'>>, test: (running: RunningBus) => Promise<void>): Promise<void> {
  return withDataDir('local-bus-', async (dataDir) => {
    const buffer = new FirehoseBuffer({ dataDir, ...QUIET, ...bufferOptions });
    await buffer.start();
    const bus = new LocalEventBus({ busName: BUS_NAME, rule: { pattern: usageEventPattern([DEFAULT_EVENT_SOURCE]), target: buffer } });
    const endpoint = await bus.listen(0);
    const client = new EventBridgeClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    try {
      await test({ dataDir, buffer, bus, client, endpoint });
    } finally {
      client.destroy();
      await bus.close();
      await buffer.stop();
    }
  });
}

/** Resolves with the first object a buffer writes (pass `onFlush` to the buffer). */
function firstFlush(): { onFlush: FirehoseBufferOptions['onFlush']; flushed: Promise<{ key: string; records: number }> } {
  let onFlush: FirehoseBufferOptions['onFlush'];
  const flushed = new Promise<{ key: string; records: number }>((resolve) => {
    onFlush = resolve;
  });
  return { onFlush, flushed };
}

/** Lets pending I/O callbacks run, turn by turn of the event loop, until the condition holds or the turns run out. */
async function eventLoopTurnsUntil(condition: () => boolean, maxTurns = 1000): Promise<void> {
  for (let turn = 0; turn < maxTurns && !condition(); turn++) await new Promise((resolve) => setImmediate(resolve));
}

describe('LocalEventBus with the real EventBridge client, feeding a FirehoseBuffer', () => {
  it('accepts valid entries and fails bad ones one by one, with the service’s error codes', () =>
    withBus({}, async ({ client }) => {
      const result = await client.send(
        new PutEventsCommand({
          Entries: [
            entry('e-1'),
            entry('e-2', { Detail: '{not json' }),
            entry('e-3', { Detail: '[1,2]' }),
            entry('e-4', { Source: undefined }),
            entry('e-5', { DetailType: undefined }),
            entry('e-6', { Source: 'aws.ec2' }),
            entry('e-7', { EventBusName: `arn:aws:events:us-east-1:000000000000:event-bus/${BUS_NAME}` }),
          ],
        }),
      );
      expect(result.FailedEntryCount).toBe(5);
      expect(result.Entries!.map((e) => e.ErrorCode ?? 'ok')).toEqual(['ok', 'MalformedDetail', 'MalformedDetail', 'InvalidArgument', 'InvalidArgument', 'NotAuthorizedForSourceException', 'ok']);
      expect(result.Entries![3].ErrorMessage).toBe('Parameter Source is not valid. Reason: Source is a required argument.');
      expect(result.Entries![0].EventId).toMatch(/^[0-9a-f-]{36}$/);
    }));

  it.each([
    ['more than 10 entries', () => Array.from({ length: 11 }, (_, i) => entry(`e-${i}`)), 'ValidationException', /Member must have length less than or equal to 10/],
    ['more than 256 KB of entries', () => [entry('big', { Detail: JSON.stringify({ blob: 'x'.repeat(262_144) }) })], 'ValidationException', /Total size of the entries in the request is over the limit/],
    ['an unknown bus', () => [entry('e', { EventBusName: 'other-bus' })], 'ResourceNotFoundException', /Event bus other-bus does not exist/],
  ])('refuses the whole request with %s, as the service does', (_name, entries, errorName, message) =>
    withBus({}, async ({ client, bus }) => {
      const error = await client.send(new PutEventsCommand({ Entries: entries() })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(error).toMatchObject({ name: errorName, message: expect.stringMatching(message) as unknown });
      expect(bus.stats().accepted).toBe(0);
    }),
  );

  it('sends only events the rule matches to raw/, as newline-delimited envelopes in gzip objects', () =>
    withBus({}, async ({ client, bus, buffer, dataDir }) => {
      await client.send(new PutEventsCommand({ Entries: [entry('u-1'), entry('u-2'), entry('other', { DetailType: 'order-placed' }), entry('elsewhere', { Source: 'com.example.unlisted' })] }));
      expect(bus.stats()).toMatchObject({ accepted: 4, matched: 2 });
      expect(await delivered(dataDir)).toEqual([]);
      await buffer.flush();
      const records = await delivered(dataDir);
      expect(records.map((r) => r.detail.eventId)).toEqual(['u-1', 'u-2']);
      expect(records[0]).toMatchObject({ version: '0', source: DEFAULT_EVENT_SOURCE, 'detail-type': USAGE_EVENT_DETAIL_TYPE, resources: [], region: 'us-east-1' });
      const [object] = await listFiles(path.join(dataDir, 'raw'), '.gz');
      expect(path.relative(dataDir, object)).toMatch(/^raw\/year=\d{4}\/month=\d{2}\/day=\d{2}\/hour=\d{2}\/api-usage-tracker-local-1-[\d-]+-[0-9a-f-]{36}\.gz$/);
    }));

  it('answers only requests addressed to a loopback name (no DNS rebinding)', () =>
    withBus({}, async ({ endpoint, bus }) => {
      const { port } = new URL(endpoint);
      const status = (host: string) =>
        new Promise<number>((resolve, reject) => {
          const headers = { host, 'x-amz-target': 'AWSEvents.PutEvents', 'content-type': 'application/x-amz-json-1.1' };
          const req = request({ host: '127.0.0.1', port: Number(port), method: 'POST', path: '/', headers }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end(JSON.stringify({ Entries: [entry('rebound')] }));
        });
      expect(await status('attacker.example:80')).toBe(403);
      expect(await status(`localhost:${port}`)).toBe(200);
      expect(bus.stats().accepted).toBe(1);
    }));

  it('flushes once the buffered bytes reach the size hint, long before the interval', () => {
    const { onFlush, flushed } = firstFlush();
    // Each envelope is about 1.4 KB: the first stays buffered, the second crosses 2000 bytes.
    return withBus({ sizeBytes: 2000, onFlush }, async ({ client, buffer, dataDir }) => {
      const padded = (eventId: string) => entry(eventId, { Detail: detail(eventId, { attributes: { pad: 'x'.repeat(1000) } }) });
      await client.send(new PutEventsCommand({ Entries: [padded('s-1')] }));
      expect(buffer.stats()).toMatchObject({ buffered: 1, objects: 0 });
      await client.send(new PutEventsCommand({ Entries: [padded('s-2')] }));
      expect(await flushed).toMatchObject({ records: 2 });
      expect((await delivered(dataDir)).map((r) => r.detail.eventId)).toEqual(['s-1', 's-2']);
      expect(buffer.stats()).toMatchObject({ buffered: 0, objects: 1, delivered: 2 });
    });
  });
});

describe('FirehoseBuffer on its own', () => {
  it('flushes when the oldest buffered record reaches the interval hint, not before', () =>
    withDataDir('firehose-interval-', async (dataDir) => {
      // Only the timers and the clock are fake: file I/O and its callbacks run for real.
      jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
      const { onFlush, flushed } = firstFlush();
      const buffer = new FirehoseBuffer({ dataDir, intervalMs: 200, sizeBytes: QUIET.sizeBytes, onFlush });
      try {
        await buffer.start();
        await buffer.put([JSON.stringify({ detail: { eventId: 'tick' } })]);
        await jest.advanceTimersByTimeAsync(150);
        expect(buffer.stats()).toMatchObject({ buffered: 1, objects: 0 });
        await jest.advanceTimersByTimeAsync(50);
        expect(await flushed).toMatchObject({ records: 1 });
        expect((await delivered(dataDir)).map((r) => r.detail.eventId)).toEqual(['tick']);
      } finally {
        await buffer.stop();
        jest.useRealTimers();
      }
    }));

  it('delivers on the next start what the previous process accepted but never flushed', () =>
    withDataDir('firehose-wal-', async (dataDir) => {
      const crashed = new FirehoseBuffer({ dataDir, ...QUIET });
      await crashed.start();
      await crashed.put(['{"detail":{"eventId":"a"}}', '{"detail":{"eventId":"b"}}']);
      // The process dies here: no flush, no stop. A new one starts on the same folder.
      expect(await listFiles(path.join(dataDir, 'raw'), '.gz')).toEqual([]);
      const next = new FirehoseBuffer({ dataDir, ...QUIET });
      expect(await next.start()).toEqual({ recovered: 2 });
      expect((await delivered(dataDir)).map((r) => r.detail.eventId)).toEqual(['a', 'b']);
      await next.stop();
      expect(readdirSync(dataDirLayout(dataDir).firehoseWal)).toEqual([]);
    }));

  it('refuses new records after a write-ahead log failure instead of crashing, and reports itself unhealthy', () =>
    withDataDir('firehose-fault-', async (dataDir) => {
      const buffer = new FirehoseBuffer({ dataDir, ...QUIET });
      await buffer.start();
      // Once a record is in the log, its segment is open: removing the folder leaves it writable.
      await buffer.put(['{"detail":{"eventId":"w"}}']);
      expect(buffer.healthy).toBe(true);
      rmSync(dataDirLayout(dataDir).state, { recursive: true, force: true });
      // The next segment cannot be opened: the failure is reported, the process keeps running.
      await buffer.put(['{"detail":{"eventId":"x"}}']);
      await expect(buffer.flush()).rejects.toThrow();
      await eventLoopTurnsUntil(() => !buffer.healthy);
      expect(buffer.healthy).toBe(false);
      await expect(buffer.put(['{"detail":{"eventId":"y"}}'])).rejects.toThrow("The buffer's write-ahead log failed");
    }));

  it('takes nothing more once stopping, so the final flush holds every accepted record', () =>
    withDataDir('firehose-stop-', async (dataDir) => {
      const buffer = new FirehoseBuffer({ dataDir, ...QUIET });
      await buffer.start();
      await buffer.put(['{"detail":{"eventId":"before"}}']);
      const stopping = buffer.stop();
      await expect(buffer.put(['{"detail":{"eventId":"during"}}'])).rejects.toThrow('is stopping');
      await stopping;
      expect((await delivered(dataDir)).map((r) => r.detail.eventId)).toEqual(['before']);
      expect(buffer.stats().buffered).toBe(0);
      expect(readdirSync(dataDirLayout(dataDir).firehoseWal)).toEqual([]);
    }));
});

describe('LocalEventBus: the stack’s fixed rules besides the usage rule (account events to the notifier and the lake)', () => {
  /** A target that keeps what it is given, or fails every put. */
  const collecting = (fail = false) => {
    const records: string[] = [];
    return { records, put: (given: readonly string[]) => (fail ? Promise.reject(new Error('target down')) : Promise.resolve(void records.push(...given))) };
  };
  const accountEntry = (eventId: string) => ({
    EventBusName: BUS_NAME,
    Source: ACCOUNT_EVENT_SOURCE,
    DetailType: ACCOUNT_EVENT_DETAIL_TYPE,
    Detail: JSON.stringify({ schemaVersion: '1', eventId, kind: 'key-created', tenantId: 't', occurredAt: '2026-11-30T10:00:00Z', data: {} }),
  });

  it('matches each fixed rule with its own pattern and hands every target its events before answering; a failing target fails neither the others nor PutEvents', async () => {
    // Prepare
    const usage = collecting();
    const notifier = collecting(true);
    const lake = collecting();
    const errors: [string, string, number][] = [];
    const bus = new LocalEventBus({
      busName: BUS_NAME,
      rule: { pattern: usageEventPattern([DEFAULT_EVENT_SOURCE]), target: usage },
      rules: [
        { name: 'account-events-notifier', pattern: accountEventPattern(), target: notifier },
        { name: 'account-events-lake', pattern: accountEventPattern(), target: lake },
      ],
      onRuleError: (rule, error, records) => errors.push([rule, (error as Error).message, records]),
    });
    const endpoint = await bus.listen(0);
    const client = new EventBridgeClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
    try {
      // Act
      const result = await client.send(new PutEventsCommand({ Entries: [entry('u-1'), accountEntry('a-1'), accountEntry('a-2'), { ...accountEntry('a-3'), EventBusName: 'default' }] }));
      // Assess
      expect(result.FailedEntryCount).toBe(0);
      expect(usage.records.map((r) => (JSON.parse(r) as DeliveredRecord).detail.eventId)).toEqual(['u-1']);
      // The default bus is not the stack's: its events meet users' rules only.
      expect(lake.records.map((r) => (JSON.parse(r) as DeliveredRecord).detail.eventId)).toEqual(['a-1', 'a-2']);
      expect(JSON.parse(lake.records[0])).toMatchObject({ source: ACCOUNT_EVENT_SOURCE, 'detail-type': ACCOUNT_EVENT_DETAIL_TYPE, detail: { kind: 'key-created' } });
      expect(errors).toEqual([['account-events-notifier', 'target down', 2]]);
      expect(bus.stats()).toMatchObject({ accepted: 4, matched: 1, rules: { 'account-events-notifier': { matched: 2, failed: 2 }, 'account-events-lake': { matched: 2, failed: 0 } } });
    } finally {
      client.destroy();
      await bus.close();
    }
  });

  it('refuses two fixed rules of one name', () => {
    const target = collecting();
    const rule = { name: 'twice', pattern: accountEventPattern(), target };
    expect(() => new LocalEventBus({ busName: BUS_NAME, rule: { pattern: usageEventPattern([DEFAULT_EVENT_SOURCE]), target }, rules: [rule, rule] })).toThrow('Two fixed rules are named twice.');
  });
});
