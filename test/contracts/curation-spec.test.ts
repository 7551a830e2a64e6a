import { z } from 'zod';
import { CURATED_COLUMNS } from '../../contracts/curated-columns';
import { CurationSpecError, constraintsOf, curationSpec } from '../../contracts/curation-spec';
import { ATTRIBUTE_LIMITS, EVENT_TIME_WINDOW, usageEventDetailSchema, usageEventEnvelopeSchema } from '../../contracts/usage-event';

const spec = curationSpec();

/** A valid envelope, to probe one field of it at a time against zod. */
const validEnvelope = () => ({
  version: '0',
  id: 'e-1',
  'detail-type': 'api-usage-event',
  source: 'my-applications',
  account: '123456789012',
  time: '2026-11-02T10:00:05Z',
  region: 'eu-west-1',
  resources: [],
  detail: {
    schemaVersion: '1',
    eventId: 'evt-00000001',
    occurredAt: '2026-11-02T10:00:00Z',
    service: 'orders',
    tenantId: 'acme',
    operation: 'GET /v1/orders/{id}',
    method: 'GET',
    statusCode: 200,
    latencyMs: 12.5,
  } as Record<string, unknown>,
});

/** Does zod accept the envelope with one field (a dotted source) set to `value`? */
function zodAccepts(source: string, value: unknown): boolean {
  const envelope = validEnvelope() as Record<string, unknown> & { detail: Record<string, unknown> };
  const [first, ...rest] = source.split('.');
  if (rest.length === 0) envelope[first] = value;
  else envelope.detail[rest[0]] = value;
  return usageEventEnvelopeSchema.safeParse(envelope).success;
}

/** A string of `n` code points (length-bounded fields have no pattern). */
const stringOfLength = (n: number) => 'a'.repeat(n);

