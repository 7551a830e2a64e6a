/**
 * How the table output shows numbers. Tables are read by people: a fraction such as
 * `14.056760330578511` (an average latency) is shown as `14.06`. JSON and CSV are read by
 * programs and keep every value exact; this module serves the table only.
 *
 * - A column of integers (counts) is shown as it is.
 * - A column with fractions is shown with one number of decimals, so that the decimal points line
 *   up (its integers too: `15.5` above `15.0`): the most any value of the column needs, where a
 *   value needs no more decimals than it has, 2 from 1 up (`14.06`), and 2 significant digits
 *   below 1 (`0.0135` → `0.014`), at most {@link MAX_DECIMALS}. A value that would show as zero
 *   is shown with 2 significant digits (`1.2e-7`), never as a false `0.000000`.
 * - Money columns ({@link isMoneyColumn}) are never rounded beyond the precision amounts are kept
 *   in (micro-units: `roundAmount` in local/billing/statements.ts, `round(..., 6)` in
 *   queries/billing_by_tenant.sql): every decimal an amount has is shown, and at least 2 (cents).
 */

/** Amounts are kept to micro-units; rates are rounded to 6 decimals by the queries. */
export const MAX_DECIMALS = 6;

/** Decimals a money column shows at least: whole cents. */
const MIN_MONEY_DECIMALS = 2;

/** Decimals a fraction from 1 up shows. */
const DECIMALS_FROM_ONE = 2;

/** Significant digits a fraction below 1 shows. */
const SIGNIFICANT_BELOW_ONE = 2;

/** A column of amounts of money, by the names the billing queries and statements give them (`amount`, `adjustment_amount`, `unit_price`, `cost`). */
export function isMoneyColumn(name: string): boolean {
  return /(^|_)(amount|cost|price)$/i.test(name);
}

/** The decimals of a number's shortest exact form (`0.0505` → 4, `1e-7` → 7), at most {@link MAX_DECIMALS} + 1 (for "more than the cap"). */
function decimalsOf(value: number): number {
  const [mantissa, exponent = '0'] = Math.abs(value).toString().split('e');
  const fraction = mantissa.split('.')[1] ?? '';
  return Math.min(MAX_DECIMALS + 1, Math.max(0, fraction.length - Number(exponent)));
}

/** The decimals a fraction outside a money column is worth showing. */
function sensibleDecimals(value: number): number {
  const magnitude = Math.abs(value);
  if (magnitude >= 1) return DECIMALS_FROM_ONE;
  return Math.min(MAX_DECIMALS, SIGNIFICANT_BELOW_ONE - 1 - Math.floor(Math.log10(magnitude)));
}

const isFraction = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && !Number.isInteger(value);

/** The decimals a column's fractions are shown with; undefined when it holds no fraction. */
export function columnDecimals(column: string, values: readonly unknown[]): number | undefined {
  const fractions = values.filter(isFraction);
  if (fractions.length === 0) return undefined;
  const money = isMoneyColumn(column);
  const needed = fractions.map((value) => (money ? decimalsOf(Number(value.toFixed(MAX_DECIMALS))) : Math.min(decimalsOf(value), sensibleDecimals(value))));
  return Math.max(money ? MIN_MONEY_DECIMALS : 0, ...needed);
}

/** One number as the table shows it, given its column's decimals ({@link columnDecimals}). */
export function tableNumber(value: number, decimals: number | undefined): string {
  if (decimals === undefined || !Number.isFinite(value)) return String(value);
  const fixed = value.toFixed(decimals);
  return value !== 0 && Number(fixed) === 0 ? value.toPrecision(SIGNIFICANT_BELOW_ONE) : fixed;
}
