import {
  AthenaClient,
  ColumnInfo,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  QueryExecution,
  QueryExecutionState,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { abortableSleep } from './abortable-sleep';
import type { QueryResult } from '../lake/local-lake';

/** Where a running Athena query stands, for progress output. */
export interface AthenaProgress {
  readonly queryExecutionId: string;
  readonly state: string;
  readonly elapsedMs: number;
  readonly bytesScanned: number;
}

export interface AthenaQueryOptions {
  readonly sql: string;
  /** Positional parameters, as plain values: each is passed to Athena as a quoted SQL string literal. */
  readonly parameters?: readonly string[];
  readonly workGroup: string;
  readonly database: string;
  readonly catalog?: string;
  /** First wait between polls; it grows by half each time up to `maxPollIntervalMs`. */
  readonly pollIntervalMs?: number;
  readonly maxPollIntervalMs?: number;
  readonly onProgress?: (progress: AthenaProgress) => void;
  /** Aborting stops the query in Athena (StopQueryExecution) and rejects with {@link AthenaQueryError}. */
  readonly signal?: AbortSignal;
  /** Waits between polls (tests pass a fake); by default a timer that Ctrl-C cuts short. */
  readonly sleep?: (ms: number) => Promise<void>;
  /**
   * Whether to read the result rows; false for a statement whose output is elsewhere (UNLOAD
   * writes its rows to its TO location): it resolves to no rows once the query succeeded.
   * @default true
   */
  readonly readResults?: boolean;
}

/** An Athena query that ended FAILED or CANCELLED (or was stopped here): Athena's reason, verbatim. */
export class AthenaQueryError extends Error {
  constructor(
    public readonly state: string,
    public readonly queryExecutionId: string,
    public readonly reason: string,
  ) {
    super(`Athena query ${queryExecutionId} ${state}: ${reason}`);
    this.name = 'AthenaQueryError';
  }
}

/**
 * A parameter as Athena execution parameters take it: a SQL literal. Every named-query parameter
 * travels as a string (months and dates are compared as text; the SQL casts the others), checked
 * against its declared type before the query starts; each is quoted, quotes doubled.
 */
export function athenaStringLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

const NUMERIC_TYPES = new Set(['tinyint', 'smallint', 'integer', 'bigint', 'double', 'float', 'real', 'decimal']);

/** An Athena text cell as a JSON value of its column's type. */
function cellValue(column: ColumnInfo, text: string | undefined): unknown {
  if (text === undefined) return null;
  const type = (column.Type ?? 'varchar').toLowerCase();
  if (NUMERIC_TYPES.has(type)) {
    const number = Number(text);
    return Number.isSafeInteger(number) || !Number.isInteger(number) ? number : text;
  }
  if (type === 'boolean') return text === 'true';
  return text;
}

/**
 * Runs one statement in Athena: starts it with execution parameters, polls with backoff while
 * reporting state, elapsed time and bytes scanned, then reads every page of results into row
 * objects named by the query's columns.
 */
export async function runAthenaQuery(client: AthenaClient, options: AthenaQueryOptions): Promise<QueryResult> {
  const parameters = options.parameters ?? [];
  const started = await client.send(
    new StartQueryExecutionCommand({
      QueryString: options.sql,
      WorkGroup: options.workGroup,
      QueryExecutionContext: { Database: options.database, Catalog: options.catalog ?? 'AwsDataCatalog' },
      ...(parameters.length > 0 ? { ExecutionParameters: parameters.map(athenaStringLiteral) } : {}),
    }),
  );
  const id = started.QueryExecutionId;
  if (!id) throw new Error('Athena did not return a query execution id.');
  const sleep = options.sleep ?? ((ms: number) => abortableSleep(ms, options.signal));
  const startedAt = Date.now();
  let interval = options.pollIntervalMs ?? 300;
  let execution: QueryExecution | undefined;
  for (;;) {
    if (options.signal?.aborted) {
      await client.send(new StopQueryExecutionCommand({ QueryExecutionId: id }));
      throw new AthenaQueryError(QueryExecutionState.CANCELLED, id, 'stopped by the user');
    }
    execution = (await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }))).QueryExecution;
    const state = execution?.Status?.State ?? 'UNKNOWN';
    options.onProgress?.({ queryExecutionId: id, state, elapsedMs: Date.now() - startedAt, bytesScanned: execution?.Statistics?.DataScannedInBytes ?? 0 });
    if (state === QueryExecutionState.SUCCEEDED) break;
    if (state === QueryExecutionState.FAILED || state === QueryExecutionState.CANCELLED) {
      const reason = execution?.Status?.AthenaError?.ErrorMessage ?? execution?.Status?.StateChangeReason ?? 'no reason given';
      throw new AthenaQueryError(state, id, reason);
    }
    await sleep(interval);
    interval = Math.min(Math.round(interval * 1.5), options.maxPollIntervalMs ?? 5000);
  }

  if (options.readResults === false) return { columns: [], rows: [] };
  // A SELECT's first result row repeats the column names; DDL and other statements have none.
  const hasHeaderRow = execution?.StatementType === 'DML';
  let columns: ColumnInfo[] | undefined;
  const rows: Record<string, unknown>[] = [];
  let nextToken: string | undefined;
  let firstPage = true;
  do {
    const page = await client.send(new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: nextToken, MaxResults: 1000 }));
    columns ??= page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
    const pageRows = page.ResultSet?.Rows ?? [];
    for (const [index, row] of pageRows.entries()) {
      if (firstPage && index === 0 && hasHeaderRow) continue;
      const data = row.Data ?? [];
      rows.push(Object.fromEntries(columns.map((column, i) => [column.Name ?? `_col${i}`, cellValue(column, data[i]?.VarCharValue)])));
    }
    firstPage = false;
    nextToken = page.NextToken;
  } while (nextToken);
  return { columns: columns.map((c, i) => c.Name ?? `_col${i}`), rows };
}
