import { FlushBarriers } from '../../sdk/flush-barriers';

/** Whether a promise has resolved, after the microtasks queued so far ran. */
async function isResolved(promise: Promise<void>): Promise<boolean> {
  let resolved = false;
  void promise.then(() => { resolved = true; });
  await Promise.resolve();
  await Promise.resolve();
  return resolved;
}

describe('Class: FlushBarriers', () => {
  it('resolves a barrier once as many events as it counts, recorded before it, have settled', async () => {
    // Prepare: events 1 to 3 are in memory when the flush starts.
    const barriers = new FlushBarriers();
    const flushed = barriers.add(3, 3);
    // Act and assess
    barriers.settled(2);
    barriers.settled(1);
    expect(await isResolved(flushed)).toBe(false);
    expect(barriers.waiting).toBe(true);
    barriers.settled(3);
    expect(await isResolved(flushed)).toBe(true);
    expect(barriers.waiting).toBe(false);
  });

  it('does not count events recorded after the barrier', async () => {
    const barriers = new FlushBarriers();
    const flushed = barriers.add(2, 2);
    barriers.settled(3);
    barriers.settled(4);
    barriers.settled(1);
    expect(await isResolved(flushed)).toBe(false);
    barriers.settled(2);
    expect(await isResolved(flushed)).toBe(true);
  });

  it('resolves each of several barriers on its own events', async () => {
    const barriers = new FlushBarriers();
    const first = barriers.add(1, 1);
    const second = barriers.add(2, 2);
    barriers.settled(1);
    expect([await isResolved(first), await isResolved(second)]).toEqual([true, false]);
    barriers.settled(2);
    expect(await isResolved(second)).toBe(true);
  });

  it('is not waiting when no barrier was added', () => {
    const barriers = new FlushBarriers();
    barriers.settled(1);
    expect(barriers.waiting).toBe(false);
  });
});
