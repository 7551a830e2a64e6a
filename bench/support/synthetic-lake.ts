import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { DuckDBConnection } from '@duckdb/node-api';
import { CURATED_COLUMNS, CURATED_PARTITION_COLUMNS } from '../../contracts/curated-columns';
import { duckdbType, partitionProjection, sqlString } from '../../local/lake/curation-sql';

/**
 * Synthetic usage events as SQL over `range(n) r(n)`: deterministic, spread over `days` days from
 * `start`, a few hundred tenants, dozens of operations, some errors and 429s. One expression per
 * curated column, so a column added to the contracts without one here fails loudly.
 */
export function syntheticEventsSql(count: number, start = '2026-09-01', days = 30, first = 0, order?: { readonly total: number }): string {
  // Scattered over the days (a lake), or in time order over them (a stream, as Firehose delivers it).
  const offset = order ? `CAST(n * ${days * 86400} / ${order.total} AS BIGINT)` : `((n * 7919) % (${days} * 86400))`;
  const expressions: Partial<Record<string, string>> = {
    event_id: `'evt-' || lpad(CAST(n AS VARCHAR), 10, '0') || '-' || md5(CAST(n AS VARCHAR))[1:12]`,
    schema_version: `'1'`,
    occurred_at: `TIMESTAMP '${start}' + to_seconds(${offset})`,
    received_at: `TIMESTAMP '${start}' + to_seconds(${offset} + 2)`,
    source: `'com.example.svc-' || (n % 12)`,
    service: `'svc-' || (n % 12)`,
    tenant_id: `'tenant-' || lpad(CAST(n % 500 AS VARCHAR), 3, '0')`,
    user_id: `'user-' || (n % 20000)`,
    api_key_id: `'key_' || (n % 1500)`,
    operation: `'GET /v1/resource' || (n % 40) || '/{id}'`,
    feature: `CASE WHEN n % 3 = 0 THEN NULL ELSE 'feature-' || (n % 25) END`,
    method: `'GET'`,
    status_code: `CASE WHEN n % 97 = 0 THEN 500 WHEN n % 53 = 0 THEN 429 WHEN n % 41 = 0 THEN 404 ELSE 200 END`,
    latency_ms: `((n * 31) % 2000) / 3.0`,
    request_bytes: `NULL`,
    response_bytes: `n % 5000`,
    billable_units: `1`,
    tier: `['free', 'basic', 'premium', 'enterprise'][1 + n % 4]`,
    region: `'eu-west-1'`,
    attributes: `NULL`,
  };
  const columns = CURATED_COLUMNS.map((column) => {
    const expression = expressions[column.name];
    if (expression === undefined) throw new Error(`syntheticEventsSql has no value for curated column ${column.name}.`);
    return `CAST(${expression} AS ${duckdbType(column)}) AS "${column.name}"`;
  });
  return `SELECT *, ${partitionProjection()} FROM (SELECT ${columns.join(', ')} FROM range(${first}, ${first + count}) r(n))`;
}

/** Writes `count` synthetic events as curated Parquet (the Glue job's layout) under `curatedDir`. */
export async function writeSyntheticCuratedLake(connection: DuckDBConnection, curatedDir: string, count: number, start?: string, days?: number): Promise<void> {
  const partitions = CURATED_PARTITION_COLUMNS.map((p) => p.name).join(', ');
  await connection.run(
    `COPY (${syntheticEventsSql(count, start, days)}) TO ${sqlString(curatedDir)} (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (${partitions}), OVERWRITE_OR_IGNORE, FILENAME_PATTERN 'part-{uuid}')`,
  );
}

/**
 * The same synthetic events as EventBridge envelopes (what Firehose writes to `raw/`): one JSON
 * object per line, built from the curated columns' envelope paths. Every `duplicateEvery`-th
 * event is delivered twice, as a producer's retry would be.
 */
export function syntheticRawEnvelopesSql(count: number, start?: string, days?: number, first = 0, duplicateEvery = 50, order?: { readonly total: number }): string {
  const detail = CURATED_COLUMNS.filter((c) => c.source.startsWith('detail.'));
  const top = CURATED_COLUMNS.filter((c) => !c.source.startsWith('detail.'));
  const value = (column: (typeof CURATED_COLUMNS)[number]) =>
    column.type === 'timestamp' ? `strftime("${column.name}", '%Y-%m-%dT%H:%M:%S.%gZ')` : column.type === 'double' ? `CAST("${column.name}" AS DOUBLE)` : `"${column.name}"`;
  const detailStruct = detail.map((c) => `'${c.source.slice('detail.'.length)}': ${value(c)}`).join(', ');
  // A producer leaves out an optional field it has no value for: the contract refuses null.
  const detailJson = `CAST(regexp_replace(CAST(to_json({${detailStruct}}) AS VARCHAR), ',"[A-Za-z]+":null', '', 'g') AS JSON)`;
  return `SELECT '0' AS version, uuid()::VARCHAR AS id, 'api-usage-event' AS "detail-type", ${top.map((c) => `${value(c)} AS "${c.source}"`).join(', ')},
      '123456789012' AS account, 'eu-west-1' AS region, []::VARCHAR[] AS resources, ${detailJson} AS detail
    FROM (${syntheticEventsSql(count, start, days, first, order)}) events
    CROSS JOIN LATERAL (SELECT * FROM range(CASE WHEN hash(event_id) % ${duplicateEvery} = 0 THEN 2 ELSE 1 END)) copies`;
}

/** Writes the synthetic envelopes as Firehose would: gzip objects of newline-delimited JSON under `rawDir`. */
export async function writeSyntheticRawObjects(
  connection: DuckDBConnection,
  rawDir: string,
  count: number,
  objects = 4,
  start?: string,
  days?: number,
  ordered = false,
): Promise<void> {
  const perObject = Math.ceil(count / objects);
  for (let i = 0; i < objects; i++) {
    const n = Math.min(perObject, count - i * perObject);
    if (n <= 0) break;
    // In arrival order, object i holds the i-th slice of the stream, so the i-th slice of the day's hours.
    const hour = ordered ? Math.floor((i * 24) / objects) % 24 : i % 24;
    const file = path.join(rawDir, 'year=2026', 'month=09', 'day=01', `hour=${String(hour).padStart(2, '0')}`, `usage-${i}.gz`);
    mkdirSync(path.dirname(file), { recursive: true });
    const order = ordered ? { total: count } : undefined;
    await connection.run(`COPY (${syntheticRawEnvelopesSql(n, start, days, i * perObject, 50, order)}) TO ${sqlString(file)} (FORMAT json, COMPRESSION gzip)`);
  }
}
