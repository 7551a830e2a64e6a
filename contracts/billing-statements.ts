import { LAKE_PREFIXES } from './lake-layout';
import { isValidParameterValue } from './named-queries';
import { EVENT_TIME_WINDOW } from './usage-event';

/**
 * Where closed months' billing statements live (under `statements/`), and the tables over them.
 * One source for the stack (Glue tables, bucket policy, grants), the local lake (DuckDB views) and
 * both closing engines (Athena and DuckDB).
 *
 * Closing month M writes, in this order:
 *
 * 1. `statements/billed_events/month=M/closing=<id>/` — Parquet, the id of every usage event the
 *    closing bills (written by Athena UNLOAD or DuckDB COPY, into a folder no attempt used before);
 * 2. `statements/closings/month=M/closing.json` — the closing record, written only if absent
 *    (S3 `If-None-Match: *`, locally an exclusive link): the one commit point. It names the
 *    attempt `<id>` whose billed events count; another attempt's files are never read;
 * 3. `statements/lines/month=M/statement-<tenant>.json` — one immutable statement per tenant,
 *    also written only if absent, derived from the committed billed events and price list.
 *
 * Every table is partitioned by `month` (the statement's month, `YYYY-MM`) from the folder name;
 * in AWS the partitions are projected, so nothing registers them.
 */

/** A column of a statement table, with its Glue (Hive) type. */
export interface StatementColumn {
  readonly name: string;
  readonly type: 'string' | 'bigint' | 'double';
  readonly comment: string;
}

/** One table under `statements/`. */
export interface StatementTable {
  readonly table: string;
  /** The table's folder; partitions are `<prefix>month=YYYY-MM/`. */
  readonly prefix: string;
  /** `json`: one JSON object per line (written by the CLI); `parquet`: written by Athena UNLOAD or DuckDB COPY. */
  readonly format: 'json' | 'parquet';
  readonly description: string;
  readonly columns: readonly StatementColumn[];
}

/** The partition column of every statement table: the statement's month, `YYYY-MM`. */
export const STATEMENT_PARTITION_KEY = 'month';

/** The kinds of statement line: usage of the statement's month, or late events of an earlier month. */
export const STATEMENT_LINE_KINDS = ['usage', 'adjustment'] as const;
export type StatementLineKind = (typeof STATEMENT_LINE_KINDS)[number];

const closingColumns: readonly StatementColumn[] = [
  { name: 'closing_id', type: 'string', comment: 'The attempt that committed; its billed_events folder is the one that counts' },
  { name: 'closed_at', type: 'string', comment: 'When the month was closed (ISO-8601, UTC)' },
  { name: 'currency', type: 'string', comment: 'Currency of every amount of the month' },
  { name: 'price_list', type: 'string', comment: 'The price list used, as JSON: [{"operation","unit_price","currency"}], "*" prices the rest' },
  { name: 'statements', type: 'bigint', comment: 'Statements written (one per tenant billed)' },
  { name: 'calls', type: 'bigint', comment: 'Calls billed, adjustments included' },
  { name: 'billable_units', type: 'double', comment: 'Units billed, adjustments included' },
  { name: 'amount', type: 'double', comment: 'Sum of the statements\' amounts' },
  { name: 'billed_events', type: 'bigint', comment: 'Event ids recorded in statement_billed_events for this closing' },
];

const lineColumns: readonly StatementColumn[] = [
  { name: 'tenant_id', type: 'string', comment: 'The tenant billed' },
  { name: 'closing_id', type: 'string', comment: 'The closing that wrote the statement' },
  { name: 'closed_at', type: 'string', comment: 'When the month was closed (ISO-8601, UTC)' },
  { name: 'line_no', type: 'bigint', comment: 'Position of the line in the statement, from 1' },
  { name: 'line', type: 'string', comment: 'usage (the statement month) or adjustment (late events of an earlier month)' },
  { name: 'usage_month', type: 'string', comment: 'The month (YYYY-MM, event time) of the calls the line bills: the month an adjustment adjusts' },
  { name: 'calls', type: 'bigint', comment: 'Calls billed on the line' },
  { name: 'billable_units', type: 'double', comment: 'Units billed on the line' },
  { name: 'amount', type: 'double', comment: 'Units times unit price, rounded to 6 decimals' },
  { name: 'currency', type: 'string', comment: 'Currency of the amount' },
  { name: 'price_list', type: 'string', comment: 'The price list used, as JSON (the same for every line of the month)' },
];

