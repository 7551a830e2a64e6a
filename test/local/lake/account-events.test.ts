import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { AccountEventPublisher } from '../../../lambdas/account-events/account-event-publisher';
import { LocalEventBus } from '../../../local/events/local-event-bus';
import { createEventBridgeClient } from '../../../sdk/eventbridge-client';
import { SdkPutEventsTransport } from '../../../sdk/put-events-transport';
import { ACCOUNT_EVENT_DETAIL_TYPE, ACCOUNT_EVENT_SOURCE, AccountEventDetail, accountEventIds, accountEventPattern } from '../../../contracts/account-events';
import { usageEventPattern } from '../../../contracts/event-pattern';
import { DEFAULT_EVENT_SOURCE, USAGE_EVENT_DETAIL_TYPE } from '../../../contracts/usage-event';
import { ACCOUNT_EVENTS_TABLE, CURATED_PARTITION_KEYS, LAKE_PREFIXES, accountEventsPartitionPrefix } from '../../../contracts/lake-layout';
import { dataDirLayout } from '../../../local/data-dir';
import { FirehoseBuffer } from '../../../local/events/firehose-buffer';
import { matchesEventPattern } from '../../../local/events/event-pattern';
import { accountEventsBuffer, accountEventsWalDir } from '../../../local/lake/account-events';
import { LocalLake, listFiles } from '../../../local/lake/local-lake';

const DAY_1 = Date.parse('2026-11-29T23:58:00Z');
const DAY_2 = Date.parse('2026-11-30T00:03:00Z');
const MINUTE_1 = Math.floor(DAY_1 / 60_000) - 5;

/** An EventBridge envelope as the bus hands it to a rule target (a new envelope id per delivery, as EventBridge gives). */
function envelope(detail: AccountEventDetail, delivery: number): string {
  return JSON.stringify({
    version: '0',
    id: `${detail.eventId}-delivery-${delivery}`,
    'detail-type': ACCOUNT_EVENT_DETAIL_TYPE,
    source: ACCOUNT_EVENT_SOURCE,
    account: '000000000000',
    time: detail.occurredAt.replace(/\.\d{3}Z$/, 'Z'),
    region: 'us-east-1',
    resources: [],
    detail,
  });
}

const quota80 = (tenantId: string, day: string): AccountEventDetail => ({
  schemaVersion: '1',
  eventId: accountEventIds.ofQuota(80, tenantId, `d${day}`),
  kind: 'quota-80',
  tenantId,
  occurredAt: `${day}T23:57:00.000Z`,
  data: { period: 'day', used: 800, limit: 1000, exhausted: false, note: null },
});

const spike = (tenantId: string, minute: number): AccountEventDetail => ({
  schemaVersion: '1',
  eventId: accountEventIds.ofSpike(tenantId, minute),
  kind: 'rate-limit-spike',
  tenantId,
  occurredAt: new Date(minute * 60_000).toISOString(),
  data: { count: 250, windowMinutes: 5 },
});

const blocked = (tenantId: string, auditId: string): AccountEventDetail => ({
  schemaVersion: '1',
  eventId: accountEventIds.ofAudit(auditId),
  kind: 'tenant-blocked',
  tenantId,
  occurredAt: '2026-11-30T00:01:00.000Z',
  data: { reason: 'abuse' },
});

/** An independent count: one per event id among the deliveries that arrived on the days, per tenant and kind. */
function expectedCounts(deliveries: readonly { day: string; detail: AccountEventDetail }[], start: string, end: string) {
  const byId = new Map<string, AccountEventDetail>();
  for (const { day, detail } of deliveries) if (day >= start && day <= end) byId.set(detail.eventId, detail);
  const counts = new Map<string, { tenant_id: string; kind: string; events: number }>();
  for (const detail of byId.values()) {
    const key = `${detail.tenantId}|${detail.kind}`;
    const row = counts.get(key) ?? { tenant_id: detail.tenantId, kind: detail.kind, events: 0 };
    counts.set(key, { ...row, events: row.events + 1 });
  }
  return [...counts.values()].sort((a, b) => `${a.tenant_id}|${a.kind}`.localeCompare(`${b.tenant_id}|${b.kind}`));
}

