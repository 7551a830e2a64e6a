import { DEFAULT_FAIL_MODES, DEFAULT_TIERS, TIER_NAMES, isTierName, resolveTierPolicies, tierOverridesOf } from '../../contracts/tiers';

describe('Contract: tiers', () => {
  it('has the original service limits, burst equal to the rate', () => {
    expect(DEFAULT_TIERS).toEqual({
      free: { requestsPerMinute: 5, burst: 5 },
      basic: { requestsPerMinute: 20, burst: 20 },
      premium: { requestsPerMinute: 100, burst: 100 },
      enterprise: { requestsPerMinute: 1000, burst: 1000 },
    });
  });

  it('applies overrides; burst follows an overridden rate unless given', () => {
    const tiers = resolveTierPolicies({ free: { requestsPerMinute: 10 }, premium: { burst: 150 } });
    expect(tiers.free).toEqual({ requestsPerMinute: 10, burst: 10, failMode: 'closed' });
    expect(tiers.premium).toEqual({ requestsPerMinute: 100, burst: 150, failMode: 'open' });
    expect(tiers.basic).toEqual({ ...DEFAULT_TIERS.basic, failMode: DEFAULT_FAIL_MODES.basic });
  });

  it('refuses paying tiers nothing and free tiers everything when the store fails, unless overridden', () => {
    const defaults = resolveTierPolicies();
    expect([defaults.free.failMode, defaults.basic.failMode, defaults.premium.failMode, defaults.enterprise.failMode]).toEqual(['closed', 'closed', 'open', 'open']);
    expect(resolveTierPolicies({ premium: { failMode: 'closed' } }).premium.failMode).toBe('closed');
    expect(() => resolveTierPolicies({ premium: { failMode: 'ajar' as never } })).toThrow('Tier "premium": failMode must be "open" or "closed"; got "ajar".');
  });

  it('refuses unknown tiers and bad numbers', () => {
    expect(() => resolveTierPolicies({ gold: { requestsPerMinute: 1 } })).toThrow(
      'Unknown tier(s) gold; the tiers are free, basic, premium, enterprise.',
    );
    expect(() => resolveTierPolicies({ basic: { requestsPerMinute: 0 } })).toThrow(
      'Tier "basic": requestsPerMinute must be a positive whole number; got 0.',
    );
  });

  describe('quotas (issue 16, item 1)', () => {
    it('gives no tier a quota unless the deployment does', () => {
      const defaults = resolveTierPolicies();
      expect(TIER_NAMES.filter((name) => 'quota' in defaults[name])).toEqual([]);
    });

    it('applies a quota per tier, beside the rate, which keeps its defaults', () => {
      const tiers = resolveTierPolicies({ free: { quota: { period: 'day', requests: 1000 } }, premium: { quota: { period: 'week', requests: 50_000 }, requestsPerMinute: 200 } });
      expect(tiers.free).toEqual({ requestsPerMinute: 5, burst: 5, failMode: 'closed', quota: { period: 'day', requests: 1000 } });
      expect(tiers.premium).toEqual({ requestsPerMinute: 200, burst: 200, failMode: 'open', quota: { period: 'week', requests: 50_000 } });
      expect(tiers.basic).not.toHaveProperty('quota');
    });

    it.each([
      ['not an object', { free: { quota: 1000 } }, 'Tier "free": quota must be an object such as {"period":"day","requests":1000}; got 1000.'],
      ['null', { free: { quota: null } }, 'Tier "free": quota must be an object such as {"period":"day","requests":1000}; got null.'],
      ['an unknown period', { basic: { quota: { period: 'year', requests: 5 } } }, 'Tier "basic": quota.period must be one of "day", "week", "month"; got "year".'],
      ['no period', { basic: { quota: { requests: 5 } } }, 'Tier "basic": quota.period must be one of "day", "week", "month"; got undefined.'],
      ['requests of 0', { premium: { quota: { period: 'month', requests: 0 } } }, 'Tier "premium": quota.requests must be a positive whole number; got 0.'],
      ['fractional requests', { premium: { quota: { period: 'month', requests: 2.5 } } }, 'Tier "premium": quota.requests must be a positive whole number; got 2.5.'],
      ['requests as a string', { premium: { quota: { period: 'month', requests: '100' } } }, 'Tier "premium": quota.requests must be a positive whole number; got "100".'],
      ['a misspelt field', { enterprise: { quota: { period: 'day', requests: 9, request: 10 } } }, 'Tier "enterprise": quota has unknown field(s) request; a quota has period and requests.'],
    ])('refuses a quota that is %s, naming the tier and field', (_what, overrides, message) => {
      expect(() => resolveTierPolicies(overrides as never)).toThrow(message);
    });

    it('passes quotas to the functions (TIERS_JSON) so that they resolve the same policy', () => {
      const overrides = { free: { quota: { period: 'month' as const, requests: 10_000 } }, basic: { requestsPerMinute: 30 } };
      const delivered = JSON.parse(JSON.stringify(tierOverridesOf(overrides))) as Record<string, object>;
      expect(resolveTierPolicies(delivered)).toEqual(resolveTierPolicies(overrides));
      expect(resolveTierPolicies(delivered).free.quota).toEqual({ period: 'month', requests: 10_000 });
    });
  });

  it('recognises tier names', () => {
    expect(isTierName('enterprise')).toBe(true);
    expect(isTierName('gold')).toBe(false);
  });
});
