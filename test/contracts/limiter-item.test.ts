import { LIMITER_ATTRIBUTE_PATTERNS, dayCounter, monthCounter, periodBounds, periodCounter, weekCounter } from '../../contracts/limiter-item';

/** Whether an IAM `StringLike` pattern (`?` one character, `*` any) matches a name. */
const matches = (pattern: string, name: string) => new RegExp(`^${pattern.replace(/\?/g, '.').replace(/\*/g, '.*')}$`).test(name);
const at = (iso: string) => new Date(iso);

describe('Contract: limiter item counters', () => {
  describe('Function: weekCounter (ISO 8601 weeks, UTC, starting on Monday)', () => {
    it.each([
      ['a Monday at midnight', '2026-11-30T00:00:00.000Z', 'w2026-W49'],
      ['the Sunday before it, one millisecond earlier', '2026-11-29T23:59:59.999Z', 'w2026-W48'],
      ['31 December of a 53-week year (a Thursday)', '2026-12-31T12:00:00Z', 'w2026-W53'],
      ['1 January in the last week of the year before', '2027-01-01T00:00:00Z', 'w2026-W53'],
      ['the first Monday of 2027', '2027-01-04T00:00:00Z', 'w2027-W01'],
      ['30 December in week 1 of the next year', '2024-12-30T08:00:00Z', 'w2025-W01'],
      ['1 January in week 1 of its year', '2026-01-01T00:00:00Z', 'w2026-W01'],
    ])('names %s', (_what, iso, expected) => {
      expect(weekCounter(at(iso))).toBe(expected);
    });

    it('changes exactly at Monday 00:00 UTC, over a year of hours', () => {
      const start = Date.parse('2026-01-01T00:00:00Z');
      for (let hour = 1; hour < 24 * 400; hour++) {
        const now = new Date(start + hour * 3_600_000);
        const before = new Date(now.getTime() - 3_600_000);
        const changed = weekCounter(now) !== weekCounter(before);
        expect([now.toISOString(), changed]).toEqual([now.toISOString(), now.getUTCDay() === 1 && now.getUTCHours() === 0]);
      }
    });
  });

  describe('Function: periodCounter', () => {
    it('is the day, week or month counter the limiter ADDs to', () => {
      const now = at('2026-11-30T10:00:00Z');
      expect([periodCounter('day', now), periodCounter('week', now), periodCounter('month', now)]).toEqual([dayCounter(now), weekCounter(now), monthCounter(now)]);
      expect([dayCounter(now), weekCounter(now), monthCounter(now)]).toEqual(['d2026-11-30', 'w2026-W49', 'm2026-11']);
    });
  });

  describe('Function: periodBounds', () => {
    it.each([
      ['day', '2026-11-30T10:00:00Z', '2026-11-30T00:00:00.000Z', '2026-12-01T00:00:00.000Z'],
      ['week', '2026-12-03T10:00:00Z', '2026-11-30T00:00:00.000Z', '2026-12-07T00:00:00.000Z'],
      ['week', '2026-11-29T23:59:59Z', '2026-11-23T00:00:00.000Z', '2026-11-30T00:00:00.000Z'],
      ['month', '2026-12-31T23:00:00Z', '2026-12-01T00:00:00.000Z', '2027-01-01T00:00:00.000Z'],
      ['month', '2028-02-10T00:00:00Z', '2028-02-01T00:00:00.000Z', '2028-03-01T00:00:00.000Z'],
    ] as const)('of a %s at %s: from %s to %s', (period, iso, start, end) => {
      const bounds = periodBounds(period, at(iso));
      expect([new Date(bounds.start).toISOString(), new Date(bounds.end).toISOString()]).toEqual([start, end]);
    });
  });

  describe('Constant: LIMITER_ATTRIBUTE_PATTERNS', () => {
    const allowed = (name: string) => LIMITER_ATTRIBUTE_PATTERNS.some((pattern) => matches(pattern, name));

    it('matches every counter the limiter writes', () => {
      const now = at('2026-11-30T10:00:00Z');
      expect([dayCounter(now), weekCounter(now), monthCounter(now), weekCounter(at('2027-01-01T00:00:00Z'))].filter((name) => !allowed(name))).toEqual([]);
    });

    it('matches no name a character longer or shorter than a counter', () => {
      expect(['w2026-W4', 'w2026-W489', 'w2026-48', 'x2026-W48', 'd2026-11-3', 'm2026-110'].filter(allowed)).toEqual([]);
    });
  });
});
