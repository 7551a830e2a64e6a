import { usageOfGatewayAnswer } from '../../lambdas/access-log/gateway-answers';

describe('Function: usageOfGatewayAnswer', () => {
  const record = { requestId: 'Abc=123', requestTimeEpoch: Date.parse('2026-11-23T10:00:00Z'), routeKey: 'GET /v1/users', httpMethod: 'GET', status: 403, integrationStatus: '-', responseLatency: 7, responseLength: 23 };

  it('turns an authorizer refusal into a usage event with a stable id', () => {
    expect(usageOfGatewayAnswer(record)).toEqual({
      eventId: 'apigw-Abc-123',
      service: 'metered-api',
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
