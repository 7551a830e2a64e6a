import { quotaOf, retryAfterMsOf } from '../../client/rate-limit-headers';
import { parseItemList } from '../../client/rate-limit-headers';
import { resolveTierPolicies } from '../../contracts/tiers';
import { rateLimitHeaders } from '../../lambdas/http/rate-limit-headers';

const NOW = Date.UTC(2026, 10, 30, 9, 0, 0);
const headersOf = (fields: Record<string, string>) => new Headers(fields);

describe('Function: quotaOf', () => {
  const policy = resolveTierPolicies().basic;

  it('reads the headers the metered API writes (its own writer), policy joined by name', () => {
    // Prepare
    const written = rateLimitHeaders({ outcome: 'admitted', tier: 'basic', policy, remaining: 17, resetSeconds: 9, countToday: 3, countThisMonth: 3 });
    // Act
    const quota = quotaOf(headersOf(written), NOW);
    // Assess
    expect(quota).toEqual({ policy: 'basic', limit: 20, windowSeconds: 60, remaining: 17, resetSeconds: 9, resetAt: NOW + 9_000 });
  });

  it('reads a refusal as written, with Retry-After', () => {
    const written = rateLimitHeaders({ outcome: 'rate-limited', tier: 'basic', policy, remaining: 0, resetSeconds: 60, retryAfterSeconds: 3 });
    expect(quotaOf(headersOf(written), NOW)).toMatchObject({ policy: 'basic', remaining: 0, resetSeconds: 60 });
    expect(retryAfterMsOf(headersOf(written), NOW)).toBe(3_000);
  });

  it('takes the policy with the fewest requests left when several apply (draft section 4.1, a list)', () => {
    const quota = quotaOf(headersOf({ 'ratelimit-policy': '"burst";q=100;w=60, "daily";q=1000;w=86400', ratelimit: '"burst";r=40;t=30, "daily";r=7;t=3600' }), NOW);
    expect(quota).toEqual({ policy: 'daily', limit: 1000, windowSeconds: 86400, remaining: 7, resetSeconds: 3600, resetAt: NOW + 3_600_000 });
  });

  it('accepts a token as the policy name, and a RateLimit without a RateLimit-Policy (no limit, no window)', () => {
    expect(quotaOf(headersOf({ ratelimit: 'default;r=2;t=5' }), NOW)).toEqual({ policy: 'default', remaining: 2, resetSeconds: 5, resetAt: NOW + 5_000 });
  });

  it('falls back to X-RateLimit-* when RateLimit is absent or unreadable', () => {
    const legacy = { 'x-ratelimit-limit': '5', 'x-ratelimit-remaining': '1', 'x-ratelimit-reset': '48' };
    expect(quotaOf(headersOf(legacy), NOW)).toEqual({ policy: 'default', limit: 5, remaining: 1, resetSeconds: 48, resetAt: NOW + 48_000 });
    expect(quotaOf(headersOf({ ...legacy, ratelimit: '"free";r=oops' }), NOW)?.remaining).toBe(1);
  });

  it('is undefined for an answer without rate-limit headers (the gateway’s own 403)', () => {
    expect(quotaOf(headersOf({ 'content-type': 'application/json' }), NOW)).toBeUndefined();
  });
});

describe('Function: parseItemList', () => {
  it('parses strings with escapes, tokens, integers, decimals, booleans, and commas inside strings', () => {
    expect(parseItemList('"a\\"b, c";q=5;w=1.5;x;y=?0;z=tok, plain')).toEqual([
      { value: 'a"b, c', params: { q: 5, w: 1.5, x: true, y: false, z: 'tok' } },
      { value: 'plain', params: {} },
    ]);
  });

  it('leaves out a member it cannot parse, keeping the others', () => {
    expect(parseItemList('"ok";r=1, 12bad;r=2, "also";r=3;=x').map((item) => item.value)).toEqual(['ok']);
  });
});

describe('Function: retryAfterMsOf (RFC 9110 section 10.2.3)', () => {
  it.each([
    ['delay-seconds', '12', 12_000],
    ['an HTTP date 30 s ahead', new Date(NOW + 30_000).toUTCString(), 30_000],
    ['an HTTP date in the past (never negative)', new Date(NOW - 5_000).toUTCString(), 0],
  ])('reads %s', (_what, value, expected) => {
    expect(retryAfterMsOf(headersOf({ 'retry-after': value }), NOW)).toBe(expected);
  });

  it.each([['absent', {}], ['unreadable', { 'retry-after': 'soon' }], ['negative', { 'retry-after': '-3' }]])('is undefined when %s', (_what, fields) => {
    expect(retryAfterMsOf(headersOf(fields), NOW)).toBeUndefined();
  });
});
