import * as path from 'node:path';
import { ACCOUNT_EVENTS_TABLE, CURATED_PARTITION_KEYS, FIREHOSE_ACCOUNT_EVENTS_PREFIX, LAKE_PREFIXES } from '../../contracts/lake-layout';
import { dataDirLayout } from '../data-dir';
import { FirehoseBuffer } from '../events/firehose-buffer';
import { hasFileUnder } from './lake-files';

/**
 * The account events' lake locally: their own Firehose-like buffer writing `account-events/` as
 * the deployed stream does (lib/account-events-lake.ts), and the `account_events` view standing
 * for the Glue table, with the same columns, so the named queries run unchanged.
 */

const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;
const identifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

type GlueScalarType = (typeof ACCOUNT_EVENTS_TABLE.detailFields)[number]['type'];

/** DuckDB's types for the Glue types the table uses (the compiler checks that each has one). */
const DUCKDB_TYPES: Readonly<Record<GlueScalarType, string>> = { string: 'VARCHAR', 'map<string,string>': 'MAP(VARCHAR, VARCHAR)' };

const duckdbType = (glueType: GlueScalarType): string => DUCKDB_TYPES[glueType];

/** `STRUCT("schemaVersion" VARCHAR, …, "data" MAP(VARCHAR, VARCHAR))`: the detail as the Glue table's struct. */
export function accountEventDetailDuckdbType(): string {
  return `STRUCT(${ACCOUNT_EVENTS_TABLE.detailFields.map((field) => `${identifier(field.name)} ${duckdbType(field.type)}`).join(', ')})`;
}

/** Each column's DuckDB type, the partitions last (strings, as the projection gives them). */
function columnTypes(): [string, string][] {
  return [
    ...ACCOUNT_EVENTS_TABLE.columns.map((column): [string, string] => [column.name, column.type === 'struct' ? accountEventDetailDuckdbType() : duckdbType(column.type)]),
    ...CURATED_PARTITION_KEYS.map((key): [string, string] => [key, 'VARCHAR']),
  ];
}

/**
 * The `account_events` view over a data folder: the envelopes under `account-events/` (a glob,
 * which DuckDB expands at each query, so new objects need no refresh), the partitions from the
 * folder names; an empty relation of the same columns until the first object exists. A JSON
 * number or boolean in `detail.data` reads as its text (`800`, `true`), as the OpenX SerDe gives it.
 */
export async function accountEventsView(dataDir: string): Promise<string> {
  const folder = path.join(dataDir, LAKE_PREFIXES.accountEvents);
  const columns = columnTypes();
  const names = columns.map(([name]) => identifier(name)).join(', ');
  if (!(await hasFileUnder(folder, '.gz'))) {
    const nulls = columns.map(([name, type]) => `CAST(NULL AS ${type}) AS ${identifier(name)}`).join(', ');
    return `CREATE OR REPLACE VIEW ${ACCOUNT_EVENTS_TABLE.table} AS SELECT ${nulls} WHERE false`;
  }
  // The envelope's fields as read_json takes them; the partitions come from the folder names.
  const jsonColumns = columns.slice(0, ACCOUNT_EVENTS_TABLE.columns.length).map(([name, type]) => `${quote(name)}: ${quote(type)}`);
  const hiveTypes = CURATED_PARTITION_KEYS.map((key) => `${quote(key)}: VARCHAR`).join(', ');
  const relation = `read_json(${quote(path.join(folder, '**', '*.gz'))}, format = 'newline_delimited', columns = {${jsonColumns.join(', ')}}, hive_partitioning = true, hive_types = {${hiveTypes}}, maximum_object_size = 16777216)`;
  return `CREATE OR REPLACE VIEW ${ACCOUNT_EVENTS_TABLE.table} AS SELECT ${names} FROM ${relation}`;
}

/** Options of {@link accountEventsBuffer}. */
export interface AccountEventsBufferOptions {
  readonly dataDir: string;
  /** Told about each object written and each record a previous run left behind. */
  readonly log: (line: string) => void;
  /**
   * Flush when the oldest buffered event is this old.
   * @default ACCOUNT_EVENTS_TABLE.buffering.intervalSeconds - the deployed stream's 300 s
   */
  readonly intervalMs?: number;
  /**
   * Flush when this many bytes are buffered.
   * @default ACCOUNT_EVENTS_TABLE.buffering.sizeMiB - the deployed stream's 5 MiB
   */
  readonly sizeBytes?: number;
  readonly clock?: () => number;
}

/** A started account events buffer: the bus rule's target, and how to stop it (flushing what it holds). */
export interface AccountEventsBuffer {
  readonly target: FirehoseBuffer;
  readonly recovered: number;
  stop(): Promise<void>;
}

/** The write-ahead log of the account events' buffer: its own, beside the usage buffer's. */
export const accountEventsWalDir = (dataDir: string): string => path.join(dataDirLayout(dataDir).state, 'firehose-wal-account-events');

/**
 * Starts the account events' own buffer: `account-events/year=/month=/day=/` by arrival day, gzip,
 * newline-delimited envelopes, as the deployed stream writes them; delivers first what a previous
 * run had accepted but not written.
 */
export async function accountEventsBuffer(options: AccountEventsBufferOptions): Promise<AccountEventsBuffer> {
  const { buffering } = ACCOUNT_EVENTS_TABLE;
  const buffer = new FirehoseBuffer({
    dataDir: options.dataDir,
    prefix: FIREHOSE_ACCOUNT_EVENTS_PREFIX,
    walDir: accountEventsWalDir(options.dataDir),
    streamName: 'api-usage-tracker-local-account-events',
    intervalMs: options.intervalMs ?? buffering.intervalSeconds * 1000,
    sizeBytes: options.sizeBytes ?? buffering.sizeMiB * 1024 * 1024,
    ...(options.clock ? { clock: options.clock } : {}),
    onFlush: ({ key, records }) => { options.log(`account events: ${records} events -> ${key}`); },
  });
  const { recovered } = await buffer.start();
  if (recovered > 0) options.log(`account events: delivered ${recovered} events a previous run had accepted but not written`);
  return { target: buffer, recovered, stop: () => buffer.stop() };
}
