import { gzipSync } from 'node:zlib';
import { LAMBDA_ENV } from '../../contracts/lambda-environment';
import { usageEventDetailSchema } from '../../contracts/usage-event';
import { LoopbackPutEventsServer } from '../support/put-events-server';

type Handler = typeof import('../../lambdas/handlers/access-log-usage').handler;

const line = (fields: { status: number; integrationStatus?: string | number; requestId: string; routeKey?: string; tenantId?: string; epoch?: number }) =>
  JSON.stringify({
    requestId: fields.requestId,
    requestTimeEpoch: fields.epoch ?? 1795400000000,
    routeKey: fields.routeKey ?? 'GET /v1/users',
    httpMethod: fields.routeKey?.split(' ')[0] ?? 'GET',
    status: fields.status,
    integrationStatus: fields.integrationStatus ?? '-',
    responseLatency: 3,
    responseLength: 23,
    tenantId: fields.tenantId ?? '-',
  });

const subscriptionEvent = (messages: string[]) => ({
  awslogs: {
    data: gzipSync(
      JSON.stringify({
        messageType: 'DATA_MESSAGE',
        logGroup: 'access',
        logStream: 's',
        subscriptionFilters: ['f'],
        owner: '1',
        logEvents: messages.map((message, i) => ({ id: String(i), timestamp: i, message })),
      }),
    ).toString('base64'),
  },
});

describe('Handler: access-log-usage', () => {
  const bus = new LoopbackPutEventsServer();
  const saved = { ...process.env };
  let handler: Handler;

  beforeAll(async () => {
    // The handler reads its configuration at load, as in Lambda.
    process.env[LAMBDA_ENV.usageEventBusName] = 'usage-bus';
    process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = await bus.start();
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'access-log-usage';
    ({ handler } = await import('../../lambdas/handlers/access-log-usage'));
  });

  afterEach(() => {
    bus.details.length = 0;
  });

  afterAll(async () => {
    process.env = saved;
    await bus.stop();
  });

  it('decodes a CloudWatch Logs subscription batch and records the gateway answers only', async () => {
    // Prepare
    const event = subscriptionEvent([
      line({ status: 401, requestId: 'req-1' }),
      line({ status: 200, integrationStatus: 200, requestId: 'req-2' }),
      'not json',
      line({ status: 403, requestId: 'req-4' }),
      line({ status: 429, requestId: 'req-5', tenantId: 'acme' }),
    ]);
    // Act
    const result = await handler(event);
    // Assess: refused anonymous requests arrive as aggregates; a tenant's answer stays its own event.
    expect(result).toEqual({ recorded: 3, aggregated: 2 });
    expect(bus.details.map((d) => [d.statusCode, d.tenantId, d.billableUnits, (d.attributes as Record<string, string> | undefined)?.requests])).toEqual([
      [429, 'acme', 1, undefined],
      [401, 'anonymous', 0, '1'],
      [403, 'anonymous', 0, '1'],
    ]);
    expect(bus.details[0].eventId).toBe('apigw-req-5');
  });

  it('records a flood of refused anonymous requests as one contract-valid event per route, status and minute', async () => {
    // Prepare: 3,000 refusals over two minutes on two routes, as one subscription batch.
    const minute = 1795400040000;
    const messages = Array.from({ length: 3000 }, (_, i) =>
      line({
        status: i % 3 === 0 ? 429 : 401,
        requestId: `flood-${i}`,
        routeKey: i % 2 === 0 ? 'POST /v1/auth/token' : 'GET /v1/users',
        epoch: minute + (i % 120) * 1000,
      }),
    );
    // Act
    const result = await handler(subscriptionEvent(messages));
    const again = bus.details.length;
    await handler(subscriptionEvent(messages));
    // Assess: 2 routes x 2 statuses x 2 minutes = 8 events instead of 3,000, counting every request.
    expect(result).toEqual({ recorded: 8, aggregated: 3000 });
    const first = bus.details.slice(0, again);
    expect(first).toHaveLength(8);
    for (const detail of first) {
      expect(usageEventDetailSchema.safeParse(detail).success).toBe(true);
      expect(detail).toMatchObject({ tenantId: 'anonymous', billableUnits: 0, attributes: { aggregate: 'refused-anonymous', windowSeconds: '60' } });
      expect(Date.parse(String(detail.occurredAt)) % 60_000).toBe(0);
    }
    expect(first.reduce((sum, d) => sum + Number((d.attributes as Record<string, string>).requests), 0)).toBe(3000);
    // The same batch delivered twice gives the same event ids: the lake deduplicates it.
    expect(bus.details.slice(again).map((d) => d.eventId)).toEqual(first.map((d) => d.eventId));
  });
});
