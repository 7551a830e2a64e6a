import { PUT_EVENTS_LIMITS, putEventsEntrySize } from '../../contracts/put-events-limits';
import { nextBatchLength } from '../../sdk/put-events-batch';

describe('Function: putEventsEntrySize', () => {
  it('counts UTF-8 bytes of Source, DetailType, Detail and Resources, and 14 for Time', () => {
    expect(putEventsEntrySize({ Source: 'app', DetailType: 'type', Detail: '{"a":"é"}' })).toBe(3 + 4 + 10);
    expect(putEventsEntrySize({ Time: new Date(), Source: 'a', DetailType: 'b', Resources: ['arn:x', 'ü'] })).toBe(14 + 1 + 1 + 5 + 2);
  });
});

describe('Function: nextBatchLength', () => {
  const sizes = (list: number[]) => (i: number) => list[i];

  it('takes at most 10 entries, and what remains at the end', () => {
    const list = Array.from({ length: 25 }, () => 100);
    expect(nextBatchLength(sizes(list), 0, 25)).toBe(10);
    expect(nextBatchLength(sizes(list), 20, 25)).toBe(5);
  });

  it('splits by the 256 KB request limit', () => {
    const big = 100 * 1024;
    const list = [big, big, big, 10];
    expect(nextBatchLength(sizes(list), 0, 4)).toBe(2);
    expect(nextBatchLength(sizes(list), 2, 4)).toBe(2);
    expect(nextBatchLength(sizes([PUT_EVENTS_LIMITS.maxRequestBytes - 10, 10, 1]), 0, 3)).toBe(2);
  });

  it('always sends an entry alone even if it is at the limit', () => {
    expect(nextBatchLength(sizes([PUT_EVENTS_LIMITS.maxRequestBytes, 5]), 0, 2)).toBe(1);
  });

  it('splits by the limits it is given', () => {
    expect(nextBatchLength(sizes([4, 4, 4]), 0, 3, { maxEntries: 10, maxRequestBytes: 8 })).toBe(2);
  });
});
