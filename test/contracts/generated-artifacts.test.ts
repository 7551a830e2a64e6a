import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { GENERATED_ARTIFACTS, renderUsageEventJsonSchema } from '../../contracts/generated-artifacts';

describe('Contract: generated artifacts', () => {
  it.each(GENERATED_ARTIFACTS.map((a) => [path.basename(a.file), a] as const))(
    '%s is up to date (run npm run schema:generate after changing contracts/)',
    (_name, artifact) => {
      expect(readFileSync(artifact.file, 'utf8')).toBe(artifact.render());
    },
  );

  it('describes the envelope in JSON Schema draft-04 with the detail strict', () => {
    const schema = JSON.parse(renderUsageEventJsonSchema()) as {
      $schema: string;
      properties: { 'detail-type': { enum: string[] }; detail: { additionalProperties: boolean; required: string[] } };
    };
    expect(schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
    expect(schema.properties['detail-type'].enum).toEqual(['api-usage-event']);
    expect(schema.properties.detail.additionalProperties).toBe(false);
    expect(schema.properties.detail.required).toEqual(
      expect.arrayContaining(['eventId', 'occurredAt', 'tenantId', 'operation', 'statusCode']),
    );
    expect(schema.properties.detail.required).not.toContain('billableUnits');
  });
});
