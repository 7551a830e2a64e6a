import { DuckDBConnection, DuckDBInstance, DuckDBResultReader, DuckDBTypeId } from '@duckdb/node-api';
import { NamedQuery } from '../../contracts/named-queries';
import { catalogueStatements } from './catalogue';
import { TRINO_COMPAT_MACROS } from './trino-compat';

/**
 * Athena's twin on one machine: one in-memory DuckDB over a data folder's files, with the
 * Trino-compatibility macros and the catalogue's views. Work runs one task at a time, in the order
 * it was asked for.
 */

/** A query's answer: column names in order, and rows as plain JSON values. */
export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, unknown>[];
}

/** SQL for a task that holds the engine (see {@link LakeQueryEngine.exclusive}): nothing else runs meanwhile. */
export interface LakeSession {
  /** Runs statements, answers nothing. */
  run(sql: string): Promise<void>;
  /** Runs SQL and returns its rows as plain JSON values. */
  rows(sql: string): Promise<readonly Record<string, unknown>[]>;
  /** The first value of the first row (as DuckDB gives it), or `undefined` when there is no row. */
  firstValue(sql: string): Promise<unknown>;
  /** The threads DuckDB runs a query on. */
  readonly threads: number;
  /** Registers the catalogue again over the data folder's files as they are now. */
  registerCatalogue(): Promise<void>;
}

export class LakeQueryEngine {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly session: LakeSession;
  /** The catalogue statements run last, by position: one that has not changed since is not run again. */
  private readonly registered: string[] = [];

  private constructor(
    private readonly dataDir: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly queries: readonly NamedQuery[],
    threads: number,
  ) {
    this.session = {
      threads,
      run: async (sql) => {
        await this.connection.run(sql);
      },
      rows: async (sql) => plainRows(await this.connection.runAndReadAll(sql)).rows,
      firstValue: async (sql) => (await this.connection.runAndReadAll(sql)).getRows().at(0)?.[0],
      registerCatalogue: () => this.registerCatalogue(),
    };
  }

  /** Starts DuckDB (UTC, the Trino macros) over a data folder and registers its catalogue. */
  static async open(dataDir: string, queries: readonly NamedQuery[], threads: number): Promise<LakeQueryEngine> {
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(threads),
      // Row order means nothing in a lake; not keeping it lets scans and writes run in parallel.
      preserve_insertion_order: 'false',
    });
    const connection = await instance.connect();
    await connection.run(`SET TimeZone = 'UTC'`);
    for (const macro of TRINO_COMPAT_MACROS) await connection.run(macro);
    const engine = new LakeQueryEngine(dataDir, instance, connection, queries, threads);
    await engine.refreshCatalogue();
    return engine;
  }

  /** Runs a task alone on the engine, after every task asked for before it (failed or not). */
  public exclusive<T>(task: (session: LakeSession) => Promise<T>): Promise<T> {
    const run = this.chain.then(
      () => task(this.session),
      () => task(this.session),
    );
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The crawler's twin: the catalogue's views over the files as they are now. */
  public refreshCatalogue(): Promise<void> {
    return this.exclusive((session) => session.registerCatalogue());
  }

  /** Runs SQL (with `?` parameters) and returns plain JSON values. */
  public query(sql: string, parameters: readonly string[] = []): Promise<QueryResult> {
    return this.exclusive(async () => plainRows(await this.connection.runAndReadAll(sql, parameters.length > 0 ? [...parameters] : undefined)));
  }

  /** Closes DuckDB once the tasks asked for have run. */
  public async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    this.connection.closeSync();
    this.instance.closeSync();
  }

  /**
   * Runs the catalogue statements that differ from those run last. A view re-binds its SQL at
   * each query, so `usage_events` (a glob over curated/) sees new files without being created
   * again, and a view over another view needs no new statement when that one changes; a view
   * that lists its files changes its statement when they change.
   */
  private async registerCatalogue(): Promise<void> {
    const statements = await catalogueStatements(this.dataDir, this.queries);
    for (const [position, statement] of statements.entries()) {
      if (this.registered[position] === statement) continue;
      await this.connection.run(statement);
      this.registered[position] = statement;
    }
  }
}

/** A result's rows as plain JSON values; a MAP column's value as an object. */
function plainRows(reader: DuckDBResultReader): QueryResult {
  const columns = reader.columnNames();
  const maps = new Set(reader.columnTypes().flatMap((type, i) => (type.typeId === DuckDBTypeId.MAP ? [columns[i]] : [])));
  const value = (name: string, v: unknown) => (maps.has(name) && Array.isArray(v) ? plainMap(v as readonly MapEntry[]) : plain(v));
  return { columns, rows: reader.getRowObjectsJS().map((row) => Object.fromEntries(columns.map((name) => [name, value(name, row[name])]))) };
}

/** One entry of a DuckDB MAP as the JS conversion gives it. */
interface MapEntry {
  readonly key: unknown;
  readonly value: unknown;
}

function plainMap(entries: readonly MapEntry[]): Record<string, unknown> {
  return Object.fromEntries(entries.map((e) => [String(e.key), plain(e.value)]));
}

/** DuckDB JS values as plain JSON: safe bigints as numbers, timestamps as ISO strings. */
function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}
