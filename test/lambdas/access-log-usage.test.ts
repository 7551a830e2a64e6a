import { gzipSync } from 'node:zlib';
import { LoopbackPutEventsServer } from '../support/put-events-server';

describe('Handler: access-log-usage', () => {
  it('decodes a CloudWatch Logs subscription batch and records the gateway answers only', async () => {
    // Prepare: the handler reads its configuration at load, as in Lambda.
    const bus = new LoopbackPutEventsServer();
    const saved = { ...process.env };
    process.env.USAGE_EVENT_BUS_NAME = 'usage-bus';
    process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = await bus.start();
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'access-log-usage';
    const { handler } = await import('../../lambdas/handlers/access-log-usage');
    const line = (status: number, integrationStatus: string | number, requestId: string) =>
      JSON.stringify({ requestId, requestTimeEpoch: 1795400000000, routeKey: 'GET /v1/users', httpMethod: 'GET', status, integrationStatus, responseLatency: 3, responseLength: 23, tenantId: '-' });
    const batch = {
      messageType: 'DATA_MESSAGE',
      logGroup: 'access',
      logStream: 's',
      subscriptionFilters: ['f'],
      owner: '1',
      logEvents: [
        { id: '1', timestamp: 1, message: line(401, '-', 'req-1') },
        { id: '2', timestamp: 2, message: line(200, 200, 'req-2') },
        { id: '3', timestamp: 3, message: 'not json' },
        { id: '4', timestamp: 4, message: line(403, '-', 'req-4') },
      ],
    };
    try {
      // Act
      const result = await handler({ awslogs: { data: gzipSync(JSON.stringify(batch)).toString('base64') } });
      // Assess
      expect(result).toEqual({ recorded: 2 });
      expect(bus.details.map((d) => [d.eventId, d.statusCode, d.tenantId])).toEqual([
        ['apigw-req-1', 401, 'anonymous'],
        ['apigw-req-4', 403, 'anonymous'],
      ]);
    } finally {
      process.env = saved;
      await bus.stop();
    }
  });
});
