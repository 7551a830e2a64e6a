import { StatementLineKind } from '../../contracts/billing-statements';
import { PRICE_LIST } from '../../contracts/lake-layout';

/**
 * Billing statements as finance reads them: what a closing billed, priced with the price list in
 * force when the month was closed, one statement per tenant; and their stored form (one JSON
 * object per line, as the `statements` and `statement_closings` tables read them). Knows nothing
 * of Athena, DuckDB or the CLI.
 */

/** One row of the price list (`reference/operation_prices/`). */
export interface PriceListEntry {
  readonly operation: string;
  readonly unitPrice: number;
  readonly currency: string;
}

/** Calls and units a closing billed for one tenant, month of event time and operation. */
export interface BilledUsage {
  readonly tenantId: string;
  /** `YYYY-MM` of the events' time. */
  readonly usageMonth: string;
  readonly operation: string;
  readonly calls: number;
  readonly billableUnits: number;
}

/** A line of a statement: the statement month's usage, or late events of an earlier month. */
export interface StatementLine {
  readonly kind: StatementLineKind;
  /** The month of the calls billed: the statement's month for usage, the adjusted month for an adjustment. */
  readonly usageMonth: string;
  readonly calls: number;
  readonly billableUnits: number;
  /** Units times unit price, rounded to 6 decimals. */
  readonly amount: number;
}

/** What a statement or a closing adds up to. */
export interface BillingTotal {
  readonly calls: number;
  readonly billableUnits: number;
  readonly amount: number;
}

/** One tenant's statement of one closed month. */
export interface Statement {
  readonly tenantId: string;
  /** The statement's month, `YYYY-MM`. */
  readonly month: string;
  readonly closingId: string;
  readonly closedAt: string;
  readonly currency: string;
  readonly priceList: readonly PriceListEntry[];
  /** Usage first, then adjustments by the month they adjust. */
  readonly lines: readonly StatementLine[];
  readonly total: BillingTotal;
}

/** The record of a closed month: which attempt committed, with what prices, and its totals. */
export interface MonthClosing extends BillingTotal {
  readonly month: string;
  readonly closingId: string;
  readonly closedAt: string;
  readonly currency: string;
  readonly priceList: readonly PriceListEntry[];
  /** Statements the closing writes: one per tenant billed. */
  readonly statements: number;
  /** Event ids recorded as billed by the closing. */
  readonly billedEvents: number;
}

/** The common base of billing errors: each is a refusal or an absence, with what to do. */
export class BillingError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BillingError';
  }
}

/** The month cannot be closed now (not over yet, or out of order). */
export class MonthNotClosableError extends BillingError {
  constructor(
    public readonly month: string,
    reason: string,
  ) {
    super(`${month} cannot be closed: ${reason}`);
    this.name = 'MonthNotClosableError';
  }
}

/** The price list cannot price a statement. */
export class PriceListError extends BillingError {
  constructor(problem: string) {
    super(`The price list (${PRICE_LIST.prefix}) cannot price a statement: ${problem}`);
    this.name = 'PriceListError';
  }
}

/** No statement for the month or the tenant. */
export class StatementNotFoundError extends BillingError {
  constructor(message: string) {
    super(message);
    this.name = 'StatementNotFoundError';
  }
}

/** A stored statement or closing record does not have the form this code writes. */
export class StatementFormatError extends BillingError {
  constructor(key: string, problem: string, options?: ErrorOptions) {
    super(`${key}: ${problem}`, options);
    this.name = 'StatementFormatError';
  }
}

