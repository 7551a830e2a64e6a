import { existsSync, mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { EVENT_ID_INDEX, LAKE_PREFIXES, curatedIndexSegmentKey } from '../../../contracts/lake-layout';
import { sqlString } from '../../../local/lake/curation-sql';
import { eventIdKeySql } from '../../../local/lake/event-id-index';
import { LocalLake, listFiles } from '../../../local/lake/local-lake';
import { deduplicate } from '../../support/expected-answers';
import { RawObject, generateUsageDataset, writeRawObjects } from '../../support/usage-dataset';

describe('the index of curated event ids: runs drop copies of ids curated before without reading whole days', () => {
  const dataset = generateUsageDataset(new Date('2026-11-23T12:00:00Z'), 400);
  const allEvents = deduplicate(dataset.deliveries).length;
  let dataDir: string;
  let lake: LocalLake;

  beforeEach(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'lake-index-'));
    lake = await LocalLake.open(dataDir);
  });

  afterEach(async () => {
    await lake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const curatedFiles = () => listFiles(path.join(dataDir, LAKE_PREFIXES.curated), '.parquet');
  const segments = () => listFiles(path.join(dataDir, LAKE_PREFIXES.curatedIndex), '.parquet');
  const segmentOf = (file: string) => path.join(dataDir, curatedIndexSegmentKey(path.relative(dataDir, file).split(path.sep).join('/')));
  const counts = async () => {
    const [row] = (await lake.query('SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM usage_events')).rows;
    return { rows: Number(row.n), ids: Number(row.ids) };
  };
  /** The same lines delivered again under new object names (a producer or Firehose replaying them). */
  const redelivered = (objects: readonly RawObject[]) => objects.map((o) => ({ key: o.key.replace(/\.gz$/, '-again.gz'), lines: o.lines }));

  it('keys an event id as the Glue job does: the first 15 hex digits of its MD5', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const reader = await connection.runAndReadAll(`SELECT ${eventIdKeySql(`'evt-1'`)} AS k, ${eventIdKeySql(`'é'`)} AS u`);
      // test/glue-scripts/test_curated_index.py checks the job's key of the same ids.
      expect(reader.getRows()[0]).toEqual([1076929794470828757n, 463269163352058555n]);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });

  it('gives every curated file a segment, and drops copies of ids curated by earlier runs on any day', async () => {
    writeRawObjects(dataDir, dataset.firstBatch);
    const first = await lake.compact();
    expect(first.partitions.length).toBeGreaterThan(1);
    const files = await curatedFiles();
    expect((await segments()).sort()).toEqual(files.map(segmentOf).sort());
    // One file a day touched, and its segment (written from the run's rows) holds exactly the keys of its event ids.
    expect(files.length).toBe(first.partitions.length);
    for (const file of files) {
      const key = EVENT_ID_INDEX.column;
      const fromFile = await lake.query(`SELECT list(DISTINCT ${eventIdKeySql('event_id')} ORDER BY ${eventIdKeySql('event_id')}) AS k FROM read_parquet(${sqlString(file)})`);
      const segment = await lake.query(`SELECT list(${key} ORDER BY ${key}) AS k, count(*) AS n, count(DISTINCT ${key}) AS d FROM read_parquet(${sqlString(segmentOf(file))})`);
      expect(segment.rows[0].k).toEqual(fromFile.rows[0].k);
      expect(segment.rows[0].n).toBe(segment.rows[0].d);
    }

    writeRawObjects(dataDir, [...dataset.secondBatch, ...redelivered(dataset.firstBatch)]);
    const second = await lake.compact();
    expect(second.duplicates).toBeGreaterThan(0);
    expect(await counts()).toEqual({ rows: allEvents, ids: allEvents });
    expect((await segments()).length).toBe((await curatedFiles()).length);
  });

  it('a curated file left without its segment (a crash between the two renames) is indexed before the lookup', async () => {
    writeRawObjects(dataDir, dataset.firstBatch);
    const firstEvents = (await lake.compact()).rows;
    const [file] = await curatedFiles();
    unlinkSync(segmentOf(file));

    writeRawObjects(dataDir, redelivered(dataset.firstBatch));
    const again = await lake.compact();
    expect(again.rows).toBe(0);
    expect(existsSync(segmentOf(file))).toBe(true);
    expect(await counts()).toEqual({ rows: firstEvents, ids: firstEvents });
  });

  it('an index removed altogether is rebuilt from the curated files', async () => {
    writeRawObjects(dataDir, dataset.firstBatch);
    await lake.compact();
    rmSync(path.join(dataDir, LAKE_PREFIXES.curatedIndex), { recursive: true, force: true });

    writeRawObjects(dataDir, [...dataset.secondBatch, ...redelivered(dataset.firstBatch)]);
    await lake.compact();
    expect(await counts()).toEqual({ rows: allEvents, ids: allEvents });
    expect((await segments()).length).toBe((await curatedFiles()).length);
  });

  it('a segment whose curated file is gone drops nothing: its events are curated again', async () => {
    writeRawObjects(dataDir, dataset.firstBatch);
    const firstEvents = (await lake.compact()).rows;
    const [file] = await curatedFiles();
    unlinkSync(file);
    await lake.refreshCatalogue();
    const left = await counts();
    expect(left.rows).toBeLessThan(firstEvents);

    writeRawObjects(dataDir, redelivered(dataset.firstBatch));
    const again = await lake.compact();
    expect(again.rows).toBe(firstEvents - left.rows);
    expect(await counts()).toEqual({ rows: firstEvents, ids: firstEvents });
  });
});
