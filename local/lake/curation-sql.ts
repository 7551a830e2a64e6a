import { CURATED_COLUMNS, CURATED_PARTITION_COLUMNS, CuratedColumn } from '../../contracts/curated-columns';
import { eventTimeWindowSpec } from '../../contracts/generated-artifacts';
import { USAGE_EVENT_DETAIL_TYPE, USAGE_EVENT_SCHEMA_VERSION } from '../../contracts/usage-event';

/** Longest raw line copied into an error record, as in the Glue job. */
export const MAX_ERROR_LINE_CHARS = 8192;

const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;
const identifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The DuckDB type of a curated column. */
export function duckdbType(column: Pick<CuratedColumn, 'type'>): string {
  return { string: 'VARCHAR', timestamp: 'TIMESTAMP', int: 'INTEGER', bigint: 'BIGINT', double: 'DOUBLE', 'map<string,string>': 'MAP(VARCHAR, VARCHAR)' }[column.type];
}

/**
 * The typed value of a column from its JSON value `j` (a small JSON text), or NULL when the value
 * breaks the column's type — the same rules as the Glue job's `cast_value`: a string must be a
 * JSON string, a whole number may be written `200.0`, a timestamp needs a time zone, a map holds
 * strings only.
 */
function typedValue(column: CuratedColumn, x: string): string {
  // x is the field's JSON text: a number literal casts, a quoted string does not, and the first
  // character tells strings and objects apart, without parsing the text again.
  const isString = `starts_with(${x}, '"')`;
  const text = `CASE WHEN contains(${x}, '\\') THEN json_extract_string(${x}, '$') ELSE ${x}[2:-2] END`;
  switch (column.type) {
    case 'string':
      return `CASE WHEN ${isString} THEN ${text} END`;
    case 'double':
      return `TRY_CAST(${x} AS DOUBLE)`;
    case 'int':
    case 'bigint': {
      const type = duckdbType(column);
      // `200` casts directly; `200.0` or `2e2` through DOUBLE when whole; `200.5` not at all
      // (DuckDB would round the text `200.5` when casting it to an integer: only digits cast directly.)
      const asDouble = `TRY_CAST(${x} AS DOUBLE)`;
      return `CASE WHEN NOT (contains(${x}, '.') OR contains(${x}, 'e') OR contains(${x}, 'E')) THEN TRY_CAST(${x} AS ${type}) WHEN ${asDouble} = floor(${asDouble}) THEN TRY_CAST(${asDouble} AS ${type}) END`;
    }
    case 'timestamp':
      // UTC with Z (what producers send) parses as a plain timestamp; an offset goes through TIMESTAMPTZ.
      return `CASE WHEN NOT ${isString} THEN NULL WHEN suffix(${x}, 'Z"') OR suffix(${x}, 'z"') THEN TRY_CAST(${x}[2:-3] AS TIMESTAMP) WHEN regexp_matches(${x}, '[+-][0-9]{2}:?[0-9]{2}"$') THEN CAST(TRY_CAST(${text} AS TIMESTAMPTZ) AS TIMESTAMP) END`;
    case 'map<string,string>':
      return `CASE WHEN starts_with(${x}, '{') AND coalesce(list_bool_and(list_transform(json_type(${x}, '$.*'), v -> v = 'VARCHAR')), true) THEN CAST(CAST(${x} AS JSON) AS MAP(VARCHAR, VARCHAR)) END`;
  }
}

function defaultLiteral(column: CuratedColumn): string {
  return `CAST(${typeof column.default === 'string' ? quote(column.default) : String(column.default)} AS ${duckdbType(column)})`;
}

const EXPECTED: Record<CuratedColumn['type'], string> = {
  string: 'expected a string',
  double: 'expected a number',
  int: 'expected a whole number',
  bigint: 'expected a whole number',
  timestamp: 'expected an ISO-8601 timestamp with a time zone',
  'map<string,string>': 'expected an object of string values',
};

/** The JSON structure `from_json` reads: every field of the envelope the columns use, as JSON. */
function envelopeStructure(): string {
  const top: Record<string, unknown> = { 'detail-type': 'JSON' };
  const detail: Record<string, string> = {};
  for (const column of CURATED_COLUMNS) {
    const [first, second, ...rest] = column.source.split('.');
    if (rest.length > 0 || (second !== undefined && first !== 'detail')) throw new Error(`Unsupported column source ${column.source}.`);
    if (second === undefined) top[first] = 'JSON';
    else detail[second] = 'JSON';
  }
  return JSON.stringify({ ...top, detail });
}

