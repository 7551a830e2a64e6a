import * as path from 'node:path';
import { LAKE_PREFIXES } from '../../contracts/lake-layout';
import { DataDirLayout } from '../data-dir';
import { listFiles, readJsonFile, writeJsonAtomically } from './lake-files';

/**
 * What compaction keeps between runs in the data folder's `state/`: the bookmark (the raw objects
 * already curated, as the Glue job's bookmark) and the record of the last run.
 */

/** What one compaction run did. */
export interface CompactionResult {
  readonly runId: string;
  /** Raw objects read (new since the last run). */
  readonly files: number;
  readonly lines: number;
  /** Rows written to curated/. */
  readonly rows: number;
  /** Copies dropped: the same eventId within the run or already curated. */
  readonly duplicates: number;
  /** Lines written to errors/glue/ with their reason. */
  readonly malformed: number;
  readonly partitions: readonly string[];
  readonly seconds: number;
}

/** The last run's record: its result, and when it finished. */
export type LastCompaction = CompactionResult & { readonly finishedAt: string };

/** The raw objects (paths relative to the data folder) curated so far; empty when there is no bookmark. */
export async function readBookmark(layout: DataDirLayout): Promise<Set<string>> {
  const bookmark = (await readJsonFile(layout.compactionBookmark)) as { processed?: unknown } | null | undefined;
  const processed = bookmark?.processed;
  return new Set(Array.isArray(processed) ? processed.filter((key): key is string => typeof key === 'string') : []);
}

export async function writeBookmark(layout: DataDirLayout, processed: ReadonlySet<string>): Promise<void> {
  await writeJsonAtomically(layout.compactionBookmark, { processed: [...processed].sort() });
}

/** The bookmark's name for a raw object. */
export function bookmarkKey(layout: DataDirLayout, file: string): string {
  return path.relative(layout.root, file);
}

/** The raw objects the bookmark does not hold yet, in name order: the next run's work. */
export async function pendingRawObjects(layout: DataDirLayout, bookmark: ReadonlySet<string>): Promise<string[]> {
  const files = await listFiles(path.join(layout.root, LAKE_PREFIXES.raw), '.gz');
  return files.filter((file) => !bookmark.has(bookmarkKey(layout, file))).sort();
}

/** The last run's record, or `undefined` when no run has finished (or its record cannot be read). */
export async function readLastCompaction(layout: DataDirLayout): Promise<LastCompaction | undefined> {
  return ((await readJsonFile(layout.lastCompaction)) as LastCompaction | null | undefined) ?? undefined;
}

export async function writeLastCompaction(layout: DataDirLayout, result: CompactionResult, finishedAt: Date): Promise<void> {
  const record: LastCompaction = { ...result, finishedAt: finishedAt.toISOString() };
  await writeJsonAtomically(layout.lastCompaction, record);
}
