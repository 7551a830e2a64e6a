import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LAKE_PREFIXES } from '../../../contracts/lake-layout';
import { LocalLake } from '../../../local/lake/local-lake';
import { deduplicate } from '../../support/expected-answers';
import { generateUsageDataset, writeRawObjects } from '../../support/usage-dataset';

describe('LocalLake.status: what `usage-tracker status --local` shows of the lake', () => {
  const dataset = generateUsageDataset(new Date('2026-11-23T12:00:00Z'), 400);
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'lake-status-'));
  });

  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows an empty lake that never ran: nothing pending, no rows, no rejects, no run', async () => {
    const lake = await LocalLake.open(dataDir);
    try {
      expect(await lake.status()).toEqual([
        { component: LAKE_PREFIXES.raw, state: '0 pending', healthy: true, detail: 'every raw object is curated' },
        { component: LAKE_PREFIXES.curated, state: '0 rows', healthy: true, detail: 'empty' },
        { component: LAKE_PREFIXES.glueErrors, state: '0 rejected', healthy: true, detail: 'no malformed lines' },
        { component: 'last ETL run', state: 'never', healthy: true, detail: 'run usage-tracker etl --local' },
      ]);
    } finally {
      await lake.close();
    }
  });

  it('counts raw objects waiting for a run', async () => {
    writeRawObjects(dataDir, dataset.firstBatch);
    const lake = await LocalLake.open(dataDir);
    try {
      expect((await lake.status())[0]).toEqual({
        component: LAKE_PREFIXES.raw,
        state: `${dataset.firstBatch.length} pending`,
        healthy: true,
        detail: `${dataset.firstBatch.length} raw objects await the next ETL run`,
      });
    } finally {
      await lake.close();
    }
  });

  it('after a run: no work pending, the rows and days curated with the latest event, the rejected lines and the run', async () => {
    writeRawObjects(dataDir, [...dataset.firstBatch, ...dataset.secondBatch]);
    const events = deduplicate(dataset.deliveries);
    const days = new Set(events.map((e) => e.occurredAt.toISOString().slice(0, 10))).size;
    const latest = new Date(Math.max(...events.map((e) => e.occurredAt.getTime()))).toISOString();
    const lake = await LocalLake.open(dataDir);
    try {
      const run = await lake.compact(dataset.now);
      const [pending, curated, rejected, last] = await lake.status();
      expect(pending.state).toBe('0 pending');
      expect(curated).toEqual({ component: LAKE_PREFIXES.curated, state: `${events.length} rows`, healthy: true, detail: `${days} days, latest event ${latest}` });
      expect(rejected).toEqual({ component: LAKE_PREFIXES.glueErrors, state: `${dataset.malformed.length} rejected`, healthy: true, detail: 'malformed lines with their reason' });
      expect(last.state).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(last.detail).toBe(
        `${run.files} objects, ${run.rows} rows, ${run.duplicates} duplicates, ${run.malformed} malformed, ${run.seconds.toFixed(1)} s`,
      );
      expect([run.files, run.rows, run.malformed]).toEqual([dataset.firstBatch.length + dataset.secondBatch.length, events.length, dataset.malformed.length]);
    } finally {
      await lake.close();
    }
  });
});
