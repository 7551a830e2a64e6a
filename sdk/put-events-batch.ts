import { PUT_EVENTS_LIMITS } from '../contracts/put-events-limits';

/**
 * How many entries, from `start` (inclusive) to `end` (exclusive), go into the next PutEvents
 * request: at most `maxEntries`, and as many as fit in `maxRequestBytes` by EventBridge's
 * entry-size rule. An entry always goes out, even alone, so a batch is never empty while entries
 * remain.
 *
 * @param sizeAt the EventBridge size of the entry at an index
 */
export function nextBatchLength(
  sizeAt: (index: number) => number,
  start: number,
  end: number,
  limits: { readonly maxEntries: number; readonly maxRequestBytes: number } = PUT_EVENTS_LIMITS,
): number {
  let count = 0;
  let bytes = 0;
  for (let i = start; i < end && count < limits.maxEntries; i++) {
    const size = sizeAt(i);
    if (count > 0 && bytes + size > limits.maxRequestBytes) break;
    bytes += size;
    count++;
  }
  return count;
}
