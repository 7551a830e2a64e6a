import { eventBridgeClientConfig } from '../sdk/eventbridge-client';
import { HttpPutEventsTransport } from '../sdk/put-events-transport';
import { PutEventsServerProcess } from './support/server-handle';
async function main() {
  const server = await PutEventsServerProcess.start();
  const t = new HttpPutEventsTransport(eventBridgeClientConfig({}, { AWS_ENDPOINT_URL_EVENTBRIDGE: server.url }), 4);
  const detail = JSON.stringify({ schemaVersion: '1', eventId: 'x'.repeat(36), occurredAt: new Date().toISOString(), service: 'orders', tenantId: 'tenant-1', operation: 'GET /v1/orders/{id}', method: 'GET', statusCode: 200, latencyMs: 3, billableUnits: 1, userId: 'user-1234', apiKeyId: 'key-22', feature: 'orders.read', responseBytes: 1834, tier: 'premium' });
  const entries = Array.from({ length: 10 }, () => ({ EventBusName: 'usage-bus', Source: 'my-applications', DetailType: 'api-usage-event', Detail: detail }));
  for (const round of [0, 1, 2]) {
    const calls = 5000; let n = 0; const s0 = (await server.command('stats')).cpuMicros; const t0 = Date.now(); const c0 = process.cpuUsage();
    await Promise.all(Array.from({ length: 4 }, async () => { while (n++ < calls) await t.putEvents(entries); }));
    const cpu = process.cpuUsage(c0); const s1 = (await server.command('stats')).cpuMicros;
    if (round) console.log('transport calls/s', Math.round(calls / ((Date.now() - t0) / 1000)), 'client cpu µs/call', Math.round((cpu.user + cpu.system) / calls), 'server cpu µs/call', Math.round((s1 - s0) / calls));
  }
  await t.close(); server.stop();
}
main();
