import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { FIREHOSE_RAW_PREFIX, PRICE_LIST, renderFirehosePrefix } from '../../contracts/lake-layout';
import { RESERVED_TENANT_IDS } from '../../contracts/tenants';
import { CURATION_REASONS, reasonText } from '../../contracts/curation-spec';
import { EVENT_TIME_WINDOW, UsageEventDetailInput as UsageEvent } from '../../contracts/usage-event';

/**
 * A generated usage dataset whose answers are known: several tenants of every tier, services,
 * operations and status codes; producer retries delivered twice (in one object, across objects
 * and across compaction runs); late events across the October/November boundary; malformed
 * lines of every kind the Glue job rejects; traffic no tenant made (reserved tenant ids, some of
 * it answered 200); and a price list.
 */

export interface DatasetEvent {
  /** The usage event (the envelope's detail). */
  readonly detail: UsageEvent;
  /** The envelope's `time`: when EventBridge received this copy. */
  readonly receivedAt: string;
  readonly source: string;
}

export interface RawObject {
  /** Path relative to the data folder, as Firehose would name it. */
  readonly key: string;
  readonly lines: readonly string[];
}

export interface UsageDataset {
  /** Raw objects delivered before the first compaction run. */
  readonly firstBatch: readonly RawObject[];
  /** Raw objects delivered before the second run: new events plus retries of curated ones. */
  readonly secondBatch: readonly RawObject[];
  /** Every valid copy delivered, in delivery order (duplicates included). */
  readonly deliveries: readonly DatasetEvent[];
  /** Malformed lines and the reason (prefix) each must be rejected with. */
  readonly malformed: readonly { readonly line: string; readonly reason: string }[];
  readonly prices: readonly { readonly operation: string; readonly unitPrice: number; readonly currency: string }[];
  readonly now: Date;
  /**
   * How many valid copies each batch holds of an event delivered before: retries within the first
   * batch (in the same object and in the other), and retries in the second of events of the first.
   * What curating each batch drops.
   */
  readonly duplicates: { readonly firstBatch: number; readonly secondBatch: number };
}

export const DATASET_TENANTS = [
  { tenantId: 'tenant-free-a', tier: 'free' },
  { tenantId: 'tenant-basic-a', tier: 'basic' },
  { tenantId: 'tenant-basic-b', tier: 'basic' },
  { tenantId: 'tenant-premium-a', tier: 'premium' },
  { tenantId: 'tenant-enterprise-a', tier: 'enterprise' },
] as const;

const SERVICES = [
  { service: 'users-service', operations: ['GET /v1/users', 'GET /v1/users/{id}'], features: ['user-directory', undefined] },
  { service: 'products-service', operations: ['GET /v1/products', 'GET /v1/products/{id}'], features: ['catalogue', 'catalogue'] },
  { service: 'orders-service', operations: ['POST /v1/orders', 'GET /v1/orders/{id}'], features: ['checkout', undefined] },
] as const;

const STATUS_CODES = [200, 200, 200, 200, 200, 201, 204, 400, 401, 403, 404, 429, 429, 500, 503];

/**
 * Traffic no tenant made, as the metered API records it: unauthenticated calls, refused
 * credentials and unmatched routes under `anonymous`, admin API calls under `operator`. Some of it
 * is answered 200 with units and a key, so only the reserved id keeps it out of billing. Made
 * without the dataset's random sequence, so the other events stay as they are.
 */