describe('Account events in the local lake: the real buffer writes account-events/, the account_events view and account_events_by_tenant read it', () => {
  let dataDir: string;
  let lake: LocalLake;
  let now = DAY_1;
  const deliveries: { day: string; detail: AccountEventDetail; line: string }[] = [];
  const day1 = [quota80('t-a', '2026-11-29'), spike('t-a', MINUTE_1), spike('t-b', MINUTE_1 + 1)];
  const day2 = [blocked('t-b', '2026-11-30T00:01:00.000Z#abc123'), quota80('t-b', '2026-11-30')];

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'account-events-lake-'));
    const log: string[] = [];
    const buffer = await accountEventsBuffer({ dataDir, log: (line) => log.push(line), clock: () => now });
    const put = async (day: string, details: readonly AccountEventDetail[]) => {
      const lines = details.map((detail, i) => envelope(detail, deliveries.length + i));
      for (const [i, detail] of details.entries()) deliveries.push({ day, detail, line: lines[i] });
      await buffer.target.put(lines);
    };
    await put('2026-11-29', day1);
    // A retried PutEvents of the same occurrence: same event id, another envelope.
    await put('2026-11-29', [day1[1]]);
    await buffer.target.flush();
    now = DAY_2;
    // Redelivered the next day (a retried target delivery), and the next day's own events, one twice.
    await put('2026-11-30', [day1[0], ...day2, day2[0]]);
    await buffer.stop();
    lake = await LocalLake.open(dataDir);
  });

  afterAll(async () => {
    await lake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('writes gzip objects of newline-delimited envelopes under account-events/year=/month=/day=/ of their arrival, nothing under raw/', async () => {
    const files = await listFiles(path.join(dataDir, LAKE_PREFIXES.accountEvents), '.gz');
    const folders = files.map((file) => `${path.relative(dataDir, path.dirname(file)).split(path.sep).join('/')}/`).sort();
    expect(folders).toEqual([accountEventsPartitionPrefix(new Date(DAY_1)), accountEventsPartitionPrefix(new Date(DAY_2))]);
    const lines = files.flatMap((file) => gunzipSync(readFileSync(file)).toString('utf8').split('\n').filter((line) => line !== ''));
    expect(lines.sort()).toEqual(deliveries.map((d) => d.line).sort());
    expect(await listFiles(path.join(dataDir, LAKE_PREFIXES.raw), '.gz')).toEqual([]);
  });

  it('account_events has the Glue table columns, the partitions as strings, every delivery a row', async () => {
    const { columns, rows } = await lake.query(`SELECT * FROM ${ACCOUNT_EVENTS_TABLE.table} ORDER BY id`);
    expect(columns).toEqual([...ACCOUNT_EVENTS_TABLE.columns.map((c) => c.name), ...CURATED_PARTITION_KEYS]);
    expect(rows).toHaveLength(deliveries.length);
    const { rows: days } = await lake.query(`SELECT DISTINCT concat(year, '-', month, '-', day) AS d FROM ${ACCOUNT_EVENTS_TABLE.table} ORDER BY d`);
    expect(days).toEqual([{ d: '2026-11-29' }, { d: '2026-11-30' }]);
  });

  it("reads detail's fields case-insensitively and data's scalars as text, as the OpenX SerDe does (null stays null, a missing key is NULL)", async () => {
    const { rows } = await lake.query(
      `SELECT DISTINCT detail.eventid AS event_id, detail.TENANTID AS tenant, detail.data['used'] AS used, detail.data['exhausted'] AS exhausted,
        detail.data['note'] AS note, element_at(detail.data, 'missing') AS missing
       FROM ${ACCOUNT_EVENTS_TABLE.table} WHERE detail.kind = 'quota-80' ORDER BY event_id`,
    );
    expect(rows).toEqual([
      { event_id: day1[0].eventId, tenant: 't-a', used: '800', exhausted: 'false', note: null, missing: null },
      { event_id: day2[1].eventId, tenant: 't-b', used: '800', exhausted: 'false', note: null, missing: null },
    ]);
  });

  it.each([
    ['both days', '2026-11-29', '2026-11-30'],
    ['the first day', '2026-11-29', '2026-11-29'],
    ['the second day', '2026-11-30', '2026-11-30'],
  ])('account_events_by_tenant over %s counts each event id once, as an independent count does', async (_name, start, end) => {
    const { rows } = await lake.runNamedQuery('account_events_by_tenant', { start_date: start, end_date: end });
    expect(rows.map(({ tenant_id, kind, events }) => ({ tenant_id, kind, events }))).toEqual(expectedCounts(deliveries, start, end));
  });

  it('the data holds duplicates the query drops: more deliveries than event ids, within a day and across days', async () => {
    const { rows } = await lake.runNamedQuery('account_events_by_tenant', { start_date: '2026-11-29', end_date: '2026-11-30' });
    const total = rows.reduce((sum, row) => sum + Number(row.events), 0);
    expect(total).toBe(new Set(deliveries.map((d) => d.detail.eventId)).size);
    expect(deliveries.length).toBeGreaterThan(total + 2);
    const aQuota = rows.find((row) => row.tenant_id === 't-a' && row.kind === 'quota-80');
    expect(aQuota).toEqual({ tenant_id: 't-a', kind: 'quota-80', events: 1, first_occurred_at: day1[0].occurredAt, last_occurred_at: day1[0].occurredAt });
  });
});

