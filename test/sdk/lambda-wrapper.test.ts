import { callerFromAuthorizer, routeOf, withUsageTracking } from '../../sdk/lambda-wrapper';
import { setUsageFeature } from '../../sdk/usage-context';
import { capturingPublisher } from './helpers';

const v2Event = {
  version: '2.0',
  routeKey: 'GET /v1/users/{id}',
  rawPath: '/v1/users/u-777',
  headers: {},
  requestContext: { http: { method: 'GET' }, authorizer: { lambda: { tenantId: 'acme', apiKeyId: 'key-9', tier: 'basic' } } },
};
const v1Event = {
  httpMethod: 'POST',
  resource: '/v1/products',
  path: '/v1/products',
  body: '{"name":"x"}',
  requestContext: { authorizer: { tenantId: 'globex', userId: 'u-1' } },
};

describe('Function: withUsageTracking', () => {
  const { publisher, sent, mock } = capturingPublisher();

  afterAll(async () => {
    await publisher.close();
    mock.restore();
  });
  beforeEach(() => mock.resetHistory());

  it('records an HTTP API v2 invocation and has flushed before returning', async () => {
    // Prepare
    const handler = withUsageTracking(publisher, () => {
      setUsageFeature('users.read');
      return Promise.resolve({ statusCode: 200, body: '{"id":"u-777"}' });
    });
    // Act
    const result = await handler(v2Event, {});
    // Assess: delivered already, no flush needed by the caller.
    expect(result).toEqual({ statusCode: 200, body: '{"id":"u-777"}' });
    expect(publisher.stats().queued).toBe(0);
    expect(sent()).toEqual([
      expect.objectContaining({ operation: 'GET /v1/users/{id}', method: 'GET', statusCode: 200, tenantId: 'acme', apiKeyId: 'key-9', tier: 'basic', feature: 'users.read', responseBytes: 14 }),
    ]);
  });

  it('records a REST API v1 invocation with request bytes', async () => {
    const handler = withUsageTracking(publisher, () => Promise.resolve({ statusCode: 201, body: 'created' }));
    await handler(v1Event, {});
    expect(sent()).toEqual([expect.objectContaining({ operation: 'POST /v1/products', statusCode: 201, tenantId: 'globex', userId: 'u-1', requestBytes: 12 })]);
  });

  it('records a thrown error as 500 and rethrows it', async () => {
    const handler = withUsageTracking(publisher, () => Promise.reject(new Error('database down')));
    await expect(handler(v2Event, {})).rejects.toThrow('database down');
    expect(sent()).toEqual([expect.objectContaining({ statusCode: 500, operation: 'GET /v1/users/{id}' })]);
  });

  it('treats a v2 result without statusCode as 200', async () => {
    const handler = withUsageTracking(publisher, () => Promise.resolve({ hello: 'world' }));
    await handler(v2Event, {});
    expect(sent()[0].statusCode).toBe(200);
  });
});

describe('Function: routeOf', () => {
  it('uses the method for ANY routes and never the raw path for $default', () => {
    expect(routeOf({ version: '2.0', routeKey: 'ANY /v1/{proxy+}', requestContext: { http: { method: 'delete' } } })).toEqual({ method: 'DELETE', operation: 'DELETE /v1/{proxy+}' });
    expect(routeOf({ version: '2.0', routeKey: '$default', requestContext: { http: { method: 'GET' } } })).toEqual({ method: 'GET', operation: 'GET (unmatched route)' });
  });
});

describe('Function: callerFromAuthorizer', () => {
  it('reads the caller from the authorizer context and ignores empty tenants', () => {
    expect(callerFromAuthorizer({ requestContext: { authorizer: { lambda: { tenantId: 't', tier: 'free' } } } })).toEqual({ tenantId: 't', tier: 'free', userId: undefined, apiKeyId: undefined });
    expect(callerFromAuthorizer({ requestContext: { authorizer: { lambda: { tenantId: '' } } } })).toBeUndefined();
    expect(callerFromAuthorizer({})).toBeUndefined();
  });

  it('reads a REST API v1 context (flat) as well as a v2 one (under lambda)', () => {
    expect(callerFromAuthorizer({ requestContext: { authorizer: { tenantId: 'g', userId: 'u-1', principalId: 'p' } } })).toEqual({ tenantId: 'g', userId: 'u-1', apiKeyId: undefined, tier: undefined });
  });
});
