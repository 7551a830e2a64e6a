import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { resolveTierPolicies } from '../../contracts/tiers';
import { AuthorizerContext } from '../../lambdas/auth/authenticator';
import { KeyStatus } from '../../lambdas/credentials/credential-store';
import { AuthorizedEvent, MeteredRouteOptions, meteredRoute } from '../../lambdas/http/metered-route';
import { TokenBucketLimiter } from '../../lambdas/limiter/token-bucket-limiter';
import { UsageRequestContext, runWithUsageContext } from '../../sdk/usage-context';

const tiers = resolveTierPolicies();
const ddbMock = mockClient(DynamoDBClient);
const NOW = Date.parse('2026-11-23T10:00:00Z');
const logger = new Logger({ logLevel: 'SILENT' });
const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });

const tenantContext = (overrides: Partial<AuthorizerContext> = {}): AuthorizerContext => ({
  kind: 'tenant',
  tenantId: 'acme',
  apiKeyId: 'key_1',
  tier: 'free',
  scopes: 'api:call usage:read',
  via: 'api-key',
  subject: 'key_1',
  standing: 'active',
  ...overrides,
});
const adminContext = (): AuthorizerContext => ({ kind: 'admin', tenantId: 'operator', apiKeyId: 'key_admin', tier: '', scopes: 'admin', via: 'api-key', subject: 'key_admin', standing: 'active' });
const event = (context?: AuthorizerContext) =>
  ({ version: '2.0', routeKey: 'GET /v1/users', rawPath: '/v1/users', headers: {}, requestContext: { requestId: 'r-1', http: { method: 'GET' }, ...(context ? { authorizer: { lambda: context } } : {}) } }) as unknown as AuthorizedEvent;

/** Runs a route that answers 200 inside a usage context, and returns its answer and the caller it recorded. */
async function run(context: AuthorizerContext | undefined, options: Partial<MeteredRouteOptions> = {}) {
  const limiter = new TokenBucketLimiter({ client: new DynamoDBClient({ region: 'us-east-1' }), tableName: 'limiter', tiers, clock: () => NOW });
  const route = meteredRoute(() => Promise.resolve({ statusCode: 200, body: { ok: true } }), { access: 'tenant', metered: true, limiter, logger, metrics, ...options });
  const usage: UsageRequestContext = {};
  const answer = await runWithUsageContext(usage, () => route(event(context)));
  return { answer, body: JSON.parse(String(answer.body)) as Record<string, unknown>, caller: usage.caller };
}