export function reservedTenantTraffic(count = 60): DatasetEvent[] {
  const anonymous = [
    { operation: 'GET /v1/users', statusCode: 401 },
    { operation: 'GET /v1/orders/{id}', statusCode: 403 },
    { operation: 'GET (unmatched route)', statusCode: 404 },
    { operation: 'GET /health', statusCode: 200 },
  ];
  const operator = [
    { operation: 'GET /v1/admin/tenants', statusCode: 200 },
    { operation: 'POST /v1/admin/tenants', statusCode: 201 },
    { operation: 'POST /v1/admin/tenants', statusCode: 400 },
    { operation: 'POST /v1/admin/keys/{id}/revoke', statusCode: 200 },
    { operation: 'GET /v1/admin/tenants/{id}', statusCode: 500 },
  ];
  const start = Date.parse('2026-10-20T06:00:00Z');
  return Array.from({ length: count }, (_, i) => {
    const isOperator = i % 2 === 1;
    const call = isOperator ? operator[Math.floor(i / 2) % operator.length] : anonymous[Math.floor(i / 2) % anonymous.length];
    const occurredMs = start + i * 13 * 3_600_000; // every 13 hours: 20 October .. about 21 November
    const detail: UsageEvent = {
      eventId: `evt-reserved-${String(i + 1).padStart(4, '0')}`,
      schemaVersion: '1',
      occurredAt: iso(occurredMs),
      service: 'metered-api',
      tenantId: isOperator ? RESERVED_TENANT_IDS.operator : RESERVED_TENANT_IDS.anonymous,
      ...(isOperator || call.statusCode === 403 ? { apiKeyId: isOperator ? 'key_admin' : 'key_revoked' } : {}),
      operation: call.operation,
      method: call.operation.split(' ')[0],
      statusCode: call.statusCode,
      latencyMs: 3 + (i % 7),
      ...(i % 3 === 0 ? { billableUnits: 2 } : {}),
      region: 'eu-west-1',
    };
    return { detail, receivedAt: envelopeTime(occurredMs + 1500), source: 'com.example.metered-api' };
  });
}

/** A small deterministic PRNG (mulberry32), so every run generates the same dataset. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
/** EventBridge's envelope time: whole seconds, `Z`. */
const envelopeTime = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

export function envelopeLine(event: DatasetEvent): string {
  return JSON.stringify({
    version: '0',
    id: `env-${event.detail.eventId}-${event.receivedAt}`,
    'detail-type': 'api-usage-event',
    source: event.source,
    account: '123456789012',
    time: event.receivedAt,
    region: 'eu-west-1',
    resources: [],
    detail: event.detail,
  });
}

