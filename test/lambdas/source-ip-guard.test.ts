import { DEFAULT_SOURCE_IP_POLICY, InvalidSourceIpError, decayedBans, planFor, sourceKeyOf } from '../../lambdas/limiter/source-ip-guard';

describe('Function: sourceKeyOf', () => {
  it.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8::1', '2001:0db8:0000:0000::/64'],
    ['2001:DB8:0:0:ffff:1:2:3', '2001:0db8:0000:0000::/64'],
    ['2001:db8:1:2:3:4:5:6', '2001:0db8:0001:0002::/64'],
    ['fe80::1%eth0', 'fe80:0000:0000:0000::/64'],
    ['::1', '0000:0000:0000:0000::/64'],
    ['64:ff9b::192.0.2.1', '0064:ff9b:0000:0000::/64'],
    ['2001:db8:a:b:c:d:1.2.3.4', '2001:0db8:000a:000b::/64'],
  ])('counts %s as %s', (ip, key) => {
    expect(sourceKeyOf(ip)).toBe(key);
  });

  it.each(['-', '', 'localhost', '1.2.3', '2001:db8::g'])('refuses %j, naming it', (value) => {
    expect(() => sourceKeyOf(value)).toThrow(new InvalidSourceIpError(value));
  });

  it('refuses a payload without a source address (as a refusal, not a crash)', () => {
    expect(() => sourceKeyOf(undefined)).toThrow(InvalidSourceIpError);
  });
});

describe('Function: planFor', () => {
  const now = Date.parse('2026-11-30T10:00:00Z');
  const policy = DEFAULT_SOURCE_IP_POLICY;

  it('admits an IP it knows nothing of as idle, with the idle retention as TTL', () => {
    expect(planFor(undefined, now, policy)).toEqual({ kind: 'admit', busy: false, expiresAtMs: now + 3_600_000 });
  });

  it('keeps the TTL at the end of the ban history when that is later', () => {
    expect(planFor({ tat: now - 1, bans: 2, bannedUntil: now - 10, banHistoryEnds: now + 10_000_000 }, now, policy)).toMatchObject({ kind: 'admit', expiresAtMs: now + 10_000_000 });
  });

  it('counts a refusal in an open window as a plain offence, and the one that reaches the threshold as a ban', () => {
    const full = { tat: now + 61_000, offencesSince: now - 1000 };
    expect(planFor({ ...full, offences: 3 }, now, policy)).toEqual({ kind: 'offence' });
    expect(planFor({ ...full, offences: 4 }, now, policy)).toMatchObject({ kind: 'transition', banned: true, to: { bans: 1, bannedUntil: now + 300_000 } });
  });

  it('starts a new window for a refusal after the window closed', () => {
    expect(planFor({ tat: now + 61_000, offences: 4, offencesSince: now - 60_000 }, now, policy)).toMatchObject({
      kind: 'transition',
      banned: false,
      to: { offences: 1, offencesSince: now },
    });
  });
});

describe('Function: decayedBans', () => {
  const policy = { ...DEFAULT_SOURCE_IP_POLICY, banDecaySeconds: 100 };
  it.each([
    [0, 3],
    [99_999, 3],
    [100_000, 2],
    [250_000, 1],
    [1_000_000, 0],
  ])('%i ms after the last ban ended, 3 bans count as %i', (after, expected) => {
    expect(decayedBans({ bans: 3, bannedUntil: 1_000_000 }, 1_000_000 + after, policy)).toBe(expected);
  });

  it('does not decay during the ban', () => {
    expect(decayedBans({ bans: 3, bannedUntil: 1_000_000 }, 500_000, policy)).toBe(3);
  });
});
