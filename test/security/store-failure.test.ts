import { randomUUID } from 'node:crypto';
import { TIER_NAMES, TierName } from '../../contracts/tiers';
import { STANDING_MEMORY_MS } from '../../lambdas/limiter/token-bucket-limiter';
import { createDependencies } from '../../lambdas/runtime/dependencies';
import { RequestPathSdkPolicy } from '../../lambdas/runtime/runtime-config';
import { LocalHttpApiGateway } from '../../local/http-api-gateway';
import { meteredApiRoutes } from '../../local/metered-api';
import { EXTERNAL, MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';
import { BlackHole, faultyClient } from '../support/store-faults';

/**
 * The review's finding 1 replayed against the local stack: with the limiter's writes throttled or
 * timing out, no caller whose block or revocation state is unknown is admitted, for every tier and
 * every credential type. The routes under test run on a DynamoDB client configured as in AWS
 * (request timeout, bounded attempts; shorter, to keep the suite fast), whose limiter calls can be
 * made to throw DynamoDB's throttling error or to hang until the SDK's timeout ends them.
 */

const CREDENTIALS = ['API key', 'own Bearer token', 'external token'] as const;
type CredentialKind = (typeof CREDENTIALS)[number];
const FAIL_OPEN: Readonly<Record<TierName, boolean>> = { free: false, basic: false, premium: true, enterprise: true };
const FAST_SDK: RequestPathSdkPolicy = { connectionTimeoutMs: 100, requestTimeoutMs: 100, maxAttempts: 2 };

describe('Security: no store failure admits a caller whose block or revocation state is unknown', () => {
  let api: MeteredApiHarness;
  let hole: BlackHole;
  let faults: Awaited<ReturnType<typeof faultyClient>>;
  let gateway: LocalHttpApiGateway;
  let url: string;
  let now = Date.now();
  const clock = () => now;
  const limiterWrites = () => ({ table: api.deps.config.tables.limiter, command: 'UpdateItemCommand' as const });
  const limiterReads = () => ({ table: api.deps.config.tables.limiter, command: 'GetItemCommand' as const });

  /** A request to the routes on the faulty client. */
  const call = async (headers: Record<string, string>, route = '/v1/users') => {
    const response = await fetch(`${url}${route}`, { headers });
    const text = await response.text();
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body: text };
  };

  /** A tenant of a tier, and a credential of the kind, made while the store is healthy. */
  const callerOf = async (tier: TierName, kind: CredentialKind) => {
    const tenant = await api.tenantWithKey(tier);
    let headers: Record<string, string>;
    if (kind === 'API key') {
      headers = { authorization: `ApiKey ${tenant.apiKey}` };
    } else if (kind === 'own Bearer token') {
      const minted = await api.call('POST', '/v1/auth/token', { headers: { 'x-api-key': tenant.apiKey } });
      headers = { authorization: `Bearer ${String(minted.json.access_token)}` };
    } else {
      const subject = `user-${randomUUID()}`;
      const mapped = await api.admin('POST', `/v1/admin/tenants/${tenant.tenantId}/external-identities`, { issuer: EXTERNAL.issuer, subject });
      if (mapped.status >= 300) throw new Error(`external identity not mapped: ${mapped.text}`);
      const token = await api.externalToken(subject);
      headers = { authorization: `Bearer ${token}` };
    }
    return { ...tenant, headers };
  };

  // Every caller here exchanges its token from this one address, faster than the per-address limit allows.
  const sourceIpPolicy = { limit: { requestsPerMinute: 10_000, burst: 10_000 } };

  beforeAll(async () => {
    api = await startMeteredApi({ sourceIpPolicy });
    hole = new BlackHole();
    faults = await faultyClient(api.deps.dynamodb, FAST_SDK, await hole.start());
    const deps = createDependencies(api.deps.config, { dynamodb: faults.client, usageLog: api.usageLogs.sink, clock, sourceIpPolicy });
    gateway = new LocalHttpApiGateway({ routes: meteredApiRoutes(deps), clock });
    url = await gateway.listen(0);
  });
  afterEach(() => { faults.heal(); });
  afterAll(async () => {
    await gateway.close();
    faults.client.destroy();
    await hole.stop();
    await api.stop();
  });

  it("refuses 150 of 150 calls of a blocked premium tenant's revoked key while limiter writes throw ProvisionedThroughputExceededException (the review's proof of concept)", async () => {
    // Prepare: a token minted before the revocation, then the key revoked and the tenant blocked.
    const { tenantId, keyId, apiKey, headers } = await callerOf('premium', 'own Bearer token');
    expect((await call(headers)).status).toBe(200);
    expect((await api.admin('POST', `/v1/admin/keys/${keyId}/revoke`)).status).toBe(200);
    expect((await api.admin('POST', `/v1/admin/tenants/${tenantId}/block`)).status).toBe(200);
    faults.fail(limiterWrites(), 'throttle');
    const throttledBefore = faults.counts.throttled;
    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 150; i++) statuses.push((await call(i % 2 === 0 ? headers : { authorization: `ApiKey ${apiKey}` })).status);
    // Assess: the token reaches the limiter and is answered 429; the revoked key is refused by the authorizer.
    expect(statuses.filter((status) => status < 400)).toEqual([]);
    expect(new Set(statuses.filter((_, i) => i % 2 === 0))).toEqual(new Set([429]));
    expect(new Set(statuses.filter((_, i) => i % 2 === 1))).toEqual(new Set([403]));
    expect(faults.counts.throttled - throttledBefore).toBe(75);
  });

  describe.each(TIER_NAMES)('a %s tenant', (tier) => {
    describe.each(CREDENTIALS)('with an %s', (kind) => {
      it('is answered 429 with Retry-After, never admitted, while DynamoDB throttles its item', async () => {
        // Prepare
        const { headers } = await callerOf(tier, kind);
        expect((await call(headers)).status).toBe(200);
        faults.fail(limiterWrites(), 'throttle');
        // Act
        const answers = [await call(headers), await call(headers, '/v1/usage')];
        // Assess
        expect(answers.map((answer) => [answer.status, answer.retryAfter])).toEqual([
          [429, '1'],
          [429, '1'],
        ]);
      });

      it(`when its limiter write times out: ${FAIL_OPEN[tier] ? 'admitted' : 'refused (503)'} in good standing (read), refused 403 once blocked`, async () => {
        // Prepare
        const { tenantId, headers } = await callerOf(tier, kind);
        expect((await call(headers)).status).toBe(200);
        faults.fail(limiterWrites(), 'timeout');
        const timedOutBefore = faults.counts.timedOut;
        // Act
        const inGoodStanding = await call(headers);
        expect((await api.admin('POST', `/v1/admin/tenants/${tenantId}/block`)).status).toBe(200);
        const blocked = await call(headers);
        // Assess
        expect(inGoodStanding.status).toBe(FAIL_OPEN[tier] ? 200 : 503);
        expect([blocked.status, (JSON.parse(blocked.body) as { error?: unknown }).error]).toEqual([403, 'tenant-blocked']);
        // Each write was ended by the SDK's request timeout, after at most maxAttempts attempts (fewer
        // once the SDK's retry quota, which timeouts drain, is spent).
        const attempts = faults.counts.timedOut - timedOutBefore;
        expect(attempts).toBeGreaterThanOrEqual(2);
        expect(attempts).toBeLessThanOrEqual(2 * FAST_SDK.maxAttempts);
      });

      it(`when its limiter write and read both time out: ${FAIL_OPEN[tier] ? 'admitted' : 'refused'} within ${STANDING_MEMORY_MS / 1000} s of its last verified write, refused (503) after`, async () => {
        // Prepare: a verified request, then DynamoDB out of reach.
        const { headers } = await callerOf(tier, kind);
        expect((await call(headers)).status).toBe(200);
        faults.fail(limiterWrites(), 'timeout');
        faults.fail(limiterReads(), 'timeout');
        // Act
        const within = await call(headers);
        now += STANDING_MEMORY_MS + 1;
        const after = await call(headers);
        // Assess
        expect(within.status).toBe(FAIL_OPEN[tier] ? 200 : 503);
        expect([after.status, (JSON.parse(after.body) as { error?: unknown }).error]).toEqual([503, 'limiter-unavailable']);
      });
    });
  });

  it('refuses a revoked key’s token at once when the write times out, although this instance admitted it a moment before', async () => {
    // Prepare
    const { keyId, headers } = await callerOf('enterprise', 'own Bearer token');
    expect((await call(headers)).status).toBe(200);
    expect((await api.admin('POST', `/v1/admin/keys/${keyId}/revoke`)).status).toBe(200);
    faults.fail(limiterWrites(), 'timeout');
    // Act
    const answer = await call(headers);
    // Assess: the read, not the remembered standing, decides while it can.
    expect([answer.status, (JSON.parse(answer.body) as { error?: unknown }).error]).toEqual([403, 'key-revoked']);
  });
});