export function generateUsageDataset(now = new Date('2026-11-23T12:00:00Z'), eventsPerBatch = 1200): UsageDataset {
  const next = random(20261123);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  let sequence = 0;

  const makeEvent = (occurredMs: number, delayMs = 1500): DatasetEvent => {
    const tenant = pick(DATASET_TENANTS);
    const service = pick(SERVICES);
    const index = Math.floor(next() * service.operations.length);
    const statusCode = pick(STATUS_CODES);
    const feature = service.features[index];
    const detail: UsageEvent = {
      eventId: `evt-${String(++sequence).padStart(6, '0')}`,
      schemaVersion: '1',
      occurredAt: iso(occurredMs),
      service: service.service,
      tenantId: tenant.tenantId,
      ...(next() < 0.8 ? { apiKeyId: `key_${tenant.tenantId}_${Math.floor(next() * 2)}` } : {}),
      ...(next() < 0.5 ? { userId: `user-${Math.floor(next() * 30)}` } : {}),
      operation: service.operations[index],
      ...(feature ? { feature } : {}),
      method: service.operations[index].split(' ')[0],
      statusCode,
      latencyMs: Math.round((5 + next() ** 3 * 900 + (service.service === 'orders-service' ? 150 : 0)) * 1000) / 1000,
      responseBytes: Math.floor(next() * 5000),
      ...(next() < 0.25 ? { billableUnits: 1 + Math.floor(next() * 4) } : {}),
      tier: tenant.tier,
      region: 'eu-west-1',
      ...(next() < 0.1 ? { attributes: { plan: tenant.tier, client: 'sdk' } } : {}),
    };
    return { detail, receivedAt: envelopeTime(occurredMs + delayMs), source: `com.example.${service.service}` };
  };

  const deliveries: DatasetEvent[] = [];
  const objects = (batch: DatasetEvent[][], extras: string[][]): RawObject[] =>
    batch.map((events, i) => {
      // Firehose names objects by arrival time: the hour folder of the first record's arrival.
      const arrival = new Date(Math.min(...events.map((e) => Date.parse(e.receivedAt))));
      return {
        key: `${renderFirehosePrefix(FIREHOSE_RAW_PREFIX, arrival)}api-usage-${i}-${arrival.getTime()}.gz`,
        lines: [...events.map(envelopeLine), ...(extras[i] ?? [])],
      };
    });

  // First batch: October and November traffic, plus events near "now" for the windowed summary.
  const october = Date.parse('2026-10-01T00:00:00Z');
  const firstEvents: DatasetEvent[] = [];
  for (let i = 0; i < eventsPerBatch; i++) {
    const occurred = october + Math.floor(next() * 52 * 86_400_000); // 1 Oct .. 21 Nov
    firstEvents.push(makeEvent(occurred));
  }
  for (let i = 0; i < 40; i++) firstEvents.push(makeEvent(now.getTime() - Math.floor(next() * 50 * 60_000))); // last hour
  for (let i = 0; i < 30; i++) firstEvents.push(makeEvent(now.getTime() - 2 * 3_600_000 - Math.floor(next() * 20 * 3_600_000))); // 2–22 h ago
  // Late events: happened on 31 October, arrived in November (a different raw hour folder).
  for (let i = 0; i < 25; i++) firstEvents.push(makeEvent(Date.parse('2026-10-31T23:59:00Z') + i * 1000, 90_000 + i * 1000));
  // Retries within the run: the same event delivered again later, once in the same object and once in another.
  const retriedSameObject = firstEvents.slice(0, 30).map((e) => ({ ...e, receivedAt: envelopeTime(Date.parse(e.receivedAt) + 4000) }));
  const retriedOtherObject = firstEvents.slice(30, 60).map((e) => ({ ...e, receivedAt: envelopeTime(Date.parse(e.receivedAt) + 9000), source: e.source }));
  const half = Math.floor(firstEvents.length / 2);
  const firstA = [...firstEvents.slice(0, half), ...retriedSameObject];
  const firstB = [...firstEvents.slice(half), ...retriedOtherObject];
  deliveries.push(...firstA, ...firstB);

  const malformed: { line: string; reason: string }[] = [];
  const bad = (line: string, reason: string) => {
    malformed.push({ line, reason });
    return line;
  };
  const base = envelopeLine(makeEvent(Date.parse('2026-11-02T10:00:00Z')));
  const withDetail = (change: (detail: Record<string, unknown>) => void, top: Record<string, unknown> = {}) => {
    const envelope = JSON.parse(base) as Record<string, unknown> & { detail: Record<string, unknown> };
    envelope.detail = { ...envelope.detail, eventId: `evt-bad-${malformed.length}` };
    change(envelope.detail);
    return JSON.stringify({ ...envelope, ...top });
  };
  const badLines = [
    bad('this is not json', 'not JSON'),
    bad('[1, 2, 3]', 'not a JSON object'),
    bad(withDetail(() => undefined, { 'detail-type': 'order-placed' }), "detail-type is not 'api-usage-event'"),
    bad(withDetail(() => undefined, { detail: 'a string' }), 'detail is missing or not an object'),
    bad(withDetail((d) => (d.schemaVersion = '2')), 'unsupported schemaVersion'),
    bad(withDetail((d) => delete d.tenantId), 'missing detail.tenantId'),
    bad(withDetail((d) => (d.statusCode = '200')), 'detail.statusCode: expected a whole number'),
    bad(withDetail((d) => (d.statusCode = 200.5)), 'detail.statusCode: expected a whole number'),
    bad(withDetail((d) => (d.latencyMs = 'fast')), 'detail.latencyMs: expected a number'),
    bad(withDetail((d) => (d.occurredAt = '2026-11-02T10:00:00')), reasonText(CURATION_REASONS.dateTime, 'detail.occurredAt')),
    bad(withDetail((d) => (d.occurredAt = 'yesterday')), reasonText(CURATION_REASONS.dateTime, 'detail.occurredAt')),
    // UTC only, as the contract says: an offset, even +00:00, is refused.
    bad(withDetail((d) => (d.occurredAt = (d.occurredAt as string).replace('T10:', 'T11:').replace(/\.\d+Z$|Z$/, '+01:00'))), reasonText(CURATION_REASONS.dateTime, 'detail.occurredAt')),
    bad(withDetail((d) => (d.attributes = { plan: 3 })), 'detail.attributes value: expected a string'),
    bad(withDetail((d) => (d.service = 42)), 'detail.service: expected a string'),
    // Outside the event-time window: Spark cannot write the first to Parquet at all.
    bad(withDetail((d) => (d.occurredAt = '0001-01-01T00:00:00Z')), `detail.occurredAt: before ${EVENT_TIME_WINDOW.earliest}, the earliest event time accepted`),
    bad(withDetail((d) => (d.occurredAt = '1970-01-01T00:00:00.000Z')), `detail.occurredAt: before ${EVENT_TIME_WINDOW.earliest}, the earliest event time accepted`),
    bad(
      withDetail((d) => (d.occurredAt = new Date(Date.parse(d.occurredAt as string) + 2 * 3_600_000).toISOString())),
      `detail.occurredAt: more than ${EVENT_TIME_WINDOW.maxAheadOfReceiptSeconds} s after the envelope time`,
    ),
  ];
  // A whole number written as 200.0 is an integer to JSON.parse, and so to the contract.
  const lenient = makeEvent(Date.parse('2026-11-03T08:00:00Z'));
  const lenientLine = envelopeLine(lenient).replace(/"statusCode":(\d+)/, '"statusCode":$1.0');
  deliveries.push(lenient);
  const firstBatch = objects([firstA, firstB], [[badLines.slice(0, 7).join('\n'), '', lenientLine].flatMap((l) => l.split('\n')), badLines.slice(7)]);

  // Second batch: new November events, and producer retries of events curated in the first run.
  const secondEvents: DatasetEvent[] = [];
  for (let i = 0; i < Math.floor(eventsPerBatch / 4); i++) secondEvents.push(makeEvent(Date.parse('2026-11-05T00:00:00Z') + Math.floor(next() * 16 * 86_400_000)));
  const lateRetries = firstEvents.slice(100, 140).map((e) => ({ ...e, receivedAt: envelopeTime(Date.parse(e.receivedAt) + 3_600_000) }));
  const reserved = reservedTenantTraffic();
  deliveries.push(...secondEvents, ...lateRetries, ...reserved);
  const secondBatch = objects([[...secondEvents, ...lateRetries, ...reserved]], []);

  return {
    firstBatch,
    secondBatch,
    deliveries,
    malformed,
    prices: [
      { operation: PRICE_LIST.defaultOperation, unitPrice: 0.0004, currency: 'USD' },
      { operation: 'POST /v1/orders', unitPrice: 0.0125, currency: 'USD' },
      { operation: 'GET /v1/products/{id}', unitPrice: 0.001, currency: 'USD' },
    ],
    now,
    duplicates: { firstBatch: retriedSameObject.length + retriedOtherObject.length, secondBatch: lateRetries.length },
  };
}

/** Writes raw objects (gzip, newline-delimited, as Firehose does) under a data folder. */
export function writeRawObjects(dataDir: string, objects: readonly RawObject[]): void {
  for (const object of objects) {
    const file = path.join(dataDir, object.key);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, gzipSync(`${object.lines.join('\n')}\n`));
  }
}

/** Writes the price list CSV where billing reads it. */
export function writePriceList(dataDir: string, prices: UsageDataset['prices']): void {
  const dir = path.join(dataDir, PRICE_LIST.prefix);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'prices.csv'),
    [PRICE_LIST.columns.map((c) => c.name).join(','), ...prices.map((p) => `${p.operation},${p.unitPrice},${p.currency}`)].join('\n') + '\n',
  );
}
