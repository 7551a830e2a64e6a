import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { dataDirLayout } from '../../../local/data-dir';
import { CompactionBusyError, LocalLake } from '../../../local/lake/local-lake';
import { deduplicate } from '../../support/expected-answers';
import { generateUsageDataset, writeRawObjects } from '../../support/usage-dataset';

/** Above Linux's largest pid (2^22), so no process has it. */
const GONE_PID = 2 ** 22 + 12345;

describe('compaction across processes: one run at a time per data folder', () => {
  const dataset = generateUsageDataset(new Date('2026-11-23T12:00:00Z'), 400);
  /** The events the raw objects hold, each once: what curated/ must hold after compaction. */
  const distinctEvents = deduplicate(dataset.deliveries).length;
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'lake-lock-'));
    writeRawObjects(dataDir, [...dataset.firstBatch, ...dataset.secondBatch]);
  });

  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Writes the compaction lock file as another process holding it would. */
  const holdLock = (pid: number, since: string) => {
    const { compactionLock } = dataDirLayout(dataDir);
    mkdirSync(path.dirname(compactionLock), { recursive: true });
    writeFileSync(compactionLock, JSON.stringify({ pid, since }));
  };

  it('two lakes compacting the same folder at once write each event once (the second waits for the lock, then finds nothing new)', async () => {
    const [a, b] = [await LocalLake.open(dataDir), await LocalLake.open(dataDir)];
    try {
      const [ra, rb] = await Promise.all([a.compact(new Date(), { waitForLockMs: 30_000 }), b.compact(new Date(), { waitForLockMs: 30_000 })]);
      expect(ra.rows + rb.rows).toBe(distinctEvents);
      expect(Math.min(ra.files, rb.files)).toBe(0);
      await a.refreshCatalogue();
      expect((await a.query('SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM usage_events')).rows).toEqual([{ n: distinctEvents, ids: distinctEvents }]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('refuses at once, naming the holder, while a live process holds the lock; compacts once it is gone', async () => {
    const since = '2026-11-23T12:00:00.000Z';
    holdLock(process.pid, since);
    const lake = await LocalLake.open(dataDir);
    try {
      await expect(lake.compact()).rejects.toThrow(CompactionBusyError);
      await expect(lake.compact()).rejects.toThrow(`Another ETL run is compacting this data folder (pid ${process.pid}, since ${since})`);
      rmSync(dataDirLayout(dataDir).compactionLock);
      expect((await lake.compact()).rows).toBe(distinctEvents);
    } finally {
      await lake.close();
    }
  });

  it('takes over the lock of a process that died while compacting', async () => {
    holdLock(GONE_PID, '2026-01-01T00:00:00Z');
    const lake = await LocalLake.open(dataDir);
    try {
      expect((await lake.compact()).rows).toBe(distinctEvents);
    } finally {
      await lake.close();
    }
  });

  it('gives the lock back after a run, so the next run of another lake need not wait', async () => {
    const [a, b] = [await LocalLake.open(dataDir), await LocalLake.open(dataDir)];
    try {
      await a.compact();
      expect(await b.compact()).toMatchObject({ files: 0, rows: 0 });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
