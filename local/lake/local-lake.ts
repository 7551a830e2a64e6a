import { randomUUID } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DuckDBConnection, DuckDBInstance, DuckDBTypeId } from '@duckdb/node-api';
import { CATALOG, LAKE_PREFIXES, PRICE_LIST, curationErrorsPartitionPrefix } from '../../contracts/lake-layout';
import { NamedQuery, QUERIES_DIR, loadNamedQueries, positionalValues, validateQueryParameters } from '../../contracts/named-queries';
import { CurationSpec, curationSpec } from '../../contracts/curation-spec';
import { curatedColumnList, curationErrorsView, curationSelect, duckdbType, emptyCuratedRelation, parsedRelation, partitionProjection, sqlString } from './curation-sql';
import { TRINO_COMPAT_MACROS } from './trino-compat';
import { statementViews } from './statement-views';
import { StatusCheck } from '../status-check';

/** What one compaction run did. */
export interface CompactionResult {
  readonly runId: string;
  /** Raw objects read (new since the last run). */
  readonly files: number;
  readonly lines: number;
  /** Rows written to curated/. */
  readonly rows: number;
  /** Copies dropped: the same eventId within the run or already curated. */
  readonly duplicates: number;
  /** Lines written to errors/glue/ with their reason. */
  readonly malformed: number;
  readonly partitions: readonly string[];
  readonly seconds: number;
}

/** A query's answer: column names in order, and rows as plain JSON values. */
export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, unknown>[];
}

const BOOKMARK_FILE = 'compaction-bookmark.json';
const LAST_RUN_FILE = 'last-compaction.json';

/**
 * The lake on one machine: the data folder holds the same objects the S3 bucket would (`raw/`,
 * `curated/`, `errors/`, `reference/`), DuckDB does the Glue job's and Athena's work. Compaction
 * is the Glue job's twin; `refreshCatalogue` the crawler's; named queries run unchanged through a
 * few Trino-compatibility macros.
 */
export class LocalLake {
  private chain: Promise<unknown> = Promise.resolve();

  private constructor(
    public readonly dataDir: string,
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly queries: readonly NamedQuery[],
    private readonly curation: CurationSpec,
  ) {}

  /**
   * Opens the lake in a data folder (created if needed), with the catalogue registered.
   * `lateEventWindowDays` is how far before its envelope's time an event may have happened and
   * still be curated (default 35, as the stack's `lateEventWindowDays`).
   */
  static async open(dataDir: string, options: { queriesDir?: string; threads?: number; lateEventWindowDays?: number } = {}): Promise<LocalLake> {
    const curation = curationSpec({ lateEventWindowDays: options.lateEventWindowDays });
    const root = path.resolve(dataDir);
    for (const prefix of [LAKE_PREFIXES.raw, LAKE_PREFIXES.curated, LAKE_PREFIXES.glueErrors, PRICE_LIST.prefix, 'state/']) {
      await fs.mkdir(path.join(root, prefix), { recursive: true });
    }
    const instance = await DuckDBInstance.create(':memory:', {
      threads: String(options.threads ?? 2),
      // Row order means nothing in a lake; not keeping it lets scans and writes run in parallel.
      preserve_insertion_order: 'false',
    });
    const connection = await instance.connect();
    await connection.run(`SET TimeZone = 'UTC'`);
    for (const macro of TRINO_COMPAT_MACROS) await connection.run(macro);
    const lake = new LocalLake(root, instance, connection, loadNamedQueries(options.queriesDir ?? QUERIES_DIR), curation);
    await lake.refreshCatalogue();
    return lake;
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
    return this.serial(() => this.registerCatalogue());
  }

