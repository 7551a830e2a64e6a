import { usageResponse } from '../../contracts/api-schemas';
import { quotaOf, retryAfterMsOf } from '../../client/rate-limit-headers';
import { MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

/**
 * Integration: a tier's quota through the metered API on the local gateway and dynalite, with a
 * fake clock (issue 16, item 1): the 429 `quota-exceeded`, its Retry-After and the RateLimit
 * fields of both policies (draft-ietf-httpapi-ratelimit-headers-10, sections 3 and 4), and GET /v1/usage.
 */
describe('Integration: quotas on the metered API', () => {
  let api: MeteredApiHarness;
  let now = Date.parse('2026-11-30T23:00:00Z');

  beforeAll(async () => {
    api = await startMeteredApi({ clock: () => now, tiers: { free: { quota: { period: 'day', requests: 3 } } } });
  });
  afterAll(() => api.stop());

  it('reports the quota on /v1/usage and in the headers of every admitted answer, then refuses with 429 quota-exceeded until UTC midnight', async () => {
    // Prepare
    const { apiKey } = await api.tenantWithKey('free');
    const usage = () => api.call('GET', '/v1/usage', { headers: { authorization: `ApiKey ${apiKey}` } });
    // Act: three requests 13 s apart (the rate, 5/min, never binds), then a fourth.
    const first = await usage();
    now += 13_000;
    await usage();
    now += 13_000;
    const third = await usage();
    now += 13_000;
    const refused = await usage();
    // Assess: admitted answers carry both policies; the body validates against the schema OpenAPI is built from.
    expect(first.status).toBe(200);
    expect(usageResponse.parse(first.json)).toMatchObject({ tier: 'free', counts: { today: 1 }, quota: { period: 'day', limit: 3, used: 1, remaining: 2, resetSeconds: 3600 } });
    expect(first.headers.get('ratelimit-policy')).toBe('"free";q=5;w=60, "free-quota";q=3;w=86400');
    expect(first.headers.get('ratelimit')).toBe('"free";r=4;t=12, "free-quota";r=2;t=3600');
    expect(third.json.quota).toEqual({ period: 'day', limit: 3, used: 3, remaining: 0, resetSeconds: 3600 - 26 });
    // The X- trio tells the policy that binds: the quota, with nothing left.
    expect([third.headers.get('x-ratelimit-limit'), third.headers.get('x-ratelimit-remaining'), third.headers.get('x-ratelimit-reset')]).toEqual(['3', '0', String(3600 - 26)]);
    const secondsToMidnight = 3600 - 39;
    expect(refused.status).toBe(429);
    expect(refused.json).toMatchObject({ error: 'quota-exceeded', message: `Quota of the free tier (3 requests per day, UTC) used up; it resets in ${secondsToMidnight} s.` });
    expect(refused.headers.get('retry-after')).toBe(String(secondsToMidnight));
    expect(refused.headers.get('ratelimit-policy')).toBe('"free";q=5;w=60, "free-quota";q=3;w=86400');
    expect(refused.headers.get('ratelimit')).toBe(`"free";r=5;t=0, "free-quota";r=0;t=${secondsToMidnight}`);
    // The project's own client reads the refusal: the quota policy binds, and it waits until midnight.
    expect(quotaOf(refused.headers, now)).toMatchObject({ policy: 'free-quota', limit: 3, windowSeconds: 86_400, remaining: 0 });
    expect(retryAfterMsOf(refused.headers, now)).toBe(secondsToMidnight * 1000);
  });

  it('admits again when the next UTC day starts, and leaves /v1/usage without a quota for a tier that has none', async () => {
    const { apiKey } = await api.tenantWithKey('free');
    const basic = await api.tenantWithKey('basic');
    for (let i = 0; i < 3; i++) {
      now += 13_000;
      expect((await api.call('GET', '/v1/usage', { headers: { authorization: `ApiKey ${apiKey}` } })).status).toBe(200);
    }
    now += 13_000;
    expect((await api.call('GET', '/v1/users', { headers: { authorization: `ApiKey ${apiKey}` } })).json).toMatchObject({ error: 'quota-exceeded' });
    now = Date.parse('2026-12-01T00:00:00Z');
    const nextDay = await api.call('GET', '/v1/usage', { headers: { authorization: `ApiKey ${apiKey}` } });
    expect(nextDay.status).toBe(200);
    expect(nextDay.json.quota).toEqual({ period: 'day', limit: 3, used: 1, remaining: 2, resetSeconds: 86_400 });
    const unlimited = await api.call('GET', '/v1/usage', { headers: { authorization: `ApiKey ${basic.apiKey}` } });
    expect(unlimited.json).not.toHaveProperty('quota');
    expect(unlimited.headers.get('ratelimit-policy')).toBe('"basic";q=20;w=60');
  });
});
