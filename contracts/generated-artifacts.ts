import * as path from 'node:path';
import { z } from 'zod';
import { CURATED_COLUMNS, CURATED_PARTITION_COLUMNS } from './curated-columns';
import { LAKE_PREFIXES } from './lake-layout';
import { usageEventEnvelopeSchema } from './usage-event';

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

/** The curated column list and lake prefixes, as the Glue job receives them in its arguments. */
export function renderCuratedColumnsJson(): string {
  return `${JSON.stringify({ columns: CURATED_COLUMNS, partitions: CURATED_PARTITION_COLUMNS, prefixes: LAKE_PREFIXES }, null, 2)}\n`;
}

export const GENERATED_ARTIFACTS: readonly GeneratedArtifact[] = [
  { file: path.join(GENERATED_DIR, 'usage-event.schema.json'), render: renderUsageEventJsonSchema },
  { file: path.join(GENERATED_DIR, 'curated-columns.json'), render: renderCuratedColumnsJson },
];