  private async registerCatalogue(): Promise<void> {
    const curated = path.join(this.dataDir, LAKE_PREFIXES.curated);
    const hasParquet = (await listFiles(curated, '.parquet')).length > 0;
    const relation = hasParquet
      ? `SELECT ${curatedColumnList()} FROM read_parquet(${sqlString(path.join(curated, '**', '*.parquet'))}, hive_partitioning = true, hive_types = {'year': VARCHAR, 'month': VARCHAR, 'day': VARCHAR}, union_by_name = true)`
      : emptyCuratedRelation();
    await this.connection.run(`CREATE OR REPLACE VIEW ${CATALOG.table} AS ${relation}`);
    const prices = await listFiles(path.join(this.dataDir, PRICE_LIST.prefix), '.csv');
    const priceRelation =
      prices.length > 0
        ? `SELECT * FROM read_csv([${prices.map(sqlString).join(', ')}], header = true, columns = {${PRICE_LIST.columns.map((c) => `${sqlString(c.name)}: '${duckdbType(c)}'`).join(', ')}})`
        : `SELECT ${PRICE_LIST.columns.map((c) => `CAST(NULL AS ${duckdbType(c)}) AS ${c.name}`).join(', ')} WHERE false`;
    await this.connection.run(`CREATE OR REPLACE VIEW ${PRICE_LIST.table} AS ${priceRelation}`);
    // The Glue table over errors/glue/: what the curation refused, and why.
    await this.connection.run(curationErrorsView(await listFiles(path.join(this.dataDir, LAKE_PREFIXES.glueErrors), '.json.gz')));
    // The Glue tables over statements/ (closed months' billing statements).
    for (const view of await statementViews(this.dataDir)) await this.connection.run(view);
    for (const view of this.queries.filter((q) => q.isView)) await this.connection.run(view.sql);
  }

  /**
   * The Glue job's twin: curates the raw objects not yet processed (the bookmark), drops
   * duplicate eventIds within the run and against the curated days it touches, writes Snappy
   * Parquet partitioned by event time, and malformed lines with their reason to `errors/glue/`.
   * Running it again with no new raw objects changes nothing.
   */
  public compact(now: Date = new Date(), options: { waitForLockMs?: number } = {}): Promise<CompactionResult> {
    return this.serial(async () => {
      // One compaction at a time per data folder, across processes (`npm start`'s timer and
      // `usage-tracker etl --local`): two at once would both write the same new rows.
      const release = await acquireLock(path.join(this.dataDir, 'state', 'compaction.lock'), options.waitForLockMs ?? 0);
      try {
        return await this.compactLocked(now);
      } finally {
        await release();
      }
    });
  }

