import { FIREHOSE_RAW_PREFIX, PRICE_LIST, renderFirehosePrefix } from '../../contracts/lake-layout';
import { RESERVED_TENANT_IDS } from '../../contracts/tenants';
import { UsageEventDetailInput } from '../../contracts/usage-event';
import { DatasetEvent, RawObject, UsageDataset, envelopeLine } from './usage-dataset';

/**
 * Usage across month boundaries for closing months, with its answers computed here in plain
 * TypeScript (independently of SQL, DuckDB and the closing code): what each closing must bill,
 * per tenant and month of event time, priced with the price list in force at the closing.
 *
 * Deliveries come in batches, each written to raw/ before one closing; a later batch holds late
 * events of months closed already (one of them received by EventBridge before the closing, but
 * curated after it), retried copies of events billed already, and traffic that is never billed
 * (refused calls, server errors, the reserved tenants).
 */

export const BILLING_TENANTS = ['acme', 'globex', 'initech'] as const;
const OPERATIONS = [
  { service: 'orders-service', operation: 'POST /v1/orders', method: 'POST' },
  { service: 'products-service', operation: 'GET /v1/products/{id}', method: 'GET' },
  { service: 'users-service', operation: 'GET /v1/users', method: 'GET' },
] as const;
/** Half of these are billed: 401, 403, 429 and 5xx are not. */
const STATUS_CODES = [200, 201, 204, 404, 401, 403, 429, 500, 503, 200] as const;

export type Prices = UsageDataset['prices'];

/** The price list before October's closing, and the one uploaded after it. */
export const PRICES_BEFORE: Prices = [
  { operation: PRICE_LIST.defaultOperation, unitPrice: 0.0004, currency: 'USD' },
  { operation: 'POST /v1/orders', unitPrice: 0.0125, currency: 'USD' },
  { operation: 'GET /v1/products/{id}', unitPrice: 0.001, currency: 'USD' },
];
export const PRICES_AFTER: Prices = [
  { operation: PRICE_LIST.defaultOperation, unitPrice: 0.0005, currency: 'USD' },
  { operation: 'POST /v1/orders', unitPrice: 0.015, currency: 'USD' },
  { operation: 'GET /v1/products/{id}', unitPrice: 0.001, currency: 'USD' },
];

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const envelopeTime = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** Options of one event: when it was received, its status, and its id (else the next of its dataset). */
export interface UsageEventOptions {
  readonly receivedAt?: string;
  readonly statusCode?: number;
  readonly id?: string;
}

/**
 * Makes the events of one dataset, numbering their ids from 1: each dataset (and each test that
 * makes one) has its own numbering, shared with no other.
 */
export function billingEvents() {
  let sequence = 0;
  const nextId = () => `evt-bill-${String(++sequence).padStart(5, '0')}`;
  /** One usage event, delivered once; `receivedAt` is the envelope time. */
  const usageEvent = (occurredAt: string, tenantId: string, index: number, options: UsageEventOptions = {}): DatasetEvent =>
    billingEvent(occurredAt, tenantId, index, { ...options, id: options.id ?? nextId() });
  /** `count` events from `start`, `stepMs` apart, the tenants taking turns. */
  const traffic = (start: string, count: number, stepMs: number, tenants: readonly string[] = BILLING_TENANTS): DatasetEvent[] =>
    Array.from({ length: count }, (_, i) => usageEvent(new Date(Date.parse(start) + i * stepMs).toISOString(), tenants[i % tenants.length], i));
  return { usageEvent, traffic };
}

function billingEvent(occurredAt: string, tenantId: string, index: number, options: UsageEventOptions & { readonly id: string }): DatasetEvent {
  const op = OPERATIONS[index % OPERATIONS.length];
  const occurred = Date.parse(occurredAt);
  const detail: UsageEventDetailInput = {
    schemaVersion: '1',
    eventId: options.id,
    occurredAt: new Date(occurred).toISOString(),
    service: op.service,
    tenantId,
    operation: op.operation,
    method: op.method,
    statusCode: options.statusCode ?? STATUS_CODES[index % STATUS_CODES.length],
    latencyMs: 20 + (index % 7) * 3,
    // Most events omit billableUnits (1); some weigh more, some less.
    ...(index % 5 === 0 ? { billableUnits: 2.5 } : index % 7 === 0 ? { billableUnits: 0.5 } : {}),
  };
  return { detail, receivedAt: options.receivedAt ?? envelopeTime(occurred + 2000), source: `com.example.${op.service}` };
}

/** A producer retry: the same event, received again later. */
export const retried = (event: DatasetEvent, laterMs: number): DatasetEvent => ({ ...event, receivedAt: envelopeTime(Date.parse(event.receivedAt) + laterMs) });

