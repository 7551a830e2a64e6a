import { randomUUID } from 'node:crypto';
import {
  BILLING_MONTH_FORM,
  CLOSING_RECORD_FILE,
  STATEMENT_TABLES,
  billedEventsPrefix,
  closingRecordKey,
  isBillingMonth,
  monthOf,
  monthOfStatementKey,
  nextMonth,
  statementKey,
  statementPartitionPrefix,
  tenantOfStatementKey,
} from '../../contracts/billing-statements';
import {
  BilledUsage,
  BillingError,
  MonthClosing,
  MonthNotClosableError,
  Statement,
  StatementContext,
  StatementNotFoundError,
  buildStatements,
  closingOf,
  parseClosing,
  parseStatement,
  serializeClosing,
  serializeStatement,
  settlePriceList,
} from './statements';

/**
 * Closing a month: one immutable statement per tenant, and exact late events.
 *
 * A closing bills every billable event (`billable_usage_events`) whose event time falls in the
 * month closed or an earlier month and whose id no committed closing billed yet. Those of the
 * month closed are its usage lines; those of earlier months are late events (curated after their
 * month closed, whenever they arrived) and become adjustment lines naming the month they adjust.
 * "Late" is decided by event ids recorded per closing, never by arrival or curation times.
 *
 * The same orchestration runs on Athena + S3 and on DuckDB + the data folder, through the two
 * small interfaces below.
 */

/** The objects under `statements/`: S3 in AWS, the data folder locally. */
export interface StatementObjects {
  /** The text of an object, or undefined when there is none. */
  get(key: string): Promise<string | undefined>;
  /** Creates an object unless one has the key; false when one has (nothing is overwritten). */
  putIfAbsent(key: string, body: string): Promise<boolean>;
  /** Keys under a prefix, sorted. */
  list(prefix: string): Promise<string[]>;
}

/** A result row of the engine: plain JSON values (numbers for numeric columns). */
export type BillingRow = Readonly<Record<string, unknown>>;

/** The SQL engine over the lake: Athena in AWS, DuckDB locally; both run the same SQL text. */
export interface BillingSqlEngine {
  /** Runs a SELECT with `?` parameters, each bound as a string. */
  select(sql: string, parameters: readonly string[]): Promise<BillingRow[]>;
  /** Writes the rows of a SELECT as Parquet under `prefix`, a folder nothing was written to before. */
  unload(select: string, parameters: readonly string[], prefix: string): Promise<void>;
  /** Removes what `unload` wrote, where the store allows it; a no-op where it does not (AWS denies deletes under `statements/`). */
  discard(prefix: string): Promise<void>;
}

/** Where a closing reads and writes. */
export interface BillingLedger {
  readonly objects: StatementObjects;
  readonly engine: BillingSqlEngine;
}

/** The one definition of a billable call (queries/billable_usage_events.sql). */
export const BILLABLE_EVENTS_VIEW = 'billable_usage_events';

/**
 * Billable events of months up to the one closed (`?` 2) whose ids no committed closing billed,
 * stamped with the closing attempt (`?` 1). Committed = named by its month's closing record;
 * another attempt's files (one that lost the race or stopped) are never read.
 */
export const UNBILLED_EVENTS_SQL = `SELECT
  b.event_id,
  b.tenant_id,
  concat(b.year, '-', b.month) AS usage_month,
  b.operation,
  CAST(b.billable_units AS double) AS billable_units,
  CAST(? AS varchar) AS closing_id
FROM ${BILLABLE_EVENTS_VIEW} b
LEFT JOIN (
  SELECT DISTINCT e.event_id
  FROM ${STATEMENT_TABLES.billedEvents.table} e
  JOIN ${STATEMENT_TABLES.closings.table} c ON c.month = e.month AND c.closing_id = e.closing_id
) billed ON billed.event_id = b.event_id
WHERE concat(b.year, '-', b.month) <= ?
  AND billed.event_id IS NULL`;

/** What one closing attempt (`?` 2) of a month (`?` 1) recorded, per tenant, month of event time and operation. */
export const BILLED_USAGE_SQL = `SELECT
  tenant_id,
  usage_month,
  operation,
  count(*) AS calls,
  count(DISTINCT event_id) AS events,
  sum(billable_units) AS billable_units
FROM ${STATEMENT_TABLES.billedEvents.table}
WHERE month = ? AND closing_id = ?
GROUP BY tenant_id, usage_month, operation
ORDER BY tenant_id, usage_month, operation`;

/** Months before `?` with billable events, for the first closing (nothing is billed yet). */
export const BILLABLE_MONTHS_BEFORE_SQL = `SELECT
  concat(year, '-', month) AS usage_month,
  count(*) AS events
FROM ${BILLABLE_EVENTS_VIEW}
WHERE concat(year, '-', month) < ?
GROUP BY concat(year, '-', month)
ORDER BY usage_month`;