  private async compactLocked(now: Date): Promise<CompactionResult> {
    const started = Date.now();
    const runId = `${now.toISOString().replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`;
    const bookmark = await this.readBookmark();
    const rawDir = path.join(this.dataDir, LAKE_PREFIXES.raw);
    const files = (await listFiles(rawDir, '.gz')).filter((file) => !bookmark.has(path.relative(this.dataDir, file))).sort();
    if (files.length === 0) return { runId, files: 0, lines: 0, rows: 0, duplicates: 0, malformed: 0, partitions: [], seconds: 0 };

    const c = this.connection;
    // Each line is parsed on its own, so a line that is not JSON is refused alone and errors/
    // keeps its raw text; the curation spec decides every other refusal, as in the Glue job.
    await c.run(`CREATE OR REPLACE TEMP TABLE compaction_staged AS SELECT *, ${partitionProjection()} FROM (${curationSelect(parsedRelation(files, this.curation), this.curation)})`);
    const counts = (await this.rows(`SELECT count(*) AS lines, count(reason) AS malformed FROM compaction_staged`))[0];
    const valid = Number(counts.lines) - Number(counts.malformed);
    const partitions = (await this.rows(`SELECT DISTINCT year, month, day FROM compaction_staged WHERE reason IS NULL ORDER BY 1, 2, 3`)).map((r) => `${r.year}-${r.month}-${r.day}`);

    // Copies to drop, as row ids: every copy of an id repeated within the run but the first
    // received. Most ids occur once, so only the repeated ones are ranked.
    await c.run(`
      CREATE OR REPLACE TEMP TABLE compaction_dropped AS
      SELECT row_id FROM (
        SELECT rowid AS row_id, row_number() OVER (PARTITION BY event_id ORDER BY received_at, source) AS copy
        FROM compaction_staged
        WHERE reason IS NULL AND event_id IN (SELECT event_id FROM compaction_staged WHERE reason IS NULL GROUP BY event_id HAVING count(*) > 1)
      ) WHERE copy > 1`);
    const dropsWithinRun = Number((await this.rows(`SELECT count(*) AS n FROM compaction_dropped`))[0].n);

    // Event ids already curated on the days this run touches (copies share occurred_at, so a day).
    const curatedDir = path.join(this.dataDir, LAKE_PREFIXES.curated);
    const existing: string[] = [];
    for (const day of partitions) {
      const [year, month, dd] = day.split('-');
      existing.push(...(await listFiles(path.join(curatedDir, `year=${year}`, `month=${month}`, `day=${dd}`), '.parquet')));
    }
    const conditions = ['reason IS NULL'];
    if (dropsWithinRun > 0) conditions.push('rowid NOT IN (SELECT row_id FROM compaction_dropped)');
    if (existing.length > 0) {
      await c.run(
        `CREATE OR REPLACE TEMP TABLE compaction_existing AS SELECT DISTINCT event_id FROM read_parquet([${existing.map(sqlString).join(', ')}]) WHERE event_id IN (SELECT event_id FROM compaction_staged)`,
      );
      if (Number((await this.rows(`SELECT count(*) AS n FROM compaction_existing`))[0].n) > 0) conditions.push('event_id NOT IN (SELECT event_id FROM compaction_existing)');
    }
    let rows = 0;
    // Files are written aside and renamed into place, so a reader (a query in another process)
    // never opens half a Parquet file; a crash leaves only the staging folder, cleared next run.
    const stagingDir = path.join(this.dataDir, 'state', 'compaction-staging');
    await fs.rm(stagingDir, { recursive: true, force: true });
    await fs.mkdir(stagingDir, { recursive: true });
    if (valid > 0) {
      const copied = await c.runAndReadAll(
        `COPY (SELECT ${curatedColumnList()} FROM compaction_staged WHERE ${conditions.join(' AND ')}) TO ${sqlString(path.join(stagingDir, 'curated'))} (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (year, month, day), FILENAME_PATTERN 'part-{uuid}')`,
      );
      rows = Number(copied.getRows()[0]?.[0] ?? 0);
      await moveTree(path.join(stagingDir, 'curated'), curatedDir);
    }
    if (Number(counts.malformed) > 0) {
      // The run day's partition of the rejects table, shared by that day's runs (as the Glue job's).
      const errorsDir = path.join(this.dataDir, curationErrorsPartitionPrefix(now));
      await fs.mkdir(errorsDir, { recursive: true });
      const staged = path.join(stagingDir, 'errors.json.gz');
      await c.run(`COPY (SELECT reason, error_line AS line, raw_object FROM compaction_staged WHERE reason IS NOT NULL) TO ${sqlString(staged)} (FORMAT json, COMPRESSION gzip)`);
      await fs.rename(staged, path.join(errorsDir, `errors-${runId}.json.gz`));
    }
    await fs.rm(stagingDir, { recursive: true, force: true });
    await this.writeBookmark(new Set([...bookmark, ...files.map((file) => path.relative(this.dataDir, file))]));
    const result: CompactionResult = {
      runId,
      files: files.length,
      lines: Number(counts.lines),
      rows,
      duplicates: valid - rows,
      malformed: Number(counts.malformed),
      partitions,
      seconds: (Date.now() - started) / 1000,
    };
    await writeJsonAtomically(path.join(this.dataDir, 'state', LAST_RUN_FILE), { ...result, finishedAt: new Date().toISOString() });
    await c.run('DROP TABLE IF EXISTS compaction_existing; DROP TABLE compaction_dropped; DROP TABLE compaction_staged');
    await this.registerCatalogue();
    return result;
  }

  /** Runs SQL (with `?` parameters) and returns plain JSON values. */
  public query(sql: string, parameters: readonly string[] = []): Promise<QueryResult> {
    return this.serial(async () => {
      const reader = await this.connection.runAndReadAll(sql, parameters.length > 0 ? [...parameters] : undefined);
      const columns = reader.columnNames();
      const maps = new Set(reader.columnTypes().flatMap((type, i) => (type.typeId === DuckDBTypeId.MAP ? [columns[i]] : [])));
      const value = (name: string, v: unknown) => (maps.has(name) && Array.isArray(v) ? Object.fromEntries(v.map((e: { key: unknown; value: unknown }) => [String(e.key), plain(e.value)])) : plain(v));
      return { columns, rows: reader.getRowObjectsJS().map((row) => Object.fromEntries(columns.map((name) => [name, value(name, row[name])]))) };
    });
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

  public async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    this.connection.closeSync();
    this.instance.closeSync();
  }

