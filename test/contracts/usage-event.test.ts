import { usageEventDetailSchema, usageEventEnvelopeSchema, ATTRIBUTE_LIMITS } from '../../contracts/usage-event';

const validDetail = () => ({
  schemaVersion: '1' as const,
  eventId: '0b9f6d7e-2c1a-4f5e-9a51-7d1c3e2b9a10',
  occurredAt: '2026-11-23T10:15:30.123Z',
  service: 'orders',
  tenantId: 'acme',
  operation: 'GET /v1/orders/{id}',
  method: 'GET',
  statusCode: 200,
  latencyMs: 12.4,
});

describe('Schema: usageEventDetailSchema', () => {
  it('accepts a minimal event and fills billableUnits with 1', () => {
    // Act
    const parsed = usageEventDetailSchema.parse(validDetail());
    // Assess
    expect(parsed.billableUnits).toBe(1);
    expect(parsed.tenantId).toBe('acme');
  });

  it('accepts every optional field', () => {
    const parsed = usageEventDetailSchema.parse({
      ...validDetail(),
      userId: 'u-1',
      apiKeyId: 'key_1',
      feature: 'orders.read',
      requestBytes: 0,
      responseBytes: 512,
      billableUnits: 2.5,
      tier: 'premium',
      region: 'eu-west-1',
      attributes: { plan: 'annual' },
    });
    expect(parsed.attributes).toEqual({ plan: 'annual' });
    expect(parsed.billableUnits).toBe(2.5);
  });

  it.each([
    ['an unknown key (a typo)', { tenantID: 'acme' }, 'Unrecognized key'],
    ['a short eventId', { eventId: 'x' }, 'eventId must be 8-128 characters'],
    ['an occurredAt with an offset', { occurredAt: '2026-11-23T10:15:30+01:00' }, 'Invalid ISO datetime'],
    ['a lower-case method', { method: 'get' }, 'method must be an upper-case verb'],
    ['a status code out of range', { statusCode: 700 }, 'Too big'],
    ['a negative latency', { latencyMs: -1 }, 'Too small'],
    ['an empty tenant', { tenantId: '' }, 'Too small'],
  ])('refuses %s', (_label, override, message) => {
    const result = usageEventDetailSchema.safeParse({ ...validDetail(), ...override });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toContain(message);
  });

  it('bounds the number of attributes', () => {
    const attributes = Object.fromEntries(
      Array.from({ length: ATTRIBUTE_LIMITS.maxEntries + 1 }, (_, i) => [`k${i}`, 'v']),
    );
    const result = usageEventDetailSchema.safeParse({ ...validDetail(), attributes });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].message).toBe(`attributes may hold at most ${ATTRIBUTE_LIMITS.maxEntries} entries`);
  });

  it('requires each mandatory field', () => {
    for (const field of ['eventId', 'occurredAt', 'service', 'tenantId', 'operation', 'method', 'statusCode', 'latencyMs']) {
      const detail = Object.fromEntries(Object.entries(validDetail()).filter(([key]) => key !== field));
      const result = usageEventDetailSchema.safeParse(detail);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0].path).toEqual([field]);
    }
  });
});

describe('Schema: usageEventEnvelopeSchema', () => {
  it('accepts an EventBridge envelope and refuses another detail-type', () => {
    const envelope = {
      version: '0',
      id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
      'detail-type': 'api-usage-event',
      source: 'my-applications',
      account: '111122223333',
      time: '2026-11-23T10:15:31Z',
      region: 'eu-west-1',
      resources: [],
      detail: validDetail(),
    };
    expect(usageEventEnvelopeSchema.safeParse(envelope).success).toBe(true);
    expect(usageEventEnvelopeSchema.safeParse({ ...envelope, 'detail-type': 'order-placed' }).success).toBe(false);
  });
});