/** The price list's distinct rows; the closing settles one price per operation. */
export const PRICE_LIST_SQL = `SELECT DISTINCT operation, unit_price, currency FROM operation_prices`;

/** How a closing went. */
export interface CloseMonthResult {
  /** `closed` by this run, or `already-closed` before it (this run only completed missing statements, if any). */
  readonly outcome: 'closed' | 'already-closed';
  readonly closing: MonthClosing;
  readonly statements: readonly Statement[];
  /** Statement objects this run wrote. */
  readonly written: number;
}

/** Options of {@link closeMonth}. */
export interface CloseMonthOptions {
  /** `YYYY-MM`. */
  readonly month: string;
  /**
   * The time of the closing: the month must be over (UTC) and the record keeps it.
   * @default - now
   */
  readonly now?: Date;
  /**
   * The id of this attempt.
   * @default - a random UUID
   */
  readonly closingId?: string;
  /** Called as each step starts, for progress. */
  readonly onStep?: (step: string) => void;
}

/**
 * Closes a month: the steps below, in order. Idempotent: for a month closed already it writes
 * nothing (but the statements a stopped closing had not yet written) and returns the statements.
 */
export async function closeMonth(ledger: BillingLedger, options: CloseMonthOptions): Promise<CloseMonthResult> {
  const { month } = options;
  if (!isBillingMonth(month)) throw new BillingError(`The month must be ${BILLING_MONTH_FORM}; got "${month}".`);
  const step = options.onStep ?? (() => undefined);
  const now = options.now ?? new Date();

  step(`looking for the closing of ${month}`);
  const existing = await findClosing(ledger.objects, month);
  if (existing) return { outcome: 'already-closed', ...(await completeStatements(ledger, existing, step)) };

  step('checking that the month can be closed');
  await checkClosable(ledger, month, now);

  step('reading the price list');
  const prices = settlePriceList((await ledger.engine.select(PRICE_LIST_SQL, [])).map((row) => ({ operation: row.operation, unitPrice: row.unit_price, currency: row.currency })));
  const context: StatementContext = { month, closingId: options.closingId ?? randomUUID(), closedAt: now.toISOString(), currency: prices.currency, priceList: prices.entries };

  step('recording the events billed (usage and late events of earlier months)');
  const staged = billedEventsPrefix(month, context.closingId);
  let closing: MonthClosing;
  let statements: Statement[];
  try {
    await ledger.engine.unload(UNBILLED_EVENTS_SQL, [context.closingId, month], staged);
    step('pricing the statements');
    statements = buildStatements(context, await billedUsage(ledger.engine, month, context.closingId));
    closing = closingOf(context, statements);
    step('committing the closing record');
    if (!(await ledger.objects.putIfAbsent(closingRecordKey(month), serializeClosing(closing)))) {
      // Another closing of the month committed first: its statements are the month's.
      await ledger.engine.discard(staged);
      const winner = await findClosing(ledger.objects, month);
      if (!winner) throw new BillingError(`The closing record of ${month} exists but cannot be read back.`);
      return { outcome: 'already-closed', ...(await completeStatements(ledger, winner, step)) };
    }
  } catch (error) {
    // Nothing committed: the staged events are no one's (where deletes are denied they stay, unread).
    await ledger.engine.discard(staged).catch(() => undefined);
    throw error;
  }

  step(`writing ${statements.length} statements`);
  const written = await writeStatements(ledger.objects, statements);
  return { outcome: 'closed', closing, statements, written };
}

/** Reads one tenant's statement of a closed month. */
export async function readStatement(objects: StatementObjects, month: string, tenantId: string): Promise<{ closing: MonthClosing; statement: Statement }> {
  const closing = await findClosing(objects, month);
  if (!closing) throw new StatementNotFoundError(`${month} is not closed, so it has no statements yet. Close it with "usage-tracker billing close --month ${month}" (with --aws for the statements in AWS).`);
  const statement = await loadStatement(objects, month, tenantId);
  if (!statement) {
    const tenants = await statementTenants(objects, month);
    const known = tenants.length === 0 ? `${month} was closed with no billable calls` : `${month} has statements for ${tenants.slice(0, 20).join(', ')}${tenants.length > 20 ? ` and ${tenants.length - 20} more` : ''}`;
    throw new StatementNotFoundError(`No statement for tenant "${tenantId}" in ${month}: ${known}.`);
  }
  return { closing, statement };
}

async function loadStatement(objects: StatementObjects, month: string, tenantId: string): Promise<Statement | undefined> {
  const key = statementKey(month, tenantId);
  const text = await objects.get(key);
  return text === undefined ? undefined : parseStatement(key, month, text);
}