describe('Account events beside usage events on one data folder', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'account-events-wal-'));
  });

  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("keeps its own write-ahead log: the usage buffer's start leaves the account events' acknowledged records alone", async () => {
    expect(accountEventsWalDir(dataDir)).not.toBe(dataDirLayout(dataDir).firehoseWal);
    const accounts = await accountEventsBuffer({ dataDir, log: () => undefined });
    await accounts.target.put([envelope(blocked('t-c', '2026-11-30T00:01:00.000Z#def456'), 0)]);
    const usage = new FirehoseBuffer({ dataDir, intervalMs: 60_000, sizeBytes: 1 << 20 });
    expect(await usage.start()).toEqual({ recovered: 0 });
    await usage.stop();
    expect(readdirSync(accountEventsWalDir(dataDir)).filter((name) => name.endsWith('.log'))).toHaveLength(1);
    await accounts.stop();
    expect(await listFiles(path.join(dataDir, LAKE_PREFIXES.accountEvents), '.gz')).toHaveLength(1);
    expect(existsSync(path.join(dataDir, LAKE_PREFIXES.raw))).toBe(false);
  });

  it('an empty lake has account_events with its columns and no rows, and the query answers nothing', async () => {
    const lake = await LocalLake.open(dataDir);
    try {
      const { columns, rows } = await lake.query(`SELECT * FROM ${ACCOUNT_EVENTS_TABLE.table}`);
      expect({ columns, rows }).toEqual({ columns: [...ACCOUNT_EVENTS_TABLE.columns.map((c) => c.name), ...CURATED_PARTITION_KEYS], rows: [] });
      expect((await lake.runNamedQuery('account_events_by_tenant', { start_date: '2026-11-01', end_date: '2026-11-30' })).rows).toEqual([]);
    } finally {
      await lake.close();
    }
  });

  it('sees the first objects after a catalogue refresh, later ones at once (a glob DuckDB expands at each query)', async () => {
    const lake = await LocalLake.open(dataDir);
    try {
      const count = async () => (await lake.query(`SELECT count(*) AS n FROM ${ACCOUNT_EVENTS_TABLE.table}`)).rows;
      const accounts = await accountEventsBuffer({ dataDir, log: () => undefined });
      await accounts.target.put([envelope(spike('t-d', MINUTE_1), 0)]);
      await accounts.target.flush();
      expect(await count()).toEqual([{ n: 0 }]);
      await lake.refreshCatalogue();
      expect(await count()).toEqual([{ n: 1 }]);
      await accounts.target.put([envelope(spike('t-d', MINUTE_1 + 5), 1)]);
      await accounts.stop();
      expect(await count()).toEqual([{ n: 2 }]);
    } finally {
      await lake.close();
    }
  });

  it('refuses a prefix expression Firehose would not know when the buffer is made, not at its first flush', () => {
    expect(() => new FirehoseBuffer({ dataDir, intervalMs: 1000, sizeBytes: 1024, prefix: 'account-events/!{timestamp:mm}/' })).toThrow(
      'Unsupported Firehose prefix expression !{timestamp:mm} in "account-events/!{timestamp:mm}/".',
    );
  });
});

