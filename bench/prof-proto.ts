import { UsagePublisher } from '../sdk/usage-publisher';
import { PutEventsServerProcess } from './support/server-handle';
const fields = (i: number) => ({ service: 'orders', tenantId: `tenant-${i % 100}`, userId: `user-${i % 5000}`, apiKeyId: `key-${i % 300}`, operation: 'GET /v1/orders/{id}', feature: 'orders.read', method: 'GET', statusCode: 200, latencyMs: (i % 250) + 0.5, responseBytes: 1834, tier: 'premium' });
async function main() {
  const server = await PutEventsServerProcess.start();
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = server.url;
  for (const N of [20000, 100000]) {
    const usage = new UsagePublisher({ eventBusName: 'b', source: 'my-applications', maxQueueSize: 1e6, flushOnExitSignals: false, maxConcurrentRequests: 16 });
    const s0 = (await server.command('stats')).cpuMicros; const t0 = Date.now(); const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) { usage.record(fields(i)); if (i % 2000 === 1999) await new Promise((r) => setImmediate(r)); }
    await usage.close();
    const cpu = process.cpuUsage(c0);
    const s1 = (await server.command('stats')).cpuMicros; console.log('server cpu µs/event', ((s1 - s0) / N).toFixed(1), 'wall s', ((Date.now()-t0)/1000).toFixed(2));
    console.log('events/s', Math.round(N / ((Date.now() - t0) / 1000)), 'cpu µs/event', ((cpu.user + cpu.system) / N).toFixed(1));
  }
  server.stop();
}
main();
