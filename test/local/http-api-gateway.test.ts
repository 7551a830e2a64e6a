import { AccessLogRecord } from '../../contracts/metered-api';
import { LocalHttpApiGateway, SimpleAuthorizerResult } from '../../local/http-api-gateway';

describe('Class: LocalHttpApiGateway', () => {
  let gateway: LocalHttpApiGateway;
  let url: string;
  let now = 1_000_000;
  const authorizerCalls: string[] = [];
  const logs: AccessLogRecord[] = [];

  beforeAll(async () => {
    const authorizer = {
      name: 'tenant-authorization',
      identitySource: 'authorization' as const,
      cacheTtlSeconds: 60,
      handler: (event: { identitySource: string[] }): Promise<SimpleAuthorizerResult> => {
        authorizerCalls.push(event.identitySource[0]);
        return Promise.resolve({ isAuthorized: event.identitySource[0] === 'good', context: { tenantId: 'acme' } });
      },
    };
    gateway = new LocalHttpApiGateway({
      clock: () => now,
      onAccessLog: (record) => logs.push(record),
      routes: [
        {
          routeKey: 'GET /v1/orders/{id}',
          authorizer: authorizer,
          handler: (event) => {
            const tenant = (event.requestContext as { authorizer?: { lambda?: { tenantId?: string } } }).authorizer?.lambda?.tenantId;
            return Promise.resolve({ statusCode: 200, body: JSON.stringify({ id: event.pathParameters?.id, tenant, q: event.queryStringParameters }) });
          },
        },
        { routeKey: 'POST /v1/echo', handler: (event) => Promise.resolve({ body: event.body, method: event.requestContext.http.method }) },
        { routeKey: 'GET /v1/boom', handler: () => Promise.reject(new Error('secret internals')) },
      ],
    });
    url = await gateway.listen(0);
  });
  afterAll(() => gateway.close());

  it('routes by template with path parameters, query and authorizer context', async () => {
    const response = await fetch(`${url}/v1/orders/o-42?expand=items&expand=lines`, { headers: { authorization: 'good' } });
    expect(await response.json()).toEqual({ id: 'o-42', tenant: 'acme', q: { expand: 'items,lines' } });
  });

  it('answers 401 without calling the authorizer when the identity source is missing, 403 when it refuses', async () => {
    authorizerCalls.length = 0;
    const missing = await fetch(`${url}/v1/orders/1`);
    expect([missing.status, await missing.text()]).toEqual([401, '{"message":"Unauthorized"}']);
    const refused = await fetch(`${url}/v1/orders/1`, { headers: { authorization: 'bad' } });
    expect([refused.status, await refused.text()]).toEqual([403, '{"message":"Forbidden"}']);
    expect(authorizerCalls).toEqual(['bad']);
  });

  it('caches authorizer answers per identity for the TTL', async () => {
    gateway.clearAuthorizerCache();
    authorizerCalls.length = 0;
    await fetch(`${url}/v1/orders/1`, { headers: { authorization: 'good' } });
    await fetch(`${url}/v1/orders/2`, { headers: { authorization: 'good' } });
    now += 61_000;
    await fetch(`${url}/v1/orders/3`, { headers: { authorization: 'good' } });
    expect(authorizerCalls).toEqual(['good', 'good']);
  });

  it('turns a plain return value into a 200 JSON answer, a thrown error into a bare 500, an unknown route into 404', async () => {
    const echo = await fetch(`${url}/v1/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(await echo.json()).toEqual({ body: '{"a":1}', method: 'POST' });
    const boom = await fetch(`${url}/v1/boom`);
    expect([boom.status, await boom.text()]).toEqual([500, '{"message":"Internal Server Error"}']);
    const missing = await fetch(`${url}/nowhere`);
    expect([missing.status, await missing.text()]).toEqual([404, '{"message":"Not Found"}']);
  });

  it('writes an access log record per request, integration status included', async () => {
    logs.length = 0;
    await fetch(`${url}/v1/orders/9`, { headers: { authorization: 'bad' } });
    await fetch(`${url}/v1/orders/9`, { headers: { authorization: 'good' } });
    expect(logs.map((l) => [l.routeKey, l.status, l.integrationStatus, l.tenantId ?? null])).toEqual([
      ['GET /v1/orders/{id}', 403, '-', null],
      ['GET /v1/orders/{id}', 200, 200, 'acme'],
    ]);
  });
});