/** `e.detail."eventId"` for a column source. */
const fieldOf = (source: string) => `e.${source.split('.').map((part) => identifier(part)).join('.')}`;

/** A SQL list of file paths. */
const fileList = (files: readonly string[]) => `[${files.map(quote).join(', ')}]`;

/**
 * Raw objects read by DuckDB's JSON reader: fast, one parse per line, but a line that is not a
 * JSON object makes the whole read fail, and neither a line's text nor its object is kept.
 */
export function fastParsedRelation(files: readonly string[]): string {
  const structure = JSON.parse(envelopeStructure()) as Record<string, unknown>;
  const detail = Object.keys(structure.detail as Record<string, string>).map((name) => `${identifier(name)} JSON`);
  const top = Object.keys(structure).filter((name) => name !== 'detail');
  const columns = [...top.map((name) => `${quote(name)}: 'JSON'`), `'detail': 'STRUCT(${detail.join(', ').replace(/'/g, "''")})'`];
  return `(SELECT CAST(NULL AS VARCHAR) AS line, CAST(NULL AS VARCHAR) AS filename, {${[...top, 'detail'].map((name) => `${quote(name)}: ${identifier(name)}`).join(', ')}} AS e
    FROM read_json(${fileList(files)}, format = 'newline_delimited', columns = {${columns.join(', ')}}, maximum_object_size = 16777216))`;
}

/** Raw objects read line by line, each line parsed on its own: slower, but every line and its text survive. */
export function preciseParsedRelation(files: readonly string[]): string {
  return `(SELECT line, filename, try(from_json(line, ${quote(envelopeStructure())})) AS e
    FROM read_csv(${fileList(files)}, columns = {'line': 'VARCHAR'}, delim = E'\\x01', quote = '', escape = '', header = false, compression = 'gzip', filename = true, auto_detect = false, null_padding = true, max_line_size = 16777216, strict_mode = false)
    WHERE trim(line) <> '')`;
}

/**
 * The SELECT that curates parsed raw lines (a relation with `line`, `filename` and the envelope
 * struct `e`): the reason a line is malformed (or NULL) and every curated column typed. The
 * detailed reasons are only worked out for lines that fail one conjunction of cheap checks.
 */
