import { z } from 'zod';
import { CURATED_COLUMNS, CURATED_PARTITION_COLUMNS, CuratedColumn, curatedColumnFrom } from './curated-columns';
import { CATALOG, EVENT_ID_INDEX, LAKE_PREFIXES } from './lake-layout';
import { CURATION_METRICS } from './pipeline-metrics';
import {
  EVENT_TIME_WINDOW,
  LATE_EVENT_WINDOW_DAYS_RANGE,
  USAGE_EVENT_DETAIL_TYPE,
  USAGE_EVENT_SCHEMA_VERSION,
  usageEventEnvelopeSchema,
} from './usage-event';

/**
 * What the curation (the Glue job and its DuckDB twin) checks of one value: the JSON Schema
 * (2020-12) that `z.toJSONSchema` gives for the contract's field, narrowed to the keywords both
 * engines interpret. A keyword outside this set fails {@link curationSpec}, so the contract cannot
 * gain a rule that one engine would silently skip.
 *
 * Both engines check in this order and report the first failure: `type`, then (objects) duplicate
 * keys, `maxProperties`, `propertyNames` and `additionalProperties` over every entry; (strings)
 * `const`, `minLength`, `maxLength`, `pattern` (`format: date-time` names the pattern's failure);
 * (numbers) `minimum`, `maximum`. Lengths count Unicode code points, as zod does.
 */
export interface ValueConstraints {
  readonly type: 'string' | 'number' | 'integer' | 'object';
  readonly const?: string;
  readonly minLength?: number;
  readonly maxLength?: number;
  /** Anchored (`^…$`): both engines match it against the whole value. */
  readonly pattern?: string;
  /** Only `date-time`, and only with a `pattern` that decides it. */
  readonly format?: 'date-time';
  readonly minimum?: number;
  readonly maximum?: number;
  readonly maxProperties?: number;
  /** Constraints on each key of an object (a map column). */
  readonly propertyNames?: ValueConstraints;
  /** Constraints on each value of an object (a map column). */
  readonly additionalProperties?: ValueConstraints;
}

/** A curated column with the constraints its value must meet. */
export interface CurationColumn extends CuratedColumn {
  readonly constraints: ValueConstraints;
}

/** An object of the envelope that takes no keys beyond its known ones (`.strict()` in the contract). */
export interface ClosedObject {
  /** Dotted envelope path, e.g. `detail`. */
  readonly source: string;
  readonly keys: readonly string[];
}

/**
 * The reasons a refused record carries, as templates both engines fill in: `{field}` is a dotted
 * envelope path (`detail.statusCode`, or `detail.attributes key` / `value` for a map's entries),
 * `{limit}` a bound, `{key}` an offending key (cut to {@link MAX_KEY_IN_REASON} characters).
 */
export const CURATION_REASONS = {
  notJson: 'not JSON',
  notObject: 'not a JSON object',
  duplicateKey: '{field}: duplicate key "{key}"',
  detailType: `detail-type is not '${USAGE_EVENT_DETAIL_TYPE}'`,
  detailNotObject: 'detail is missing or not an object',
  schemaVersion: 'unsupported schemaVersion',
  unknownKey: '{field}: unknown key "{key}"',
  missing: 'missing {field}',
  type: {
    string: '{field}: expected a string',
    number: '{field}: expected a number',
    integer: '{field}: expected a whole number',
    object: '{field}: expected an object',
  },
  const: '{field}: must be {limit}',
  minLength: '{field}: length below the minimum of {limit}',
  maxLength: '{field}: length above the maximum of {limit}',
  pattern: '{field}: does not match {limit}',
  dateTime: '{field}: expected an ISO-8601 date-time in UTC ending in Z',
  minimum: '{field}: below the minimum of {limit}',
  maximum: '{field}: above the maximum of {limit}',
  maxProperties: '{field}: more than {limit} entries',
  beforeEarliest: '{field}: before {limit}, the earliest event time accepted',
  aheadOfReceipt: '{field}: more than {limit} s after the envelope time',
  lateForReceipt: '{field}: more than {limit} days before the envelope time',
} as const;

/** Longest part of an offending key a reason quotes. */
export const MAX_KEY_IN_REASON = 64;

/** Longest raw line copied into an error record: enough to diagnose, bounded so one bad producer cannot bloat errors/. */
export const MAX_ERROR_LINE_CHARS = 8192;

/** Options of {@link curationSpec}. */
export interface CurationSpecOptions {
  /**
   * How many days `occurredAt` may lie before the envelope's `time`.
   * @default EVENT_TIME_WINDOW.defaultLateEventWindowDays (35)
   */
  readonly lateEventWindowDays?: number;
}

