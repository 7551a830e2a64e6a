import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalLake } from '../../local/lake/local-lake';
import { CuratedEvent, deduplicate } from './expected-answers';
import { generateUsageDataset, writePriceList, writeRawObjects } from './usage-dataset';

/** A local lake holding the generated dataset (both batches, the price list), compacted, and the events it should hold. */
export interface GeneratedLake {
  readonly dataDir: string;
  readonly lake: LocalLake;
  /** The dataset's deliveries, one per event id: what the curated table should hold. */
  readonly events: CuratedEvent[];
  close(): Promise<void>;
}

/** Writes the generated dataset as of `now` into a fresh data folder named after `prefix`, and compacts it. */
export async function openGeneratedLake(prefix: string, now = new Date('2026-11-23T12:00:00Z')): Promise<GeneratedLake> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
  const dataset = generateUsageDataset(now);
  writePriceList(dataDir, dataset.prices);
  writeRawObjects(dataDir, [...dataset.firstBatch, ...dataset.secondBatch]);
  const lake = await LocalLake.open(dataDir);
  await lake.compact();
  return {
    dataDir,
    lake,
    events: deduplicate(dataset.deliveries),
    close: async () => {
      await lake.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