/** The committed closing of a month, if it is closed. */
export async function findClosing(objects: StatementObjects, month: string): Promise<MonthClosing | undefined> {
  const key = closingRecordKey(month);
  const text = await objects.get(key);
  return text === undefined ? undefined : parseClosing(key, month, text);
}

/** The closed months, in order. */
export async function closedMonths(objects: StatementObjects): Promise<string[]> {
  const keys = await objects.list(STATEMENT_TABLES.closings.prefix);
  return keys
    .filter((key) => key.endsWith(`/${CLOSING_RECORD_FILE}`))
    .map((key) => monthOfStatementKey(STATEMENT_TABLES.closings, key))
    .filter((month): month is string => month !== undefined)
    .sort();
}

/** The tenants with a statement in a month, in order. */
export async function statementTenants(objects: StatementObjects, month: string): Promise<string[]> {
  const keys = await objects.list(statementPartitionPrefix(STATEMENT_TABLES.statements, month));
  return keys.map(tenantOfStatementKey).filter((tenant): tenant is string => tenant !== undefined).sort();
}

/**
 * Months close in order, once each is over: the first closing needs no billable event before its
 * month (else that month comes first); every later one is the month after the last closed. So
 * no closing sweeps a whole unclosed month into adjustments, and two closings of different
 * months never run on the same unbilled events.
 */
async function checkClosable(ledger: BillingLedger, month: string, now: Date): Promise<void> {
  const current = monthOf(now);
  if (month >= current) throw new MonthNotClosableError(month, `it is not over yet (it is ${current} UTC). Close a month from the first day of the next.`);
  const closed = await closedMonths(ledger.objects);
  const last = closed.at(-1);
  if (last !== undefined) {
    if (month < last) {
      throw new MonthNotClosableError(month, `billing starts with ${closed[0]} and runs to ${last}, closed already; months close in order. Events of ${month} not billed yet are late events: the next closing (${nextMonth(last)}) bills them as adjustments.`);
    }
    if (month !== nextMonth(last)) throw new MonthNotClosableError(month, `close ${nextMonth(last)} first: months close in order, one after another (the last closed is ${last}).`);
    return;
  }
  const earlier = await ledger.engine.select(BILLABLE_MONTHS_BEFORE_SQL, [month]);
  if (earlier.length > 0) {
    const first = earlier[0];
    throw new MonthNotClosableError(month, `${String(first.usage_month)} has ${String(first.events)} billable calls and is not closed: close it first (billing starts with the first month that has billable calls, and months close in order).`);
  }
}

/** What the staged events of an attempt add up to; refused if the lake holds an event id twice. */
async function billedUsage(engine: BillingSqlEngine, month: string, closingId: string): Promise<BilledUsage[]> {
  const rows = await engine.select(BILLED_USAGE_SQL, [month, closingId]);
  const repeated = rows.filter((row) => Number(row.calls) !== Number(row.events));
  if (repeated.length > 0) {
    throw new BillingError(
      `the lake holds an event id more than once (tenant ${String(repeated[0].tenant_id)}, ${String(repeated[0].usage_month)}, ${String(repeated[0].operation)}); no statement bills a call twice. Find the copies with the duplicate_event_ids query, remove them from curated/, and close again.`,
    );
  }
  return rows.map((row) => ({
    tenantId: String(row.tenant_id),
    usageMonth: String(row.usage_month),
    operation: String(row.operation),
    calls: Number(row.calls),
    billableUnits: Number(row.billable_units),
  }));
}

async function writeStatements(objects: StatementObjects, statements: readonly Statement[]): Promise<number> {
  let written = 0;
  for (const statement of statements) {
    if (await objects.putIfAbsent(statementKey(statement.month, statement.tenantId), serializeStatement(statement))) written++;
  }
  return written;
}

/**
 * The statements of a committed closing. A closing that stopped between its record and its last
 * statement left some unwritten: they are derived again from what it recorded (its billed events
 * and its price list, so the same bytes) and written; nothing existing is touched.
 */
async function completeStatements(ledger: BillingLedger, closing: MonthClosing, step: (line: string) => void): Promise<Omit<CloseMonthResult, 'outcome'>> {
  let tenants = await statementTenants(ledger.objects, closing.month);
  let written = 0;
  if (tenants.length < closing.statements) {
    step(`completing the statements of ${closing.month} (${tenants.length} of ${closing.statements} written)`);
    const statements = buildStatements(closing, await billedUsage(ledger.engine, closing.month, closing.closingId));
    written = await writeStatements(ledger.objects, statements.filter((statement) => !tenants.includes(statement.tenantId)));
    tenants = await statementTenants(ledger.objects, closing.month);
  }
  const statements: Statement[] = [];
  for (const tenant of tenants) {
    const statement = await loadStatement(ledger.objects, closing.month, tenant);
    if (statement) statements.push(statement);
  }
  return { closing, statements, written };
}
