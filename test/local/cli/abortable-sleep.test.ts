import { abortableSleep } from '../../../local/cli/abortable-sleep';

/** Whether a promise has settled, after letting pending callbacks run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => { done = true; });
  await Promise.resolve();
  await Promise.resolve();
  return done;
}

describe('abortableSleep (the polling wait of Athena queries and workflow runs)', () => {
  beforeEach(() => { jest.useFakeTimers(); });
  afterEach(() => { jest.useRealTimers(); });

  it('resolves once the time has passed, not before', async () => {
    const sleep = abortableSleep(1000);
    jest.advanceTimersByTime(999);
    expect(await settled(sleep)).toBe(false);
    jest.advanceTimersByTime(1);
    expect(await settled(sleep)).toBe(true);
  });

  it('resolves at once when the signal aborts, leaving no timer behind', async () => {
    const controller = new AbortController();
    const sleep = abortableSleep(60_000, controller.signal);
    expect(await settled(sleep)).toBe(false);
    controller.abort();
    expect(await settled(sleep)).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('does not wait at all when the signal has aborted already', async () => {
    const controller = new AbortController();
    controller.abort();
    const sleep = abortableSleep(60_000, controller.signal);
    expect(await settled(sleep)).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });
});
