import { DEFAULT_TIERS, isTierName, resolveTiers } from '../../contracts/tiers';

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
    const tiers = resolveTiers({ free: { requestsPerMinute: 10 }, premium: { burst: 150 } });
    expect(tiers.free).toEqual({ requestsPerMinute: 10, burst: 10 });
    expect(tiers.premium).toEqual({ requestsPerMinute: 100, burst: 150 });
    expect(tiers.basic).toEqual(DEFAULT_TIERS.basic);
  });

  it('refuses unknown tiers and bad numbers', () => {
    expect(() => resolveTiers({ gold: { requestsPerMinute: 1 } } as never)).toThrow(
      'Unknown tier(s) gold; the tiers are free, basic, premium, enterprise.',
    );
    expect(() => resolveTiers({ basic: { requestsPerMinute: 0 } })).toThrow(
      'Tier "basic": requestsPerMinute must be a positive whole number; got 0.',
    );
  });

  it('recognises tier names', () => {
    expect(isTierName('enterprise')).toBe(true);
    expect(isTierName('gold')).toBe(false);
  });
});
