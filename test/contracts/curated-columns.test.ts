import { CURATED_COLUMNS, curatedColumnNames } from '../../contracts/curated-columns';
import { usageEventDetailSchema } from '../../contracts/usage-event';

const snakeCase = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

describe('Contract: CURATED_COLUMNS', () => {
  const detailFields = Object.keys(usageEventDetailSchema.shape);

  it('has one column per detail field, named in snake_case and read from detail', () => {
    for (const field of detailFields) {
      const column = CURATED_COLUMNS.find((c) => c.source === `detail.${field}`);
      expect(column?.name).toBe(snakeCase(field));
    }
  });

  it('adds received_at and source from the envelope and nothing else', () => {
    const envelopeColumns = CURATED_COLUMNS.filter((c) => !c.source.startsWith('detail.'));
    expect(envelopeColumns.map((c) => [c.name, c.source])).toEqual([
      ['received_at', 'time'],
      ['source', 'source'],
    ]);
    expect(CURATED_COLUMNS).toHaveLength(detailFields.length + 2);
  });

  it('marks exactly the fields the schema requires as required', () => {
    const shape = usageEventDetailSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;
    for (const column of CURATED_COLUMNS.filter((c) => c.source.startsWith('detail.'))) {
      const field = column.source.slice('detail.'.length);
      const acceptsMissing = shape[field].safeParse(undefined).success;
      expect({ field, required: column.required }).toEqual({ field, required: !acceptsMissing });
    }
  });

  it('lists partition columns last', () => {
    expect(curatedColumnNames().slice(-3)).toEqual(['year', 'month', 'day']);
    expect(new Set(curatedColumnNames()).size).toBe(curatedColumnNames().length);
  });
});
