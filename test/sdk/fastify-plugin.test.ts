import Fastify from 'fastify';
import { usageFastifyPlugin } from '../../sdk/fastify-plugin';
import { trackUsage } from '../../sdk/track-usage-decorator';
import { capturingPublisher } from './helpers';

describe('Function: usageFastifyPlugin', () => {
  const { publisher, sent, mock } = capturingPublisher();
  const app = Fastify();
  let base: string;

  class Orders {
    @trackUsage({ feature: 'orders.read' })
    async get(id: string) {
      return { id };
    }
  }
  const orders = new Orders();

  beforeAll(async () => {
    await app.register(usageFastifyPlugin, {
      publisher,
      resolveCaller: (request) => (request.headers['x-test-tenant'] ? { tenantId: String(request.headers['x-test-tenant']) } : undefined),
    });
    app.get('/v1/orders/:id', async (request) => orders.get((request.params as { id: string }).id));
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await app.close();
    await publisher.close();
    mock.restore();
  });

  it('records the route template, status, latency, bytes and feature in onResponse', async () => {
    // Act
    const response = await fetch(`${base}/v1/orders/987`, { headers: { 'x-test-tenant': 'globex' } });
    const body = await response.text();
    await new Promise((resolve) => setTimeout(resolve, 10));
    await publisher.flush();
    // Assess
    expect(response.status).toBe(200);
    expect(sent()).toEqual([
      expect.objectContaining({
        operation: 'GET /v1/orders/{id}',
        statusCode: 200,
        tenantId: 'globex',
        feature: 'orders.read',
        responseBytes: Buffer.byteLength(body),
      }),
    ]);
  });

  it('records unmatched routes without their path', async () => {
    mock.resetHistory();
    await fetch(`${base}/v1/customers/acme-corp`, { method: 'DELETE' });
    await new Promise((resolve) => setTimeout(resolve, 10));
    await publisher.flush();
    expect(sent()).toEqual([expect.objectContaining({ operation: 'DELETE (unmatched route)', statusCode: 404, tenantId: 'anonymous' })]);
  });
});
