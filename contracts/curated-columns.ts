import { CURATED_PARTITION_KEYS, CURATED_PARTITION_LAYOUT, CuratedPartitionKey } from './lake-layout';

/** Column types, in Glue/Athena (Hive DDL) spelling. */
export type CuratedColumnType = 'string' | 'timestamp' | 'int' | 'bigint' | 'double' | 'map<string,string>';

/** One column of the curated `usage_events` table. */
export interface CuratedColumn {
  /** snake_case column name. */
  readonly name: string;
  /** Glue/Athena type. */
  readonly type: CuratedColumnType;
  /** Where the value comes from in the EventBridge envelope, as a dotted path. */
  readonly source: string;
  /** A row without this value is malformed and goes to `errors/glue/`. */
  readonly required: boolean;
  /** Value used when the envelope has none. */
  readonly default?: number | string;
  readonly comment: string;
}

/**
 * The curated table's columns, in order: snake_case of the usage event's `detail` fields, plus
 * `received_at` (the envelope's time) and `source`. The Glue job receives this list as a job
 * argument and the local compactor imports it, so both write the same columns.
 */
export const CURATED_COLUMNS: readonly CuratedColumn[] = [
  { name: 'event_id', type: 'string', source: 'detail.eventId', required: true, comment: 'Producer-assigned id, the dedup key' },
  { name: 'schema_version', type: 'string', source: 'detail.schemaVersion', required: true, comment: 'Usage event schema version' },
  { name: 'occurred_at', type: 'timestamp', source: 'detail.occurredAt', required: true, comment: 'Event time (UTC)' },
  { name: 'received_at', type: 'timestamp', source: 'time', required: true, comment: 'Time EventBridge received the event (UTC)' },
  { name: 'source', type: 'string', source: 'source', required: true, comment: 'EventBridge source' },
  { name: 'service', type: 'string', source: 'detail.service', required: true, comment: 'Producing microservice' },
  { name: 'tenant_id', type: 'string', source: 'detail.tenantId', required: true, comment: 'Customer billed' },
  { name: 'user_id', type: 'string', source: 'detail.userId', required: false, comment: 'End user, if known' },
  { name: 'api_key_id', type: 'string', source: 'detail.apiKeyId', required: false, comment: 'API key id, if any' },
  { name: 'operation', type: 'string', source: 'detail.operation', required: true, comment: 'Route template, e.g. GET /v1/orders/{id}' },
  { name: 'feature', type: 'string', source: 'detail.feature', required: false, comment: 'Product feature; queries fall back to operation' },
  { name: 'method', type: 'string', source: 'detail.method', required: true, comment: 'HTTP method' },
  { name: 'status_code', type: 'int', source: 'detail.statusCode', required: true, comment: 'HTTP status code' },
  { name: 'latency_ms', type: 'double', source: 'detail.latencyMs', required: true, comment: 'Latency in milliseconds' },
  { name: 'request_bytes', type: 'bigint', source: 'detail.requestBytes', required: false, comment: 'Request body size' },
  { name: 'response_bytes', type: 'bigint', source: 'detail.responseBytes', required: false, comment: 'Response body size' },
  { name: 'billable_units', type: 'double', source: 'detail.billableUnits', required: false, default: 1, comment: 'Units billed for the call' },
  { name: 'tier', type: 'string', source: 'detail.tier', required: false, comment: 'Customer tier at the time of the call' },
  { name: 'region', type: 'string', source: 'detail.region', required: false, comment: 'AWS region or location served' },
  { name: 'attributes', type: 'map<string,string>', source: 'detail.attributes', required: false, comment: 'Bounded free-form tags' },
];

/** A partition column: a string cut from the event time (see {@link CURATED_PARTITION_LAYOUT}). */
export interface CuratedPartitionColumn {
  readonly name: CuratedPartitionKey;
  readonly type: 'string';
  /** The UTC date part the value holds. */
  readonly datePart: 'year' | 'month' | 'day';
  /** The value's width, zero-padded: `2026`, `03`, `04`. */
  readonly digits: number;
}

/** Partition columns, appended after {@link CURATED_COLUMNS}, in folder order; strings such as `2026`, `11`, `23`. */
export const CURATED_PARTITION_COLUMNS: readonly CuratedPartitionColumn[] = CURATED_PARTITION_KEYS.map((name) => ({
  name,
  type: 'string' as const,
  ...CURATED_PARTITION_LAYOUT[name],
}));

/** Column names in table order, partitions last. */
export const curatedColumnNames = (): string[] => [
  ...CURATED_COLUMNS.map((column) => column.name),
  ...CURATED_PARTITION_COLUMNS.map((column) => column.name),
];

/** The curated column whose value comes from `source` (a dotted envelope path). */
export function curatedColumnFrom(source: string): CuratedColumn {
  const column = CURATED_COLUMNS.find((c) => c.source === source);
  if (!column) throw new Error(`No curated column comes from ${source}.`);
  return column;
}