/** The event-time window as the engines check it, with the columns it applies to. */
export interface EventTimeWindowSpec {
  readonly earliest: string;
  readonly maxAheadOfReceiptSeconds: number;
  readonly lateEventWindowDays: number;
  readonly eventTimeSource: string;
  readonly eventTimeColumn: string;
  readonly receiptTimeColumn: string;
}

/** Everything the curation needs, as the Glue job receives it (`--curated_columns`) and the DuckDB twin imports it. */
export interface CurationSpec {
  readonly columns: readonly CurationColumn[];
  /** The partition columns in folder order, each with the date part it holds and its digits. */
  readonly partitions: typeof CURATED_PARTITION_COLUMNS;
  readonly prefixes: typeof LAKE_PREFIXES;
  /** How the index of curated event ids (under `prefixes.curatedIndex`) keys an id. */
  readonly eventIdIndex: typeof EVENT_ID_INDEX;
  /** The `detail-type` and `schemaVersion` a usage event carries. */
  readonly envelope: { readonly detailType: string; readonly schemaVersion: string; readonly keysRead: readonly string[] };
  readonly closedObjects: readonly ClosedObject[];
  readonly eventTimeWindow: EventTimeWindowSpec;
  readonly reasons: typeof CURATION_REASONS;
  readonly maxKeyInReason: number;
  readonly maxErrorLineChars: number;
  readonly metrics: typeof CURATION_METRICS;
  readonly table: { readonly name: string; readonly parameters: typeof CATALOG.tableParameters };
}

/** The keywords a contract field's JSON Schema may use; annotations are dropped, anything else is refused. */
const INTERPRETED = new Set(['type', 'const', 'minLength', 'maxLength', 'pattern', 'format', 'minimum', 'maximum', 'maxProperties', 'propertyNames', 'additionalProperties']);
const ANNOTATIONS = new Set(['default', 'description', 'title', '$schema']);

type JsonSchema = Record<string, unknown>;

/** Thrown when the contract uses a rule the curation engines do not interpret. */
export class CurationSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CurationSpecError';
  }
}

/** The contract's envelope as JSON Schema, as producers' input (before defaults). */
function envelopeJsonSchema(): JsonSchema {
  return z.toJSONSchema(usageEventEnvelopeSchema, { io: 'input' });
}

/** The JSON Schema of the value at a dotted envelope path. */
function schemaAt(root: JsonSchema, source: string): JsonSchema {
  let schema = root;
  for (const key of source.split('.')) {
    const properties = schema.properties as Record<string, JsonSchema> | undefined;
    const next = properties?.[key];
    if (!next) throw new CurationSpecError(`The contract has no field ${source}.`);
    schema = next;
  }
  return schema;
}

/** Narrows a field's JSON Schema to {@link ValueConstraints}, refusing what the engines do not interpret. */
export function constraintsOf(schema: JsonSchema, where: string): ValueConstraints {
  const constraints: Record<string, unknown> = {};
  for (const [keyword, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(keyword)) continue;
    if (!INTERPRETED.has(keyword)) {
      throw new CurationSpecError(`${where}: the contract uses "${keyword}", which the curation engines (glue-scripts/, local/lake/) do not check; teach both, then allow it here.`);
    }
    constraints[keyword] = keyword === 'propertyNames' || keyword === 'additionalProperties' ? constraintsOf(value as JsonSchema, `${where} ${keyword === 'propertyNames' ? 'key' : 'value'}`) : value;
  }
  const result = constraints as unknown as ValueConstraints;
  if (!['string', 'number', 'integer', 'object'].includes(result.type)) throw new CurationSpecError(`${where}: type ${JSON.stringify(result.type)} is not interpreted.`);
  if (result.pattern !== undefined && !/^\^.*\$$/s.test(result.pattern)) {
    throw new CurationSpecError(`${where}: pattern ${result.pattern} must be anchored (^…$): the engines match whole values.`);
  }
  // The contract's JSON Schema may carry any format: checked before trusting the narrowed type.
  const format = constraints.format;
  if (format !== undefined && (format !== 'date-time' || result.pattern === undefined)) {
    throw new CurationSpecError(`${where}: format ${typeof format === 'string' ? format : JSON.stringify(format)} is interpreted only as date-time with the pattern zod writes for it.`);
  }
  for (const bound of ['minimum', 'maximum', 'minLength', 'maxLength', 'maxProperties'] as const) {
    const value = result[bound];
    // Whole bounds render the same in Python and SQL reasons, and compare exactly as doubles.
    if (value !== undefined && !Number.isSafeInteger(value)) throw new CurationSpecError(`${where}: ${bound} ${value} must be a safe whole number.`);
  }
  if (result.const !== undefined && typeof result.const !== 'string') throw new CurationSpecError(`${where}: only string constants are interpreted.`);
  if (result.type === 'object' && (result.additionalProperties === undefined || typeof result.additionalProperties !== 'object')) {
    throw new CurationSpecError(`${where}: an object column must be a map (additionalProperties with a schema).`);
  }
  return result;
}

