import { CURATED_COLUMNS, CURATED_PARTITION_COLUMNS, CuratedColumn } from '../../contracts/curated-columns';
import { CurationColumn, CurationSpec, ValueConstraints, reasonText } from '../../contracts/curation-spec';
import { CURATED_PARTITION_KEYS, CURATED_PARTITION_LAYOUT, CURATION_ERRORS, CuratedPartitionKey } from '../../contracts/lake-layout';

/**
 * The Glue job's twin in SQL: DuckDB interprets the same curation spec (contracts/curation-spec.ts)
 * as glue-scripts/usage_events_job.py, check for check and in the same order, so both accept
 * exactly what the contract accepts and refuse the rest with the same reason.
 */

const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;
const identifier = (name: string) => `"${name.replace(/"/g, '""')}"`;
const list = (items: readonly string[]) => `[${items.map(quote).join(', ')}]`;

/** The DuckDB type of a curated column. */
export function duckdbType(column: Pick<CuratedColumn, 'type'>): string {
  return { string: 'VARCHAR', timestamp: 'TIMESTAMP', int: 'INTEGER', bigint: 'BIGINT', double: 'DOUBLE', 'map<string,string>': 'MAP(VARCHAR, VARCHAR)' }[column.type];
}

/** A SQL list of file paths. */
const fileList = (files: readonly string[]) => `[${files.map(quote).join(', ')}]`;

/**
 * What `from_json` reads of each line: the top-level envelope keys the curation reads as JSON
 * texts, and the detail's fields as JSON texts.
 */
function envelopeStructure(spec: CurationSpec): string {
  const detail: Record<string, string> = {};
  const top: Record<string, unknown> = Object.fromEntries(spec.envelope.keysRead.map((key) => [key, 'JSON']));
  for (const column of spec.columns) {
    const parts = column.source.split('.');
    if (parts.length > 2 || (parts.length === 2 && parts[0] !== 'detail')) throw new Error(`Unsupported column source ${column.source}.`);
    if (parts.length === 2) detail[parts[1]] = 'JSON';
  }
  return JSON.stringify({ ...top, detail });
}

/** A file DuckDB reads raw lines from (a gzip object, or a plain piece of one), and the raw object those lines come from. */
export interface RawLinesSource {
  readonly path: string;
  readonly object: string;
}

/**
 * Raw lines, each parsed on its own (a line that is not JSON is refused alone, and errors/ keeps
 * its text): `line`, `filename` (the raw object it comes from), `e` (the envelope fields the
 * curation reads, the detail's as a struct of JSON texts; NULL when DuckDB cannot parse the line)
 * and `detail_keys` (the detail's keys in document order, repeats included; empty when the detail
 * is not an object). A `.gz` file is read as gzip, any other as plain text.
 */
export function parsedRelation(sources: readonly RawLinesSource[], spec: CurationSpec): string {
  const pieces = sources.filter((source) => source.path !== source.object);
  const object = pieces.length === 0 ? 'filename' : `CASE filename ${pieces.map((p) => `WHEN ${quote(p.path)} THEN ${quote(p.object)}`).join(' ')} ELSE filename END`;
  return `(SELECT line, ${object} AS filename, try(from_json(line, ${quote(envelopeStructure(spec))})) AS e, try(json_keys(line, '$.detail')) AS detail_keys
    FROM read_csv(${fileList(sources.map((source) => source.path))}, columns = {'line': 'VARCHAR'}, delim = E'\\x01', quote = '', escape = '', header = false, compression = 'auto', filename = true, auto_detect = false, null_padding = true, max_line_size = 16777216, strict_mode = false)
    -- Blank lines hold no record: JSON whitespace only, as the Glue job's is_blank.
    WHERE regexp_matches(line, '[^ \\t\\n\\r]'))`;
}

/**
 * DuckDB's JSON parser also takes NaN, Infinity and trailing commas, which JSON (RFC 8259, and so
 * JavaScript and the Glue job's Python) does not. A line could hold one of those, or repeat a key
 * the curation reads, only if it matches this pattern (a value starting N-a or I, a comma before
 * a closing bracket, a read key twice): one cheap scan of each line, and the exact tests below
 * run for the rare lines it lets through.
 */
