import { gzipSync } from 'node:zlib';
import { accountEventDetailSchema, accountEventIds, signalWindowStart } from '../../contracts/account-events';
import { LAMBDA_ENV } from '../../contracts/lambda-environment';
import { usageEventDetailSchema } from '../../contracts/usage-event';
import { startDynalite } from '../support/dynalite';
import { LoopbackPutEventsServer } from '../support/put-events-server';

type Handler = typeof import('../../lambdas/handlers/access-log-usage').handler;

const line = (fields: { status: number; integrationStatus?: string | number; requestId: string; routeKey?: string; tenantId?: string; epoch?: number; sourceIp?: string }) =>
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
    ...(fields.sourceIp ? { sourceIp: fields.sourceIp } : {}),
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
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;

  beforeAll(async () => {
    dynamo = await startDynalite();
    const endpoint = await dynamo.client.config.endpoint?.();
    // The handler reads its configuration at load, as in Lambda (with the region and the role's credentials).
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: endpoint ? `${endpoint.protocol}//${endpoint.hostname}:${String(endpoint.port)}` : '',
      [LAMBDA_ENV.tables.limiter]: dynamo.tables.limiter,
      [LAMBDA_ENV.accountSignals]: JSON.stringify({ authFailures: { count: 3, minutes: 1 } }),
    });
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
    await Promise.all([bus.stop(), dynamo.stop()]);
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
    expect(result).toEqual({ recorded: 3, aggregated: 2, raised: 0 });
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
    expect(result).toEqual({ recorded: 8, aggregated: 3000, raised: 0 });
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

  it('counts the gateway\'s 401s and 403s per source and raises one auth-failures event when a source goes over the threshold', async () => {
    // Prepare: 4 refusals from one address (threshold 3 per minute), 1 from another, 1 a route answered itself; delivered twice.
    const epoch = Date.parse('2026-11-30T10:00:10Z');
    const messages = [
      ...['a', 'b', 'c', 'd'].map((id, i) => line({ status: i % 2 === 0 ? 401 : 403, requestId: `auth-${id}`, epoch, sourceIp: '192.0.2.10' })),
      line({ status: 403, requestId: 'auth-e', epoch, sourceIp: '192.0.2.11' }),
      line({ status: 403, integrationStatus: 403, requestId: 'auth-g', epoch, sourceIp: '192.0.2.11' }),
    ];
    // Act
    const first = await handler(subscriptionEvent(messages));
    const again = await handler(subscriptionEvent(messages));
    // Assess: one event, for the source over the threshold; the second delivery finds it raised (and counts again: over, never under).
    expect([first.raised, again.raised]).toEqual([1, 0]);
    const accountDetails = bus.details.filter((detail) => detail.kind === 'auth-failures');
    expect(accountDetails.map((detail) => accountEventDetailSchema.parse(detail))).toEqual([
      {
        schemaVersion: '1', eventId: accountEventIds.ofAuthFailures('192.0.2.10', signalWindowStart(epoch, 1)), kind: 'auth-failures', tenantId: 'anonymous',
        occurredAt: '2026-11-30T10:00:00.000Z', data: { sourceIp: '192.0.2.10', count: 4, windowMinutes: 1 },
      },
    ]);
  });
});
