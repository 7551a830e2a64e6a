import Fastify, { FastifyInstance } from 'fastify';
import { usageFastifyPlugin } from '../../sdk/fastify-plugin';
import { trackUsage } from '../../sdk/track-usage-decorator';
import { CapturingPublisher, capturingPublisher, waitUntil } from './helpers';

class Orders {
  @trackUsage({ feature: 'orders.read' })
  get(id: string): Promise<{ id: string }> {
    return Promise.resolve({ id });
  }
}

interface App extends CapturingPublisher {
  readonly base: string;
  readonly server: FastifyInstance;
}

/** A Fastify app with the plugin, on a port of its own, and a fresh publisher. */
async function startApp(): Promise<App> {
  const capturing = capturingPublisher();
  const server = Fastify();
  const orders = new Orders();
  await server.register(usageFastifyPlugin, {
    publisher: capturing.publisher,
    resolveCaller: (request) => (request.headers['x-test-tenant'] ? { tenantId: String(request.headers['x-test-tenant']) } : undefined),
  });
  server.get('/v1/orders/:id', (request) => orders.get((request.params as { id: string }).id));
  const base = await server.listen({ port: 0, host: '127.0.0.1' });
  return { ...capturing, base, server };
}

/** The events sent once `count` requests were recorded (the plugin records in onResponse, after the reply). */
async function eventsAfter(app: App, count: number) {
  await waitUntil(() => app.publisher.stats().recorded >= count, `${count} event(s) are recorded`);
  await app.publisher.flush();
  return app.sent();
}

describe('Function: usageFastifyPlugin', () => {
  let app: App;
  beforeEach(async () => { app = await startApp(); });
  afterEach(async () => {
    await app.server.close();
    await app.dispose();
  });

  it('records the route template, status, latency, bytes, caller and the feature @trackUsage names', async () => {
    // Act
    const response = await fetch(`${app.base}/v1/orders/987`, { headers: { 'x-test-tenant': 'globex' } });
    const body = await response.text();
    // Assess
    expect(response.status).toBe(200);
    const events = await eventsAfter(app, 1);
    expect(events).toEqual([
      expect.objectContaining({
        operation: 'GET /v1/orders/{id}',
        statusCode: 200,
        tenantId: 'globex',
        feature: 'orders.read',
        responseBytes: Buffer.byteLength(body),
      }),
    ]);
    expect(JSON.stringify(events)).not.toContain('987');
    expect(events[0].latencyMs).toBeGreaterThan(0);
  });

  it('records an unmatched route as "(unmatched route)", without its path, and an unknown caller as anonymous', async () => {
    await fetch(`${app.base}/v1/customers/acme-corp`, { method: 'DELETE' });
    const events = await eventsAfter(app, 1);
    expect(events).toEqual([expect.objectContaining({ operation: 'DELETE (unmatched route)', statusCode: 404, tenantId: 'anonymous' })]);
    expect(JSON.stringify(events)).not.toContain('acme-corp');
  });
});