function suspiciousLine(spec: CurationSpec): string {
  const repeats = spec.envelope.keysRead.map((key) => `${JSON.stringify(key)}[\\s\\S]*${JSON.stringify(key)}`);
  return `regexp_matches(line, ${quote(['[:\\[,]\\s*[-+]?(?:[Nn][Aa]|[Ii])', ',\\s*[\\]}]', ...repeats].join('|'))})`;
}

/** Outside string literals a JSON text holds no letters but those of true, false, null and exponents, and no comma before a bracket. */
function nonStandardJson(line: string): string {
  const outsideStrings = `regexp_replace(regexp_replace(${line}, '"(?:[^"\\\\]|\\\\.)*"', '0', 'g'), 'true|false|null', '0', 'g')`;
  return `regexp_matches(${outsideStrings}, ',\\s*[\\]}]|[A-DF-Za-df-z]')`;
}

/** The string a JSON string text holds (`x` is its JSON text), without parsing it again when it has no escapes. */
const stringOf = (x: string) => `CASE WHEN contains(${x}, '\\') THEN json_extract_string(${x}, '$') ELSE ${x}[2:-2] END`;
/** A JSON number text as a finite double, or NULL. */
const numberOf = (x: string) => `CASE WHEN isfinite(TRY_CAST(${x} AS DOUBLE)) THEN TRY_CAST(${x} AS DOUBLE) END`;

/** One value to check: its JSON text, and (once its type holds) its string or number. */
interface Subject {
  readonly json: string;
  readonly text: string;
  readonly number: string;
}

const subjectOf = (x: string): Subject => ({ json: x, text: stringOf(x), number: numberOf(x) });

/** A keyword's value; only keywords a value's constraints hold are checked. */
function defined(value: string | undefined, keyword: string): string {
  if (value === undefined) throw new Error(`Constraint ${keyword} has no value.`);
  return value;
}

/** SQL that is true when a value breaks one keyword of its constraints (the Python job's `violates`). */
function violation(keyword: string, subject: Subject, constraints: ValueConstraints): string {
  switch (keyword) {
    case 'type':
      switch (constraints.type) {
        case 'string':
          return `(${subject.json} IS NULL OR NOT starts_with(${subject.json}, '"'))`;
        case 'number':
          return `${subject.number} IS NULL`;
        case 'integer':
          return `coalesce(${subject.number} <> floor(${subject.number}), true)`;
        case 'object':
          return `(${subject.json} IS NULL OR NOT starts_with(${subject.json}, '{'))`;
      }
      break;
    case 'const':
      return `${subject.text} <> ${quote(defined(constraints.const, keyword))}`;
    case 'minLength':
      return `length(${subject.text}) < ${constraints.minLength}`;
    case 'maxLength':
      return `length(${subject.text}) > ${constraints.maxLength}`;
    case 'pattern':
      return `NOT regexp_full_match(${subject.text}, ${quote(defined(constraints.pattern, keyword))})`;
    case 'minimum':
      return `${subject.number} < ${constraints.minimum}`;
    case 'maximum':
      return `${subject.number} > ${constraints.maximum}`;
  }
  throw new Error(`Unsupported constraint ${keyword}.`);
}

/** The keywords of a value's constraints, in the order both engines check them. */
const VALUE_CHECK_ORDER = ['type', 'const', 'minLength', 'maxLength', 'pattern', 'minimum', 'maximum'] as const;

/** The reason a keyword's failure gives for a field. */
function keywordReason(spec: CurationSpec, keyword: (typeof VALUE_CHECK_ORDER)[number], constraints: ValueConstraints, field: string): string {
  const reasons = spec.reasons;
  if (keyword === 'type') return reasonText(reasons.type[constraints.type], field);
  if (keyword === 'pattern' && constraints.format === 'date-time') return reasonText(reasons.dateTime, field);
  const limit = keyword === 'const' ? JSON.stringify(constraints.const) : constraints[keyword];
  return reasonText(reasons[keyword], field, limit);
}

/**
 * One branch of the reason CASE: when `when` holds, the reason is `then` (SQL). A condition is
 * written to be true, never NULL, when it should hold. CASE tests a branch only on the rows no
 * earlier branch took, and an AND's right side only where its left side holds, so the expensive
 * tests (another parse of the line) put behind a cheap one run for the few rows it lets through.
 */
