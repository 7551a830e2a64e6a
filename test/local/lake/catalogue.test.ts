import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CATALOG, PRICE_LIST } from '../../../contracts/lake-layout';
import { LocalLake } from '../../../local/lake/local-lake';
import { generateUsageDataset, writePriceList, writeRawObjects } from '../../support/usage-dataset';

describe('the catalogue: the Glue tables as DuckDB views over the data folder', () => {
  const dataset = generateUsageDataset(new Date('2026-11-23T12:00:00Z'), 400);
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'lake-catalogue-'));
    writeRawObjects(dataDir, [...dataset.firstBatch, ...dataset.secondBatch]);
  });

  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('sees files written since it was registered only once it is refreshed', async () => {
    const lake = await LocalLake.open(dataDir);
    try {
      expect((await lake.query(`SELECT count(*) AS n FROM ${PRICE_LIST.table}`)).rows).toEqual([{ n: 0 }]);
      writePriceList(dataDir, dataset.prices);
      expect((await lake.query(`SELECT count(*) AS n FROM ${PRICE_LIST.table}`)).rows).toEqual([{ n: 0 }]);
      await lake.refreshCatalogue();
      expect((await lake.query(`SELECT count(*) AS n FROM ${PRICE_LIST.table}`)).rows).toEqual([{ n: dataset.prices.length }]);
    } finally {
      await lake.close();
    }
  });

  it('a refresh re-creates only the views whose files changed; usage_events sees new curated files without one', async () => {
    const lake = await LocalLake.open(dataDir);
    const prices = async () => (await lake.query(`SELECT count(*) AS n FROM ${PRICE_LIST.table}`)).rows;
    try {
      // A view replaced behind the catalogue's back shows whether a refresh ran its statement again.
      await lake.query(`CREATE OR REPLACE VIEW ${PRICE_LIST.table} AS SELECT 42 AS n`);
      await lake.refreshCatalogue();
      expect(await prices()).toEqual([{ n: 1 }]);
      // A compaction refreshes the catalogue: usage_events (a glob, expanded at each query) sees the rows, the price list's view is left alone.
      const { rows } = await lake.compact();
      expect(rows).toBeGreaterThan(0);
      expect((await lake.query(`SELECT count(*) AS n FROM ${CATALOG.table}`)).rows).toEqual([{ n: rows }]);
      expect(await prices()).toEqual([{ n: 1 }]);
      writePriceList(dataDir, dataset.prices);
      await lake.refreshCatalogue();
      expect(await prices()).toEqual([{ n: dataset.prices.length }]);
    } finally {
      await lake.close();
    }
  });

  it('bills an operation once even when the price list names it twice', async () => {
    const lake = await LocalLake.open(dataDir);
    try {
      await lake.compact();
      writePriceList(dataDir, dataset.prices);
      await lake.refreshCatalogue();
      const once = await lake.runNamedQuery('billing_by_tenant', { month: '2026-11' });
      expect(once.rows.length).toBeGreaterThan(0);
      const again = `${PRICE_LIST.columns.map((c) => c.name).join(',')}\n${dataset.prices.map((p) => `${p.operation},${p.unitPrice},${p.currency}`).join('\n')}\n`;
      writeFileSync(path.join(dataDir, PRICE_LIST.prefix, 'more.csv'), again);
      await lake.refreshCatalogue();
      expect((await lake.query(`SELECT count(*) AS n FROM ${PRICE_LIST.table}`)).rows).toEqual([{ n: 2 * dataset.prices.length }]);
      expect(await lake.runNamedQuery('billing_by_tenant', { month: '2026-11' })).toEqual(once);
    } finally {
      await lake.close();
    }
  });
});
