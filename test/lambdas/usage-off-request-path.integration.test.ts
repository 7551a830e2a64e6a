import { MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

/** Integration: the metered API answers without waiting for the bus; its usage events reach it afterwards, exactly once each. */
describe('Usage tracking off the request path (local gateway, dynalite, loopback bus)', () => {
  let api: MeteredApiHarness;

  beforeAll(async () => {
    api = await startMeteredApi();
  });

  afterAll(async () => {
    api.bus.setBlackhole(false);
    await api.stop();
  });

  it('answers metered routes while PutEvents hangs, then delivers every usage event with the eventId the function chose', async () => {
    // Prepare: a tenant, then a bus that never answers.
    const { apiKey, tenantId } = await api.tenantWithKey('premium');
    await api.flushUsage();
    api.bus.setBlackhole(true);
    const requestsBefore = api.bus.requests;
    // Act: answers come back although no PutEvents could complete.
    const started = Date.now();
    const answers = [];
    for (let i = 0; i < 12; i++) answers.push(await api.call('GET', '/v1/products', { headers: { authorization: `ApiKey ${apiKey}` } }));
    const elapsedMs = Date.now() - started;
    api.bus.setBlackhole(false);
    await api.flushUsage();
    // Assess
    expect(answers.map((answer) => answer.status)).toEqual(answers.map(() => 200));
    expect(elapsedMs).toBeLessThan(5_000);
    const events = api.bus.details.filter((detail) => detail.tenantId === tenantId && detail.operation === 'GET /v1/products');
    expect(events).toHaveLength(12);
    expect(new Set(events.map((event) => event.eventId)).size).toBe(12);
    // Batched: far fewer PutEvents than requests (retries of the hung calls included).
    expect(api.bus.requests - requestsBefore).toBeLessThanOrEqual(6);
  });
});
