import { DEMO_LATENCY_SPREAD, HANDLER_TIMEOUT_SECONDS, MAX_DEMO_LATENCY_MS, REQUEST_PATH_WORST_CASE_MS } from '../../contracts/metered-api';
import type { RouteRequest } from '../../lambdas/http/metered-route';
import { demoRoute } from '../../lambdas/routes/demo-route';

const request = {} as RouteRequest;

describe('Function: demoRoute', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  /** Runs the route and answers how long (in fake milliseconds) it took to answer. */
  async function answerTime(route: ReturnType<typeof demoRoute>, stepMs = 10): Promise<number> {
    const state = { answered: false };
    const pending = route(request).then((response) => {
      state.answered = true;
      return response;
    });
    let elapsed = 0;
    while (!state.answered && elapsed < 60_000) {
      await jest.advanceTimersByTimeAsync(stepMs);
      elapsed += stepMs;
    }
    await pending;
    return elapsed;
  }

  it('answers at once without a configured latency', async () => {
    expect(await answerTime(demoRoute('users'), 1)).toBeLessThanOrEqual(1);
  });

  it('sleeps between the spread of the configured latency', async () => {
    expect(await answerTime(demoRoute('users', { latencyMs: 1000, random: () => 0 }))).toBe(1000 * DEMO_LATENCY_SPREAD.min);
    expect(await answerTime(demoRoute('products', { latencyMs: 1000, random: () => 1 }))).toBe(1000 * DEMO_LATENCY_SPREAD.max);
  });

  it('answers its slowest request with the limiter at its slowest still inside the function timeout', async () => {
    // Act: the largest latency a deployment may configure, at the top of the spread.
    const slowest = await answerTime(demoRoute('users', { latencyMs: MAX_DEMO_LATENCY_MS, random: () => 1 }));
    // Assess
    expect(slowest + REQUEST_PATH_WORST_CASE_MS).toBeLessThan(HANDLER_TIMEOUT_SECONDS * 1000);
  });

  it('fails the configured share of requests with 500', async () => {
    const route = demoRoute('users', { errorRate: 0.5, random: () => 0.4 });
    await expect(route(request)).rejects.toMatchObject({ statusCode: 500, code: 'upstream-failure' });
    await expect(demoRoute('users', { errorRate: 0.5, random: () => 0.6 })(request)).resolves.toMatchObject({ statusCode: 200 });
  });
});
