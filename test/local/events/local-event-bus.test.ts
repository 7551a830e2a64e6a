import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { usageEventPattern } from '../../../contracts/event-pattern';
import { USAGE_EVENT_DETAIL_TYPE } from '../../../contracts/usage-event';
import { FirehoseBuffer } from '../../../local/events/firehose-buffer';
import { LocalEventBus } from '../../../local/events/local-event-bus';
import { listFiles } from '../../../local/lake/local-lake';

const detail = (eventId: string) => JSON.stringify({ schemaVersion: '1', eventId, occurredAt: new Date().toISOString(), service: 's', tenantId: 't', operation: 'GET /x', method: 'GET', statusCode: 200, latencyMs: 1 });
const entry = (eventId: string, overrides: Record<string, unknown> = {}) => ({ EventBusName: 'usage-bus', Source: 'my-applications', DetailType: USAGE_EVENT_DETAIL_TYPE, Detail: detail(eventId), ...overrides });

/** Every record delivered to raw/ so far, parsed. */
async function delivered(dataDir: string): Promise<{ source: string; 'detail-type': string; detail: { eventId: string } }[]> {
  const files = await listFiles(path.join(dataDir, 'raw'), '.gz');
  return files.flatMap((file) => gunzipSync(readFileSync(file)).toString('utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line)));
}

describe('LocalEventBus with the real EventBridge client, feeding a FirehoseBuffer', () => {
  let dataDir: string;
  let buffer: FirehoseBuffer;
  let bus: LocalEventBus;
  let client: EventBridgeClient;
  let endpoint: string;

  beforeEach(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'local-bus-'));
    buffer = new FirehoseBuffer({ dataDir, intervalMs: 60_000, sizeBytes: 1024 * 1024 });
    await buffer.start();
    bus = new LocalEventBus({ busName: 'usage-bus', rule: { pattern: usageEventPattern(['my-applications']) as never, target: buffer } });
    endpoint = await bus.listen(0);
    client = new EventBridgeClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  });

  afterEach(async () => {
    client.destroy();
    await bus.close();
    await buffer.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('accepts valid entries and fails bad ones one by one, with the service’s error codes', async () => {
    const result = await client.send(
      new PutEventsCommand({
        Entries: [
          entry('e-1'),
          entry('e-2', { Detail: '{not json' }),
          entry('e-3', { Detail: '[1,2]' }),
          entry('e-4', { Source: undefined }),
          entry('e-5', { DetailType: undefined }),
          entry('e-6', { Source: 'aws.ec2' }),
          entry('e-7', { EventBusName: 'arn:aws:events:us-east-1:000000000000:event-bus/usage-bus' }),
        ],
      }),
    );
    expect(result.FailedEntryCount).toBe(5);
    expect(result.Entries!.map((e) => e.ErrorCode ?? 'ok')).toEqual(['ok', 'MalformedDetail', 'MalformedDetail', 'InvalidArgument', 'InvalidArgument', 'NotAuthorizedForSourceException', 'ok']);
    expect(result.Entries![3].ErrorMessage).toBe('Parameter Source is not valid. Reason: Source is a required argument.');
    expect(result.Entries![0].EventId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['more than 10 entries', () => Array.from({ length: 11 }, (_, i) => entry(`e-${i}`)), /Member must have length less than or equal to 10/],
    ['more than 256 KB of entries', () => [entry('big', { Detail: JSON.stringify({ blob: 'x'.repeat(262_144) }) })], /Total size of the entries in the request is over the limit/],
    ['an unknown bus', () => [entry('e', { EventBusName: 'other-bus' })], /Event bus other-bus does not exist/],
  ])('refuses the whole request with %s, as the service does', async (_name, entries, message) => {
    const error = await client.send(new PutEventsCommand({ Entries: entries() })).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(message);
    expect(['ValidationException', 'ResourceNotFoundException']).toContain((error as Error).name);
    expect(bus.stats().accepted).toBe(0);
  });

  it('sends only events the rule matches to raw/, as newline-delimited envelopes in gzip objects', async () => {
    await client.send(new PutEventsCommand({ Entries: [entry('u-1'), entry('u-2'), entry('other', { DetailType: 'order-placed' }), entry('elsewhere', { Source: 'com.example.unlisted' })] }));
    expect(bus.stats()).toMatchObject({ accepted: 4, matched: 2 });
    expect(await delivered(dataDir)).toEqual([]);
    await buffer.flush();
    const records = await delivered(dataDir);
    expect(records.map((r) => r.detail.eventId)).toEqual(['u-1', 'u-2']);
    expect(records[0]).toMatchObject({ version: '0', source: 'my-applications', 'detail-type': USAGE_EVENT_DETAIL_TYPE, resources: [], region: 'us-east-1' });
    const [object] = await listFiles(path.join(dataDir, 'raw'), '.gz');
    expect(path.relative(dataDir, object)).toMatch(/^raw\/year=\d{4}\/month=\d{2}\/day=\d{2}\/hour=\d{2}\/api-usage-tracker-local-1-[\d-]+-[0-9a-f-]{36}\.gz$/);
  });

  it('answers only requests addressed to a loopback name (no DNS rebinding)', async () => {
    const { port } = new URL(endpoint);
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: Number(port), method: 'POST', path: '/', headers: { host, 'x-amz-target': 'AWSEvents.PutEvents', 'content-type': 'application/x-amz-json-1.1' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(JSON.stringify({ Entries: [entry('rebound')] }));
      });
    expect(await status('attacker.example:80')).toBe(403);
    expect(await status(`localhost:${port}`)).toBe(200);
    expect(bus.stats().accepted).toBe(1);
  });

  it('flushes on the size hint without waiting for the interval', async () => {
    await buffer.stop();
    buffer = new FirehoseBuffer({ dataDir, intervalMs: 60_000, sizeBytes: 2000 });
    await buffer.start();
    (bus as unknown as { options: { rule: { target: FirehoseBuffer } } }).options.rule.target = buffer;
    for (let i = 0; i < 4; i++) await client.send(new PutEventsCommand({ Entries: [entry(`s-${i}a`), entry(`s-${i}b`)] }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(buffer.stats().objects).toBeGreaterThanOrEqual(1);
    expect((await delivered(dataDir)).length).toBe(buffer.stats().delivered);
  });

  it('flushes on the interval hint', async () => {
    await buffer.stop();
    buffer = new FirehoseBuffer({ dataDir, intervalMs: 200, sizeBytes: 1024 * 1024 });
    await buffer.start();
    await buffer.put([JSON.stringify({ detail: { eventId: 'tick' } })]);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await delivered(dataDir)).map((r) => r.detail.eventId)).toEqual(['tick']);
  });
});

describe('FirehoseBuffer after a crash', () => {
  it('delivers on the next start what the previous process accepted but never flushed', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'firehose-wal-'));
    try {
      const crashed = new FirehoseBuffer({ dataDir, intervalMs: 60_000, sizeBytes: 1024 * 1024 });
      await crashed.start();
      await crashed.put(['{"detail":{"eventId":"a"}}', '{"detail":{"eventId":"b"}}']);
      // The process dies here: no flush, no stop. A new one starts on the same folder.
      expect(await listFiles(path.join(dataDir, 'raw'), '.gz')).toEqual([]);
      const next = new FirehoseBuffer({ dataDir, intervalMs: 60_000, sizeBytes: 1024 * 1024 });
      expect(await next.start()).toEqual({ recovered: 2 });
      expect((await delivered(dataDir)).map((r) => r.detail.eventId)).toEqual(['a', 'b']);
      await next.stop();
      expect(readdirSync(path.join(dataDir, 'state', 'firehose-wal'))).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('FirehoseBuffer faults', () => {
  it('refuses new records after a write-ahead log failure instead of crashing, and says so', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'firehose-fault-'));
    const buffer = new FirehoseBuffer({ dataDir, intervalMs: 60_000, sizeBytes: 1024 * 1024 });
    await buffer.start();
    rmSync(path.join(dataDir, 'state'), { recursive: true, force: true });
    // The next segment cannot be opened: the failure is reported, the process keeps running.
    await buffer.put(['{"detail":{"eventId":"x"}}']).catch(() => undefined);
    await buffer.flush().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(buffer.healthy).toBe(false);
    await expect(buffer.put(['{"detail":{"eventId":"y"}}'])).rejects.toThrow("The buffer's write-ahead log failed");
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('takes nothing more once stopping, so the final flush holds every accepted record', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'firehose-stop-'));
    try {
      const buffer = new FirehoseBuffer({ dataDir, intervalMs: 60_000, sizeBytes: 1024 * 1024 });
      await buffer.start();
      await buffer.put(['{"detail":{"eventId":"before"}}']);
      const stopping = buffer.stop();
      await expect(buffer.put(['{"detail":{"eventId":"during"}}'])).rejects.toThrow('is stopping');
      await stopping;
      expect((await delivered(dataDir)).map((r) => r.detail.eventId)).toEqual(['before']);
      expect(buffer.stats().buffered).toBe(0);
      expect(readdirSync(path.join(dataDir, 'state', 'firehose-wal'))).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
