import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createEventBridgeClient } from '../../sdk/eventbridge-client';
import { UsagePublisher } from '../../sdk/usage-publisher';
import { LoopbackPutEventsServer } from '../support/put-events-server';
import { waitUntil } from './helpers';

/**
 * Integration: the real AWS SDK client, over HTTP, against a loopback PutEvents server with faults.
 * Real sockets and real time (fake timers cannot drive them); every wait is bounded.
 */
describe('Integration: UsagePublisher against a loopback PutEvents endpoint', () => {
  const savedEnv = { ...process.env };
  let server: LoopbackPutEventsServer;

  beforeEach(async () => {
    server = new LoopbackPutEventsServer();
    // Only the endpoint variable: no region, no credentials, as a developer on the local stack.
    delete process.env.AWS_REGION;
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = await server.start();
  });

  afterEach(async () => {
    process.env = { ...savedEnv };
    await server.stop();
  });

  const fields = (i: number) => ({ service: 'orders', tenantId: `tenant-${i % 7}`, operation: 'GET /v1/orders/{id}', method: 'GET', statusCode: 200, latencyMs: i % 50 });

  it('delivers every event when 30% of entries and some whole requests fail', async () => {
    // Prepare
    server.setFaults({ failEntryRate: 0.3, failRequestRate: 0.1, throttleRate: 0.05 });
    const usage = new UsagePublisher({ eventBusName: 'usage-bus', source: 'my-applications', flushOnExitSignals: false, retryBaseDelayMs: 5, retryMaxDelayMs: 200, maxRetries: 30 });
    // Act: bursts from concurrent "requests".
    const ids: string[] = [];
    for (let burst = 0; burst < 30; burst++) {
      for (let i = 0; i < 100; i++) ids.push(usage.record(fields(burst * 100 + i)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await usage.close();
    // Assess: none lost; the retries happened.
    const missing = ids.filter((id) => !server.accepted.has(id));
    expect(missing).toEqual([]);
    expect(usage.stats()).toMatchObject({ recorded: 3000, published: 3000, failed: 0, dropped: 0, spooled: 0 });
    expect(usage.stats().retried).toBeGreaterThan(900);
    expect(server.lastHeaders['x-amz-target']).toBe('AWSEvents.PutEvents');
    expect(String(server.lastHeaders.authorization)).toMatch(/^AWS4-HMAC-SHA256 /);
  });

  it('times out on a bus that never answers, retries, and delivers when it answers again', async () => {
    // Prepare
    const usage = new UsagePublisher({
      eventBusName: 'usage-bus',
      source: 'my-applications',
      flushOnExitSignals: false,
      client: createEventBridgeClient({ requestHandler: { requestTimeout: 200, throwOnRequestTimeout: true } }),
      retryBaseDelayMs: 10,
      retryMaxDelayMs: 50,
      maxRetries: 20,
    });
    server.setBlackhole(true);
    const ids = Array.from({ length: 15 }, (_, i) => usage.record(fields(i)));
    const flushed = usage.flush();
    // Act: the calls time out and are retried while the bus hangs.
    await waitUntil(() => usage.stats().retried > 0, 'a timed-out call is retried', 10_000);
    const acceptedWhileHung = server.accepted.size;
    server.setBlackhole(false);
    await flushed;
    await usage.close();
    // Assess
    expect(acceptedWhileHung).toBe(0);
    expect(ids.filter((id) => !server.accepted.has(id))).toEqual([]);
    expect(usage.stats()).toMatchObject({ published: 15, failed: 0 });
  });

  /** Records 20 events every 50 ms (400/s) for `ms`. */
  const traffic = async (usage: UsagePublisher, ids: string[], ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      for (let i = 0; i < 20; i++) ids.push(usage.record(fields(ids.length)));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  it.each([
    ['3 s, with retries shortened so the outage outlasts them', 3, { maxRetries: 3, retryBaseDelayMs: 20, retryMaxDelayMs: 100 }],
    ['60 s, with the default retry settings', 60, {}],
  ])(
    'loses nothing across a bus outage of %s, thanks to the spool',
    async (_label, outageSeconds, retry) => {
      // Prepare
      const spoolDir = mkdtempSync(path.join(tmpdir(), 'usage-outage-'));
      const usage = new UsagePublisher({ eventBusName: 'usage-bus', source: 'my-applications', flushOnExitSignals: false, spoolDir, maxQueueSize: 500, ...retry });
      const ids: string[] = [];
      // Act: traffic before, during and after the outage.
      await traffic(usage, ids, 500);
      server.setDown(true);
      await traffic(usage, ids, outageSeconds * 1000);
      const duringOutage = usage.stats();
      server.setDown(false);
      await traffic(usage, ids, 500);
      // The spool drains while the process runs, once a delivery succeeds again.
      await waitUntil(() => ids.every((id) => server.accepted.has(id)), 'every event arrives', 30_000).catch(() => undefined); // the assertions below say what is missing
      await usage.close();
      // Assess: memory stayed bounded, the overflow went to disk, and every event arrived.
      expect(duringOutage.spooled).toBeGreaterThan(0);
      expect(duringOutage.queued).toBeLessThanOrEqual(500);
      const missing = ids.filter((id) => !server.accepted.has(id));
      expect({ recorded: ids.length, missing: missing.length }).toEqual({ recorded: ids.length, missing: 0 });
      expect(usage.stats()).toMatchObject({ failed: 0, dropped: 0 });
      expect(readdirSync(spoolDir)).toEqual([]);
    },
    120_000,
  );
});
