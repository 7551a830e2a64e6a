import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { STATEMENT_PARTITION_KEY, STATEMENT_TABLES, StatementColumn, StatementTable } from '../../contracts/billing-statements';

/**
 * The DuckDB twins of the Glue tables under `statements/`: one view per table, of the same name
 * and columns, with `month` from the folder names as the partition projection gives it in Athena.
 */

const DUCKDB_TYPES: Record<StatementColumn['type'], string> = { string: 'VARCHAR', bigint: 'BIGINT', double: 'DOUBLE' };

const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** The view over a statement table's files (an empty relation of the same columns when there are none). */
export function statementViewSql(table: StatementTable, files: readonly string[]): string {
  const columns = table.columns.map((c) => c.name).join(', ');
  if (files.length === 0) {
    const nulls = [...table.columns.map((c) => `CAST(NULL AS ${DUCKDB_TYPES[c.type]}) AS ${c.name}`), `CAST(NULL AS VARCHAR) AS ${STATEMENT_PARTITION_KEY}`];
    return `CREATE OR REPLACE VIEW ${table.table} AS SELECT ${nulls.join(', ')} WHERE false`;
  }
  const list = `[${files.map(quote).join(', ')}]`;
  const hive = `hive_partitioning = true, hive_types = {'${STATEMENT_PARTITION_KEY}': VARCHAR}`;
  const relation =
    table.format === 'json'
      ? `read_json(${list}, format = 'newline_delimited', columns = {${table.columns.map((c) => `${c.name}: '${DUCKDB_TYPES[c.type]}'`).join(', ')}}, ${hive})`
      : `read_parquet(${list}, ${hive}, union_by_name = true)`;
  return `CREATE OR REPLACE VIEW ${table.table} AS SELECT ${columns}, ${STATEMENT_PARTITION_KEY} FROM ${relation}`;
}

/** The views of every statement table over a data folder, as its files are now. */
export async function statementViews(dataDir: string): Promise<string[]> {
  const views: string[] = [];
  for (const table of Object.values(STATEMENT_TABLES)) {
    views.push(statementViewSql(table, await tableFiles(path.join(dataDir, table.prefix), `.${table.format}`)));
  }
  return views;
}

/** Data files under a table folder; names starting with `.` (files being written) are not the table's. */
async function tableFiles(dir: string, suffix: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith(suffix) && !e.name.startsWith('.'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}
