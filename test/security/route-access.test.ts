import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  AUTHORIZER_CACHE_TTL_BY_ACCESS,
  TOKEN_CLOCK_TOLERANCE_SECONDS,
  authorizerConfigOfInvokedArn,
} from '../../contracts/metered-api';
import { MeteredHttpApi } from '../../lib/metered-http-api';
import { testApp } from '../lib/fixtures';
import { MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

/**
 * Issue 18, item 2 and the cache/`exp` part of item 6: a route is guarded as it declares, by the
 * authorizer it is attached to, whose access comes from the stack's configuration, never from a
 * lookup of the request's route; no refusal or revocation outlives the request it was decided for
 * on admin routes; and no token is accepted after `exp` plus the clock tolerance, cached or not.
 * Replays the review's proofs of concept against the local stack.
 */

/** What a custom route answers when it runs: it checks nothing itself, so only the authorizer guards it. */
const unguarded = () => Promise.resolve({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ran":true}' });

const CUSTOM = {
  tenant: { method: 'GET', path: '/v1/orders', routeKey: 'GET /v1/orders' },
  admin: { method: 'POST', path: '/v1/admin/reindex', routeKey: 'POST /v1/admin/reindex' },
} as const;

describe('Security: custom routes are guarded as declared, through the local gateway', () => {
  let api: MeteredApiHarness;
  let now = Date.UTC(2025, 0, 15, 9, 30);
  let tenant: { tenantId: string; apiKey: string; keyId: string };

  const call = (route: { method: string; path: string }, authorization: string) => api.call(route.method, route.path, { headers: { authorization } });
  const builtInAdmin = { method: 'GET', path: '/v1/admin/tenants' };
  const tokenFor = async (apiKey: string) => `Bearer ${String((await api.call('POST', '/v1/auth/token', { headers: { 'x-api-key': apiKey } })).json.access_token)}`;

  beforeAll(async () => {
    api = await startMeteredApi({
      clock: () => now,
      customRoutes: () => [
        { routeKey: CUSTOM.tenant.routeKey, handler: unguarded, access: 'tenant' },
        { routeKey: CUSTOM.admin.routeKey, handler: unguarded, access: 'admin' },
      ],
    });
    tenant = await api.tenantWithKey('enterprise');
  });
  afterAll(async () => api.stop());
  beforeEach(() => {
    now += 3_600_000;
  });

  it('refuses tenant credentials on a custom admin route (the review got 200 with a tenant key)', async () => {
    // Act
    const byKey = await call(CUSTOM.admin, `ApiKey ${tenant.apiKey}`);
    const byToken = await call(CUSTOM.admin, await tokenFor(tenant.apiKey));
    // Assess
    expect([byKey.status, byKey.json]).toEqual([403, { message: 'Forbidden' }]);
    expect([byToken.status, byToken.json]).toEqual([403, { message: 'Forbidden' }]);
  });

  it('admits tenant credentials on a custom tenant route and refuses admins there', async () => {
    // Act
    const byTenant = await call(CUSTOM.tenant, `ApiKey ${tenant.apiKey}`);
    const byAdmin = await call(CUSTOM.tenant, `ApiKey ${api.adminKey}`);
    // Assess
    expect([byTenant.status, byTenant.json]).toEqual([200, { ran: true }]);
    expect([byAdmin.status, byAdmin.json]).toEqual([403, { message: 'Forbidden' }]);
  });

  it('admits admins on a custom admin route, and a refusal never locks them out of other admin routes', async () => {
    // Act: refusals of every kind first, then admin calls on custom and built-in admin routes, interleaved.
    const refused = [await call(CUSTOM.admin, `ApiKey ${tenant.apiKey}`), await call(CUSTOM.tenant, `ApiKey ${api.adminKey}`), await call(CUSTOM.admin, 'ApiKey aut_not-a-key')];
    const admitted = [];
    for (let round = 0; round < 2; round++) {
      admitted.push(await call(CUSTOM.admin, `ApiKey ${api.adminKey}`), await call(builtInAdmin, `ApiKey ${api.adminKey}`));
    }
    // Assess
    expect(refused.map((answer) => answer.status)).toEqual([403, 403, 403]);
    expect(admitted.map((answer) => answer.status)).toEqual([200, 200, 200, 200]);
  });

  it('a refused tenant request is followed by an allowed one with the same credential on the route it may use', async () => {
    // Act
    const refused = await call(CUSTOM.admin, `ApiKey ${tenant.apiKey}`);
    const allowed = await call(CUSTOM.tenant, `ApiKey ${tenant.apiKey}`);
    const builtIn = await call({ method: 'GET', path: '/v1/users' }, `ApiKey ${tenant.apiKey}`);
    // Assess
    expect([refused.status, allowed.status, builtIn.status]).toEqual([403, 200, 200]);
  });

  it('acts on an admin key revocation at the very next request, on a route that checks nothing itself (the review: 60 s)', async () => {
    // Prepare: a second admin key, admitted once (an answer a cache would keep).
    const second = await api.deps.store.createKey('operators', 'admin');
    expect((await call(CUSTOM.admin, `ApiKey ${second.apiKey}`)).status).toBe(200);
    // Act
    await api.admin('POST', `/v1/admin/keys/${second.keyId}/revoke`);
    now += 1_000;
    const after = await call(CUSTOM.admin, `ApiKey ${second.apiKey}`);
    // Assess
    expect([after.status, after.json]).toEqual([403, { message: 'Forbidden' }]);
  });

  it('never accepts a token after exp + the clock tolerance, however it was cached (the review: 65 s)', async () => {
    // Prepare: a token, used one second before it expires, which a cache would keep.
    const bearer = await tokenFor(tenant.apiKey);
    const exp = Number((JSON.parse(Buffer.from(bearer.split('.')[1], 'base64url').toString()) as { exp: unknown }).exp) * 1000;
    const at = async (offsetMs: number) => {
      now = exp + offsetMs;
      return (await call(CUSTOM.tenant, bearer)).status;
    };
    // Act
    const before = await at(-1_000);
    const late = [];
    for (const offset of [TOKEN_CLOCK_TOLERANCE_SECONDS * 1000 + 500, 10_000, 30_000, 64_000]) late.push(await at(offset));
    // Assess
    expect(before).toBe(200);
    expect(late).toEqual([403, 403, 403, 403]);
    expect((await call(CUSTOM.tenant, bearer)).json).toEqual({ message: 'Forbidden' });
  });

  it('refuses a token presented within its tolerance but with less life left than a cached answer would have', async () => {
    // Prepare
    const bearer = await tokenFor(tenant.apiKey);
    const exp = Number((JSON.parse(Buffer.from(bearer.split('.')[1], 'base64url').toString()) as { exp: unknown }).exp) * 1000;
    // Act: first presented 2 s after exp, which the token verifier alone would still accept.
    now = exp + 2_000;
    const first = await call(CUSTOM.tenant, bearer);
    // Assess
    expect([first.status, first.json]).toEqual([403, { message: 'Forbidden' }]);
  });
});

describe('Security: the stack attaches each route to the authorizer of its declared access', () => {
  const stack = new Stack(testApp({ 'aws:cdk:bundling-stacks': [] }), 'RouteAccessStack');
  const api = new MeteredHttpApi(stack, 'MeteredApi', { usageEventBus: new events.EventBus(stack, 'Bus') });
  const customFunction = (id: string) => new lambda.Function(stack, id, { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})') });
  api.addMeteredRoute(CUSTOM.tenant.routeKey, { handler: customFunction('Orders'), access: 'tenant' });
  api.addMeteredRoute(CUSTOM.admin.routeKey, { handler: customFunction('Reindex'), access: 'admin' });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>;
  const idOf = (type: string, match: (properties: Record<string, unknown>) => boolean) => {
    const found = Object.entries(resources).filter(([, r]) => r.Type === type && match(r.Properties));
    expect(found).toHaveLength(1);
    return found[0][0];
  };

  it.each([
    ['tenant', CUSTOM.tenant.routeKey],
    ['admin', CUSTOM.admin.routeKey],
  ] as const)('puts the custom %s route (%s) on the authorizer of its access, which invokes the function through the alias of its name', (access, routeKey) => {
    // Act
    const authorizerId = idOf('AWS::ApiGatewayV2::Authorizer', (p) => p.Name === `${access}-authorization`);
    const aliasId = idOf('AWS::Lambda::Alias', (p) => p.Name === `${access}-authorization`);
    // Assess
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: routeKey, AuthorizationType: 'CUSTOM', AuthorizerId: { Ref: authorizerId } });
    expect(JSON.stringify(resources[authorizerId].Properties.AuthorizerUri)).toContain(`"Ref":"${aliasId}"`);
    expect(resources[authorizerId].Properties.AuthorizerResultTtlInSeconds).toBe(AUTHORIZER_CACHE_TTL_BY_ACCESS[access]);
  });

  it('refuses a custom route that does not declare tenant or admin access', () => {
    // Prepare
    const other = new Stack(testApp({ 'aws:cdk:bundling-stacks': [] }), 'UndeclaredStack');
    const otherApi = new MeteredHttpApi(other, 'MeteredApi', { usageEventBus: new events.EventBus(other, 'Bus') });
    const fn = new lambda.Function(other, 'Fn', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})') });
    // Act + Assess
    for (const access of [undefined, 'Admin', 'operator']) {
      expect(() => otherApi.addMeteredRoute('GET /v1/x', { handler: fn, access } as never)).toThrow(
        `Route "GET /v1/x" at UndeclaredStack/MeteredApi: access must be "tenant" or "admin" (who may call the route); got ${JSON.stringify(access)}.`,
      );
    }
  });

  it('does not cache admin answers, and caches tenant answers no longer than the token clock tolerance', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { Name: 'admin-authorization', AuthorizerResultTtlInSeconds: 0 });
    for (const name of ['tenant-authorization', 'tenant-x-api-key']) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', { Name: name, AuthorizerResultTtlInSeconds: Match.anyValue() });
      const ttl = Object.values(resources).find((r) => r.Type === 'AWS::ApiGatewayV2::Authorizer' && r.Properties.Name === name)!.Properties.AuthorizerResultTtlInSeconds as number;
      expect(ttl).toBeLessThanOrEqual(TOKEN_CLOCK_TOLERANCE_SECONDS);
    }
  });
});

describe('Function: authorizerConfigOfInvokedArn', () => {
  const fn = 'arn:aws:lambda:us-east-1:123456789012:function:Authorizer';

  it('grants the access of the alias the authorizer invoked', () => {
    expect(authorizerConfigOfInvokedArn(`${fn}:admin-authorization`)).toEqual({ access: 'admin', credential: 'authorization', cacheTtlSeconds: 0 });
    expect(authorizerConfigOfInvokedArn(`${fn}:tenant-x-api-key`)).toEqual({ access: 'tenant', credential: 'x-api-key', cacheTtlSeconds: TOKEN_CLOCK_TOLERANCE_SECONDS });
  });

  it('fails closed when invoked without an authorizer alias', () => {
    for (const arn of [fn, `${fn}:$LATEST`, `${fn}:7`, undefined]) {
      expect(() => authorizerConfigOfInvokedArn(arn)).toThrow('The authorizer function must be invoked through an alias naming its authorizer');
    }
  });
});