/** Raw objects as Firehose names them: the hour of the first arrival. */
function rawObjects(name: string, groups: readonly DatasetEvent[][]): RawObject[] {
  return groups.map((events, i) => {
    const arrival = new Date(Math.min(...events.map((e) => Date.parse(e.receivedAt))));
    return { key: `${renderFirehosePrefix(FIREHOSE_RAW_PREFIX, arrival)}${name}-${i}-${arrival.getTime()}.gz`, lines: events.map(envelopeLine) };
  });
}

export interface BillingBatch {
  readonly deliveries: readonly DatasetEvent[];
  readonly objects: readonly RawObject[];
  /** How many of `deliveries` are copies of an event delivered before (in this batch or an earlier one): what curating the batch drops. */
  readonly duplicates: number;
}

export interface BillingDataset {
  /** Before October is closed: October and early November, retries included. */
  readonly beforeOctober: BillingBatch;
  /** After October is closed, before November: late October events, retries of billed ones, November. */
  readonly beforeNovember: BillingBatch;
  /** After November is closed: late October and November events, no December usage. */
  readonly beforeDecember: BillingBatch;
  /** January usage. */
  readonly january: BillingBatch;
  /** The late event EventBridge received on 1 November, before October was closed, but curated after. */
  readonly receivedBeforeTheClose: DatasetEvent;
  /** The tenant with no October usage whose November statement has an October adjustment. */
  readonly lateOnlyTenant: string;
}

/** The batches with their duplicates counted: copies of an event delivered before, in delivery order. */
function countingDuplicates<K extends string>(batches: Record<K, Omit<BillingBatch, 'duplicates'>>, order: readonly K[]): Record<K, BillingBatch> {
  const seen = new Set<string>();
  const counted = {} as Record<K, BillingBatch>;
  for (const name of order) {
    const batch = batches[name];
    let duplicates = 0;
    for (const { detail } of batch.deliveries) {
      if (seen.has(detail.eventId)) duplicates++;
      seen.add(detail.eventId);
    }
    counted[name] = { ...batch, duplicates };
  }
  return counted;
}

export function generateBillingDataset(): BillingDataset {
  const { usageEvent, traffic } = billingEvents();
  const reserved = Object.values(RESERVED_TENANT_IDS);

  const october = traffic('2026-10-01T06:00:00Z', 60, 12 * HOUR);
  const reservedOctober = traffic('2026-10-03T08:00:00Z', 6, 3 * HOUR, reserved).map((e) => ({ ...e, detail: { ...e.detail, statusCode: 200 } }));
  // Across the boundary: happened in the last minute of October, received in November.
  const boundary = [0, 1, 2, 3].map((i) => usageEvent(`2026-10-31T23:59:5${i}Z`, BILLING_TENANTS[i % 3], i * 2, { receivedAt: `2026-11-01T00:00:1${i}Z` }));
  const earlyNovember = traffic('2026-11-01T03:00:00Z', 20, 4 * HOUR);
  const beforeOctober = [...october, ...reservedOctober, ...boundary, ...earlyNovember];
  const retriesInRun = [...october.slice(0, 3).map((e) => retried(e, 30_000)), ...october.slice(10, 18).map((e) => retried(e, 90_000))];
  const batchA = {
    deliveries: [...beforeOctober, ...retriesInRun],
    objects: rawObjects('a', [[...beforeOctober.slice(0, 50), ...retriesInRun.slice(0, 3)], [...beforeOctober.slice(50), ...retriesInRun.slice(3)]]),
  };

  const lateOnlyTenant = 'hooli';
  const lateOctober = [
    ...traffic('2026-10-25T10:00:00Z', 9, 13 * HOUR).map((e, i) => ({ ...e, receivedAt: envelopeTime(Date.parse('2026-11-06T09:00:00Z') + i * 1000) })),
    usageEvent('2026-10-28T10:00:00Z', lateOnlyTenant, 1, { receivedAt: '2026-11-06T10:00:00Z', statusCode: 200 }),
    usageEvent('2026-10-29T10:00:00Z', lateOnlyTenant, 2, { receivedAt: '2026-11-06T10:00:01Z', statusCode: 201 }),
  ];
  const receivedBeforeTheClose = usageEvent('2026-10-31T22:00:00Z', 'globex', 0, { receivedAt: '2026-11-01T00:05:00Z', statusCode: 200 });
  const lateNotBilled = [
    usageEvent('2026-10-26T10:00:00Z', 'acme', 3, { receivedAt: '2026-11-06T11:00:00Z', statusCode: 429 }),
    usageEvent('2026-10-26T11:00:00Z', 'acme', 3, { receivedAt: '2026-11-06T11:00:00Z', statusCode: 503 }),
    usageEvent('2026-10-26T12:00:00Z', RESERVED_TENANT_IDS.anonymous, 3, { receivedAt: '2026-11-06T11:00:00Z', statusCode: 200 }),
  ];
  // Within the late event window (35 days before the envelope time), so the curation sees them as copies.
  const retriesOfBilled = [...october.slice(40, 45), ...boundary.slice(0, 2)].map((e) => ({ ...e, receivedAt: '2026-11-06T12:00:00Z' }));
  const retryOfLate = retried(lateOctober[0], 45_000);
  const laterNovember = traffic('2026-11-05T03:00:00Z', 24, 24 * HOUR);
  const batchB = {
    deliveries: [...lateOctober, receivedBeforeTheClose, ...lateNotBilled, ...retriesOfBilled, retryOfLate, ...laterNovember],
    objects: rawObjects('b', [[receivedBeforeTheClose], [...lateOctober, ...lateNotBilled, ...retriesOfBilled, retryOfLate], laterNovember]),
  };

  const lateForDecember = [
    usageEvent('2026-10-30T12:00:00Z', 'initech', 1, { receivedAt: '2026-12-01T10:00:00Z', statusCode: 200 }),
    usageEvent('2026-11-29T12:00:00Z', 'initech', 0, { receivedAt: '2026-12-01T10:00:01Z', statusCode: 200 }),
    usageEvent('2026-11-30T23:59:00Z', 'acme', 2, { receivedAt: '2026-12-01T10:00:02Z', statusCode: 204 }),
  ];
  const retryOfNovember = { ...laterNovember[0], receivedAt: '2026-12-01T10:00:03Z' };
  const batchC = { deliveries: [...lateForDecember, retryOfNovember], objects: rawObjects('c', [[...lateForDecember, retryOfNovember]]) };

  const january = traffic('2027-01-04T09:00:00Z', 12, 2 * 24 * HOUR);
  const batchD = { deliveries: january, objects: rawObjects('d', [january]) };

  const batches = countingDuplicates({ beforeOctober: batchA, beforeNovember: batchB, beforeDecember: batchC, january: batchD }, ['beforeOctober', 'beforeNovember', 'beforeDecember', 'january']);
  return { ...batches, receivedBeforeTheClose, lateOnlyTenant };
}