/** Rounds an amount to 6 decimals, as billing_by_tenant does. */
export function roundAmount(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** A row of the uploaded price list, as the SQL engine answers it (any column may be missing). */
export interface PriceListRow {
  readonly operation: unknown;
  readonly unitPrice: unknown;
  readonly currency: unknown;
}

/** A price list a closing can use: one currency, one price per operation. */
export interface SettledPriceList {
  readonly currency: string;
  readonly entries: readonly PriceListEntry[];
}

const isPrice = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0;

/**
 * The price list a closing uses, from the distinct rows of the CSV: one price per operation (the
 * highest, as billing_by_tenant reads it), sorted by operation. Refused when empty, when it mixes
 * currencies (a statement has one) or when a price is not a number of at least 0.
 */
export function settlePriceList(rows: readonly PriceListRow[]): SettledPriceList {
  const usable = rows.filter((row): row is PriceListRow & { operation: string } => typeof row.operation === 'string' && row.operation !== '');
  if (usable.length === 0) throw new PriceListError('it is empty. Upload the CSV (operation,unit_price,currency) before closing a month: the statement records the prices it used.');
  const invalid = usable.filter((row) => !isPrice(row.unitPrice));
  if (invalid.length > 0) throw new PriceListError(`unit_price must be a number of at least 0; got ${invalid.map((row) => `${JSON.stringify(row.unitPrice)} for "${row.operation}"`).join(', ')}.`);
  const currencies = [...new Set(usable.map((row) => (typeof row.currency === 'string' ? row.currency.trim() : '')))].sort();
  if (currencies.length !== 1 || currencies[0] === '') {
    throw new PriceListError(`every row needs the same currency (a statement has one); got ${currencies.map((c) => (c === '' ? '(none)' : c)).join(', ')}.`);
  }
  const byOperation = new Map<string, number>();
  for (const { operation, unitPrice } of usable) {
    if (isPrice(unitPrice)) byOperation.set(operation, Math.max(byOperation.get(operation) ?? 0, unitPrice));
  }
  const entries = [...byOperation].map(([operation, unitPrice]) => ({ operation, unitPrice, currency: currencies[0] })).sort((a, b) => a.operation.localeCompare(b.operation));
  return { currency: currencies[0], entries };
}

/** What a closing knows when it prices what it billed. */
export interface StatementContext {
  readonly month: string;
  readonly closingId: string;
  readonly closedAt: string;
  readonly currency: string;
  readonly priceList: readonly PriceListEntry[];
}

/**
 * Prices what a closing billed into one statement per tenant: per line, the units of each
 * operation times its price (the operation's own row, else `*`), summed and rounded to 6
 * decimals. Refused when an operation billed has no price and there is no `*` row.
 */
export function buildStatements(context: StatementContext, usage: readonly BilledUsage[]): Statement[] {
  const prices = new Map(context.priceList.map((entry) => [entry.operation, entry.unitPrice]));
  const fallback = prices.get(PRICE_LIST.defaultOperation);
  const unpriced = [...new Set(usage.filter((row) => !prices.has(row.operation) && fallback === undefined).map((row) => row.operation))].sort();
  if (unpriced.length > 0) {
    throw new PriceListError(`no price for ${unpriced.map((op) => `"${op}"`).join(', ')} and no "${PRICE_LIST.defaultOperation}" row. Add them and close the month again.`);
  }
  const lines = new Map<string, Map<string, { calls: number; billableUnits: number; amount: number }>>();
  for (const row of usage) {
    const byMonth = lines.get(row.tenantId) ?? new Map<string, { calls: number; billableUnits: number; amount: number }>();
    const line = byMonth.get(row.usageMonth) ?? { calls: 0, billableUnits: 0, amount: 0 };
    line.calls += row.calls;
    line.billableUnits += row.billableUnits;
    const price = prices.get(row.operation) ?? fallback;
    if (price === undefined) throw new PriceListError(`no price for "${row.operation}"`); // refused above; kept for the type
    line.amount += row.billableUnits * price;
    byMonth.set(row.usageMonth, line);
    lines.set(row.tenantId, byMonth);
  }
  return [...lines]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([tenantId, byMonth]) =>
      statementOf(
        context,
        tenantId,
        [...byMonth].map(([usageMonth, line]) => ({
          kind: usageMonth === context.month ? 'usage' : 'adjustment',
          usageMonth,
          calls: line.calls,
          billableUnits: line.billableUnits,
          amount: roundAmount(line.amount),
        })),
      ),
    );
}

/** A statement from its lines, in statement order, with its total. */
function statementOf(context: StatementContext, tenantId: string, lines: readonly StatementLine[]): Statement {
  const ordered = [...lines].sort((a, b) => Number(a.kind === 'adjustment') - Number(b.kind === 'adjustment') || a.usageMonth.localeCompare(b.usageMonth));
  return {
    tenantId,
    month: context.month,
    closingId: context.closingId,
    closedAt: context.closedAt,
    currency: context.currency,
    priceList: context.priceList,
    lines: ordered,
    total: totalOf(ordered),
  };
}

function totalOf(parts: readonly BillingTotal[]): BillingTotal {
  return {
    calls: parts.reduce((sum, part) => sum + part.calls, 0),
    billableUnits: parts.reduce((sum, part) => sum + part.billableUnits, 0),
    amount: roundAmount(parts.reduce((sum, part) => sum + part.amount, 0)),
  };
}

/** The closing record of a month from its statements. */
export function closingOf(context: StatementContext, statements: readonly Statement[]): MonthClosing {
  const total = totalOf(statements.map((statement) => statement.total));
  return { ...context, ...total, statements: statements.length, billedEvents: total.calls };
}

// Stored form: the JSON a Glue table with the OpenX JSON SerDe reads, one object per line
// (https://docs.aws.amazon.com/athena/latest/ug/json-serde.html). Column names come from
// contracts/billing-statements.ts; the month is the partition (the folder), not a field.

