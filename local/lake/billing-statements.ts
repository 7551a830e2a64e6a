import { randomUUID } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { BillingLedger, BillingRow, BillingSqlEngine, StatementObjects } from '../billing/month-closing';
import { BillingError } from '../billing/statements';
import { dataDirLayout } from '../data-dir';
import { sqlString } from './curation-sql';
import { LocalLake } from './local-lake';

/**
 * Closing months on one machine: statements are files under the data folder's `statements/`,
 * DuckDB runs the closing's SQL. The S3 guarantees have local twins: an object is created with a
 * hard link, which fails when the name exists (S3's `If-None-Match: *`), so a file is never
 * replaced and a reader never sees half of one; files are left read-only.
 */

/** `statements/` objects as files of a data folder. */
export class LocalStatementObjects implements StatementObjects {
  constructor(private readonly dataDir: string) {}

  public async get(key: string): Promise<string | undefined> {
    try {
      return await fs.readFile(this.file(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  public async putIfAbsent(key: string, body: string): Promise<boolean> {
    const file = this.file(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    // Written aside in full, then linked into place: link() refuses an existing name, atomically.
    const staged = path.join(path.dirname(file), `.${path.basename(file)}.${randomUUID()}.tmp`);
    await fs.writeFile(staged, body, { flag: 'wx', mode: 0o444 });
    try {
      await fs.link(staged, file);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    } finally {
      await fs.unlink(staged).catch(() => undefined);
    }
  }

  public async list(prefix: string): Promise<string[]> {
    const dir = this.file(prefix);
    if (!existsSync(dir)) return [];
    const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
    return entries
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map((e) => path.relative(this.dataDir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
      .sort();
  }

  private file(key: string): string {
    const file = path.resolve(this.dataDir, key);
    if (!file.startsWith(`${path.resolve(this.dataDir)}${path.sep}`)) throw new BillingError(`"${key}" is outside the data folder.`);
    return file;
  }
}

/**
 * The closing's SQL on the local lake's DuckDB, through the same Trino-compatibility macros as the
 * named queries. The views list their files when registered, so each statement registers them
 * again first: a closing record or statement written since (by this process or another) counts,
 * as an object written to S3 does for the next Athena query.
 */
export class DuckDbBillingEngine implements BillingSqlEngine {
  constructor(private readonly lake: LocalLake) {}

  public async select(sql: string, parameters: readonly string[]): Promise<BillingRow[]> {
    await this.lake.refreshCatalogue();
    return [...(await this.lake.query(sql, parameters)).rows];
  }

  /**
   * UNLOAD's twin: COPY to Parquet beside the data, then a rename into a folder that must be
   * empty (UNLOAD refuses a destination holding data), and the views see the new file.
   */
  public async unload(select: string, parameters: readonly string[], prefix: string): Promise<void> {
    const target = path.join(this.lake.dataDir, prefix);
    if (existsSync(target) && (await fs.readdir(target)).length > 0) throw new BillingError(`${prefix} holds data already; a closing writes into a new folder.`);
    const staging = path.join(dataDirLayout(this.lake.dataDir).billingStaging, randomUUID());
    await fs.mkdir(staging, { recursive: true });
    await this.lake.refreshCatalogue();
    try {
      const staged = path.join(staging, 'billed-events.parquet');
      await this.lake.query(`COPY (${select}) TO ${sqlString(staged)} (FORMAT parquet, COMPRESSION snappy)`, parameters);
      await fs.chmod(staged, 0o444);
      await fs.mkdir(target, { recursive: true });
      await fs.rename(staged, path.join(target, 'billed-events.parquet'));
    } finally {
      await fs.rm(staging, { recursive: true, force: true });
    }
    await this.lake.refreshCatalogue();
  }

  public async discard(prefix: string): Promise<void> {
    await fs.rm(path.join(this.lake.dataDir, prefix), { recursive: true, force: true });
    await this.lake.refreshCatalogue();
  }
}

/** Statements of a local lake: its data folder and its DuckDB. */
export function localBillingLedger(lake: LocalLake): BillingLedger {
  return { objects: new LocalStatementObjects(lake.dataDir), engine: new DuckDbBillingEngine(lake) };
}
