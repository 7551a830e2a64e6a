import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The folder holding one `.sql` file per Athena named query. */
export const QUERIES_DIR = path.join(__dirname, '..', 'queries');

/** The values of the `window` parameter of the windowed queries (traffic summary and timeline). */
export const TIME_WINDOWS = ['last_hour', 'last_24h', 'last_30d', 'all'] as const;
export type TimeWindow = (typeof TIME_WINDOWS)[number];

/**
 * The type of a named-query parameter, as its header declares it. Every value travels as a string
 * (DuckDB binds it as VARCHAR; Athena takes it as a quoted literal), so a type is checked here,
 * before any engine runs, and the SQL casts where it needs another SQL type.
 */
export type QueryParameterType =
  /** `YYYY-MM`, month 01-12: compared as text with `concat(year, '-', month)`. */
  | { readonly kind: 'month' }
  /** `YYYY-MM-DD`, a real calendar date: compared as text with the day partitions. */
  | { readonly kind: 'date' }
  /** A whole number in optional inclusive bounds; the SQL casts it (`CAST(? AS integer)`). */
  | { readonly kind: 'integer'; readonly min?: number; readonly max?: number }
  /** One of the listed values. */
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  /** Free text of 1 to {@link STRING_PARAMETER_MAX_LENGTH} characters, no control characters. */
  | { readonly kind: 'string' };

/** The type names a header may use, as `-- param: <name> (<type>): <description>`. */
export const QUERY_PARAMETER_TYPES = ['month', 'date', 'integer', 'enum', 'string'] as const;

/** Longest value a `string` parameter takes. */
export const STRING_PARAMETER_MAX_LENGTH = 256;

/** A positional (`?`) parameter of a named query. */
export interface NamedQueryParameter {
  readonly name: string;
  readonly type: QueryParameterType;
  readonly description: string;
}

/** A named query read from `queries/`. */
export interface NamedQuery {
  /** The file name without `.sql`; also the Athena named query's name (and the view's, for a view). */
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

/** The common base of this module's errors. */
export class NamedQueryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NamedQueryError';
  }
}

/** Thrown when a query file's header is missing or disagrees with its SQL. */
export class NamedQueryFormatError extends NamedQueryError {
  constructor(file: string, problem: string) {
    super(`${path.basename(file)}: ${problem}`);
    this.name = 'NamedQueryFormatError';
  }
}

/** One thing wrong with the parameters given to a named query. */
export interface QueryParameterProblem {
  readonly kind: 'malformed' | 'missing' | 'unknown' | 'repeated';
  readonly parameter: string;
  /** What was given (the first value, for a repeated parameter). */
  readonly value?: string;
  /** The problem in a sentence that names the parameter and the form expected. */
  readonly message: string;
}

/** Thrown when the parameters given to a named query are malformed, missing, unknown or repeated. */
export class QueryParameterError extends NamedQueryError {
  constructor(
    public readonly query: string,
    public readonly problems: readonly QueryParameterProblem[],
  ) {
    super(problems.map((p) => p.message).join('; '));
    this.name = 'QueryParameterError';
  }
}

const NAME_PATTERN = /^[a-z][a-z0-9_]{0,127}$/;
const PARAMETER_NAME_PATTERN = /^[a-z][a-z0-9_]*$/;
const ENUM_VALUE_PATTERN = /^[A-Za-z0-9_.:-]+$/;
const TYPE_SYNTAX = 'month, date, string, integer (optionally MIN..MAX) or enum (values separated by |)';

/**
 * Calls `code` for each stretch of SQL outside string literals, quoted identifiers and comments;
 * with `quotedIdentifiers`, also for the name inside each `"quoted identifier"`.
 */
function forEachCodeSpan(sql: string, code: (span: string) => void, { quotedIdentifiers = false } = {}): void {
  let start = 0;
  for (let i = 0; i < sql.length; i++) {
    const ch = sql[i];
    let end: number | undefined;
    if (ch === "'" || ch === '"') {
      const close = sql.indexOf(ch, i + 1);
      end = close === -1 ? sql.length : close + 1;
    } else if (ch === '-' && sql[i + 1] === '-') {
      const eol = sql.indexOf('\n', i);
      end = eol === -1 ? sql.length : eol;
    } else if (ch === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      end = close === -1 ? sql.length : close + 2;
    }
    if (end !== undefined) {
      code(sql.slice(start, i));
      if (ch === '"' && quotedIdentifiers) code(` ${sql.slice(i + 1, end - 1)} `);
      start = end;
      i = end - 1;
    }
  }
  code(sql.slice(start));
}