/** A statement line's own columns, as the stored table, the CLI's table and its JSON name them. */
export function statementLineFields(line: StatementLine, index: number) {
  return {
    line_no: index + 1,
    line: line.kind,
    usage_month: line.usageMonth,
    calls: line.calls,
    billable_units: line.billableUnits,
    amount: line.amount,
  };
}

const priceListJson = (entries: readonly PriceListEntry[]) => JSON.stringify(entries.map((e) => ({ operation: e.operation, unit_price: e.unitPrice, currency: e.currency })));

/** A statement as its object holds it: one JSON line per statement line. */
export function serializeStatement(statement: Statement): string {
  const priceList = priceListJson(statement.priceList);
  return statement.lines
    .map((line, index) =>
      JSON.stringify({
        tenant_id: statement.tenantId,
        closing_id: statement.closingId,
        closed_at: statement.closedAt,
        ...statementLineFields(line, index),
        currency: statement.currency,
        price_list: priceList,
      }),
    )
    .map((row) => `${row}\n`)
    .join('');
}

/** The closing record as its object holds it: one JSON line. */
export function serializeClosing(closing: MonthClosing): string {
  return `${JSON.stringify({
    closing_id: closing.closingId,
    closed_at: closing.closedAt,
    currency: closing.currency,
    price_list: priceListJson(closing.priceList),
    statements: closing.statements,
    calls: closing.calls,
    billable_units: closing.billableUnits,
    amount: closing.amount,
    billed_events: closing.billedEvents,
  })}\n`;
}

type JsonRecord = Record<string, unknown>;

function field<T>(key: string, record: JsonRecord, name: string, check: (value: unknown) => value is T): T {
  const value = record[name];
  if (!check(value)) throw new StatementFormatError(key, `field "${name}" is ${JSON.stringify(value)}.`);
  return value;
}
const isText = (value: unknown): value is string => typeof value === 'string' && value !== '';
const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isKind = (value: unknown): value is StatementLineKind => value === 'usage' || value === 'adjustment';

function parseRecords(key: string, text: string): JsonRecord[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        const value: unknown = JSON.parse(line);
        if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object');
        return value as JsonRecord;
      } catch (error) {
        throw new StatementFormatError(key, `a line is not a JSON object (${(error as Error).message}).`, { cause: error });
      }
    });
}

function parsePriceList(key: string, text: string): PriceListEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StatementFormatError(key, 'price_list is not JSON.', { cause: error });
  }
  if (!Array.isArray(value)) throw new StatementFormatError(key, 'price_list is not a list.');
  return value.map((entry: JsonRecord) => ({
    operation: field(key, entry, 'operation', isText),
    unitPrice: field(key, entry, 'unit_price', isNumber),
    currency: field(key, entry, 'currency', isText),
  }));
}

/** Reads a statement object back. */
export function parseStatement(key: string, month: string, text: string): Statement {
  const records = parseRecords(key, text).sort((a, b) => Number(a.line_no) - Number(b.line_no));
  if (records.length === 0) throw new StatementFormatError(key, 'the statement has no lines.');
  const first = records[0];
  const lines = records.map((record) => ({
    kind: field(key, record, 'line', isKind),
    usageMonth: field(key, record, 'usage_month', isText),
    calls: field(key, record, 'calls', isCount),
    billableUnits: field(key, record, 'billable_units', isNumber),
    amount: field(key, record, 'amount', isNumber),
  }));
  return {
    tenantId: field(key, first, 'tenant_id', isText),
    month,
    closingId: field(key, first, 'closing_id', isText),
    closedAt: field(key, first, 'closed_at', isText),
    currency: field(key, first, 'currency', isText),
    priceList: parsePriceList(key, field(key, first, 'price_list', isText)),
    lines,
    total: totalOf(lines),
  };
}

/** Reads a closing record back. */
export function parseClosing(key: string, month: string, text: string): MonthClosing {
  const records = parseRecords(key, text);
  if (records.length !== 1) throw new StatementFormatError(key, `a closing record holds one JSON line; found ${records.length}.`);
  const record = records[0];
  return {
    month,
    closingId: field(key, record, 'closing_id', isText),
    closedAt: field(key, record, 'closed_at', isText),
    currency: field(key, record, 'currency', isText),
    priceList: parsePriceList(key, field(key, record, 'price_list', isText)),
    statements: field(key, record, 'statements', isCount),
    calls: field(key, record, 'calls', isCount),
    billableUnits: field(key, record, 'billable_units', isNumber),
    amount: field(key, record, 'amount', isNumber),
    billedEvents: field(key, record, 'billed_events', isCount),
  };
}