interface Rule {
  readonly when: string;
  readonly then: string;
}

/** The rules of one value, keyword by keyword, and (for a map) its entries after its type. */
function valueRules(spec: CurationSpec, subject: Subject, constraints: ValueConstraints, field: string): Rule[] {
  const rules: Rule[] = [];
  const x = subject.json;
  for (const keyword of VALUE_CHECK_ORDER) {
    if (keyword !== 'type' && constraints[keyword] === undefined) continue;
    rules.push({ when: violation(keyword, subject, constraints), then: quote(keywordReason(spec, keyword, constraints, field)) });
    if (keyword === 'type' && constraints.type === 'object') rules.push(...mapRules(spec, x, constraints, field));
  }
  return rules;
}

/** A reason quoting an offending key: the template around `{key}`, with the key cut to the spec's length. */
function reasonWithKey(spec: CurationSpec, template: string, field: string, key: string): string {
  const [head, tail] = reasonText(template, field).split('{key}');
  return `${quote(head)} || left(${key}, ${spec.maxKeyInReason}) || ${quote(tail)}`;
}

/** The first key of a list that occurs more than once, in document order. */
const firstRepeated = (keys: string) => `list_filter(${keys}, k -> len(list_filter(${keys}, j -> j = k)) > 1)[1]`;
const hasRepeats = (keys: string) => `len(${keys}) <> len(list_distinct(${keys}))`;

/** A map's rules after its type: repeated keys, size, then each keyword over every key, then over every value. */
function mapRules(spec: CurationSpec, x: string, constraints: ValueConstraints, field: string): Rule[] {
  const keys = `json_keys(${x})`;
  const rules: Rule[] = [{ when: hasRepeats(keys), then: reasonWithKey(spec, spec.reasons.duplicateKey, field, firstRepeated(keys)) }];
  if (constraints.maxProperties !== undefined) {
    rules.push({ when: `len(${keys}) > ${constraints.maxProperties}`, then: quote(reasonText(spec.reasons.maxProperties, field, constraints.maxProperties)) });
  }
  const entries = (values: string, entryConstraints: ValueConstraints, entryField: string, subject: (v: string) => Subject) => {
    for (const keyword of VALUE_CHECK_ORDER) {
      if (keyword !== 'type' && entryConstraints[keyword] === undefined) continue;
      const any = `coalesce(list_bool_or(list_transform(${values}, v -> coalesce(${violation(keyword, subject('v'), entryConstraints)}, true))), false)`;
      rules.push({ when: any, then: quote(keywordReason(spec, keyword, entryConstraints, entryField)) });
    }
  };
  // Keys are strings already; values are JSON texts.
  if (constraints.propertyNames) entries(keys, constraints.propertyNames, `${field} key`, (v) => ({ json: `'"'`, text: v, number: 'NULL' }));
  if (constraints.additionalProperties) entries(`CAST(json_extract(${x}, '$.*') AS VARCHAR[])`, constraints.additionalProperties, `${field} value`, subjectOf);
  return rules;
}

/** The stored value of a column whose checks passed (NULL otherwise is never kept). */
function storedValue(column: CurationColumn, subject: Subject): string {
  const x = subject.json;
  switch (column.type) {
    case 'string':
      return `CASE WHEN starts_with(${x}, '"') THEN ${subject.text} END`;
    case 'double':
      return subject.number;
    case 'int':
    case 'bigint':
      return `TRY_CAST(${subject.number} AS ${duckdbType(column)})`;
    case 'timestamp':
      // The pattern passed (YYYY-MM-DDTHH:MM:SS[.f…]Z): keep microseconds, cut further digits, as the job does.
      return `CASE WHEN starts_with(${x}, '"') THEN TRY_CAST(left(${subject.text}, least(length(${subject.text}) - 1, 26)) AS TIMESTAMP) END`;
    case 'map<string,string>':
      return `CASE WHEN starts_with(${x}, '{') AND coalesce(list_bool_and(list_transform(json_type(${x}, '$.*'), v -> v = 'VARCHAR')), true) THEN CAST(CAST(${x} AS JSON) AS MAP(VARCHAR, VARCHAR)) END`;
  }
}