/**
 * Counts the `?` placeholders outside string literals, quoted identifiers and comments: the
 * number of execution parameters Athena expects.
 */
export function countPositionalParameters(sql: string): number {
  let count = 0;
  forEachCodeSpan(sql, (span) => (count += span.split('?').length - 1));
  return count;
}

/** The names a statement reads (identifiers outside literals and comments), lower-cased. */
function identifiersIn(sql: string): Set<string> {
  const names = new Set<string>();
  forEachCodeSpan(sql, (span) => {
    for (const match of span.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)) names.add(match[0].toLowerCase());
  }, { quotedIdentifiers: true });
  return names;
}

/** Reads a header's type, e.g. `month`, `integer 1..1000`, `enum last_hour | all`; a message when it is not one. */
export function parseParameterType(spec: string): QueryParameterType | string {
  const text = spec.trim();
  if (text === 'month' || text === 'date' || text === 'string') return { kind: text };
  const integer = /^integer(?:\s+(-?\d+)?\.\.(-?\d+)?)?$/.exec(text);
  if (integer) {
    // An optional group that did not take part is undefined.
    const bounds: (string | undefined)[] = [integer[1], integer[2]];
    const [min, max] = bounds.map((bound) => (bound === undefined ? undefined : Number(bound)));
    if (text !== 'integer' && min === undefined && max === undefined) return `integer bounds need a minimum, a maximum or both ("integer 1..1000"); got "${text}"`;
    if ([min, max].some((bound) => bound !== undefined && !Number.isSafeInteger(bound))) return `integer bounds must be safe integers; got "${text}"`;
    if (min !== undefined && max !== undefined && min > max) return `integer bounds must not be reversed; got "${text}"`;
    return { kind: 'integer', ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
  }
  const enumeration = /^enum\s+(.+)$/.exec(text);
  if (enumeration) {
    const values = enumeration[1].split('|').map((value) => value.trim());
    const bad = values.find((value) => !ENUM_VALUE_PATTERN.test(value));
    if (bad !== undefined) return `enum values are letters, digits and _ . : - separated by "|"; got "${bad}" in "${text}"`;
    if (new Set(values).size !== values.length) return `enum values must differ; got "${text}"`;
    return { kind: 'enum', values };
  }
  return `unknown parameter type "${text}"; the types are ${TYPE_SYNTAX}`;
}

/** The form a value of this type takes, as a sentence fragment: "a month as YYYY-MM (01-12)". */
export function describeParameterType(type: QueryParameterType): string {
  switch (type.kind) {
    case 'month':
      return 'a month as YYYY-MM (01-12)';
    case 'date':
      return 'a date as YYYY-MM-DD (a real calendar date)';
    case 'integer':
      if (type.min !== undefined && type.max !== undefined) return `a whole number from ${type.min} to ${type.max}`;
      if (type.min !== undefined) return `a whole number of at least ${type.min}`;
      if (type.max !== undefined) return `a whole number of at most ${type.max}`;
      return 'a whole number';
    case 'enum':
      return `one of ${type.values.join(', ')}`;
    case 'string':
      return `text of 1 to ${STRING_PARAMETER_MAX_LENGTH} characters without control characters`;
  }
}

/** A placeholder for a value of this type in a usage line: `YYYY-MM`, `N`, `last_hour|all`. */
export function parameterPlaceholder(type: QueryParameterType): string {
  switch (type.kind) {
    case 'month':
      return 'YYYY-MM';
    case 'date':
      return 'YYYY-MM-DD';
    case 'integer':
      return 'N';
    case 'enum':
      return type.values.join('|');
    case 'string':
      return 'TEXT';
  }
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
const daysInMonth = (year: number, month: number) => (month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]);

/** True when `value` is a well-formed value of `type` (zero-padded months and days, real dates). */
export function isValidParameterValue(type: QueryParameterType, value: string): boolean {
  switch (type.kind) {
    case 'month': {
      const match = /^(\d{4})-(\d{2})$/.exec(value);
      return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 12;
    }
    case 'date': {
      const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
      if (!match) return false;
      const [year, month, day] = match.slice(1).map(Number);
      return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
    }
    case 'integer': {
      if (!/^(0|-?[1-9]\d*)$/.test(value)) return false;
      const n = Number(value);
      return Number.isSafeInteger(n) && (type.min === undefined || n >= type.min) && (type.max === undefined || n <= type.max);
    }
    case 'enum':
      return type.values.includes(value);
    case 'string':
      // eslint-disable-next-line no-control-regex
      return value.length >= 1 && value.length <= STRING_PARAMETER_MAX_LENGTH && !/[\u0000-\u001f\u007f]/.test(value);
  }
}

/** How a caller names a parameter assignment in its messages: `--param ` for the CLI, nothing for a URL. */
export interface QueryParameterValidationOptions {
  /**
   * Put before `name=value` and `name` in messages.
   * @default - nothing
   */
  readonly prefix?: string;
}

/**
 * Checks the parameters given to a named query against its header, before any engine runs: each
 * declared parameter given exactly once, in its type's form, and nothing else. `given` is a list
 * of name/value pairs as the caller received them (so a repeated name is seen). Returns the
 * values by name; throws {@link QueryParameterError} listing every problem.
 */
export function validateQueryParameters(
  query: NamedQuery,
  given: Iterable<readonly [string, string]>,
  options: QueryParameterValidationOptions = {},
): Record<string, string> {
  const prefix = options.prefix ?? '';
  const seen = new Map<string, string[]>();
  for (const [name, value] of given) seen.set(name, [...(seen.get(name) ?? []), value]);
  const problems: QueryParameterProblem[] = [];
  const declared = new Map(query.parameters.map((p) => [p.name, p]));
  const takes = query.parameters.length > 0 ? query.parameters.map((p) => `${p.name}=${parameterPlaceholder(p.type)}`).join(', ') : 'no parameters';
  const values: Record<string, string> = {};
  for (const [name, list] of seen) {
    const parameter = declared.get(name);
    if (!parameter) {
      problems.push({ kind: 'unknown', parameter: name, value: list[0], message: `${prefix}${name} is not a parameter of ${query.name}; it takes ${takes}` });
    } else if (list.length > 1) {
      problems.push({
        kind: 'repeated',
        parameter: name,
        value: list[0],
        message: `${prefix}${name} is given ${list.length} times (${list.map((v) => JSON.stringify(v)).join(', ')}); give it once, as ${describeParameterType(parameter.type)}`,
      });
    } else if (!isValidParameterValue(parameter.type, list[0])) {
      problems.push({
        kind: 'malformed',
        parameter: name,
        value: list[0],
        message: `${prefix}${name}=${list[0]}: ${name} must be ${describeParameterType(parameter.type)}; got ${JSON.stringify(list[0])}`,
      });
    } else {
      values[name] = list[0];
    }
  }
  for (const parameter of query.parameters) {
    if (!seen.has(parameter.name)) {
      problems.push({
        kind: 'missing',
        parameter: parameter.name,
        message: `${query.name} needs ${prefix}${parameter.name}=${parameterPlaceholder(parameter.type)}: ${parameter.description} [${describeParameterType(parameter.type)}]`,
      });
    }
  }
  if (problems.length > 0) throw new QueryParameterError(query.name, problems);
  return values;
}

/** Validated values in the order of the query's `?` placeholders, as the engines bind them. */
export function positionalValues(query: NamedQuery, values: Readonly<Record<string, string>>): string[] {
  return query.parameters.map((p) => {
    // A caller's record may lack a parameter the query needs.
    const value = values[p.name] as string | undefined;
    if (value === undefined) throw new QueryParameterError(query.name, [{ kind: 'missing', parameter: p.name, message: `${query.name} needs ${p.name}=${parameterPlaceholder(p.type)}` }]);
    return value;
  });
}

/**
 * Parses one query file. The header is the leading `--` comment block:
 *
 * ```sql
 * -- name: billing_by_tenant
 * -- description: Calls and billable units per tenant for one month.
 * -- param: month (month): Billing month of event time (UTC)
 * ```
 *
 * A parameter line reads `-- param: <name> (<type>): <description>`, one per `?` in the SQL, in
 * order; `<type>` is `month`, `date`, `string`, `integer` with optional inclusive bounds
 * (`integer 1..1000`, `integer 0..`, `integer ..100`) or `enum` with its values
 * (`enum last_hour | last_24h`).
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
    .map((match): NamedQueryParameter => {
      const parts = /^([^\s(:]+)\s*\(([^)]*)\)\s*:\s*(.+)$/.exec(match[2].trim());
      if (!parts || !PARAMETER_NAME_PATTERN.test(parts[1])) {
        throw new NamedQueryFormatError(file, `"-- param: ${match[2]}" must read "-- param: <name> (<type>): <description>", the name lower_snake_case, the type ${TYPE_SYNTAX}.`);
      }
      const type = parseParameterType(parts[2]);
      if (typeof type === 'string') throw new NamedQueryFormatError(file, `parameter "${parts[1]}": ${type}.`);
      return { name: parts[1], type, description: parts[3].trim() };
    });
  const repeated = parameters.find((p, i) => parameters.findIndex((q) => q.name === p.name) !== i);
  if (repeated) throw new NamedQueryFormatError(file, `the header declares parameter "${repeated.name}" more than once.`);
  const sql = lines.slice(bodyStart).join('\n').trim().replace(/;\s*$/, '');
  if (sql === '') throw new NamedQueryFormatError(file, 'the file has a header but no SQL.');
  const placeholders = countPositionalParameters(sql);
  if (placeholders !== parameters.length) {
    throw new NamedQueryFormatError(
      file,
      `the SQL has ${placeholders} "?" placeholder(s) but the header declares ${parameters.length} parameter(s).`,
    );
  }
  const view = /^create\s+(?:or\s+replace\s+)?view\s+"?([A-Za-z0-9_]+)"?/i.exec(sql);
  if (view && view[1].toLowerCase() !== name) {
    // Status checks and the dependency order find a view by its query's name.
    throw new NamedQueryFormatError(file, `the view is named "${view[1]}" but the query "${name}": name it after its file.`);
  }
  return { name, description, parameters, isView: view !== null, sql, file };
}

/**
 * Views in the order they can be created: a view that reads another view comes after it (ties by
 * name), so the view refresher and the local lake create each one after what it reads.
 */
export function orderViewsByDependency(views: readonly NamedQuery[]): NamedQuery[] {
  const names = new Set(views.map((v) => v.name));
  const reads = new Map(views.map((v) => [v.name, [...identifiersIn(v.sql)].filter((id) => id !== v.name && names.has(id))]));
  const ordered: NamedQuery[] = [];
  const pending = [...views].sort((a, b) => a.name.localeCompare(b.name));
  while (pending.length > 0) {
    const placed = new Set(ordered.map((v) => v.name));
    const next = pending.findIndex((v) => (reads.get(v.name) ?? []).every((dependency) => placed.has(dependency)));
    if (next === -1) {
      throw new NamedQueryFormatError(pending[0].file, `the views ${pending.map((v) => v.name).join(', ')} read each other in a cycle; no order creates them.`);
    }
    ordered.push(...pending.splice(next, 1));
  }
  return ordered;
}

/** Reads every `*.sql` file in `dir`: views first, each after the views it reads, then the other queries by name. */
export function loadNamedQueries(dir: string = QUERIES_DIR): NamedQuery[] {
  const queries = readdirSync(dir)
    .filter((entry) => entry.endsWith('.sql'))
    .map((entry) => parseNamedQuery(path.join(dir, entry), readFileSync(path.join(dir, entry), 'utf8')));
  return [
    ...orderViewsByDependency(queries.filter((q) => q.isView)),
    ...queries.filter((q) => !q.isView).sort((a, b) => a.name.localeCompare(b.name)),
  ];
}
