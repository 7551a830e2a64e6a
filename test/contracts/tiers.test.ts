import { DEFAULT_FAIL_MODES, DEFAULT_TIERS, isTierName, resolveTierPolicies } from '../../contracts/tiers';

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

  it('recognises tier names', () => {
    expect(isTierName('enterprise')).toBe(true);
    expect(isTierName('gold')).toBe(false);
  });
});
