/**
 * Where things live in the lake (the S3 bucket in AWS, the data folder locally).
 *
 * Firehose writes `raw/` by arrival time; the Glue job (or its local twin) writes `curated/` by
 * event time. Every prefix ends with `/`.
 */
export const LAKE_PREFIXES = {
  /** Newline-delimited EventBridge envelopes, gzip, partitioned by arrival hour. */
  raw: 'raw/',
  /** Firehose processing or delivery failures, and the Glue job's malformed records. */
  errors: 'errors/',
  /** Records the Glue job could not turn into a curated row, with the reason. */
  glueErrors: 'errors/glue/',
  /** Deduplicated Snappy Parquet, partitioned by event time. */
  curated: 'curated/usage_events/',
  /**
   * The curation's index of the event ids curated (see `curatedIndexSegmentKey`): one segment per
   * curated Parquet file, under the same partition folders and named like it, holding the sorted
   * {@link EVENT_ID_INDEX} keys of that file's event ids. Not under `curated/`, so neither the
   * crawler nor Athena ever reads it.
   */
  curatedIndex: 'index/usage_events_event_ids/',
  /** Closed months' billing statements, immutable once written (see `contracts/billing-statements.ts`). */
  statements: 'statements/',
  /**
   * Account events (issue 16): newline-delimited EventBridge envelopes, gzip, partitioned by
   * arrival day, written by their own Firehose stream (locally, their own buffer). Not under
   * `raw/`, so the curation never reads them.
   */
  accountEvents: 'account-events/',
} as const;

/**
 * Firehose's buffering hints: its limits, and the stack's defaults (its maximums). The first
 * condition met delivers an object, so with the default interval a stream writes at least
 * 3600 / 900 = 4 objects an hour to `raw/` (AWS::KinesisFirehose::DeliveryStream BufferingHints,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-kinesisfirehose-deliverystream-bufferinghints.html).
 */
export const FIREHOSE_BUFFERING = {
  maxIntervalSeconds: 900,
  maxSizeMiB: 128,
  defaultIntervalSeconds: 900,
  defaultSizeMiB: 128,
} as const;

/** Glue/Athena database defaults and object names. */
export const CATALOG = {
  /** The curated table the crawler maintains; its name is the curated folder's name. */
  table: 'usage_events',
  /** The view every named query reads: one row per `event_id`. */
  dedupedView: 'usage_events_deduped',
  /** The default Glue database name. */
  defaultDatabase: 'api_usage',
  /**
   * Parameters the curated table must carry; the Glue job sets them on the table the crawler
   * created. Athena uses the crawler's partition index only when `partition_filtering.enabled` is
   * true (https://docs.aws.amazon.com/athena/latest/ug/glue-best-practices-partition-index.html).
   */
  tableParameters: { 'partition_filtering.enabled': 'true' },
} as const;

/**
 * The table over `errors/glue/`: one row per record the curation refused, with its reason and the
 * raw line (cut to a bounded length), partitioned by the UTC day of the run that refused it. In
 * AWS its partitions are projected (no crawler); locally DuckDB reads the same folders.
 */
export const CURATION_ERRORS = {
  table: 'curation_errors',
  columns: [
    { name: 'reason', type: 'string', comment: 'Why the record was refused' },
    { name: 'line', type: 'string', comment: 'The raw line (EventBridge envelope), cut to 8192 characters' },
  ],
  /** Years the partition projection covers; a query names the days it reads, so the span costs nothing. */
  projectedYears: { first: 2024, last: 2099 },
} as const;

/** Partition columns of the curated table, in folder order. */
export const CURATED_PARTITION_KEYS = ['year', 'month', 'day'] as const;
export type CuratedPartitionKey = (typeof CURATED_PARTITION_KEYS)[number];

/**
 * How each partition value is cut from a UTC time: the date part it holds and its zero-padded
 * width. Hive folders (`year=2026/month=03/day=04/`), the crawler's partition columns and the
 * projected `curation_errors` partitions all hold these strings; the Glue job receives this
 * layout in its curation spec rather than knowing it.
 */
