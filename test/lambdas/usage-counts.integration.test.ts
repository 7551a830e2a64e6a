import { MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

/** Integration: GET /v1/usage's counts over days and months, through the local gateway on dynalite, with a fake clock. */
describe('Integration: GET /v1/usage counts', () => {
  let api: MeteredApiHarness;
  let times: number[] = [Date.parse('2026-11-29T12:00:00Z')];
  /** The clock every part reads; given two times, each read is either (clocks straddling a boundary). */
  const clock = () => times[Math.floor(Math.random() * times.length)];
  const at = (...isoTimes: string[]) => {
    times = isoTimes.map((time) => Date.parse(time));
  };

  const metricsDisabled = process.env.POWERTOOLS_METRICS_DISABLED;
  beforeAll(async () => {
    process.env.POWERTOOLS_METRICS_DISABLED = 'true'; // hundreds of calls: no metric lines in the output
    api = await startMeteredApi({ clock });
  });
  afterAll(async () => {
    await api.stop();
    if (metricsDisabled === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = metricsDisabled;
  });

  const counts = async (headers: Record<string, string>) => {
    const usage = await api.call('GET', '/v1/usage', { headers });
    expect(usage.status).toBe(200);
    return usage.json.counts as { today: number; thisMonth: number };
  };

  it('restarts today at a new day and thisMonth at a new month', async () => {
    const { apiKey } = await api.tenantWithKey('enterprise');
    const headers = { authorization: `ApiKey ${apiKey}` };
    at('2026-11-29T23:59:58Z');
    expect((await api.call('GET', '/v1/users', { headers })).status).toBe(200);
    expect(await counts(headers)).toEqual({ today: 2, thisMonth: 2 });
    at('2026-11-30T00:00:00Z');
    expect(await counts(headers)).toEqual({ today: 1, thisMonth: 3 });
    expect(await counts(headers)).toEqual({ today: 2, thisMonth: 4 });
    at('2026-12-01T00:00:00Z');
    expect(await counts(headers)).toEqual({ today: 1, thisMonth: 1 });
    at('2026-12-24T09:00:00Z');
    expect(await counts(headers)).toEqual({ today: 1, thisMonth: 2 });
    at('2027-01-01T00:00:00Z');
    expect(await counts(headers)).toEqual({ today: 1, thisMonth: 1 });
  });

  it.each([
    ['day', '2027-02-10T23:59:59.999Z', '2027-02-11T00:00:00.000Z'],
    ['month', '2027-02-28T23:59:59.999Z', '2027-03-01T00:00:00.000Z'],
  ])('counts concurrent calls across a %s boundary exactly, each in its own day and month', async (boundary, before, after) => {
    const { apiKey } = await api.tenantWithKey('enterprise');
    const headers = { authorization: `ApiKey ${apiKey}` };
    // Earlier the same day: 40 calls.
    at(before.replace('23:59:59.999', '20:00:00.000'));
    for (let i = 0; i < 40; i++) await counts(headers);
    // Act: 50 calls at once while clocks straddle the boundary.
    at(before, after);
    const answers = await Promise.all(Array.from({ length: 50 }, () => counts(headers)));
    // Assess: the calls counted on the old day continue its count, those on the new day start from 1, with no gap or repeat.
    const today = answers.map((a) => a.today).sort((a, b) => a - b);
    const newDay = today.filter((n) => n <= 40);
    const oldDay = today.filter((n) => n > 40);
    expect(newDay).toEqual(Array.from({ length: newDay.length }, (_, i) => i + 1));
    expect(oldDay).toEqual(Array.from({ length: oldDay.length }, (_, i) => 41 + i));
    expect(newDay.length + oldDay.length).toBe(50);
    expect(Math.min(newDay.length, oldDay.length)).toBeGreaterThan(0);
    const thisMonth = answers.map((a) => a.thisMonth).sort((a, b) => a - b);
    expect(thisMonth).toEqual(boundary === 'month' ? [...newDay, ...oldDay] : Array.from({ length: 50 }, (_, i) => 41 + i));
    at(after);
    expect(await counts(headers)).toEqual({ today: newDay.length + 1, thisMonth: boundary === 'month' ? newDay.length + 1 : 91 });
  });
});
