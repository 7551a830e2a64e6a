import * as path from 'node:path';
import { CATALOG, CURATED_PARTITION_KEYS, LAKE_PREFIXES, PRICE_LIST } from '../../contracts/lake-layout';
import { NamedQuery } from '../../contracts/named-queries';
import { accountEventsView } from './account-events';
import { curatedColumnList, curationErrorsView, duckdbType, emptyCuratedRelation, sqlString } from './curation-sql';
import { hasFileUnder, listFiles } from './lake-files';
import { statementViews } from './statement-views';

/**
 * The crawler's twin: the DuckDB views that stand for the Glue tables over a data folder, as its
 * files are now. `usage_events` reads a glob, which DuckDB expands at each query; the other
 * tables list their files, so their statements change when files were written, and registering
 * the catalogue again runs only the statements that changed (see `query-engine.ts`).
 */

/** The statements that (re)create every table of the catalogue, in the order they must run. */
export async function catalogueStatements(dataDir: string, queries: readonly NamedQuery[]): Promise<string[]> {
  return [
    await curatedTableView(dataDir),
    await priceListView(dataDir),
    // The Glue table over errors/glue/: what the curation refused, and why.
    curationErrorsView(await listFiles(path.join(dataDir, LAKE_PREFIXES.glueErrors), '.json.gz')),
    // The Glue tables over statements/ (closed months' billing statements).
    ...(await statementViews(dataDir)),
    // The Glue table over account-events/ (issue 16): account events as delivered.
    await accountEventsView(dataDir),
    ...queries.filter((q) => q.isView).map((view) => view.sql),
  ];
}

/** `usage_events` over the curated Parquet, with the hive partitions as strings (as the crawler infers them). */
async function curatedTableView(dataDir: string): Promise<string> {
  const curated = path.join(dataDir, LAKE_PREFIXES.curated);
  const hasParquet = await hasFileUnder(curated, '.parquet');
  const hiveTypes = CURATED_PARTITION_KEYS.map((key) => `'${key}': VARCHAR`).join(', ');
  const relation = hasParquet
    ? `SELECT ${curatedColumnList()} FROM read_parquet(${sqlString(path.join(curated, '**', '*.parquet'))}, hive_partitioning = true, hive_types = {${hiveTypes}}, union_by_name = true)`
    : emptyCuratedRelation();
  return `CREATE OR REPLACE VIEW ${CATALOG.table} AS ${relation}`;
}

/** `operation_prices` over the price list's CSV files (an empty relation of its columns when there are none). */
async function priceListView(dataDir: string): Promise<string> {
  const prices = await listFiles(path.join(dataDir, PRICE_LIST.prefix), '.csv');
  const columns = PRICE_LIST.columns.map((c) => `${sqlString(c.name)}: '${duckdbType(c)}'`).join(', ');
  const relation =
    prices.length > 0
      ? `SELECT * FROM read_csv([${prices.map(sqlString).join(', ')}], header = true, columns = {${columns}})`
      : `SELECT ${PRICE_LIST.columns.map((c) => `CAST(NULL AS ${duckdbType(c)}) AS ${c.name}`).join(', ')} WHERE false`;
  return `CREATE OR REPLACE VIEW ${PRICE_LIST.table} AS ${relation}`;
}