export function curationSelect(parsedRelation: string): string {
  const fieldNulls = CURATED_COLUMNS.filter((c) => c.source.startsWith('detail.')).map((c) => `${fieldOf(c.source)} IS NULL`);
  const textOf = (column: CuratedColumn) => identifier(`x_${column.name}`);
  const missingOf = (column: CuratedColumn) => `(${textOf(column)} IS NULL OR ${textOf(column)} = 'null')`;
  const texts = CURATED_COLUMNS.map((column) => `CAST(${fieldOf(column.source)} AS VARCHAR) AS ${textOf(column)}`);
  const values = CURATED_COLUMNS.map((column) => {
    const fallback = column.default === undefined ? `CAST(NULL AS ${duckdbType(column)})` : defaultLiteral(column);
    return `CASE WHEN ${missingOf(column)} THEN ${fallback} ELSE ${typedValue(column, textOf(column))} END AS ${identifier(column.name)}`;
  });
  const schemaVersion = fieldOf('detail.schemaVersion');
  // A line that passes every check: one conjunction of cheap tests, so the detailed reasons
  // below are only worked out for the (few) failing lines.
  const passes = [
    'e IS NOT NULL',
    `CAST(e."detail-type" AS VARCHAR) = ${quote(JSON.stringify(USAGE_EVENT_DETAIL_TYPE))}`,
    `${textOf(CURATED_COLUMNS.find((c) => c.source === 'detail.schemaVersion')!)} = ${quote(JSON.stringify(USAGE_EVENT_SCHEMA_VERSION))}`,
    ...CURATED_COLUMNS.map((column) =>
      column.required && column.default === undefined ? `${identifier(column.name)} IS NOT NULL` : `(${identifier(column.name)} IS NOT NULL OR ${missingOf(column)})`,
    ),
  ];
  // The contract's event-time window, checked after the types as in the Glue job's check_event_time.
  const window = eventTimeWindowSpec();
  const occurred = identifier(window.eventTimeColumn);
  const earliest = `CAST(${quote(window.earliest.replace(/Z$/, ''))} AS TIMESTAMP)`;
  const latest = `${identifier(window.receiptTimeColumn)} + INTERVAL (${window.maxAheadOfReceiptSeconds}) SECOND`;
  passes.push(`${occurred} >= ${earliest}`, `${occurred} <= ${latest}`);
  const reasons = [
    `WHEN e IS NULL THEN 'not JSON'`,
    `WHEN e."detail-type" IS NULL AND coalesce(try(json_type(line)), '') <> 'OBJECT' THEN 'not a JSON object'`,
    `WHEN coalesce(json_extract_string(e."detail-type", '$'), '') <> ${quote(USAGE_EVENT_DETAIL_TYPE)} THEN ${quote(`detail-type is not '${USAGE_EVENT_DETAIL_TYPE}'`)}`,
    `WHEN ${fieldNulls.join(' AND ')} AND coalesce(json_type(line, '$.detail'), '') <> 'OBJECT' THEN 'detail is missing or not an object'`,
    `WHEN coalesce(json_type(${schemaVersion}), '') <> 'VARCHAR' OR json_extract_string(${schemaVersion}, '$') <> ${quote(USAGE_EVENT_SCHEMA_VERSION)} THEN 'unsupported schemaVersion'`,
    ...CURATED_COLUMNS.flatMap((column) => {
      const rules = [];
      if (column.required && column.default === undefined) rules.push(`WHEN ${missingOf(column)} THEN ${quote(`missing ${column.source}`)}`);
      rules.push(`WHEN ${identifier(column.name)} IS NULL AND NOT ${missingOf(column)} THEN ${quote(`${column.source}: ${EXPECTED[column.type]}`)}`);
      return rules;
    }),
    `WHEN ${occurred} < ${earliest} THEN ${quote(`${window.eventTimeSource}: before ${window.earliest}, the earliest event time accepted`)}`,
    `WHEN ${occurred} > ${latest} THEN ${quote(`${window.eventTimeSource}: more than ${window.maxAheadOfReceiptSeconds} s after the envelope time`)}`,
  ];
  return `
    WITH parsed AS (SELECT * FROM ${parsedRelation}),
    texts AS (
      SELECT line, filename, e,
        ${texts.join(',\n        ')}
      FROM parsed
    ),
    valued AS (
      SELECT *,
        ${values.join(',\n        ')}
      FROM texts
    )
    SELECT
      CASE WHEN ${passes.join(' AND ')} THEN NULL ELSE CASE ${reasons.join('\n        ')} ELSE 'invalid usage event' END END AS reason,
      -- Only malformed lines are kept, cut to a bounded length.
      CASE WHEN reason IS NOT NULL THEN left(line, ${MAX_ERROR_LINE_CHARS}) END AS error_line,
      CASE WHEN reason IS NOT NULL THEN filename END AS raw_object,
      ${CURATED_COLUMNS.map((column) => identifier(column.name)).join(', ')}
    FROM valued`;
}

/** The partition columns, from the event time: zero-padded strings. */
export function partitionProjection(): string {
  const formats = { year: '%Y', month: '%m', day: '%d' } as const;
  return CURATED_PARTITION_COLUMNS.map((p) => `strftime(occurred_at, '${formats[p.name as keyof typeof formats]}') AS ${identifier(p.name)}`).join(', ');
}

/** The curated columns in table order, partitions last. */
export function curatedColumnList(): string {
  return [...CURATED_COLUMNS, ...CURATED_PARTITION_COLUMNS].map((column) => identifier(column.name)).join(', ');
}

/** An empty relation with the curated table's columns (for a lake that has no Parquet yet). */
export function emptyCuratedRelation(): string {
  const columns = [
    ...CURATED_COLUMNS.map((c) => `CAST(NULL AS ${duckdbType(c)}) AS ${identifier(c.name)}`),
    ...CURATED_PARTITION_COLUMNS.map((p) => `CAST(NULL AS VARCHAR) AS ${identifier(p.name)}`),
  ];
  return `SELECT ${columns.join(', ')} WHERE false`;
}

export const sqlString = quote;
