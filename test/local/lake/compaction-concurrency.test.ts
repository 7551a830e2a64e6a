import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CompactionBusyError, LocalLake } from '../../../local/lake/local-lake';
import { generateUsageDataset, writePriceList, writeRawObjects } from '../../support/usage-dataset';

describe('compaction across processes and readers', () => {
  let dataDir: string;
  const dataset = generateUsageDataset(new Date('2026-11-23T12:00:00Z'), 400);
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'lake-lock-'));
    writeRawObjects(dataDir, [...dataset.firstBatch, ...dataset.secondBatch]);
  });
  afterEach(() => { rmSync(dataDir, { recursive: true, force: true }); });

  it('two lakes compacting the same folder at once write each event once (the second waits for the lock)', async () => {
    const [a, b] = [await LocalLake.open(dataDir), await LocalLake.open(dataDir)];
    try {
      const [ra, rb] = await Promise.all([a.compact(new Date(), { waitForLockMs: 30_000 }), b.compact(new Date(), { waitForLockMs: 30_000 })]);
      expect(ra.rows + rb.rows).toBeGreaterThan(0);
      expect(Math.min(ra.files, rb.files)).toBe(0); // the second found nothing new
      await a.refreshCatalogue();
      const [{ n, ids }] = (await a.query('SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM usage_events')).rows;
      expect(n).toBe(ids);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('refuses at once when asked not to wait, naming the holder', async () => {
    const [a, b] = [await LocalLake.open(dataDir), await LocalLake.open(dataDir)];
    try {
      const first = a.compact();
      await new Promise((resolve) => setTimeout(resolve, 20));
      await expect(b.compact()).rejects.toBeInstanceOf(CompactionBusyError);
      await expect(b.compact()).rejects.toThrow(`pid ${process.pid}`);
      await first;
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('takes over the lock of a process that died while compacting', async () => {
    mkdirSync(path.join(dataDir, 'state'), { recursive: true });
    writeFileSync(path.join(dataDir, 'state', 'compaction.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, since: '2026-01-01T00:00:00Z' }));
    const lake = await LocalLake.open(dataDir);
    try {
      expect((await lake.compact()).rows).toBeGreaterThan(0);
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
      writeFileSync(path.join(dataDir, 'reference', 'operation_prices', 'more.csv'), `operation,unit_price,currency\n${dataset.prices.map((p) => `${p.operation},${p.unitPrice},${p.currency}`).join('\n')}\n`);
      await lake.refreshCatalogue();
      expect(await lake.runNamedQuery('billing_by_tenant', { month: '2026-11' })).toEqual(once);
    } finally {
      await lake.close();
    }
  });
});
