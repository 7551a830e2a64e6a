import { METERED_API_SERVICE } from '../../contracts/metered-api';
import { RefusedAnonymousAggregator, authFailureOf, usageOfGatewayAnswer } from '../../lambdas/access-log/gateway-answers';

describe('Function: usageOfGatewayAnswer', () => {
  const record = { requestId: 'Abc=123', requestTimeEpoch: Date.parse('2026-11-23T10:00:00Z'), routeKey: 'GET /v1/users', httpMethod: 'GET', status: 403, integrationStatus: '-', responseLatency: 7, responseLength: 23 };

  it('turns an authorizer refusal into a usage event with a stable id', () => {
    expect(usageOfGatewayAnswer(record)).toEqual({
      eventId: 'apigw-Abc-123',
      service: METERED_API_SERVICE,
      occurredAt: new Date('2026-11-23T10:00:00Z'),
      tenantId: 'anonymous',
      operation: 'GET /v1/users',
      method: 'GET',
      statusCode: 403,
      latencyMs: 7,
      responseBytes: 23,
    });
  });

  it.each([
    ['a refused or missing credential', undefined, 'anonymous'],
    ['an access log placeholder', '-', 'anonymous'],
    ['an admin the authorizer passed', 'operator', 'operator'],
    ['a tenant the authorizer passed', 'acme', 'acme'],
  ])('names the tenant of %s: %s → %s', (_label, tenantId, expected) => {
    expect(usageOfGatewayAnswer({ ...record, status: 500, tenantId })?.tenantId).toBe(expected);
  });

  it('records unmatched routes without their path, and skips requests a route already recorded', () => {
    expect(usageOfGatewayAnswer({ ...record, routeKey: '-', status: 404 })).toMatchObject({ operation: 'GET (unmatched route)', statusCode: 404 });
    expect(usageOfGatewayAnswer({ ...record, status: 200, integrationStatus: 200 })).toBeUndefined();
    expect(usageOfGatewayAnswer({ ...record, requestId: '' })).toBeUndefined();
  });
});

describe('Class: RefusedAnonymousAggregator', () => {
  const at = Date.parse('2026-11-23T10:00:00Z');
  const refused = (requestId: string, fields: Record<string, unknown> = {}) =>
    usageOfGatewayAnswer({ requestId, requestTimeEpoch: at, routeKey: 'POST /v1/auth/token', httpMethod: 'POST', status: 401, integrationStatus: '-', responseLatency: 4, responseLength: 26, ...fields })!;

  describe('Method: absorb', () => {
    it('takes refused anonymous requests only', () => {
      // Prepare
      const aggregator = new RefusedAnonymousAggregator();
      // Act / Assess
      expect(aggregator.absorb(refused('a'))).toBe(true);
      expect(aggregator.absorb(refused('b', { status: 429 }))).toBe(true);
      expect(aggregator.absorb(refused('c', { tenantId: 'acme', status: 429 }))).toBe(false);
      expect(aggregator.absorb(refused('d', { tenantId: 'operator', status: 404 }))).toBe(false);
      expect(aggregator.absorb(refused('e', { status: 302 }))).toBe(false);
    });
  });

  describe('Method: drain', () => {
    it('gives one billable-free event per route, status and minute, with the count', () => {
      // Prepare
      const aggregator = new RefusedAnonymousAggregator();
      for (const id of ['a', 'b', 'c']) aggregator.absorb(refused(id, { responseLatency: id === 'c' ? 10 : 1 }));
      aggregator.absorb(refused('d', { requestTimeEpoch: at + 59_999 }));
      aggregator.absorb(refused('e', { requestTimeEpoch: at + 60_000 }));
      aggregator.absorb(refused('f', { status: 403 }));
      // Act
      const events = aggregator.drain();
      // Assess
      expect(events.map((e) => [e.statusCode, (e.occurredAt as Date).toISOString(), e.attributes?.requests])).toEqual([
        [401, '2026-11-23T10:00:00.000Z', '4'],
        [401, '2026-11-23T10:01:00.000Z', '1'],
        [403, '2026-11-23T10:00:00.000Z', '1'],
      ]);
      expect(events[0]).toMatchObject({ tenantId: 'anonymous', billableUnits: 0, latencyMs: 4, responseBytes: 104, operation: 'POST /v1/auth/token', method: 'POST' });
      expect(events[0].eventId).toMatch(/^apigw-agg-[0-9a-f]{48}$/);
      expect(aggregator.drain()).toEqual([]);
    });

    it('derives the id from the requests counted, so a batch processed twice is one event', () => {
      // Prepare
      const once = new RefusedAnonymousAggregator();
      const twice = new RefusedAnonymousAggregator();
      const other = new RefusedAnonymousAggregator();
      for (const aggregator of [once, twice]) for (const id of ['a', 'b']) aggregator.absorb(refused(id));
      for (const id of ['a', 'x']) other.absorb(refused(id));
      // Act
      const [first, second, third] = [once, twice, other].map((a) => a.drain()[0].eventId);
      // Assess
      expect(second).toBe(first);
      expect(third).not.toBe(first);
    });
  });
});

describe('Function: authFailureOf', () => {
  const record = { requestId: 'r', requestTimeEpoch: 1795400000000, status: 403, integrationStatus: '-', sourceIp: '203.0.113.5' };

  it('keys the gateway\'s own 401s and 403s by source as the source IP guard does (IPv4 as is, IPv6 by its /64), at the request\'s time', () => {
    expect(authFailureOf(record)).toEqual({ sourceKey: '203.0.113.5', epochMs: 1795400000000 });
    expect(authFailureOf({ ...record, status: '401', sourceIp: '2001:db8::1' })).toEqual({ sourceKey: '2001:0db8:0000:0000::/64', epochMs: 1795400000000 });
    expect(authFailureOf({ ...record, sourceIp: '::ffff:198.51.100.2' })?.sourceKey).toBe('198.51.100.2');
  });

  it('counts nothing else: other statuses, answers of an integration, and records without a usable source address', () => {
    expect([404, 429, 500].map((status) => authFailureOf({ ...record, status }))).toEqual([undefined, undefined, undefined]);
    expect(authFailureOf({ ...record, integrationStatus: 403 })).toBeUndefined();
    expect(authFailureOf({ ...record, sourceIp: '-' })).toBeUndefined();
    expect(authFailureOf({ ...record, sourceIp: 'not-an-address' })).toBeUndefined();
  });
});