/** A line as the statement must show it. */
export interface ExpectedLine {
  readonly kind: 'usage' | 'adjustment';
  readonly usageMonth: string;
  readonly calls: number;
  readonly billableUnits: number;
  readonly amount: number;
}

const round6 = (value: number) => Math.round(value * 1e6) / 1e6;

const billable = (detail: UsageEventDetailInput) =>
  detail.statusCode < 500 && ![401, 403, 429].includes(detail.statusCode) && !(Object.values(RESERVED_TENANT_IDS) as string[]).includes(detail.tenantId);

/**
 * What closing `month` must bill, given every delivery curated by then and the event ids earlier
 * closings billed: each billable event once (retried copies are one event), of `month` or an
 * earlier month, not billed before. Returns the lines per tenant and the ids billed.
 */
export function expectedClosing(
  delivered: readonly DatasetEvent[],
  billedBefore: ReadonlySet<string>,
  month: string,
  prices: Prices,
): { statements: Map<string, ExpectedLine[]>; billed: Set<string> } {
  const events = new Map<string, UsageEventDetailInput>();
  for (const delivery of delivered) if (!events.has(delivery.detail.eventId)) events.set(delivery.detail.eventId, delivery.detail);
  const priceOf = (operation: string) => (prices.find((p) => p.operation === operation) ?? prices.find((p) => p.operation === PRICE_LIST.defaultOperation))!.unitPrice;
  const lines = new Map<string, Map<string, { calls: number; units: number; amount: number }>>();
  const billed = new Set<string>();
  for (const [id, detail] of events) {
    const usageMonth = detail.occurredAt.slice(0, 7);
    if (!billable(detail) || usageMonth > month || billedBefore.has(id)) continue;
    billed.add(id);
    const units = detail.billableUnits ?? 1;
    const byMonth = lines.get(detail.tenantId) ?? new Map<string, { calls: number; units: number; amount: number }>();
    const line = byMonth.get(usageMonth) ?? { calls: 0, units: 0, amount: 0 };
    byMonth.set(usageMonth, { calls: line.calls + 1, units: line.units + units, amount: line.amount + units * priceOf(detail.operation) });
    lines.set(detail.tenantId, byMonth);
  }
  const statements = new Map<string, ExpectedLine[]>();
  for (const [tenant, byMonth] of lines) {
    const months = [...byMonth.keys()].sort((a, b) => (a === month ? -1 : b === month ? 1 : a.localeCompare(b)));
    statements.set(
      tenant,
      months.map((m) => ({ kind: m === month ? 'usage' : 'adjustment', usageMonth: m, calls: byMonth.get(m)!.calls, billableUnits: byMonth.get(m)!.units, amount: round6(byMonth.get(m)!.amount) })),
    );
  }
  return { statements, billed };
}
