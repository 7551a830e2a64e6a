// A long-running producer for the exit-signal test: records events, then idles until signalled.
import { UsagePublisher } from '../../sdk/usage-publisher';

const count = Number(process.argv[2] ?? '25');
const usage = new UsagePublisher({ eventBusName: 'usage-bus', source: 'my-applications', flushIntervalMs: 600_000 });
for (let i = 0; i < count; i++) {
  usage.record({ service: 'orders', tenantId: 'acme', operation: 'GET /v1/orders/{id}', method: 'GET', statusCode: 200, latencyMs: i });
}
setInterval(() => undefined, 1000); // a server would keep the process alive like this
process.stdout.write('ready\n');