function defaultLiteral(column: CuratedColumn): string {
  return `CAST(${typeof column.default === 'string' ? quote(column.default) : String(column.default)} AS ${duckdbType(column)})`;
}

/** A column source's parts: an envelope key, or `detail` and the detail's key. */
function sourcePath(source: string): { readonly first: string; readonly second?: string } {
  const [first, second] = source.split('.') as [string, string?];
  return { first, second };
}

/** The envelope or detail field a column reads, as JSON. */
const fieldOf = (source: string) => {
  const { first, second } = sourcePath(source);
  return second === undefined ? `e.${identifier(first)}` : `e.detail.${identifier(second)}`;
};

/** A column's JSON text in the curation's CTEs. */
const textOf = (column: CuratedColumn) => identifier(`x_${column.name}`);
/** Whether a column's field is present (JSON null included). */
const presentOf = (column: CuratedColumn) => identifier(`p_${column.name}`);
/** A string column's string, worked out once for all the rules that read it. */
const stringColumn = (column: CuratedColumn) => identifier(`s_${column.name}`);
/** A numeric column's number, worked out once for all the rules that read it. */
const numberColumn = (column: CuratedColumn) => identifier(`n_${column.name}`);
const subjectOfColumn = (column: CurationColumn): Subject => ({ json: textOf(column), text: stringColumn(column), number: numberColumn(column) });

/** Each column's JSON text, and whether its field is present: a value, or a key (JSON null reads as SQL NULL, so only then are the keys looked at). */
function columnTexts(spec: CurationSpec): string[] {
  const presence = (column: CuratedColumn) => {
    const { first, second } = sourcePath(column.source);
    const keys = second === undefined ? 'try(json_keys(line))' : 'detail_keys';
    return `CASE WHEN ${fieldOf(column.source)} IS NOT NULL THEN true ELSE coalesce(list_contains(${keys}, ${quote(second ?? first)}), false) END`;
  };
  return spec.columns.flatMap((column) => [`CAST(${fieldOf(column.source)} AS VARCHAR) AS ${textOf(column)}`, `${presence(column)} AS ${presentOf(column)}`]);
}

/** Each string column's string and each numeric column's number. */
function columnScalars(spec: CurationSpec): string[] {
  return spec.columns.flatMap((column) => {
    const kind = column.constraints.type;
    if (kind === 'string') return [`CASE WHEN starts_with(${textOf(column)}, '"') THEN ${stringOf(textOf(column))} END AS ${stringColumn(column)}`];
    if (kind === 'number' || kind === 'integer') return [`${numberOf(textOf(column))} AS ${numberColumn(column)}`];
    return [];
  });
}

/** Each column's stored value: its typed value when present, its default (or NULL) when absent. */
function columnValues(spec: CurationSpec): string[] {
  return spec.columns.map((column) => {
    const absent = column.default === undefined ? `CAST(NULL AS ${duckdbType(column)})` : defaultLiteral(column);
    return `CASE WHEN ${presentOf(column)} THEN ${storedValue(column, subjectOfColumn(column))} ELSE ${absent} END AS ${identifier(column.name)}`;
  });
}

