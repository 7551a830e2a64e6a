import { ApiClient, ApiClientClock, ApiError, FetchFunction, Quota, RateLimitedError, RequestAbortedError } from '../../client';
import { TOKEN_TTL_SECONDS } from '../../contracts/metered-api';
import { MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

/** A fetch that records what the client sends (method, path and Authorization), then sends it for real. */
function recordingFetch(): { fetch: FetchFunction; sent: { route: string; authorization?: string }[] } {
  const sent: { route: string; authorization?: string }[] = [];
  const fetchAndRecord: FetchFunction = (url, init) => {
    const authorization = (init.headers as Record<string, string> | undefined)?.authorization;
    sent.push({ route: `${init.method ?? 'GET'} ${new URL(url).pathname}`, ...(authorization ? { authorization } : {}) });
    return fetch(url, init);
  };
  return { fetch: fetchAndRecord, sent };
}

const exchanges = (sent: { route: string }[]) => sent.filter((s) => s.route === 'POST /v1/auth/token').length;

/**
 * Integration: the client against the real local metered API (local HTTP API gateway, the Lambda
 * handlers, dynalite), on a simulated clock that the API and the client share: time moves only
 * when a test moves it, or when the client "sleeps" for a Retry-After.
 */
describe('Class: ApiClient, against the local metered API (simulated clock)', () => {
  let api: MeteredApiHarness;
  let now = Date.UTC(2026, 10, 30, 12, 0, 0);
  const sleeps: number[] = [];
  const clock: ApiClientClock = {
    now: () => now,
    sleep: (ms) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };

  beforeAll(async () => {
    api = await startMeteredApi({ clock: () => now });
  });
  afterAll(() => api.stop());
  beforeEach(() => {
    sleeps.length = 0;
    // A minute between tests: every exchange comes from this machine's address, and the token
    // exchange also limits each source address (per minute).
    now += 60_000;
  });

  describe('Method: request (tokens)', () => {
    it('exchanges the API key for a token once, then calls with it, and exposes the quota of the last answer', async () => {
      // Prepare
      const { apiKey } = await api.tenantWithKey('free');
      const { fetch, sent } = recordingFetch();
      const quotas: Quota[] = [];
      const client = new ApiClient({ baseUrl: api.url, apiKey, fetch, clock, onQuota: (quota) => quotas.push(quota) });
      // Act
      const users = await client.users();
      const products = await client.products();
      // Assess
      expect(users.items.length).toBeGreaterThan(0);
      expect(typeof products.items[0].id).toBe('string');
      expect(typeof products.items[0].priceCents).toBe('number');
      expect(sent.map((s) => s.route)).toEqual(['POST /v1/auth/token', 'GET /v1/users', 'GET /v1/products']);
      expect(sent[0].authorization).toBeUndefined();
      expect(sent[1].authorization).toMatch(/^Bearer ey/);
      expect(sent[2].authorization).toBe(sent[1].authorization);
      // The free tier: 5 a minute, and the exchange counts as one.
      expect(quotas.map((q) => q.remaining)).toEqual([4, 3, 2]);
      expect(client.quota).toEqual({ policy: 'free', limit: 5, windowSeconds: 60, remaining: 2, resetSeconds: 36, resetAt: now + 36_000 });
    });

    it('runs one exchange however many calls wait for a token (the API counts it once)', async () => {
      const { apiKey } = await api.tenantWithKey('premium');
      const { fetch, sent } = recordingFetch();
      const client = new ApiClient({ baseUrl: api.url, apiKey, fetch, clock });
      const answers = await Promise.all(Array.from({ length: 10 }, () => client.users()));
      expect(answers.every((answer) => answer.items.length > 0)).toBe(true);
      expect(exchanges(sent)).toBe(1);
      expect(new Set(sent.filter((s) => s.route === 'GET /v1/users').map((s) => s.authorization)).size).toBe(1);
      // Server side: one exchange, ten calls, and this one.
      expect((await client.usage()).counts.today).toBe(12);
    });

    it(`renews the token a minute before its ${TOKEN_TTL_SECONDS} s run out, when the API would refuse it soon after`, async () => {
      const { apiKey } = await api.tenantWithKey('basic');
      const { fetch, sent } = recordingFetch();
      const client = new ApiClient({ baseUrl: api.url, apiKey, fetch, clock });
      await client.users();
      const first = sent[1].authorization;

      now += (TOKEN_TTL_SECONDS - 61) * 1000;
      await client.users();
      expect(exchanges(sent)).toBe(1);

      now += 2_000;
      await client.users();
      expect(exchanges(sent)).toBe(2);
      const second = sent[sent.length - 1].authorization;
      expect(second).toMatch(/^Bearer ey/);
      expect(second).not.toBe(first);

      // The first token, past its expiry (and the 5 s tolerance): the gateway refuses it, the new one works.
      now += 70_000;
      expect((await api.call('GET', '/v1/users', { headers: { authorization: first! } })).status).toBe(403);
      expect((await api.call('GET', '/v1/users', { headers: { authorization: second! } })).status).toBe(200);
    });

    it('renews once a cached token the gateway refuses before the client expected it to (a client clock that stood still)', async () => {
      const { apiKey } = await api.tenantWithKey('basic');
      const { fetch, sent } = recordingFetch();
      const stoodStill = now;
      const stopped: ApiClientClock = { now: () => stoodStill, sleep: (ms) => clock.sleep(ms) };
      const client = new ApiClient({ baseUrl: api.url, apiKey, fetch, clock: stopped });
      await client.users();
      now += TOKEN_TTL_SECONDS * 1000 + 10_000;
      // The client thinks its token is brand new; the API says it has expired.
      const users = await client.users();
      expect(users.items.length).toBeGreaterThan(0);
      expect(sent.map((s) => s.route)).toEqual(['POST /v1/auth/token', 'GET /v1/users', 'GET /v1/users', 'POST /v1/auth/token', 'GET /v1/users']);
    });
  });

  describe('Method: request (rate limits)', () => {
    it('throws RateLimitedError with Retry-After, the policy and the remaining quota (onRateLimit: throw)', async () => {
      const { apiKey } = await api.tenantWithKey('free');
      const client = new ApiClient({ baseUrl: api.url, apiKey, clock, onRateLimit: 'throw' });
      for (let i = 0; i < 4; i++) await client.users();
      const refusal = await client.users().catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(RateLimitedError);
      const limited = refusal as RateLimitedError;
      // GCRA at 5 a minute: one request every 12 s.
      expect({ status: limited.status, error: limited.error, retryAfterMs: limited.retryAfterMs, policy: limited.policy, remaining: limited.remaining }).toEqual({
        status: 429,
        error: 'rate-limited',
        retryAfterMs: 12_000,
        policy: 'free',
        remaining: 0,
      });
      expect(limited.apiMessage).toContain('5/min');
      expect(client.quota?.remaining).toBe(0);
      expect(sleeps).toEqual([]);
    });

    it('waits for Retry-After and tries again (onRateLimit: wait, the default), within maxWaitMs', async () => {
      const { apiKey } = await api.tenantWithKey('free');
      const { fetch, sent } = recordingFetch();
      const client = new ApiClient({ baseUrl: api.url, apiKey, fetch, clock, maxWaitMs: 30_000 });
      for (let i = 0; i < 4; i++) await client.users();
      const users = await client.users();
      expect(users.items.length).toBeGreaterThan(0);
      expect(sleeps).toEqual([12_000]);
      expect(sent.slice(-2).map((s) => s.route)).toEqual(['GET /v1/users', 'GET /v1/users']);
      expect(client.quota?.remaining).toBe(0);
    });

    it('throws at once when Retry-After is beyond maxWaitMs, and a call may override the mode', async () => {
      const { apiKey } = await api.tenantWithKey('free');
      const client = new ApiClient({ baseUrl: api.url, apiKey, clock, maxWaitMs: 5_000 });
      for (let i = 0; i < 4; i++) await client.users();
      await expect(client.users()).rejects.toMatchObject({ name: 'RateLimitedError', retryAfterMs: 12_000 });
      expect(sleeps).toEqual([]);
      const patient = new ApiClient({ baseUrl: api.url, apiKey, clock, onRateLimit: 'throw' });
      expect((await patient.users({ onRateLimit: 'wait' })).items.length).toBeGreaterThan(0);
      // A new client: its exchange waits 12 s, and takes the request that freed up; the call waits 12 s more.
      expect(sleeps).toEqual([12_000, 12_000]);
    });

    it('waits when the token exchange itself is rate limited', async () => {
      const { apiKey } = await api.tenantWithKey('free');
      const other = new ApiClient({ baseUrl: api.url, apiKey, clock, onRateLimit: 'throw' });
      for (let i = 0; i < 4; i++) await other.users();
      const { fetch, sent } = recordingFetch();
      const client = new ApiClient({ baseUrl: api.url, apiKey, fetch, clock });
      expect((await client.usage()).tier).toBe('free');
      expect(sleeps).toEqual([12_000, 12_000]);
      expect(sent.map((s) => s.route)).toEqual(['POST /v1/auth/token', 'POST /v1/auth/token', 'GET /v1/usage', 'GET /v1/usage']);
    });
  });

  describe('Method: request (refusals)', () => {
    it('throws ApiError with the status and the JSON body’s error and message on a 403 (a blocked key)', async () => {
      const { apiKey, keyId } = await api.tenantWithKey('basic');
      const client = new ApiClient({ baseUrl: api.url, apiKey, clock });
      await client.users();
      expect((await api.admin('POST', `/v1/admin/keys/${keyId}/block`)).status).toBe(200);
      const refusal = await client.users().catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(ApiError);
      expect(refusal).not.toBeInstanceOf(RateLimitedError);
      const { status, error, apiMessage, requestId } = refusal as ApiError;
      expect({ status, error, apiMessage }).toEqual({ status: 403, error: 'key-blocked', apiMessage: 'The API key is blocked.' });
      expect(requestId).toEqual(expect.any(String));
    });

    it('throws ApiError 403 for a revoked key at the exchange (the gateway’s own refusal, no error code)', async () => {
      const { apiKey, keyId } = await api.tenantWithKey('basic');
      await api.admin('POST', `/v1/admin/keys/${keyId}/revoke`);
      const client = new ApiClient({ baseUrl: api.url, apiKey, clock });
      await expect(client.users()).rejects.toMatchObject({ name: 'ApiError', status: 403, error: undefined, apiMessage: 'Forbidden', body: { message: 'Forbidden' } });
    });

    it('throws ApiError 404 on a route the API does not have', async () => {
      const { apiKey } = await api.tenantWithKey('basic');
      const client = new ApiClient({ baseUrl: api.url, apiKey, clock });
      await expect(client.request('GET', '/v1/nowhere')).rejects.toMatchObject({ name: 'ApiError', status: 404, apiMessage: 'Not Found' });
    });
  });
});

describe('Class: ApiClient, against the local metered API (real time)', () => {
  let api: MeteredApiHarness;

  beforeAll(async () => {
    // A small tier: a burst of 1 at 60 a minute, so Retry-After is 1 s.
    api = await startMeteredApi({ tiers: { basic: { requestsPerMinute: 60, burst: 1 } } });
  });
  afterAll(() => api.stop());

  it('really waits Retry-After (1 s) on the real clock, then succeeds', async () => {
    const { apiKey } = await api.tenantWithKey('basic');
    const client = new ApiClient({ baseUrl: api.url, apiKey });
    const started = Date.now();
    // The exchange takes the only request of the burst: the call is refused once, then admitted.
    const users = await client.users();
    const elapsed = Date.now() - started;
    expect(users.items.length).toBeGreaterThan(0);
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(5_000);
  });

  it('ends a wait for Retry-After when the caller aborts: RequestAbortedError with the signal’s reason', async () => {
    const { apiKey } = await api.tenantWithKey('free');
    const client = new ApiClient({ baseUrl: api.url, apiKey, onRateLimit: 'throw' });
    for (let i = 0; i < 4; i++) await client.users();
    const started = Date.now();
    const reason = new Error('user navigated away');
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort(reason);
    }, 200);
    const refusal = await client.users({ signal: controller.signal, onRateLimit: 'wait' }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RequestAbortedError);
    expect((refusal as RequestAbortedError).cause).toBe(reason);
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
