import { AddressInfo } from 'node:net';
import { Server } from 'node:http';
import express from 'express';
import { usageMiddleware } from '../../sdk/express-middleware';
import { trackUsage } from '../../sdk/track-usage-decorator';
import { setUsageFeature } from '../../sdk/usage-context';
import { capturingPublisher } from './helpers';

describe('Function: usageMiddleware (Express)', () => {
  const { publisher, sent, mock } = capturingPublisher();
  const trackingErrors: Error[] = [];
  let server: Server;
  let base: string;

  class ReportsController {
    @trackUsage({ feature: 'reports.export', billableUnits: 5 })
    async export(_req: express.Request, res: express.Response) {
      res.status(201).json({ ok: true });
    }
  }

  beforeAll(async () => {
    const app = express();
    app.use((req, res, next) => {
      // Stands for an authentication layer.
      if (req.headers.authorization === 'Bearer acme') res.locals.caller = { tenantId: 'acme', apiKeyId: 'key-1', tier: 'premium' };
      if (req.headers.authorization === 'Bearer broken') res.locals.caller = { tenantId: '' };
      next();
    });
    app.use(
      usageMiddleware<express.Request, express.Response>(publisher, {
        resolveCaller: (_req, res) => res.locals.caller,
        skip: (req) => req.path === '/health',
        onTrackingError: (error) => trackingErrors.push(error),
      }),
    );
    const orders = express.Router();
    orders.get('/:id', (req, res) => {
      setUsageFeature('orders.read');
      res.json({ id: req.params.id, items: [1, 2, 3] });
    });
    orders.post('/', (_req, res) => {
      res.status(500).send('boom');
    });
    app.use('/v1/orders', orders);
    const controller = new ReportsController();
    app.post('/v1/reports', (req, res) => controller.export(req, res));
    app.get('/health', (_req, res) => {
      res.send('ok');
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await publisher.close();
    server.close();
    mock.restore();
  });

  beforeEach(async () => {
    await publisher.flush();
    mock.resetHistory();
    trackingErrors.length = 0;
  });

  const lastEvent = async () => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    await publisher.flush();
    return sent().at(-1)!;
  };

  it('records the route template, not the raw path, with status, latency, bytes and caller', async () => {
    // Act
    const response = await fetch(`${base}/v1/orders/12345?expand=items`, { headers: { authorization: 'Bearer acme' } });
    const body = await response.text();
    // Assess
    const event = await lastEvent();
    expect(event).toMatchObject({
      service: 'orders',
      operation: 'GET /v1/orders/{id}',
      method: 'GET',
      statusCode: 200,
      tenantId: 'acme',
      apiKeyId: 'key-1',
      tier: 'premium',
      feature: 'orders.read',
      responseBytes: Buffer.byteLength(body),
    });
    expect(JSON.stringify(event)).not.toContain('12345');
    expect(event.latencyMs).toBeGreaterThan(0);
  });

  it('records errors and anonymous callers', async () => {
    await fetch(`${base}/v1/orders`, { method: 'POST', body: 'x'.repeat(42), headers: { 'content-type': 'text/plain' } });
    expect(await lastEvent()).toMatchObject({ operation: 'POST /v1/orders', statusCode: 500, tenantId: 'anonymous', requestBytes: 42 });
  });

  it('never records the raw path of an unmatched request', async () => {
    await fetch(`${base}/v1/secret-customer-name/42`);
    const event = await lastEvent();
    expect(event).toMatchObject({ operation: 'GET (unmatched route)', statusCode: 404 });
  });

  it('lets @trackUsage name the feature and billable units of the request, without a second event', async () => {
    const response = await fetch(`${base}/v1/reports`, { method: 'POST', headers: { authorization: 'Bearer acme' } });
    expect(response.status).toBe(201);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await publisher.flush();
    const events = sent();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ operation: 'POST /v1/reports', feature: 'reports.export', billableUnits: 5, statusCode: 201 });
  });

  it('skips what it is told to', async () => {
    await fetch(`${base}/health`);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await publisher.flush();
    expect(sent()).toHaveLength(0);
  });

  it('keeps tracking errors away from the request', async () => {
    const response = await fetch(`${base}/v1/orders/1`, { headers: { authorization: 'Bearer broken' } });
    expect(response.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(trackingErrors[0].message).toMatch(/^Invalid usage event: tenantId: /);
  });
});