const billedEventColumns: readonly StatementColumn[] = [
  { name: 'event_id', type: 'string', comment: 'A usage event billed by this closing' },
  { name: 'tenant_id', type: 'string', comment: 'The tenant billed' },
  { name: 'usage_month', type: 'string', comment: 'The month (YYYY-MM) of the event time' },
  { name: 'operation', type: 'string', comment: 'The operation, which the price list prices' },
  { name: 'billable_units', type: 'double', comment: 'Units of the event' },
  { name: 'closing_id', type: 'string', comment: 'The closing attempt that recorded the event' },
];

/** The three tables under `statements/`. */
export const STATEMENT_TABLES = {
  closings: {
    table: 'statement_closings',
    prefix: `${LAKE_PREFIXES.statements}closings/`,
    format: 'json',
    description: 'One record per closed month: the committed closing, its price list and totals',
    columns: closingColumns,
  },
  statements: {
    table: 'statements',
    prefix: `${LAKE_PREFIXES.statements}lines/`,
    format: 'json',
    description: 'Billing statements of closed months: one object per tenant and month, one row per line (usage, then adjustments)',
    columns: lineColumns,
  },
  billedEvents: {
    table: 'statement_billed_events',
    prefix: `${LAKE_PREFIXES.statements}billed_events/`,
    format: 'parquet',
    description: 'The usage events each closing billed; join statement_closings on month and closing_id for the committed ones',
    columns: billedEventColumns,
  },
} as const satisfies Record<string, StatementTable>;

/** The file name of a closing record inside its month folder. */
export const CLOSING_RECORD_FILE = 'closing.json';

/** The first month the tables' partition projection covers: the month of the earliest event time accepted. */
export const FIRST_STATEMENT_MONTH = EVENT_TIME_WINDOW.earliest.slice(0, 7);

/** What a billing month looks like, for messages. */
export const BILLING_MONTH_FORM = 'YYYY-MM (month 01-12), e.g. 2026-10';

/** True for a zero-padded `YYYY-MM` with a month from 01 to 12, as the named queries take months. */
export function isBillingMonth(value: string): boolean {
  return isValidParameterValue({ kind: 'month' }, value);
}

/** The month (`YYYY-MM`, UTC) of a time. */
export function monthOf(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/** The month after `month`. */
export function nextMonth(month: string): string {
  const [year, mm] = month.split('-').map(Number);
  return monthOf(new Date(Date.UTC(year, mm, 1)));
}

/** The month before `month`. */
export function previousMonth(month: string): string {
  const [year, mm] = month.split('-').map(Number);
  return monthOf(new Date(Date.UTC(year, mm - 2, 1)));
}

/** `<table prefix>month=YYYY-MM/`. */
export function statementPartitionPrefix(table: StatementTable, month: string): string {
  return `${table.prefix}${STATEMENT_PARTITION_KEY}=${month}/`;
}

/** Where the closing record of a month lives. */
export function closingRecordKey(month: string): string {
  return `${statementPartitionPrefix(STATEMENT_TABLES.closings, month)}${CLOSING_RECORD_FILE}`;
}

/**
 * Where a tenant's statement of a month lives. The tenant id is URI-encoded, so any id is one
 * safe path segment; the `statement-` prefix keeps names from starting with `_` or `.`, which
 * Athena skips as hidden files.
 */
export function statementKey(month: string, tenantId: string): string {
  return `${statementPartitionPrefix(STATEMENT_TABLES.statements, month)}statement-${encodeURIComponent(tenantId)}.json`;
}

/** The tenant id of a statement object's key, or undefined for another key. */
export function tenantOfStatementKey(key: string): string | undefined {
  const match = /(?:^|\/)statement-([^/]+)\.json$/.exec(key);
  return match ? decodeURIComponent(match[1]) : undefined;
}

/** The month of a key under a statement table's prefix, or undefined. */
export function monthOfStatementKey(table: StatementTable, key: string): string | undefined {
  if (!key.startsWith(table.prefix)) return undefined;
  const match = new RegExp(`^${STATEMENT_PARTITION_KEY}=(\\d{4}-\\d{2})/`).exec(key.slice(table.prefix.length));
  return match && isBillingMonth(match[1]) ? match[1] : undefined;
}

/** The folder one closing attempt writes its billed events to: new for every attempt. */
export function billedEventsPrefix(month: string, closingId: string): string {
  return `${statementPartitionPrefix(STATEMENT_TABLES.billedEvents, month)}closing=${closingId}/`;
}
