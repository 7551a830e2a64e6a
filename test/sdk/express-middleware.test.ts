import { AddressInfo } from 'node:net';
import express from 'express';
import { usageMiddleware } from '../../sdk/express-middleware';
import { trackUsage } from '../../sdk/track-usage-decorator';
import { setUsageFeature } from '../../sdk/usage-context';
import { CapturingPublisher, capturingPublisher, waitUntil } from './helpers';

interface App extends CapturingPublisher {
  readonly base: string;
  readonly trackingErrors: Error[];
  readonly stop: () => Promise<void>;
}

class ReportsController {
  @trackUsage({ feature: 'reports.export', billableUnits: 5 })
  export(_req: express.Request, res: express.Response): void {
    res.status(201).json({ ok: true });
  }
}

/** An Express app with the middleware, on a port of its own, and a fresh publisher. */
async function startApp(): Promise<App> {
  const capturing = capturingPublisher();
  const trackingErrors: Error[] = [];
  const app = express();
  app.use((req, res, next) => {
    // Stands for an authentication layer.
    if (req.headers.authorization === 'Bearer acme') res.locals.caller = { tenantId: 'acme', apiKeyId: 'key-1', tier: 'premium' };
    if (req.headers.authorization === 'Bearer broken') res.locals.caller = { tenantId: '' };
    next();
  });
  app.use(
    usageMiddleware<express.Request, express.Response>(capturing.publisher, {
      resolveCaller: (_req, res) => res.locals.caller as { tenantId: string } | undefined,
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
  app.post('/v1/reports', (req, res) => { controller.export(req, res); });
  app.get('/health', (_req, res) => {
    res.send('ok');
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const stop = async () => {
    await new Promise((resolve) => server.close(resolve));
    await capturing.dispose();
  };
  return { ...capturing, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, trackingErrors, stop };
}

/** The events sent once `count` requests were recorded (the middleware records when the response finishes). */
async function eventsAfter(app: App, count: number) {
  await waitUntil(() => app.publisher.stats().recorded >= count, `${count} event(s) are recorded`);
  await app.publisher.flush();
  return app.sent();
}

describe('Function: usageMiddleware (Express)', () => {
  let app: App;
  beforeEach(async () => { app = await startApp(); });
  afterEach(() => app.stop());

  it('records the route template, not the raw path, with status, latency, bytes and caller', async () => {
    // Act
    const response = await fetch(`${app.base}/v1/orders/12345?expand=items`, { headers: { authorization: 'Bearer acme' } });
    const body = await response.text();
    // Assess
    const events = await eventsAfter(app, 1);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
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
    expect(JSON.stringify(events[0])).not.toContain('12345');
    expect(events[0].latencyMs).toBeGreaterThan(0);
  });

  it('records a server error with its request bytes, and a request without a caller as anonymous', async () => {
    await fetch(`${app.base}/v1/orders`, { method: 'POST', body: 'x'.repeat(42), headers: { 'content-type': 'text/plain' } });
    expect(await eventsAfter(app, 1)).toEqual([expect.objectContaining({ operation: 'POST /v1/orders', statusCode: 500, tenantId: 'anonymous', requestBytes: 42 })]);
  });

  it('records an unmatched request as "(unmatched route)", without its path', async () => {
    await fetch(`${app.base}/v1/secret-customer-name/42`);
    const events = await eventsAfter(app, 1);
    expect(events).toEqual([expect.objectContaining({ operation: 'GET (unmatched route)', statusCode: 404 })]);
    expect(JSON.stringify(events)).not.toContain('secret-customer-name');
  });

  it('lets @trackUsage name the feature and billable units of the request, without a second event', async () => {
    const response = await fetch(`${app.base}/v1/reports`, { method: 'POST', headers: { authorization: 'Bearer acme' } });
    expect(response.status).toBe(201);
    const events = await eventsAfter(app, 1);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ operation: 'POST /v1/reports', feature: 'reports.export', billableUnits: 5, statusCode: 201 });
  });

  it('records nothing for a request that skip() matches', async () => {
    // Act: a skipped request, then a tracked one, whose event marks that both were handled.
    await fetch(`${app.base}/health`);
    await fetch(`${app.base}/v1/orders/1`);
    // Assess
    const events = await eventsAfter(app, 1);
    expect(events.map((event) => event.operation)).toEqual(['GET /v1/orders/{id}']);
  });

  it('reports a caller that breaks the contract to onTrackingError, records nothing, and answers the request', async () => {
    const response = await fetch(`${app.base}/v1/orders/1`, { headers: { authorization: 'Bearer broken' } });
    expect(response.status).toBe(200);
    await waitUntil(() => app.trackingErrors.length > 0, 'the tracking error is reported');
    expect(app.trackingErrors[0].message).toMatch(/^Invalid usage event: tenantId: /);
    expect(app.publisher.stats().recorded).toBe(0);
  });
});
