import * as path from 'node:path';
import { z } from 'zod';
import { CurationSpecOptions, curationSpec } from './curation-spec';
import { usageEventEnvelopeSchema } from './usage-event';
import { renderUsageEventValidator } from './usage-event-validator-source';

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

/**
 * The curation spec as the Glue job receives it in its `--curated_columns` argument: the curated
 * columns with the contract's constraints, the lake prefixes, the event-time window, the reasons,
 * the metric names and the table's parameters (see contracts/curation-spec.ts). The checked-in
 * file holds the defaults; the stack renders it with its own late event window.
 */
export function renderCuratedColumnsJson(options: CurationSpecOptions = {}): string {
  return `${JSON.stringify(curationSpec(options), null, 2)}\n`;
}

export const GENERATED_ARTIFACTS: readonly GeneratedArtifact[] = [
  { file: path.join(GENERATED_DIR, 'usage-event.schema.json'), render: renderUsageEventJsonSchema },
  { file: path.join(GENERATED_DIR, 'curated-columns.json'), render: renderCuratedColumnsJson },
  // Compiled at build time: the producers' validator, without zod or Ajv's compiler at run time.
  { file: path.join(GENERATED_DIR, 'usage-event-detail-validator.ts'), render: renderUsageEventValidator },
];