/** The record's rules, before any column's: JSON, repeated envelope keys, detail-type, detail, repeated detail keys, schemaVersion, unknown keys. */
function recordRules(spec: CurationSpec): Rule[] {
  const reasons = spec.reasons;
  // A key the curation reads, given twice in the envelope: JSON.parse keeps the last, DuckDB the first.
  const keysRead = list(spec.envelope.keysRead);
  const readRepeats = `list_filter(try(json_keys(line)), k -> list_contains(${keysRead}, k) AND len(list_filter(try(json_keys(line)), j -> j = k)) > 1)`;
  const version = fieldOf('detail.schemaVersion');
  const valuedFields = `(${spec.columns.filter((c) => c.source.startsWith('detail.')).map((c) => `CAST(${fieldOf(c.source)} IS NOT NULL AS INTEGER)`).join(' + ')})`;
  return [
    { when: `(e IS NULL AND try(json_type(line)) IS NULL) OR (suspicious AND ${nonStandardJson('line')})`, then: quote(reasons.notJson) },
    { when: `e IS NULL OR (e."detail-type" IS NULL AND coalesce(try(json_type(line)), '') <> 'OBJECT')`, then: quote(reasons.notObject) },
    { when: `suspicious AND len(${readRepeats}) > 0`, then: reasonWithKey(spec, reasons.duplicateKey, 'envelope', `${readRepeats}[1]`) },
    { when: `coalesce(json_type(e."detail-type"), '') <> 'VARCHAR' OR json_extract_string(e."detail-type", '$') <> ${quote(spec.envelope.detailType)}`, then: quote(reasons.detailType) },
    { when: `coalesce(len(detail_keys), 0) = 0 AND coalesce(try(json_type(line, '$.detail')), '') <> 'OBJECT'`, then: quote(reasons.detailNotObject) },
    // A detail whose keys are distinct and known, with no null value, has as many keys as fields
    // with a value: only the other details are searched for repeated and unknown keys.
    { when: `len(detail_keys) <> ${valuedFields} AND ${hasRepeats('detail_keys')}`, then: reasonWithKey(spec, reasons.duplicateKey, 'detail', firstRepeated('detail_keys')) },
    { when: `coalesce(json_type(${version}), '') <> 'VARCHAR' OR json_extract_string(${version}, '$') <> ${quote(spec.envelope.schemaVersion)}`, then: quote(reasons.schemaVersion) },
    ...spec.closedObjects.map((closed): Rule => {
      if (closed.source !== 'detail') throw new Error(`Closed object ${closed.source}: only detail is interpreted.`);
      const unknown = `list_filter(detail_keys, k -> NOT list_contains(${list(closed.keys)}, k))`;
      return { when: `len(detail_keys) <> ${valuedFields} AND NOT list_has_all(${list(closed.keys)}, detail_keys)`, then: reasonWithKey(spec, reasons.unknownKey, closed.source, `${unknown}[1]`) };
    }),
  ];
}

/** Each column's rules in column order: a required field's presence, then its value's constraints. */
function columnRules(spec: CurationSpec): Rule[] {
  return spec.columns.flatMap((column): Rule[] => [
    ...(column.required && column.default === undefined ? [{ when: `NOT ${presentOf(column)}`, then: quote(reasonText(spec.reasons.missing, column.source)) }] : []),
    // An absent optional field has nothing to check; a present one (JSON null included) must meet its constraints.
    ...valueRules(spec, subjectOfColumn(column), column.constraints, column.source).map((rule) => ({ when: `${presentOf(column)} AND (${rule.when})`, then: rule.then })),
  ]);
}

/**
 * The SELECT that curates parsed raw lines (see {@link parsedRelation}): the reason a line is
 * refused (NULL when it is a valid usage event) and every curated column typed. The reasons are
 * one CASE in the Glue job's order: JSON, repeated envelope keys, detail-type, detail, repeated
 * detail keys, schemaVersion, unknown keys, each column's constraints in column order, the
 * event-time window.
 */
export function curationSelect(parsed: string, spec: CurationSpec): string {
  const rules = [...recordRules(spec), ...columnRules(spec), ...windowRules(spec)];
  return `
    WITH parsed AS (SELECT * FROM ${parsed}),
    texts AS (
      SELECT line, filename, e, detail_keys, ${suspiciousLine(spec)} AS suspicious,
        ${columnTexts(spec).join(',\n        ')}
      FROM parsed
    ),
    scalars AS (
      SELECT *,
        ${columnScalars(spec).join(',\n        ')}
      FROM texts
    ),
    valued AS (
      SELECT *,
        ${columnValues(spec).join(',\n        ')}
      FROM scalars
    ),
    -- The reason in a CTE of its own: named three times in one SELECT it would be expanded three
    -- times, and its common parts hoisted out of the CASE and worked out for every row.
    reasoned AS (
      SELECT *,
        CASE ${rules.map((rule) => `WHEN ${rule.when} THEN ${rule.then}`).join('\n        ')} END AS reason
      FROM valued
    )
    SELECT
      reason,
      -- Only refused lines are kept, cut to a bounded length.
      CASE WHEN reason IS NOT NULL THEN left(line, ${spec.maxErrorLineChars}) END AS error_line,
      CASE WHEN reason IS NOT NULL THEN filename END AS raw_object,
      ${spec.columns.map((column) => identifier(column.name)).join(', ')}
    FROM reasoned`;
}

