import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { LAKE_PREFIXES, PRICE_LIST } from '../../contracts/lake-layout';
import { NamedQuery, QUERIES_DIR, loadNamedQueries, positionalValues, validateQueryParameters } from '../../contracts/named-queries';
import { CurationSpec, curationSpec } from '../../contracts/curation-spec';
import { DataDirLayout, dataDirLayout } from '../data-dir';
import { StatusCheck } from '../status-check';
import { CompactionResult } from './compaction-state';
import { compactionStatus } from './compaction-status';
import { CompactionBusyError, compactLocked } from './compactor';
import { acquireFileLock } from './file-lock';
import { LakeQueryEngine, QueryResult } from './query-engine';

export type { CompactionResult } from './compaction-state';
export { CompactionBusyError } from './compactor';
export { listFiles } from './lake-files';
export type { QueryResult } from './query-engine';

/** How a lake is opened. */
export interface LocalLakeOptions {
  /** Where the named queries' `.sql` files are (default `queries/`). */
  readonly queriesDir?: string;
  /** DuckDB's threads (default 2). */
  readonly threads?: number;
  /**
   * How far before its envelope's time an event may have happened and still be curated (default
   * 35, as the stack's `lateEventWindowDays`).
   */
  readonly lateEventWindowDays?: number;
}

/**
 * The lake on one machine: the data folder holds the same objects the S3 bucket would (`raw/`,
 * `curated/`, `errors/`, `reference/`), DuckDB does the Glue job's and Athena's work. Compaction
 * is the Glue job's twin; `refreshCatalogue` the crawler's; named queries run unchanged through a
 * few Trino-compatibility macros.
 */
export class LocalLake {
  private readonly layout: DataDirLayout;

  private constructor(
    public readonly dataDir: string,
    private readonly engine: LakeQueryEngine,
    private readonly queries: readonly NamedQuery[],
    private readonly curation: CurationSpec,
  ) {
    this.layout = dataDirLayout(dataDir);
  }

  /** Opens the lake in a data folder (created if needed), with the catalogue registered. */
  static async open(dataDir: string, options: LocalLakeOptions = {}): Promise<LocalLake> {
    const curation = curationSpec({ lateEventWindowDays: options.lateEventWindowDays });
    const root = path.resolve(dataDir);
    for (const prefix of [LAKE_PREFIXES.raw, LAKE_PREFIXES.curated, LAKE_PREFIXES.glueErrors, PRICE_LIST.prefix]) {
      await fs.mkdir(path.join(root, prefix), { recursive: true });
    }
    await fs.mkdir(dataDirLayout(root).state, { recursive: true });
    const queries = loadNamedQueries(options.queriesDir ?? QUERIES_DIR);
    const engine = await LakeQueryEngine.open(root, queries, options.threads ?? 2);
    return new LocalLake(root, engine, queries, curation);
  }

  /** The named queries this lake can run. */
  public get namedQueries(): readonly NamedQuery[] {
    return this.queries;
  }

  /**
   * The crawler's twin: `usage_events` over the curated Parquet (hive partitions as strings, as
   * the crawler infers them), `operation_prices` over the price list, and the view queries.
   */
  public refreshCatalogue(): Promise<void> {
    return this.engine.refreshCatalogue();
  }

  /**
   * The Glue job's twin (see `compactor.ts`): curates the raw objects not yet processed. Running
   * it again with no new raw objects changes nothing.
   */
  public compact(now: Date = new Date(), options: { waitForLockMs?: number } = {}): Promise<CompactionResult> {
    return this.engine.exclusive(async (session) => {
      // One compaction at a time per data folder, across processes (`npm start`'s timer and
      // `usage-tracker etl --local`): two at once would both write the same new rows.
      const release = await acquireFileLock(this.layout.compactionLock, options.waitForLockMs ?? 0, (holder) => new CompactionBusyError(holder));
      try {
        return await compactLocked(session, { layout: this.layout, curation: this.curation }, now);
      } finally {
        await release();
      }
    });
  }

  /** Runs SQL (with `?` parameters) and returns plain JSON values. */
  public query(sql: string, parameters: readonly string[] = []): Promise<QueryResult> {
    return this.engine.query(sql, parameters);
  }

  /**
   * Runs a named query by name with its parameters by name, as the CLI and the dashboard do. The
   * values are checked against the query's typed parameters before DuckDB sees them
   * (a `QueryParameterError`), then bound as strings, as Athena's execution parameters are.
   */
  public async runNamedQuery(name: string, parameters: Readonly<Record<string, string>> = {}): Promise<QueryResult> {
    const query = this.queries.find((q) => q.name === name);
    if (!query) throw new Error(`No named query "${name}". Known: ${this.queries.map((q) => q.name).join(', ')}.`);
    const values = validateQueryParameters(query, Object.entries(parameters));
    return this.query(query.sql, positionalValues(query, values));
  }

  /** The lake's state for `usage-tracker status --local`: work pending, rows curated, lines rejected, the last run. */
  public status(): Promise<StatusCheck[]> {
    return this.engine.exclusive((session) => compactionStatus(session, this.layout));
  }

  public async close(): Promise<void> {
    await this.engine.close();
  }
}
