import { UsageEventValidationError } from '../../sdk/errors';
import { buildUsageEventDetail } from '../../sdk/usage-event-builder';

const fields = { service: 'orders', tenantId: 'acme', operation: 'GET /v1/orders/{id}', method: 'GET', statusCode: 200, latencyMs: 4.2 };

describe('Function: buildUsageEventDetail', () => {
  it('assigns a UUID eventId and the current time when absent', () => {
    // Prepare
    const before = Date.now();
    // Act
    const detail = buildUsageEventDetail(fields);
    // Assess
    expect(detail.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Date.parse(detail.occurredAt)).toBeGreaterThanOrEqual(before - 1);
    expect(detail.occurredAt.endsWith('Z')).toBe(true);
    expect(detail.schemaVersion).toBe('1');
    expect(detail.billableUnits).toBe(1);
  });

  it('keeps a given eventId and turns a Date into ISO-8601 UTC', () => {
    const detail = buildUsageEventDetail({ ...fields, eventId: 'evt-12345678', occurredAt: new Date(Date.UTC(2026, 10, 1, 2, 3, 4, 5)) });
    expect(detail.eventId).toBe('evt-12345678');
    expect(detail.occurredAt).toBe('2026-11-01T02:03:04.005Z');
  });

  it('applies defaults, which the event overrides', () => {
    const withoutService = { tenantId: 'acme', operation: 'GET /v1/orders/{id}', method: 'GET', statusCode: 200, latencyMs: 4.2 };
    const detail = buildUsageEventDetail({ ...withoutService, region: 'eu-west-1' }, { service: 'billing', region: 'us-east-1' });
    expect(detail.service).toBe('billing');
    expect(detail.region).toBe('eu-west-1');
  });

  it.each([
    ['statusCode', { ...fields, statusCode: 99 }],
    ['tenantId', { ...fields, tenantId: '' }],
    ['(event)', { ...fields, tenantID: 'typo' }],
    ['attributes.plan', { ...fields, attributes: { plan: 5 } }],
    ['occurredAt', { ...fields, occurredAt: new Date('nonsense') }],
  ])('names the offending field %s', (field, input) => {
    let thrown: unknown;
    try {
      buildUsageEventDetail(input as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UsageEventValidationError);
    expect((thrown as UsageEventValidationError).field).toBe(field);
    expect((thrown as Error).message).toMatch(new RegExp(`^Invalid usage event: ${field.replace(/[()]/g, '\\$&')}: `));
  });

  it('refuses a non-object', () => {
    expect(() => buildUsageEventDetail(null as never)).toThrow('Invalid usage event: (event): expected an object, got null');
  });
});

describe('Validator: compiled fast path', () => {
  /** A seeded pseudo-random generator in [0, 1), the same sequence on every run. */
  const seededRandom = (seed: number) => () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const longText = (n: number) => 'x'.repeat(n);
  const variants: Record<string, readonly unknown[]> = {
    schemaVersion: ['1', '2', 1, undefined],
    eventId: ['evt-12345678', 'short', 'has space in it', longText(128), longText(129), 42, undefined],
    occurredAt: ['2026-11-23T10:15:30.123Z', '2026-11-23T10:15:30Z', '2026-02-30T00:00:00Z', '2026-11-23T10:15:30+01:00', 'yesterday', undefined],
    service: ['orders', '', longText(128), longText(129), 7, undefined],
    tenantId: ['acme', '', null, undefined],
    userId: ['u-1', '', undefined],
    operation: ['GET /v1/orders/{id}', '', longText(257), undefined],
    method: ['GET', 'get', 'PATCH', 'VERYLONGMETHODNAME', undefined],
    statusCode: [200, 99, 600, 404.5, '200', undefined],
    latencyMs: [0, 12.5, -1, 86_400_001, NaN, undefined],
    requestBytes: [0, 10, -1, 1.5, undefined],
    billableUnits: [0, 2.5, -1, 1_000_001, undefined],
    tier: ['free', '', undefined],
    attributes: [{ plan: 'annual' }, { plan: 5 }, { '': 'x' }, Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])), 'x', undefined],
    extra: [undefined, undefined, undefined, 'unknown key'],
  };

  it('agrees with the zod schema on thousands of generated events, defaults included', async () => {
    const { usageEventDetailSchema } = await import('../../contracts/usage-event');
    const { passesCompiledValidator } = await import('../../sdk/usage-event-builder');
    // Events near the contract's edges: each field valid, missing, or wrong.
    const random = seededRandom(42);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
    let valid = 0;
    for (let n = 0; n < 5000; n++) {
      const event: Record<string, unknown> = {};
      for (const [field, values] of Object.entries(variants)) {
        // Mostly the first (valid) value, so that valid and invalid events both occur often.
        const value = random() < 0.9 ? values[0] : pick(values);
        if (value !== undefined) event[field] = value;
      }
      const zod = usageEventDetailSchema.safeParse(structuredClone(event));
      const candidate = structuredClone(event);
      const compiled = passesCompiledValidator(candidate);
      expect({ event, compiled }).toEqual({ event, compiled: zod.success });
      if (zod.success) {
        valid++;
        expect(candidate).toEqual(zod.data);
      }
    }
    expect(valid).toBeGreaterThan(200);
    expect(valid).toBeLessThan(4800);
  });
});