describe('Contract: the curation spec', () => {
  describe('Function: curationSpec', () => {
    it('gives every curated column the JSON Schema zod gives its field, annotations aside', () => {
      const envelope = z.toJSONSchema(usageEventEnvelopeSchema, { io: 'input' }) as { properties: Record<string, { properties?: Record<string, Record<string, unknown>> } & Record<string, unknown>> };
      for (const column of spec.columns) {
        const [first, ...rest] = column.source.split('.');
        const field = { ...(rest.length === 0 ? envelope.properties[first] : envelope.properties[first].properties![rest[0]]) };
        delete field.default;
        expect({ source: column.source, constraints: column.constraints }).toEqual({ source: column.source, constraints: field });
      }
      expect(spec.columns.map((c) => c.name)).toEqual(CURATED_COLUMNS.map((c) => c.name));
    });

    it('states the bounds the issue names, as zod holds them', () => {
      const of = (source: string) => spec.columns.find((c) => c.source === source)!.constraints;
      expect(of('detail.billableUnits')).toMatchObject({ type: 'number', minimum: 0, maximum: 1_000_000 });
      expect(of('detail.statusCode')).toMatchObject({ type: 'integer', minimum: 100, maximum: 599 });
      expect(of('detail.latencyMs')).toMatchObject({ type: 'number', minimum: 0 });
      expect(of('detail.eventId')).toMatchObject({ type: 'string', pattern: '^[A-Za-z0-9._:-]{8,128}$' });
      expect(of('detail.occurredAt')).toMatchObject({ type: 'string', format: 'date-time' });
      expect(of('detail.attributes')).toMatchObject({
        type: 'object',
        maxProperties: ATTRIBUTE_LIMITS.maxEntries,
        propertyNames: { type: 'string', minLength: 1, maxLength: ATTRIBUTE_LIMITS.maxKeyLength },
        additionalProperties: { type: 'string', maxLength: ATTRIBUTE_LIMITS.maxValueLength },
      });
      expect(spec.closedObjects).toEqual([{ source: 'detail', keys: Object.keys(usageEventDetailSchema.shape) }]);
      expect(spec.eventTimeWindow).toMatchObject({ earliest: EVENT_TIME_WINDOW.earliest, maxAheadOfReceiptSeconds: 300, lateEventWindowDays: 35 });
    });

    // The spec's constraints and zod's own checks agree at every bound: probed through zod itself.
    describe.each(spec.columns.map((c) => [c.source, c] as const))('%s: zod accepts and refuses exactly at the spec\'s bounds', (source, column) => {
      const c = column.constraints;
      const numeric = c.type === 'number' || c.type === 'integer';
      if (numeric && c.minimum !== undefined) {
        it(`minimum ${c.minimum}`, () => {
          expect([zodAccepts(source, c.minimum), zodAccepts(source, c.minimum! - (c.type === 'integer' ? 1 : 1e-9))]).toEqual([true, false]);
        });
      }
      if (numeric && c.maximum !== undefined) {
        it(`maximum ${c.maximum}`, () => {
          expect([zodAccepts(source, c.maximum), zodAccepts(source, c.maximum! + (c.type === 'integer' ? 1 : c.maximum! * 1e-9))]).toEqual([true, false]);
        });
      }
      if (c.type === 'integer') {
        it('whole numbers only', () => { expect([zodAccepts(source, c.minimum! + 1), zodAccepts(source, c.minimum! + 0.5)]).toEqual([true, false]); });
      }
      if (c.type === 'string' && c.minLength !== undefined) {
        it(`minLength ${c.minLength}`, () => { expect([zodAccepts(source, stringOfLength(c.minLength!)), zodAccepts(source, stringOfLength(c.minLength! - 1))]).toEqual([true, false]); });
      }
      if (c.type === 'string' && c.maxLength !== undefined) {
        it(`maxLength ${c.maxLength}, in code points`, () => {
          expect([zodAccepts(source, '\u{1F600}'.repeat(c.maxLength!)), zodAccepts(source, '\u{1F600}'.repeat(c.maxLength! + 1))]).toEqual([true, false]);
        });
      }
      if (c.type === 'string' && c.pattern !== undefined) {
        it('pattern: zod refuses what the anchored pattern refuses', () => {
          const probes = ['x', 'GET\n', 'evt-0000001\n', '2026-11-02T10:00:00+00:00', '2026-11-02T10:00:00z', 'evt 00000001', 'ABCDEFGHIJKLMNOPQ', 'a.b:c-d_', '2026-11-02T10:00:00.5Z'];
          for (const probe of probes) {
            expect({ probe, zod: zodAccepts(source, probe) }).toEqual({ probe, zod: new RegExp(c.pattern!).test(probe) });
          }
        });
      }
      if (c.type === 'object') {
        it(`maxProperties ${c.maxProperties}, key and value lengths`, () => {
          const entries = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
          expect([zodAccepts(source, entries(c.maxProperties!)), zodAccepts(source, entries(c.maxProperties! + 1))]).toEqual([true, false]);
          const keys = c.propertyNames!;
          expect([zodAccepts(source, { ['k'.repeat(keys.maxLength!)]: 'v' }), zodAccepts(source, { ['k'.repeat(keys.maxLength! + 1)]: 'v' }), zodAccepts(source, { '': 'v' })]).toEqual([true, false, keys.minLength === 0]);
          const values = c.additionalProperties!;
          expect([zodAccepts(source, { k: 'v'.repeat(values.maxLength!) }), zodAccepts(source, { k: 'v'.repeat(values.maxLength! + 1) }), zodAccepts(source, { k: 1 })]).toEqual([true, false, false]);
        });
      }
    });

    it('carries the deployment\'s late event window and refuses one out of range', () => {
      expect(curationSpec({ lateEventWindowDays: 7 }).eventTimeWindow.lateEventWindowDays).toBe(7);
      expect(() => curationSpec({ lateEventWindowDays: 0 })).toThrow('lateEventWindowDays must be a whole number of days from 1 to 3650; got 0.');
      expect(() => curationSpec({ lateEventWindowDays: 1.5 })).toThrow(CurationSpecError);
    });
  });

  describe('Function: constraintsOf', () => {
    it('refuses a rule the curation engines do not interpret, so the contract cannot outgrow them', () => {
      expect(() => constraintsOf({ type: 'string', enum: ['a', 'b'] }, 'detail.tier')).toThrow(
        'detail.tier: the contract uses "enum", which the curation engines (glue-scripts/, local/lake/) do not check; teach both, then allow it here.',
      );
      expect(() => constraintsOf({ type: 'number', exclusiveMinimum: 0 }, 'detail.latencyMs')).toThrow(/"exclusiveMinimum"/);
    });

    it('refuses an unanchored pattern and a fractional bound', () => {
      expect(() => constraintsOf({ type: 'string', pattern: '[A-Z]+' }, 'detail.method')).toThrow('detail.method: pattern [A-Z]+ must be anchored (^…$): the engines match whole values.');
      expect(() => constraintsOf({ type: 'number', maximum: 0.5 }, 'detail.x')).toThrow('detail.x: maximum 0.5 must be a safe whole number.');
    });

    it('drops annotations', () => {
      expect(constraintsOf({ type: 'number', default: 1, description: 'units', maximum: 5 }, 'detail.x')).toEqual({ type: 'number', maximum: 5 });
    });
  });
});