describe('Function: meteredRoute', () => {
  afterEach(() => ddbMock.reset());

  it('records the tier the limiter enforced, not the one the authorizer context carries', async () => {
    // Prepare: the stored tier is premium; the cached context still says free.
    ddbMock
      .on(UpdateItemCommand)
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'failed', $metadata: {}, Item: { pk: { S: 'TENANT#acme' }, tier: { S: 'premium' } } }))
      .resolves({ Attributes: { tat: { N: String(NOW + 600) } } });
    // Act
    const { answer, caller } = await run(tenantContext({ tier: 'free' }));
    // Assess
    expect(answer.statusCode).toBe(200);
    expect(caller).toEqual({ tenantId: 'acme', apiKeyId: 'key_1', tier: 'premium' });
  });

  it('answers a credential whose tenant has no limiter item with exactly the gateway\'s own 403, as the authorizer\'s refusal reads', async () => {
    // Prepare: the item does not exist (the failed condition shows no old item), as for a mapping to a tenant removed behind the API's back.
    ddbMock.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {} }));
    // Act
    const { answer, caller } = await run(tenantContext({ via: 'token', apiKeyId: '', standing: '', subject: 'https://issuer.example|orphan' }));
    // Assess
    expect(answer).toEqual({ statusCode: 403, headers: { 'content-type': 'application/json' }, body: '{"message":"Forbidden"}' });
    expect(caller).toEqual({ tenantId: 'acme' });
  });

  it('records the stored tier with a refusal too', async () => {
    ddbMock.on(UpdateItemCommand).rejects(new ConditionalCheckFailedException({ message: 'failed', $metadata: {}, Item: { pk: { S: 'TENANT#acme' }, tier: { S: 'basic' }, blocked: { BOOL: true } } }));
    const { answer, body, caller } = await run(tenantContext({ tier: 'free' }));
    expect([answer.statusCode, body]).toEqual([403, { error: 'tenant-blocked', message: 'The tenant is blocked.', requestId: 'r-1' }]);
    expect(caller).toEqual({ tenantId: 'acme', apiKeyId: 'key_1', tier: 'basic' });
  });

  it.each([
    ['key-blocked', 'The API key is blocked.'],
    ['tenant-blocked', 'The tenant is blocked.'],
  ] as const)('does not let a tier that fails open admit a credential the authorizer saw %s while the limiter store is down', async (standing, message) => {
    // Prepare: the limiter's write fails; its read shows the tenant in good standing; premium fails open.
    ddbMock.on(UpdateItemCommand).rejects(new Error('connect ECONNREFUSED'));
    ddbMock.on(GetItemCommand).resolves({ Item: { pk: { S: 'TENANT#acme' }, tier: { S: 'premium' } } });
    // Act
    const blocked = await run(tenantContext({ tier: 'premium', standing }));
    const active = await run(tenantContext({ tier: 'premium', standing: 'active' }));
    // Assess
    expect([blocked.answer.statusCode, blocked.body]).toEqual([403, { error: standing, message, requestId: 'r-1' }]);
    expect(active.answer.statusCode).toBe(200);
  });

  it.each(['free', 'premium'] as const)('answers 429 with Retry-After, never admits, when DynamoDB throttles the %s tenant item', async (tier) => {
    // Prepare: the tenant's own traffic throttles its item.
    ddbMock.on(UpdateItemCommand).rejects(Object.assign(new Error('Throughput exceeds the current capacity of your table or index.'), { name: 'ProvisionedThroughputExceededException' }));
    // Act
    const { answer, body } = await run(tenantContext({ tier, via: 'token', standing: '' }));
    // Assess
    expect([answer.statusCode, body.error, answer.headers['Retry-After']]).toEqual([429, 'rate-limited', '1']);
  });

  it.each([
    ['a Bearer token (no standing in the context)', { via: 'token', standing: '' }],
    ['an API key the authorizer saw active', { via: 'api-key', standing: 'active' }],
  ] as const)('answers 503 for %s of a fail-open tier when neither the write nor the read reach DynamoDB', async (_what, context) => {
    ddbMock.on(UpdateItemCommand).rejects(Object.assign(new Error('Request timed out'), { name: 'TimeoutError' }));
    ddbMock.on(GetItemCommand).rejects(Object.assign(new Error('Request timed out'), { name: 'TimeoutError' }));
    const { answer, body } = await run(tenantContext({ tier: 'enterprise', ...context }));
    expect([answer.statusCode, body.error]).toEqual([503, 'limiter-unavailable']);
  });

  it('records admin requests under operator and requests without a verified credential under anonymous, without a tier', async () => {
    const admin = await run(adminContext(), { access: 'admin', metered: false });
    const nobody = await run(undefined);
    expect(admin.caller).toEqual({ tenantId: 'operator', apiKeyId: 'key_admin' });
    expect([nobody.answer.statusCode, nobody.caller]).toEqual([401, { tenantId: 'anonymous' }]);
    expect(ddbMock.calls()).toHaveLength(0);
  });

  it.each([
    ['active', 200, undefined],
    ['blocked', 403, 'key-blocked'],
    ['revoked', 403, 'key-revoked'],
    [undefined, 403, 'forbidden'],
  ] as const)('reads the key status on every request of an unmetered route: %s → %i', async (status, statusCode, error) => {
    const asked: string[] = [];
    const keyStatus = (keyId: string): Promise<KeyStatus | undefined> => {
      asked.push(keyId);
      return Promise.resolve(status);
    };
    const { answer, body } = await run(adminContext(), { access: 'admin', metered: false, keyStatus });
    expect(answer.statusCode).toBe(statusCode);
    expect(body.error).toBe(error);
    expect(asked).toEqual(['key_admin']);
  });
});
