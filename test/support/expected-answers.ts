import { PRICE_LIST } from '../../contracts/lake-layout';
import { RESERVED_TENANT_IDS } from '../../contracts/tenants';
import { DatasetEvent, UsageDataset } from './usage-dataset';

/**
 * What each named query must answer for a generated dataset, computed in plain TypeScript from
 * the events as delivered — independently of SQL, DuckDB and the curation code.
 */

export interface CuratedEvent {
  readonly eventId: string;
  readonly occurredAt: Date;
  readonly receivedAt: Date;
  readonly day: string; // YYYY-MM-DD of occurredAt, UTC
  readonly month: string; // YYYY-MM
  readonly source: string;
  readonly tenantId: string;
  readonly tier?: string;
  readonly service: string;
  readonly operation: string;
  readonly feature: string; // feature, or the operation when there is none
  readonly apiKeyId: string; // '' when none
  readonly statusCode: number;
  readonly latencyMs: number;
  readonly billableUnits: number;
}

/** One row per eventId: the first copy received (ties by source), as the pipeline keeps it. */
export function deduplicate(deliveries: readonly DatasetEvent[]): CuratedEvent[] {
  const first = new Map<string, DatasetEvent>();
  for (const copy of deliveries) {
    const kept = first.get(copy.detail.eventId);
    if (!kept || copy.receivedAt < kept.receivedAt || (copy.receivedAt === kept.receivedAt && copy.source < kept.source)) first.set(copy.detail.eventId, copy);
  }
  return [...first.values()].map(({ detail, receivedAt, source }) => {
    const occurredAt = new Date(detail.occurredAt);
    const day = occurredAt.toISOString().slice(0, 10);
    return {
      eventId: detail.eventId,
      occurredAt,
      receivedAt: new Date(receivedAt),
      day,
      month: day.slice(0, 7),
      source,
      tenantId: detail.tenantId,
      tier: detail.tier,
      service: detail.service,
      operation: detail.operation,
      feature: detail.feature ?? detail.operation,
      apiKeyId: detail.apiKeyId ?? '',
      statusCode: detail.statusCode,
      latencyMs: detail.latencyMs,
      billableUnits: detail.billableUnits ?? 1,
    };
  });
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
const groupBy = <T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> => {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
};
const inDays = (events: readonly CuratedEvent[], start: string, end: string) => events.filter((e) => e.day >= start && e.day <= end);

/**
 * What is billed: calls answered below 500 and not refused (401, 403, 429), made by a tenant —
 * never traffic carrying a reserved tenant id (unauthenticated, unmatched routes, the admin API).
 */
export function isBillable(event: CuratedEvent): boolean {
  return event.statusCode < 500 && ![401, 403, 429].includes(event.statusCode) && !(Object.values(RESERVED_TENANT_IDS) as string[]).includes(event.tenantId);
}

export function expectedBilling(events: readonly CuratedEvent[], prices: UsageDataset['prices'], month: string) {
  const priceOf = (operation: string) => prices.find((p) => p.operation === operation) ?? prices.find((p) => p.operation === PRICE_LIST.defaultOperation);
  const billable = events.filter((e) => e.month === month && isBillable(e));
  return [...groupBy(billable, (e) => e.tenantId)].map(([tenantId, rows]) => ({
    tenant_id: tenantId,
    calls: rows.length,
    billable_units: rows.reduce((sum, e) => sum + e.billableUnits, 0),
    amount: round(rows.reduce((sum, e) => sum + e.billableUnits * (priceOf(e.operation)?.unitPrice ?? 0), 0), 6),
    currency: 'USD',
  }));
}

/** Billable calls and units per tenant and key, with the last billable call. */
export function expectedUsageByApiKey(events: readonly CuratedEvent[], month: string) {
  return [...groupBy(events.filter((e) => e.month === month && isBillable(e)), (e) => `${e.tenantId}|${e.apiKeyId}`)].map(([, rows]) => ({
    tenant_id: rows[0].tenantId,
    api_key_id: rows[0].apiKeyId,
    calls: rows.length,
    billable_units: rows.reduce((sum, e) => sum + e.billableUnits, 0),
    last_used_at: new Date(Math.max(...rows.map((e) => e.occurredAt.getTime()))).toISOString(),
  }));
}

export function expectedFeatureUsage(events: readonly CuratedEvent[], start: string, end: string) {
  return [...groupBy(inDays(events, start, end), (e) => e.feature)].map(([feature, rows]) => ({
    feature,
    calls: rows.length,
    tenants: new Set(rows.map((e) => e.tenantId)).size,
  }));
}

export function expectedTrending(events: readonly CuratedEvent[], asOf: string) {
  const dayOffset = (days: number) => new Date(Date.parse(`${asOf}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
  const thisWeekStart = dayOffset(-6);
  return [...groupBy(inDays(events, dayOffset(-13), asOf), (e) => e.feature)].map(([feature, rows]) => {
    const thisWeek = rows.filter((e) => e.day >= thisWeekStart).length;
    const lastWeek = rows.length - thisWeek;
    return { feature, calls_this_week: thisWeek, calls_last_week: lastWeek, growth: lastWeek === 0 ? null : round((thisWeek - lastWeek) / lastWeek, 4) };
  });
}

/** The nearest-rank quantile of sorted values. */
export function quantile(sorted: readonly number[], p: number): number {
  const clamped = Math.min(1, Math.max(0, p));
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(clamped * sorted.length) - 1))];
}

export function expectedLatency(events: readonly CuratedEvent[], start: string, end: string) {
  return [...groupBy(inDays(events, start, end), (e) => `${e.service}|${e.operation}`)].map(([, rows]) => ({
    service: rows[0].service,
    operation: rows[0].operation,
    calls: rows.length,
    latencies: rows.map((e) => e.latencyMs).sort((a, b) => a - b),
  }));
}

export function expectedErrorRates(events: readonly CuratedEvent[], start: string, end: string) {
  return [...groupBy(inDays(events, start, end), (e) => `${e.service}|${e.operation}`)].map(([, rows]) => {
    const errors = rows.filter((e) => e.statusCode >= 500).length;
    return { service: rows[0].service, operation: rows[0].operation, calls: rows.length, errors, error_rate: round(errors / rows.length, 6) };
  });
}

export function expectedRateLimited(events: readonly CuratedEvent[], start: string, end: string) {
  return [...groupBy(inDays(events, start, end), (e) => e.tenantId)]
    .map(([tenantId, rows]) => {
      const limited = rows.filter((e) => e.statusCode === 429).length;
      return { tenant_id: tenantId, calls: rows.length, rate_limited: limited, rate_limited_share: round(limited / rows.length, 6) };
    })
    .filter((row) => row.rate_limited > 0);
}

export function expectedTrafficSummary(events: readonly CuratedEvent[], since: Date) {
  const recent = events.filter((e) => e.occurredAt >= since);
  const summarise = (operation: string, rows: readonly CuratedEvent[]) => ({
    operation,
    requests: rows.length,
    error_rate: round(rows.filter((e) => e.statusCode >= 500).length / rows.length, 6),
    avg_latency_ms: round(rows.reduce((sum, e) => sum + e.latencyMs, 0) / rows.length, 3),
    latencies: rows.map((e) => e.latencyMs).sort((a, b) => a - b),
  });
  return [summarise('(all)', recent), ...[...groupBy(recent, (e) => e.operation)].map(([operation, rows]) => summarise(operation, rows))];
}

export function expectedTimeline(events: readonly CuratedEvent[], since: Date, bucketMs: number) {
  const recent = events.filter((e) => e.occurredAt >= since);
  return [...groupBy(recent, (e) => new Date(Math.floor(e.occurredAt.getTime() / bucketMs) * bucketMs).toISOString())]
    .map(([bucket, rows]) => ({
      bucket_start: bucket,
      requests: rows.length,
      errors: rows.filter((e) => e.statusCode >= 500).length,
      rate_limited: rows.filter((e) => e.statusCode === 429).length,
    }))
    .sort((a, b) => a.bucket_start.localeCompare(b.bucket_start));
}