/** The JSON Schema type each column type stores. */
const STORED_AS: Record<CuratedColumn['type'], ValueConstraints['type']> = {
  string: 'string',
  timestamp: 'string',
  int: 'integer',
  bigint: 'integer',
  double: 'number',
  'map<string,string>': 'object',
};

/** Integer columns' storage ranges: a contract bound must keep values inside them. */
const INTEGER_RANGES: Partial<Record<CuratedColumn['type'], readonly [number, number]>> = {
  int: [-(2 ** 31), 2 ** 31 - 1],
  bigint: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function columnConstraints(root: JsonSchema, column: CuratedColumn): ValueConstraints {
  const schema = schemaAt(root, column.source);
  const constraints = constraintsOf(schema, column.source);
  if (STORED_AS[column.type] !== constraints.type) {
    throw new CurationSpecError(`${column.source}: the contract says ${constraints.type} but the column ${column.name} stores ${column.type}.`);
  }
  if (column.type === 'timestamp' && constraints.format !== 'date-time') throw new CurationSpecError(`${column.source}: a timestamp column needs a date-time field.`);
  const range = INTEGER_RANGES[column.type];
  if (range && (constraints.minimum === undefined || constraints.maximum === undefined || constraints.minimum < range[0] || constraints.maximum > range[1])) {
    throw new CurationSpecError(`${column.source}: an ${column.type} column needs contract bounds within ${range[0]}..${range[1]}.`);
  }
  if (schema.default !== column.default) {
    throw new CurationSpecError(`${column.source}: the column's default ${String(column.default)} differs from the contract's ${String(schema.default)}.`);
  }
  return constraints;
}

/** Objects of the envelope the contract closes (`additionalProperties: false`), with their known keys. */
function closedObjects(root: JsonSchema, prefix = ''): ClosedObject[] {
  const properties = (root.properties ?? {}) as Record<string, JsonSchema>;
  const closed: ClosedObject[] = [];
  if (prefix !== '' && root.additionalProperties === false) closed.push({ source: prefix, keys: Object.keys(properties) });
  for (const [key, schema] of Object.entries(properties)) {
    if (schema.type === 'object' && schema.properties) closed.push(...closedObjects(schema, prefix === '' ? key : `${prefix}.${key}`));
  }
  return closed;
}

/**
 * The curation spec, derived from the contracts: the curated columns with the constraints the
 * contract puts on their fields, the closed objects, the event-time window, the reasons, the
 * metric names and the table's parameters.
 */
export function curationSpec(options: CurationSpecOptions = {}): CurationSpec {
  const lateEventWindowDays = options.lateEventWindowDays ?? EVENT_TIME_WINDOW.defaultLateEventWindowDays;
  const { min, max } = LATE_EVENT_WINDOW_DAYS_RANGE;
  if (!Number.isInteger(lateEventWindowDays) || lateEventWindowDays < min || lateEventWindowDays > max) {
    throw new CurationSpecError(`lateEventWindowDays must be a whole number of days from ${min} to ${max}; got ${lateEventWindowDays}.`);
  }
  const root = envelopeJsonSchema();
  const columns = CURATED_COLUMNS.map((column) => ({ ...column, constraints: columnConstraints(root, column) }));
  const topLevel = [...new Set(['detail-type', 'detail', ...CURATED_COLUMNS.map((column) => column.source.split('.')[0])])];
  return {
    columns,
    partitions: CURATED_PARTITION_COLUMNS,
    prefixes: LAKE_PREFIXES,
    eventIdIndex: EVENT_ID_INDEX,
    envelope: { detailType: USAGE_EVENT_DETAIL_TYPE, schemaVersion: USAGE_EVENT_SCHEMA_VERSION, keysRead: topLevel },
    closedObjects: closedObjects(root),
    eventTimeWindow: {
      earliest: EVENT_TIME_WINDOW.earliest,
      maxAheadOfReceiptSeconds: EVENT_TIME_WINDOW.maxAheadOfReceiptSeconds,
      lateEventWindowDays,
      eventTimeSource: 'detail.occurredAt',
      eventTimeColumn: curatedColumnFrom('detail.occurredAt').name,
      receiptTimeColumn: curatedColumnFrom('time').name,
    },
    reasons: CURATION_REASONS,
    maxKeyInReason: MAX_KEY_IN_REASON,
    maxErrorLineChars: MAX_ERROR_LINE_CHARS,
    metrics: CURATION_METRICS,
    table: { name: CATALOG.table, parameters: CATALOG.tableParameters },
  };
}

/** Fills a reason template: `{field}` and `{limit}` (the key, which is data, is added by the engines). */
export function reasonText(template: string, field: string, limit?: string | number): string {
  return template.replace('{field}', field).replace('{limit}', limit === undefined ? '' : String(limit));
}
