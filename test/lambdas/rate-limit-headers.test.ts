import { parseItemList } from '../../client/rate-limit-headers';
import { resolveTierPolicies } from '../../contracts/tiers';
import { quotaPolicyName, rateLimitHeaders } from '../../lambdas/http/rate-limit-headers';
import type { QuotaState } from '../../lambdas/limiter/token-bucket-limiter';

const policy = resolveTierPolicies({ free: { quota: { period: 'month', requests: 1000 } } }).free;
const quota = (overrides: Partial<QuotaState> = {}): QuotaState => ({ period: 'month', limit: 1000, used: 10, remaining: 990, resetSeconds: 86_000, windowSeconds: 30 * 86_400, ...overrides });

/** RateLimit fields of both policies, as draft-ietf-httpapi-ratelimit-headers-10 (sections 3 and 4) lists them. */
describe('Function: rateLimitHeaders', () => {
  it('lists the rate and the quota policy in RateLimit-Policy and RateLimit, the window being the period’s length', () => {
    const headers = rateLimitHeaders({ outcome: 'admitted', tier: 'free', policy, remaining: 3, resetSeconds: 24, quota: quota(), countToday: 4, countThisMonth: 10 });
    expect(headers).toMatchObject({
      'RateLimit-Policy': '"free";q=5;w=60, "free-quota";q=1000;w=2592000',
      RateLimit: '"free";r=3;t=24, "free-quota";r=990;t=86000',
      'X-RateLimit-Limit': '5',
      'X-RateLimit-Remaining': '3',
      'X-RateLimit-Reset': '24',
    });
    expect(headers).not.toHaveProperty('Retry-After');
    // Each field parses as a List of two Items named by Strings.
    expect(parseItemList(headers['RateLimit-Policy']).map((item) => [item.value, item.params.q, item.params.w])).toEqual([['free', 5, 60], [quotaPolicyName('free'), 1000, 2_592_000]]);
  });

  it('tells the quota in the X- trio once it has fewer requests left than the rate', () => {
    const headers = rateLimitHeaders({ outcome: 'admitted', tier: 'free', policy, remaining: 5, resetSeconds: 0, quota: quota({ used: 998, remaining: 2 }), countToday: 1, countThisMonth: 998 });
    expect([headers['X-RateLimit-Limit'], headers['X-RateLimit-Remaining'], headers['X-RateLimit-Reset']]).toEqual(['1000', '2', '86000']);
  });

  it('answers a quota refusal with both policies, the quota’s in the X- trio, and Retry-After', () => {
    const headers = rateLimitHeaders({ outcome: 'quota-exceeded', tier: 'free', policy, remaining: 0, resetSeconds: 60, quota: quota({ used: 1000, remaining: 0 }), retryAfterSeconds: 86_000 });
    expect(headers).toEqual({
      'RateLimit-Policy': '"free";q=5;w=60, "free-quota";q=1000;w=2592000',
      RateLimit: '"free";r=0;t=60, "free-quota";r=0;t=86000',
      'X-RateLimit-Limit': '1000',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': '86000',
      'Retry-After': '86000',
    });
  });

  it('keeps the rate alone for a tier without a quota, as before', () => {
    const basic = resolveTierPolicies().basic;
    expect(rateLimitHeaders({ outcome: 'rate-limited', tier: 'basic', policy: basic, remaining: 0, resetSeconds: 60, retryAfterSeconds: 3 })).toEqual({
      'RateLimit-Policy': '"basic";q=20;w=60',
      RateLimit: '"basic";r=0;t=60',
      'X-RateLimit-Limit': '20',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': '60',
      'Retry-After': '3',
    });
  });
});
