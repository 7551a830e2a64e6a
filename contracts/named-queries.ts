import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The folder holding one `.sql` file per Athena named query. */
export const QUERIES_DIR = path.join(__dirname, '..', 'queries');

/** The values of the `window` parameter of the windowed queries (traffic summary and timeline). */
export const TIME_WINDOWS = ['last_hour', 'last_24h', 'last_30d', 'all'] as const;
export type TimeWindow = (typeof TIME_WINDOWS)[number];

/** A positional (`?`) parameter of a named query. */
export interface NamedQueryParameter {
  readonly name: string;
  readonly description: string;
}

/** A named query read from `queries/`. */
export interface NamedQuery {
  /** The file name without `.sql`; also the Athena named query's name. */
  readonly name: string;
  readonly description: string;
  /** Positional parameters, in the order of their `?` in the SQL. */
  readonly parameters: readonly NamedQueryParameter[];
  /** True for `CREATE [OR REPLACE] VIEW` statements, which other queries read from. */
  readonly isView: boolean;
  /** The SQL text after the header, as Athena runs it. */
  readonly sql: string;
  readonly file: string;
}

/** Thrown when a query file's header is missing or disagrees with its SQL. */
export class NamedQueryFormatError extends Error {
  constructor(file: string, problem: string) {
    super(`${path.basename(file)}: ${problem}`);
    this.name = 'NamedQueryFormatError';
  }
}

const NAME_PATTERN = /^[a-z][a-z0-9_]{0,127}$/;

/**
 * Counts the `?` placeholders outside string literals, quoted identifiers and comments: the
 * number of execution parameters Athena expects.
 */
export function countPositionalParameters(sql: string): number {
  let count = 0;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i];
    if (ch === "'" || ch === '"') {
      const close = sql.indexOf(ch, i + 1);
      i = close === -1 ? sql.length : close;
    } else if (ch === '-' && sql[i + 1] === '-') {
      const eol = sql.indexOf('\n', i);
      i = eol === -1 ? sql.length : eol;
    } else if (ch === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close === -1 ? sql.length : close + 1;
    } else if (ch === '?') {
      count++;
    }
  }
  return count;
}

/**
 * Parses one query file. The header is the leading `--` comment block:
 *
 * ```sql
 * -- name: billing_by_tenant
 * -- description: Calls and billable units per tenant for one month.
 * -- param: month: Billing month, YYYY-MM
 * ```
 */
export function parseNamedQuery(file: string, text: string): NamedQuery {
  const lines = text.split(/\r?\n/);
  const header: string[] = [];
  let bodyStart = 0;
  for (; bodyStart < lines.length; bodyStart++) {
    const line = lines[bodyStart].trim();
    if (line.startsWith('--')) header.push(line.replace(/^--\s?/, ''));
    else if (line !== '' || header.length > 0) break;
  }
  const fields = header
    .map((line) => /^(name|description|param):\s*(.*)$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null);
  const single = (key: string) => {
    const values = fields.filter((match) => match[1] === key).map((match) => match[2].trim());
    if (values.length !== 1 || values[0] === '') throw new NamedQueryFormatError(file, `the header needs exactly one "-- ${key}:" line.`);
    return values[0];
  };
  const name = single('name');
  const expectedName = path.basename(file, '.sql');
  if (name !== expectedName || !NAME_PATTERN.test(name)) {
    throw new NamedQueryFormatError(file, `the header name "${name}" must equal the file name "${expectedName}" (lower_snake_case).`);
  }
  const description = single('description');
  const parameters = fields
    .filter((match) => match[1] === 'param')
    .map((match) => {
      const parts = /^([a-z][a-z0-9_]*)\s*:\s*(.+)$/.exec(match[2].trim());
      if (!parts) throw new NamedQueryFormatError(file, `"-- param: ${match[2]}" must read "-- param: <name>: <description>".`);
      return { name: parts[1], description: parts[2] };
    });
  const sql = lines.slice(bodyStart).join('\n').trim().replace(/;\s*$/, '');
  if (sql === '') throw new NamedQueryFormatError(file, 'the file has a header but no SQL.');
  const placeholders = countPositionalParameters(sql);
  if (placeholders !== parameters.length) {
    throw new NamedQueryFormatError(
      file,
      `the SQL has ${placeholders} "?" placeholder(s) but the header declares ${parameters.length} parameter(s).`,
    );
  }
  return { name, description, parameters, isView: /^create\s+(or\s+replace\s+)?view\b/i.test(sql), sql, file };
}

/** Reads every `*.sql` file in `dir`, views first, then by name. */
export function loadNamedQueries(dir: string = QUERIES_DIR): NamedQuery[] {
  return readdirSync(dir)
    .filter((entry) => entry.endsWith('.sql'))
    .map((entry) => parseNamedQuery(path.join(dir, entry), readFileSync(path.join(dir, entry), 'utf8')))
    .sort((a, b) => Number(b.isView) - Number(a.isView) || a.name.localeCompare(b.name));
}