describe('Rule patterns: account events and usage events reach their own streams only', () => {
  const account = JSON.parse(envelope(quota80('t-a', '2026-11-29'), 0)) as unknown;
  const usage = { ...(JSON.parse(envelope(quota80('t-a', '2026-11-29'), 0)) as Record<string, unknown>), source: DEFAULT_EVENT_SOURCE, 'detail-type': USAGE_EVENT_DETAIL_TYPE };

  it('the account pattern matches an account event, and not a usage event (which the usage pattern matches)', () => {
    expect(matchesEventPattern(usageEventPattern(), usage)).toBe(true);
    expect(matchesEventPattern(accountEventPattern(), account)).toBe(true);
    expect(matchesEventPattern(accountEventPattern(), usage)).toBe(false);
  });

  it('the usage pattern does not match an account event, so raw/ never holds one', () => {
    expect(matchesEventPattern(usageEventPattern(), account)).toBe(false);
  });
});

describe('From PutEvents to the query: the publisher, the local bus with the lake rule, the buffer, the view', () => {
  it('keeps an event put twice (a producer retry) once, and usage events out of account-events/', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'account-events-bus-'));
    const usage = new FirehoseBuffer({ dataDir, intervalMs: 60_000, sizeBytes: 1 << 20 });
    await usage.start();
    const accounts = await accountEventsBuffer({ dataDir, log: () => undefined });
    const bus = new LocalEventBus({
      busName: 'usage-bus',
      rule: { pattern: usageEventPattern(), target: usage },
      rules: [{ name: 'account-events-lake', pattern: accountEventPattern(), target: accounts.target }],
    });
    const client = createEventBridgeClient({ endpoint: await bus.listen(0), region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }, {});
    try {
      const publisher = new AccountEventPublisher({ transport: new SdkPutEventsTransport(client), eventBusName: 'usage-bus' });
      const event = { ...blocked('t-e', `${new Date().toISOString()}#fed987`), occurredAt: new Date().toISOString() };
      await publisher.publish([event]);
      await publisher.publish([event]);
      await bus.close();
      await accounts.stop();
      await usage.stop();
      expect(bus.stats().rules['account-events-lake']).toEqual({ matched: 2, failed: 0 });
      const lake = await LocalLake.open(dataDir);
      try {
        // The days around now: a run across midnight files the objects under either.
        const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
        expect((await lake.query(`SELECT count(*) AS n FROM ${ACCOUNT_EVENTS_TABLE.table}`)).rows).toEqual([{ n: 2 }]);
        const { rows } = await lake.runNamedQuery('account_events_by_tenant', { start_date: day(-1), end_date: day(1) });
        expect(rows).toEqual([{ tenant_id: 't-e', kind: 'tenant-blocked', events: 1, first_occurred_at: event.occurredAt, last_occurred_at: event.occurredAt }]);
      } finally {
        await lake.close();
      }
      expect(await listFiles(path.join(dataDir, LAKE_PREFIXES.raw), '.gz')).toEqual([]);
    } finally {
      client.destroy();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