export const CURATED_PARTITION_LAYOUT: Readonly<Record<CuratedPartitionKey, { readonly datePart: 'year' | 'month' | 'day'; readonly digits: number }>> = {
  year: { datePart: 'year', digits: 4 },
  month: { datePart: 'month', digits: 2 },
  day: { datePart: 'day', digits: 2 },
};

/**
 * Firehose's data prefix for `raw/`: arrival time, hive-style so a crawler or DuckDB reads the
 * partitions by name.
 */
export const FIREHOSE_RAW_PREFIX =
  'raw/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/';

/**
 * Firehose's error prefix. Firehose requires `!{firehose:error-output-type}` in the error prefix
 * whenever the data prefix uses expressions.
 */
export const FIREHOSE_ERROR_PREFIX =
  'errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/';

/**
 * Firehose's data prefix for account events: arrival day, hive-style, the partitions of the
 * `account_events` table ({@link ACCOUNT_EVENTS_TABLE}).
 */
export const FIREHOSE_ACCOUNT_EVENTS_PREFIX = `${LAKE_PREFIXES.accountEvents}year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/`;

/** Firehose's error prefix for account events: beside the usage stream's, under `errors/account-events/`. */
export const FIREHOSE_ACCOUNT_EVENTS_ERROR_PREFIX =
  'errors/account-events/!{firehose:error-output-type}/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/';

/**
 * The table over `account-events/` (a Glue table with projected partitions in AWS, a DuckDB view
 * locally), one row per envelope as delivered: delivery is at least once, so a query keeps one
 * row per `detail.eventId`. `detail.data` is a map of strings: the JSON SerDe gives a scalar
 * declared `string` as its text (`800`, `true`), and DuckDB casts it the same way.
 */
export const ACCOUNT_EVENTS_TABLE = {
  table: 'account_events',
  /** The envelope's top-level fields the table reads, as Glue/Hive types. */
  columns: [
    { name: 'id', type: 'string', comment: 'The envelope id EventBridge gave this delivery' },
    { name: 'time', type: 'string', comment: "The envelope's time (ISO 8601, UTC): the occurrence's, as the publisher sets it" },
    { name: 'source', type: 'string', comment: 'api-usage-tracker.accounts' },
    { name: 'detail', type: 'struct', comment: 'The account event (contracts/account-events.ts)' },
  ],
  /** The fields of `detail`, in the contract's order; `data` holds the kind's facts. */
  detailFields: [
    { name: 'schemaVersion', type: 'string' },
    { name: 'eventId', type: 'string' },
    { name: 'kind', type: 'string' },
    { name: 'tenantId', type: 'string' },
    { name: 'occurredAt', type: 'string' },
    { name: 'data', type: 'map<string,string>' },
  ],
  /** Years the partition projection covers; a query names the days it reads, so the span costs nothing. */
  projectedYears: { first: 2024, last: 2099 },
  /**
   * Firehose's buffering for account events: few and wanted promptly, so an object at least every
   * five minutes while events arrive (usage events wait up to 900 s).
   */
  buffering: { intervalSeconds: 300, sizeMiB: 5 },
} as const;

/** The Glue type of `detail`: `struct<schemaVersion:string,...,data:map<string,string>>`. */
export function accountEventDetailGlueType(): string {
  return `struct<${ACCOUNT_EVENTS_TABLE.detailFields.map((field) => `${field.name}:${field.type}`).join(',')}>`;
}

const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/**
 * Evaluates a Firehose prefix template the way Firehose does (UTC timestamps), so that the local
 * buffer writes exactly the object layout the deployed stream writes.
 *
 * @param template a prefix such as {@link FIREHOSE_RAW_PREFIX}
 * @param at the (approximate arrival) time to render
 * @param errorOutputType the value for `!{firehose:error-output-type}`
 */