  private async rows(sql: string): Promise<Record<string, unknown>[]> {
    const reader = await this.connection.runAndReadAll(sql);
    return reader.getRowObjectsJS().map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, plain(v)])));
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task, task);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async readBookmark(): Promise<Set<string>> {
    try {
      return new Set((JSON.parse(await fs.readFile(path.join(this.dataDir, 'state', BOOKMARK_FILE), 'utf8')) as { processed: string[] }).processed);
    } catch {
      return new Set();
    }
  }

  private async writeBookmark(processed: Set<string>): Promise<void> {
    await writeJsonAtomically(path.join(this.dataDir, 'state', BOOKMARK_FILE), { processed: [...processed].sort() });
  }

  /** The lake's state for `usage-tracker status --local`: work pending, rows curated, lines rejected, the last run. */
  public status(): Promise<StatusCheck[]> {
    return this.serial(async () => {
      const bookmark = await this.readBookmark();
      const pending = (await listFiles(path.join(this.dataDir, LAKE_PREFIXES.raw), '.gz')).filter((f) => !bookmark.has(path.relative(this.dataDir, f)));
      const [curated] = await this.rows(`SELECT count(*) AS n, count(DISTINCT year || month || day) AS days, max(occurred_at) AS latest FROM ${CATALOG.table}`);
      const errorFiles = await listFiles(path.join(this.dataDir, LAKE_PREFIXES.glueErrors), '.json.gz');
      const rejected = errorFiles.length > 0 ? Number((await this.rows(`SELECT count(*) AS n FROM read_json([${errorFiles.map(sqlString).join(', ')}])`))[0].n) : 0;
      let last: (CompactionResult & { finishedAt: string }) | undefined;
      try {
        last = JSON.parse(await fs.readFile(path.join(this.dataDir, 'state', LAST_RUN_FILE), 'utf8'));
      } catch {
        last = undefined;
      }
      return [
        { component: 'raw/', state: `${pending.length} pending`, healthy: true, detail: pending.length === 0 ? 'every raw object is curated' : `${pending.length} raw objects await the next ETL run` },
        { component: LAKE_PREFIXES.curated, state: `${curated.n} rows`, healthy: true, detail: curated.latest ? `${curated.days} days, latest event ${curated.latest}` : 'empty' },
        { component: LAKE_PREFIXES.glueErrors, state: `${rejected} rejected`, healthy: true, detail: rejected === 0 ? 'no malformed lines' : 'malformed lines with their reason' },
        {
          component: 'last ETL run',
          state: last ? last.finishedAt : 'never',
          healthy: true,
          detail: last ? `${last.files} objects, ${last.rows} rows, ${last.duplicates} duplicates, ${last.malformed} malformed, ${last.seconds.toFixed(1)} s` : 'run usage-tracker etl --local',
        },
      ];
    });
  }
}

/** Thrown when another process is compacting the same data folder. */
export class CompactionBusyError extends Error {
  constructor(holder: string) {
    super(`Another ETL run is compacting this data folder (${holder}); try again when it is done.`);
    this.name = 'CompactionBusyError';
  }
}

/**
 * An exclusive lock file (created with O_EXCL) holding the owner's pid. A lock whose process is
 * gone (a crash) is taken over. Waits up to `waitMs` for a live holder.
 */
async function acquireLock(file: string, waitMs: number): Promise<() => Promise<void>> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await fs.writeFile(file, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }), { flag: 'wx', mode: 0o600 });
      return () => fs.unlink(file).catch(() => undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder: { pid?: number; since?: string } = {};
    try {
      holder = JSON.parse(await fs.readFile(file, 'utf8')) as typeof holder;
    } catch {
      // Being written or removed right now: look again.
    }
    if (holder.pid !== undefined && !processAlive(holder.pid)) {
      await fs.unlink(file).catch(() => undefined);
      continue;
    }
    if (Date.now() >= deadline) throw new CompactionBusyError(holder.pid ? `pid ${holder.pid}, since ${holder.since}` : 'starting');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Moves every file under `from` to the same relative place under `to` (renames: atomic per file). */
async function moveTree(from: string, to: string): Promise<void> {
  for (const file of await listFiles(from, '')) {
    const target = path.join(to, path.relative(from, file));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.rename(file, target);
  }
}

/** Writes JSON through a temporary file and a rename, so a reader never sees half of it. */
async function writeJsonAtomically(file: string, value: unknown): Promise<void> {
  await fs.writeFile(`${file}.tmp`, JSON.stringify(value));
  await fs.rename(`${file}.tmp`, file);
}

/** Files under a folder (recursively) with a suffix. */
export async function listFiles(dir: string, suffix: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(suffix)).map((e) => path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

/** DuckDB JS values as plain JSON: safe bigints as numbers, timestamps as ISO strings. */
export function plain(value: unknown): unknown {
  if (typeof value === 'bigint') return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/**
 * The Glue job's twin as one call: curates a data folder's new raw objects into Parquet (see
 * {@link LocalLake.compact}) and closes the lake again.
 */
export async function compactRawToParquet(dataDir: string, now?: Date, options: { waitForLockMs?: number } = {}): Promise<CompactionResult> {
  const lake = await LocalLake.open(dataDir);
  try {
    return await lake.compact(now, options);
  } finally {
    await lake.close();
  }
}
