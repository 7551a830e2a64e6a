import * as path from 'node:path';
import { z } from 'zod';
import { CURATED_COLUMNS, CURATED_PARTITION_COLUMNS, curatedColumnFrom } from './curated-columns';
import { CATALOG, LAKE_PREFIXES } from './lake-layout';
import { EVENT_TIME_WINDOW, usageEventEnvelopeSchema } from './usage-event';

/**
 * Files generated from the contracts and checked in, for readers that cannot import TypeScript:
 * the EventBridge Schema Registry (JSON Schema draft-04) and the Glue job's Python tests.
 * `npm run schema:generate` rewrites them; a test fails when one is stale.
 */
export const GENERATED_DIR = path.join(__dirname, 'generated');

export interface GeneratedArtifact {
  readonly file: string;
  readonly render: () => string;
}

/** The usage event envelope as JSON Schema draft-04 (what the Schema Registry accepts). */
export function renderUsageEventJsonSchema(): string {
  const schema = z.toJSONSchema(usageEventEnvelopeSchema, { target: 'draft-04', io: 'input' });
  return `${JSON.stringify({ ...schema, title: 'ApiUsageEvent', description: 'An api-usage-event as EventBridge delivers it (usage event v1).' }, null, 2)}\n`;
}

/** The event-time window as the Glue job checks it: bounds plus the columns they apply to. */
export function eventTimeWindowSpec() {
  return {
    ...EVENT_TIME_WINDOW,
    eventTimeSource: 'detail.occurredAt',
    eventTimeColumn: curatedColumnFrom('detail.occurredAt').name,
    receiptTimeColumn: curatedColumnFrom('time').name,
  };
}

/** The curated column list, lake prefixes and event-time window, as the Glue job receives them in its arguments. */
export function renderCuratedColumnsJson(): string {
  const spec = {
    columns: CURATED_COLUMNS,
    partitions: CURATED_PARTITION_COLUMNS,
    prefixes: LAKE_PREFIXES,
    eventTimeWindow: eventTimeWindowSpec(),
    table: { name: CATALOG.table, parameters: CATALOG.tableParameters },
  };
  return `${JSON.stringify(spec, null, 2)}\n`;
}

export const GENERATED_ARTIFACTS: readonly GeneratedArtifact[] = [
  { file: path.join(GENERATED_DIR, 'usage-event.schema.json'), render: renderUsageEventJsonSchema },
  { file: path.join(GENERATED_DIR, 'curated-columns.json'), render: renderCuratedColumnsJson },
];
