import { request } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { OFFENCES_BEFORE_BAN, SOURCE_IP_LIMIT, TEMP_BAN_SECONDS } from '../../contracts/source-ip-limits';
import { SourceIpGuard } from '../../lambdas/limiter/source-ip-guard';
import { tokenExchange } from '../../lambdas/routes/token-route';
import { GatewayRoute, LocalHttpApiGateway } from '../../local/http-api-gateway';
import { meteredApiRoutes } from '../../local/metered-api';
import { MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

const TOKEN_ROUTE = 'POST /v1/auth/token';
const UNREGISTERED_KEY = `aut_${'A'.repeat(43)}`;

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Record<string, unknown>;
}

/** A token exchange from a chosen loopback address (all of 127.0.0.0/8 is this host), so that each test is its own source IP. */
function exchange(url: string, apiKey: string, localAddress: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/auth/token`, { method: 'POST', headers: { 'x-api-key': apiKey }, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

const withoutRequestId = (body: Record<string, unknown>) => ({ ...body, requestId: undefined });

/**
 * Integration: POST /v1/auth/token behind the source IP guard, through the local gateway (its
 * authorizer, the socket's address as `requestContext.http.sourceIp`), dynalite and the usage path.
 */
describe('Function: tokenExchange (local metered API)', () => {
  let api: MeteredApiHarness;
  let gateway: LocalHttpApiGateway;
  let url: string;
  let apiKey: string;
  let otherTenantKey: string;
  let tenantId: string;

  beforeAll(async () => {
    api = await startMeteredApi();
    const guard = new SourceIpGuard({ client: api.deps.dynamodb, tableName: api.deps.config.tables.limiter });
    const guarded = api.deps.track(tokenExchange(api.deps.tokens, api.deps.routeOptions('token'), guard)) as unknown as GatewayRoute['handler'];
    // The routes `npm start` serves, with the token exchange composed as its Lambda entry (lambdas/handlers/token.ts) composes it.
    gateway = new LocalHttpApiGateway({ routes: meteredApiRoutes(api.deps).map((route) => (route.routeKey === TOKEN_ROUTE ? { ...route, handler: guarded } : route)) });
    url = await gateway.listen(0);
    // A tier whose own limit (100/min) is far above the source IP's, so that the guard is what refuses.
    ({ apiKey, tenantId } = await api.tenantWithKey('premium'));
    otherTenantKey = (await api.tenantWithKey('premium')).apiKey;
  });
  afterAll(async () => {
    await gateway.close();
    await api.stop();
  });

  it('answers the 11th exchange of a minute from one address 429 rate-limited, with Retry-After and the RateLimit headers', async () => {
    // Prepare
    const from = '127.0.0.11';
    const answers: Answer[] = [];
    // Act
    for (let i = 0; i < SOURCE_IP_LIMIT.requestsPerMinute + 1; i++) answers.push(await exchange(url, apiKey, from));
    const otherAddress = await exchange(url, apiKey, '127.0.0.12');
    // Assess
    expect(answers.slice(0, 10).map((a) => a.status)).toEqual(Array(10).fill(200));
    const refused = answers[10];
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: 'rate-limited', message: expect.stringContaining('10 requests per minute') as unknown });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(5);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(6);
    expect(refused.headers['ratelimit-policy']).toBe('"source-ip";q=10;w=60');
    expect(refused.headers.ratelimit).toBe(`"source-ip";r=0;t=${String(refused.headers['retry-after'])}`);
    expect(otherAddress.status).toBe(200);
    // The refusal is recorded as anonymous usage (never billed), not as the key's tenant.
    await api.flushUsage();
    expect(api.bus.details).toContainEqual(expect.objectContaining({ tenantId: 'anonymous', operation: TOKEN_ROUTE, statusCode: 429 }));
    expect(api.bus.details).not.toContainEqual(expect.objectContaining({ tenantId, operation: TOKEN_ROUTE, statusCode: 429 }));
  });

  it('bans an address that keeps going, and answers every registered key from it alike while it is banned', async () => {
    // Prepare
    const from = '127.0.0.13';
    for (let i = 0; i < SOURCE_IP_LIMIT.burst + OFFENCES_BEFORE_BAN - 1; i++) await exchange(url, apiKey, from);
    // Act
    const banning = await exchange(url, apiKey, from);
    const otherTenant = await exchange(url, otherTenantKey, from);
    const unregistered = await exchange(url, UNREGISTERED_KEY, from);
    // Assess
    expect(banning.status).toBe(429);
    expect(Number(banning.headers['retry-after'])).toBeGreaterThan(TEMP_BAN_SECONDS - 5);
    expect(Number(banning.headers['retry-after'])).toBeLessThanOrEqual(TEMP_BAN_SECONDS);
    expect(banning.body.message).toContain('banned');
    expect(otherTenant.status).toBe(429);
    expect(withoutRequestId(otherTenant.body)).toEqual(withoutRequestId(banning.body));
    // The authorizer runs before the route in API Gateway: an unregistered key never reaches the guard.
    expect(unregistered).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
  });

  it('refuses an unregistered key and a malformed one with the same status and body (the authorizer\'s 403), from a fresh address', async () => {
    // Act
    const unregistered = await exchange(url, UNREGISTERED_KEY, '127.0.0.14');
    const malformed = await exchange(url, 'not-a-key', '127.0.0.15');
    // Assess
    expect(unregistered).toMatchObject({ status: 403, body: { message: 'Forbidden' } });
    expect(malformed.status).toBe(unregistered.status);
    expect(malformed.body).toEqual(unregistered.body);
  });

  it('goes on to the exchange (fails open: the authorizer verified the key, the route limits the tenant) when the guard cannot reach its table', async () => {
    // Prepare: the token exchange with a guard whose DynamoDB does not answer.
    const unreachable = new DynamoDBClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' }, maxAttempts: 1 });
    const handler = tokenExchange(api.deps.tokens, api.deps.routeOptions('token'), new SourceIpGuard({ client: unreachable, tableName: 'limiter' }));
    const event = { version: '2.0', routeKey: TOKEN_ROUTE, headers: {}, requestContext: { http: { method: 'POST', sourceIp: '192.0.2.1' }, requestId: 'r-503' } };
    // Act
    const answer = await handler(event as never);
    unreachable.destroy();
    // Assess: the route ran, and refused this event for what it is (no verified credential), not for the guard.
    expect(answer.statusCode).toBe(401);
    expect(JSON.parse(String(answer.body))).toMatchObject({ error: 'unauthorized' });
  });

  it('refuses 400 invalid-source-ip when the event carries no IP address', async () => {
    // Prepare
    const handler = tokenExchange(api.deps.tokens, api.deps.routeOptions('token'), new SourceIpGuard({ client: api.deps.dynamodb, tableName: api.deps.config.tables.limiter }));
    const event = { version: '2.0', routeKey: TOKEN_ROUTE, headers: {}, requestContext: { http: { method: 'POST', sourceIp: '-' }, requestId: 'r-400' } };
    // Act
    const answer = await handler(event as never);
    // Assess
    expect(answer.statusCode).toBe(400);
    expect(JSON.parse(String(answer.body))).toMatchObject({ error: 'invalid-source-ip' });
  });
});