/** The event-time window, checked after every column as in the job's check_event_time. */
function windowRules(spec: CurationSpec): Rule[] {
  const window = spec.eventTimeWindow;
  const reasons = spec.reasons;
  const occurred = identifier(window.eventTimeColumn);
  const received = identifier(window.receiptTimeColumn);
  const earliest = `CAST(${quote(window.earliest.replace(/Z$/, ''))} AS TIMESTAMP)`;
  return [
    { when: `${occurred} < ${earliest}`, then: quote(reasonText(reasons.beforeEarliest, window.eventTimeSource, window.earliest)) },
    { when: `${occurred} > ${received} + INTERVAL (${window.maxAheadOfReceiptSeconds}) SECOND`, then: quote(reasonText(reasons.aheadOfReceipt, window.eventTimeSource, window.maxAheadOfReceiptSeconds)) },
    { when: `${occurred} < ${received} - INTERVAL (${window.lateEventWindowDays}) DAY`, then: quote(reasonText(reasons.lateForReceipt, window.eventTimeSource, window.lateEventWindowDays)) },
  ];
}

/**
 * The Glue table over `errors/glue/` as a DuckDB view of the same name: the reason and line of
 * each refused record, and the run day's partition values, read from the folder names (older
 * folders with a `run=` level below the day read the same).
 */
export function curationErrorsView(files: readonly string[]): string {
  const columns = CURATION_ERRORS.columns.map((c) => `${identifier(c.name)} ${duckdbType({ type: c.type })}`);
  const partitions = CURATED_PARTITION_KEYS.map((key) => `regexp_extract(filename, ${quote(`[/\\\\]${key}=([0-9]+)[/\\\\]`)}, 1) AS ${identifier(key)}`);
  const relation =
    files.length > 0
      ? `SELECT ${CURATION_ERRORS.columns.map((c) => identifier(c.name)).join(', ')}, ${partitions.join(', ')}
         FROM read_json(${fileList(files)}, format = 'newline_delimited', columns = {${CURATION_ERRORS.columns.map((c) => `${quote(c.name)}: 'VARCHAR'`).join(', ')}}, filename = true, maximum_object_size = 16777216)`
      : `SELECT ${[...columns.map((c) => `CAST(NULL AS ${c.split(' ')[1]}) AS ${c.split(' ')[0]}`), ...CURATED_PARTITION_KEYS.map((key) => `CAST(NULL AS VARCHAR) AS ${identifier(key)}`)].join(', ')} WHERE false`;
  return `CREATE OR REPLACE VIEW ${identifier(CURATION_ERRORS.table)} AS ${relation}`;
}

/** DuckDB's `strftime` specifier for each date part, and the zero-padded width it writes. */
const STRFTIME_PARTS = {
  year: { specifier: '%Y', digits: 4 },
  month: { specifier: '%m', digits: 2 },
  day: { specifier: '%d', digits: 2 },
} as const;

/** The `strftime` format of a partition key, as the contract's layout cuts it from the event time. */
function partitionFormat(key: CuratedPartitionKey): string {
  const { datePart, digits } = CURATED_PARTITION_LAYOUT[key];
  const part = STRFTIME_PARTS[datePart];
  if (part.digits !== digits) throw new Error(`Partition ${key}: strftime writes the ${datePart} with ${part.digits} digits, the layout wants ${digits}.`);
  return part.specifier;
}

/** The partition columns, from the event time (UTC): zero-padded strings, in folder order, as the contract's `curatedPartitionOf`. */
export function partitionProjection(): string {
  return CURATED_PARTITION_KEYS.map((key) => `strftime(occurred_at, '${partitionFormat(key)}') AS ${identifier(key)}`).join(', ');
}

/** The curated columns in table order, partitions last. */
export function curatedColumnList(): string {
  return [...CURATED_COLUMNS, ...CURATED_PARTITION_COLUMNS].map((column) => identifier(column.name)).join(', ');
}

/** The columns a curated Parquet file holds: the curated columns in table order (the partitions are its folders). */
export function curatedFileColumnList(): string {
  return CURATED_COLUMNS.map((column) => identifier(column.name)).join(', ');
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