export function renderFirehosePrefix(template: string, at: Date, errorOutputType = 'processing-failed'): string {
  const values: Readonly<Record<string, string | undefined>> = {
    'timestamp:yyyy': pad(at.getUTCFullYear(), 4),
    'timestamp:MM': pad(at.getUTCMonth() + 1),
    'timestamp:dd': pad(at.getUTCDate()),
    'timestamp:HH': pad(at.getUTCHours()),
    'firehose:error-output-type': errorOutputType,
  };
  return template.replace(/!\{([^}]+)\}/g, (expression, name: string) => {
    const value = values[name];
    if (value === undefined) {
      throw new Error(`Unsupported Firehose prefix expression ${expression} in "${template}".`);
    }
    return value;
  });
}

/**
 * The curated partition values for an event time: zero-padded strings, as hive folders and the
 * crawler's inferred partition columns hold them.
 */
export function curatedPartitionOf(occurredAt: Date): Record<CuratedPartitionKey, string> {
  const parts = { year: occurredAt.getUTCFullYear(), month: occurredAt.getUTCMonth() + 1, day: occurredAt.getUTCDate() };
  const value = (key: CuratedPartitionKey) => pad(parts[CURATED_PARTITION_LAYOUT[key].datePart], CURATED_PARTITION_LAYOUT[key].digits);
  return { year: value('year'), month: value('month'), day: value('day') };
}

/** `<prefix>year=YYYY/month=MM/day=DD/`: the Hive-style partition folders of a time under a prefix. */
function partitionFolders(prefix: string, at: Date): string {
  const partition = curatedPartitionOf(at);
  return prefix + CURATED_PARTITION_KEYS.map((key) => `${key}=${partition[key]}/`).join('');
}

/**
 * `errors/glue/year=YYYY/month=MM/day=DD/` for the day (UTC) a curation run refused records: every
 * run of that day writes its own uniquely named files there.
 */
export function curationErrorsPartitionPrefix(runAt: Date): string {
  return partitionFolders(LAKE_PREFIXES.glueErrors, runAt);
}

/**
 * How the curation's index keys an event id: the first {@link EVENT_ID_INDEX.hexDigits} hex digits
 * of the MD5 of its UTF-8 bytes, as a (non-negative) 64-bit integer. DuckDB, Spark and Python all
 * compute it the same way; two ids may share a key, so a key found only says where to look.
 */
export const EVENT_ID_INDEX = { column: 'event_key', hexDigits: 15 } as const;

/**
 * The index segment of a curated Parquet file: the file's key (relative to the lake's root) with
 * `curated/usage_events/` replaced by the index prefix. The local twin writes the segment as that
 * file; the Glue job, through Spark, as a folder `file=<the curated file's name>/` in its place.
 */
export function curatedIndexSegmentKey(curatedFileKey: string): string {
  if (!curatedFileKey.startsWith(LAKE_PREFIXES.curated)) throw new Error(`${curatedFileKey} is not under ${LAKE_PREFIXES.curated}`);
  return LAKE_PREFIXES.curatedIndex + curatedFileKey.slice(LAKE_PREFIXES.curated.length);
}

/** `account-events/year=YYYY/month=MM/day=DD/` for an arrival time (UTC): where Firehose files it. */
export function accountEventsPartitionPrefix(arrival: Date): string {
  return partitionFolders(LAKE_PREFIXES.accountEvents, arrival);
}

/** `curated/usage_events/year=YYYY/month=MM/day=DD/` for an event time. */
export function curatedPartitionPrefix(occurredAt: Date): string {
  return partitionFolders(LAKE_PREFIXES.curated, occurredAt);
}

/**
 * The S3 level (bucket = 1) of the curated table folder, which the crawler's
 * `TableLevelConfiguration` needs so it creates exactly one table there.
 */
export function curatedTableLevel(): number {
  return 1 + LAKE_PREFIXES.curated.split('/').filter(Boolean).length;
}

/**
 * The per-operation price list billing reads: a CSV with a header row, `operation,unit_price,currency`;
 * operation `*` prices every operation without a row of its own.
 */
export const PRICE_LIST = {
  prefix: 'reference/operation_prices/',
  table: 'operation_prices',
  columns: [
    { name: 'operation', type: 'string' },
    { name: 'unit_price', type: 'double' },
    { name: 'currency', type: 'string' },
  ],
  defaultOperation: '*',
} as const;
