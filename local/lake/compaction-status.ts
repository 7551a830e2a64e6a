import * as path from 'node:path';
import { CATALOG, CURATED_PARTITION_KEYS, LAKE_PREFIXES } from '../../contracts/lake-layout';
import { DataDirLayout } from '../data-dir';
import { StatusCheck } from '../status-check';
import { LastCompaction, pendingRawObjects, readBookmark, readLastCompaction } from './compaction-state';
import { sqlString } from './curation-sql';
import { listFiles } from './lake-files';
import { LakeSession } from './query-engine';

/**
 * The lake's state for `usage-tracker status --local`: work pending, rows curated, lines
 * rejected, the last run. Every check is healthy: a lake waiting for its next run is not broken.
 */
export async function compactionStatus(session: LakeSession, layout: DataDirLayout): Promise<StatusCheck[]> {
  return [await pendingCheck(layout), await curatedCheck(session), await rejectedCheck(session, layout), lastRunCheck(await readLastCompaction(layout))];
}

async function pendingCheck(layout: DataDirLayout): Promise<StatusCheck> {
  const pending = (await pendingRawObjects(layout, await readBookmark(layout))).length;
  const detail = pending === 0 ? 'every raw object is curated' : `${pending} raw objects await the next ETL run`;
  return { component: LAKE_PREFIXES.raw, state: `${pending} pending`, healthy: true, detail };
}

async function curatedCheck(session: LakeSession): Promise<StatusCheck> {
  const [curated] = await session.rows(
    `SELECT count(*) AS n, count(DISTINCT ${CURATED_PARTITION_KEYS.join(' || ')}) AS days, max(occurred_at) AS latest FROM ${CATALOG.table}`,
  );
  const { latest } = curated;
  const detail = typeof latest === 'string' ? `${Number(curated.days)} days, latest event ${latest}` : 'empty';
  return { component: LAKE_PREFIXES.curated, state: `${Number(curated.n)} rows`, healthy: true, detail };
}

async function rejectedCheck(session: LakeSession, layout: DataDirLayout): Promise<StatusCheck> {
  const errorFiles = await listFiles(path.join(layout.root, LAKE_PREFIXES.glueErrors), '.json.gz');
  const rejected = errorFiles.length > 0 ? Number(await session.firstValue(`SELECT count(*) AS n FROM read_json([${errorFiles.map(sqlString).join(', ')}])`)) : 0;
  return { component: LAKE_PREFIXES.glueErrors, state: `${rejected} rejected`, healthy: true, detail: rejected === 0 ? 'no malformed lines' : 'malformed lines with their reason' };
}

function lastRunCheck(last: LastCompaction | undefined): StatusCheck {
  return {
    component: 'last ETL run',
    state: last ? last.finishedAt : 'never',
    healthy: true,
    detail: last ? `${last.files} objects, ${last.rows} rows, ${last.duplicates} duplicates, ${last.malformed} malformed, ${last.seconds.toFixed(1)} s` : 'run usage-tracker etl --local',
  };
}
