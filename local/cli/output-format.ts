import type { QueryResult } from '../lake/local-lake';
import { columnDecimals, tableNumber } from './output-numbers';

export const OUTPUT_FORMATS = ['table', 'csv', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** A value as text, exactly: a number as JavaScript writes it (the shortest form that reads back the same). */
const text = (value: unknown): string => {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
};

/** RFC 4180: quote a field holding a comma, quote or line break; double its quotes. */
const csvField = (value: unknown): string => {
  const s = text(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** An aligned table for people: numbers right-aligned, fractions rounded per column (see output-numbers.ts). */
function formatTable(result: QueryResult): string {
  const decimals = result.columns.map((c) => columnDecimals(c, result.rows.map((row) => row[c])));
  const cell = (value: unknown, i: number) => (typeof value === 'number' ? tableNumber(value, decimals[i]) : text(value));
  const cells = [result.columns.map(String), ...result.rows.map((row) => result.columns.map((c, i) => cell(row[c], i)))];
  const widths = result.columns.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  const numeric = result.columns.map((c) => result.rows.length > 0 && result.rows.every((row) => row[c] === null || typeof row[c] === 'number'));
  const line = (r: string[]) => r.map((value, i) => (numeric[i] ? value.padStart(widths[i]) : value.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line), `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`].join('\n') + '\n';
}

/**
 * A query result as the CLI prints it: an aligned table for people, with fractions rounded to
 * sensible digits and amounts of money to their micro-unit precision; CSV with a header, or a
 * JSON array of row objects, for programs, with every value exact as the engine answered it.
 */
export function formatResult(result: QueryResult, format: OutputFormat): string {
  if (format === 'json') return `${JSON.stringify(result.rows, null, 2)}\n`;
  if (format === 'csv') return [result.columns.map(csvField).join(','), ...result.rows.map((row) => result.columns.map((c) => csvField(row[c])).join(','))].join('\r\n') + '\r\n';
  return formatTable(result);
}
