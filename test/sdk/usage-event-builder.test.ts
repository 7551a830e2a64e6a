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
    const { service: _omit, ...rest } = fields;
    const detail = buildUsageEventDetail({ ...rest, region: 'eu-west-1' }, { service: 'billing', region: 'us-east-1' });
    expect(detail.service).toBe('billing');
    expect(detail.region).toBe('eu-west-1');
  });

  it.each([
    [{ ...fields, statusCode: 99 }, 'statusCode'],
    [{ ...fields, tenantId: '' }, 'tenantId'],
    [{ ...fields, tenantID: 'typo' }, '(event)'],
    [{ ...fields, attributes: { plan: 5 } }, 'attributes.plan'],
    [{ ...fields, occurredAt: new Date('nonsense') }, 'occurredAt'],
  ])('names the offending field %#', (input, field) => {
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
