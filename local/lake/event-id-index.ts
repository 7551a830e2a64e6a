import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { EVENT_ID_INDEX, LAKE_PREFIXES, curatedIndexSegmentKey } from '../../contracts/lake-layout';
import { sqlString } from './curation-sql';
import { listFiles } from './lake-files';
import { LakeSession } from './query-engine';

/**
 * The index of the event ids curated, so that a run drops the copies of ids curated by earlier
 * runs without reading those days' whole `event_id` columns again (the Glue job keeps the same
 * index in S3, see glue-scripts/usage_events_job.py).
 *
 * Each curated Parquet file has a segment: a Parquet file of the same name under
 * `index/usage_events_event_ids/` holding the sorted, distinct keys (`EVENT_ID_INDEX`: 60 bits of
 * the MD5) of the file's event ids. A run reads the keys of the days it touches (8 bytes an event)
 * and reads `event_id`s only from the curated files whose keys it found: two ids may share a key,
 * so the ids themselves decide.
 *
 * Crash-safe without a log: a segment is written aside and renamed into place after its curated
 * file, and is trusted only while that file exists. A curated file without a segment (a crash
 * between the two renames, an index removed, a lake curated before the index existed) gets one,
 * built from the file, before the run looks anything up.
 */

/** The SQL of an event id's index key (the contract's: the first hex digits of its MD5, as a BIGINT). */
export function eventIdKeySql(eventId: string): string {
  return `CAST(('0x' || md5(${eventId})[1:${EVENT_ID_INDEX.hexDigits}]) AS BIGINT)`;
}

/** A curated file and its index segment. */
interface IndexedFile {
  readonly data: string;
  readonly segment: string;
}

/** The segment of a curated file (both absolute paths under the lake's root). */
function segmentOf(root: string, data: string): string {
  const key = path.relative(root, data).split(path.sep).join('/');
  return path.join(root, curatedIndexSegmentKey(key));
}

/**
 * Gives every curated file in some day folders a segment, building those missing from the files;
 * returns the folders' curated files with their segments.
 */
export async function ensureIndexed(session: LakeSession, root: string, dayFolders: readonly string[], staging: string): Promise<IndexedFile[]> {
  const indexed: IndexedFile[] = [];
  for (const folder of dayFolders) {
    const present = new Set(await listFiles(segmentOf(root, folder), '.parquet'));
    for (const data of await listFiles(folder, '.parquet')) {
      const segment = segmentOf(root, data);
      if (!present.has(segment)) await writeSegment(session, `(SELECT ${eventIdKeySql('event_id')} AS ${EVENT_ID_INDEX.column} FROM read_parquet(${sqlString(data)}))`, data, segment, staging);
      indexed.push({ data, segment });
    }
  }
  return indexed;
}

/**
 * Writes the segment of a curated file that has just been renamed into place, from `keys` (a
 * relation of the keys, in the {@link EVENT_ID_INDEX} column, of exactly the file's event ids: the
 * rows the file was written from), so the file is not read back.
 */
export async function indexNewFile(session: LakeSession, root: string, data: string, keys: string, staging: string): Promise<void> {
  await writeSegment(session, keys, data, segmentOf(root, data), staging);
}

/** Writes the segment of a curated file (`data`) from a relation of its event ids' keys, aside, then renames it into place. */
async function writeSegment(session: LakeSession, keys: string, data: string, segment: string, staging: string): Promise<void> {
  await fs.mkdir(staging, { recursive: true });
  const aside = path.join(staging, `segment-${path.basename(data)}`);
  const key = EVENT_ID_INDEX.column;
  await session.run(`COPY (SELECT DISTINCT ${key} FROM ${keys} ORDER BY ${key}) TO ${sqlString(aside)} (FORMAT parquet, COMPRESSION snappy)`);
  await fs.mkdir(path.dirname(segment), { recursive: true });
  await fs.rename(aside, segment);
}

/**
 * Fills `existing` (a temp table of one `event_id` column) with the ids of `candidates` (a
 * relation with `event_id` and its key) curated in some files: the keys are looked up in the
 * segments, then the ids in the curated files whose segments hold one of them. Returns how many.
 */
export async function curatedIdsAmong(session: LakeSession, files: readonly IndexedFile[], candidates: string, existing: string): Promise<number> {
  const key = EVENT_ID_INDEX.column;
  const found = await session.rows(
    `SELECT DISTINCT filename FROM read_parquet([${files.map((f) => sqlString(f.segment)).join(', ')}], filename = true)
     WHERE ${key} IN (SELECT ${key} FROM ${candidates})`,
  );
  const segments = new Set(found.map((row) => String(row.filename)));
  const data = files.filter((f) => segments.has(f.segment)).map((f) => sqlString(f.data));
  if (data.length === 0) return 0;
  await session.run(
    `CREATE OR REPLACE TEMP TABLE ${existing} AS SELECT DISTINCT event_id FROM read_parquet([${data.join(', ')}]) WHERE event_id IN (SELECT event_id FROM ${candidates})`,
  );
  return Number(await session.firstValue(`SELECT count(*) AS n FROM ${existing}`));
}

/** The index folder of the lake (for tests and tools). */
export function indexRoot(root: string): string {
  return path.join(root, LAKE_PREFIXES.curatedIndex);
}
