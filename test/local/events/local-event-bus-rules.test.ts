import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { IncomingHttpHeaders, IncomingMessage, ServerResponse, createServer, request } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  CreateApiDestinationCommand,
  CreateConnectionCommand,
  DeleteRuleCommand,
  DescribeConnectionCommand,
  DescribeRuleCommand,
  DisableRuleCommand,
  EnableRuleCommand,
  EventBridgeClient,
  ListRulesCommand,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import { LocalEventBus, LocalEventBusOptions, eventBusRulesFile } from '../../../local/events/local-event-bus';

/**
 * Users' rules on the local bus, through the real EventBridge client, with the API reference's
 * shapes and errors (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html,
 * API_ListRules, API_DeleteRule, API_TestEventPattern, API_PutTargets, API_RemoveTargets,
 * API_ListTargetsByRule, API_CreateConnection, API_CreateApiDestination), and their API
 * destination targets on a loopback HTTP server
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-api-destinations.html).
 */

const BUS_NAME = 'usage-bus';
const ORDER_PATTERN = JSON.stringify({ source: ['com.example.orders'], detail: { amount: [{ numeric: ['>', 100] }] } });

const orderEvent = (amount: number, overrides: Record<string, unknown> = {}) => ({
  EventBusName: BUS_NAME,
  Source: 'com.example.orders',
  DetailType: 'order-placed',
  Detail: JSON.stringify({ amount }),
  ...overrides,
});

interface RunningBus {
  readonly bus: LocalEventBus;
  readonly client: EventBridgeClient;
  readonly endpoint: string;
  /** What the stack's own rule received. */
  readonly stackRecords: string[];
}

async function startBus(options: Partial<LocalEventBusOptions> = {}): Promise<RunningBus> {
  const stackRecords: string[] = [];
  const bus = new LocalEventBus({
    busName: BUS_NAME,
    rule: { pattern: { source: ['my-applications'], 'detail-type': ['api-usage-event'] }, target: { put: (records) => { stackRecords.push(...records); return Promise.resolve(); } } },
    delivery: { backoffMs: 5, timeoutMs: 1000 },
    ...options,
  });
  const endpoint = await bus.listen(0);
  const client = new EventBridgeClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  return { bus, client, endpoint, stackRecords };
}

async function stopBus({ bus, client }: RunningBus): Promise<void> {
  client.destroy();
  await bus.close();
}

async function withBus(test: (running: RunningBus) => Promise<void>, options: Partial<LocalEventBusOptions> = {}): Promise<void> {
  const running = await startBus(options);
  try {
    await test(running);
  } finally {
    await stopBus(running);
  }
}

interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A loopback HTTP server standing for a user's target: records each request and answers with the next status of `statuses` (then 200). */
async function targetServer(statuses: number[] = [], hold?: Promise<void>): Promise<{ url: string; received: ReceivedRequest[]; close: () => Promise<void> }> {
  const received: ReceivedRequest[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      void (hold ?? Promise.resolve()).then(() => {
        res.writeHead(statuses.shift() ?? 200);
        res.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve(); }); }),
  };
}

/** A rule on the stack's bus sending to an API-key connection's API destination at `endpoint`. */
async function routeOrdersTo(client: EventBridgeClient, endpoint: string, target: Record<string, unknown> = {}): Promise<{ connectionArn: string; destinationArn: string }> {
  const connection = await client.send(
    new CreateConnectionCommand({ Name: 'orders-hook', AuthorizationType: 'API_KEY', AuthParameters: { ApiKeyAuthParameters: { ApiKeyName: 'x-api-key', ApiKeyValue: 'very-secret-key' } } }),
  );
  const destination = await client.send(new CreateApiDestinationCommand({ Name: 'orders-endpoint', ConnectionArn: connection.ConnectionArn, InvocationEndpoint: `${endpoint}/hooks/orders`, HttpMethod: 'POST' }));
  await client.send(new PutRuleCommand({ Name: 'big-orders', EventBusName: BUS_NAME, EventPattern: ORDER_PATTERN }));
  const put = await client.send(new PutTargetsCommand({ Rule: 'big-orders', EventBusName: BUS_NAME, Targets: [{ Id: 'hook', Arn: destination.ApiDestinationArn, ...target }] }));
  expect(put.FailedEntryCount).toBe(0);
  return { connectionArn: connection.ConnectionArn!, destinationArn: destination.ApiDestinationArn! };
}

const errorOf = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as Error);

describe('LocalEventBus: rules (PutRule, DescribeRule, ListRules, DeleteRule, EnableRule, DisableRule)', () => {
  it('keeps rules per bus: the same name on `default` (EventBusName omitted) and on the stack’s bus, with the service’s ARNs', () =>
    withBus(async ({ client }) => {
      const onDefault = await client.send(new PutRuleCommand({ Name: 'orders', EventPattern: '{"source":["a"]}' }));
      const onBus = await client.send(new PutRuleCommand({ Name: 'orders', EventBusName: BUS_NAME, EventPattern: '{"source":["b"]}', Description: 'mine' }));
      expect(onDefault.RuleArn).toBe('arn:aws:events:us-east-1:000000000000:rule/orders');
      expect(onBus.RuleArn).toBe(`arn:aws:events:us-east-1:000000000000:rule/${BUS_NAME}/orders`);
      const described = await client.send(new DescribeRuleCommand({ Name: 'orders', EventBusName: `arn:aws:events:us-east-1:000000000000:event-bus/${BUS_NAME}` }));
      expect(described).toMatchObject({ Name: 'orders', EventPattern: '{"source":["b"]}', State: 'ENABLED', Description: 'mine', EventBusName: BUS_NAME, Arn: onBus.RuleArn });
      expect((await client.send(new DescribeRuleCommand({ Name: 'orders' }))).EventPattern).toBe('{"source":["a"]}');
    }));

  it('lists by prefix, a page at a time, and changes state with DisableRule and EnableRule', () =>
    withBus(async ({ client }) => {
      for (const name of ['b-rule', 'a-rule', 'a-other', 'c-rule']) await client.send(new PutRuleCommand({ Name: name, EventPattern: '{"source":["x"]}' }));
      const first = await client.send(new ListRulesCommand({ NamePrefix: 'a-', Limit: 1 }));
      expect(first.Rules?.map((r) => r.Name)).toEqual(['a-other']);
      const second = await client.send(new ListRulesCommand({ NamePrefix: 'a-', Limit: 1, NextToken: first.NextToken }));
      expect(second.Rules?.map((r) => r.Name)).toEqual(['a-rule']);
      expect(second.NextToken).toBeUndefined();
      expect((await client.send(new ListRulesCommand({ EventBusName: BUS_NAME }))).Rules).toEqual([]);
      await client.send(new DisableRuleCommand({ Name: 'c-rule' }));
      expect((await client.send(new DescribeRuleCommand({ Name: 'c-rule' }))).State).toBe('DISABLED');
      await client.send(new EnableRuleCommand({ Name: 'c-rule' }));
      expect((await client.send(new DescribeRuleCommand({ Name: 'c-rule' }))).State).toBe('ENABLED');
    }));

  it('deletes a rule (twice is fine) and then answers ResourceNotFoundException for it', () =>
    withBus(async ({ client }) => {
      await client.send(new PutRuleCommand({ Name: 'gone', EventPattern: '{"source":["x"]}' }));
      await client.send(new DeleteRuleCommand({ Name: 'gone' }));
      await client.send(new DeleteRuleCommand({ Name: 'gone' }));
      const error = await errorOf(client.send(new DescribeRuleCommand({ Name: 'gone' })));
      expect(error).toMatchObject({ name: 'ResourceNotFoundException', message: 'Rule gone does not exist on EventBus default.' });
    }));

  it.each([
    ['an unknown bus', { Name: 'r', EventBusName: 'elsewhere', EventPattern: '{"source":["x"]}' }, 'ResourceNotFoundException', /Event bus elsewhere does not exist/],
    ['a name outside the pattern', { Name: 'has space', EventPattern: '{"source":["x"]}' }, 'ValidationException', /at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern/],
    ['neither pattern nor schedule', { Name: 'r' }, 'ValidationException', /EventPattern or ScheduleExpression must be specified/],
    ['a schedule (no scheduler runs locally)', { Name: 'r', ScheduleExpression: 'rate(5 minutes)' }, 'ValidationException', /ScheduleExpression is not supported by the local bus/],
    ['an unknown state', { Name: 'r', EventPattern: '{"source":["x"]}', State: 'PAUSED' }, 'ValidationException', /Member must satisfy enum value set/],
  ])('refuses PutRule with %s', (_case, input, name, message) =>
    withBus(async ({ client }) => {
      const error = await errorOf(client.send(new PutRuleCommand(input as ConstructorParameters<typeof PutRuleCommand>[0])));
      expect(error).toMatchObject({ name, message: expect.stringMatching(message) as unknown });
      expect((await client.send(new ListRulesCommand({}))).Rules).toEqual([]);
    }));
});

describe('LocalEventBus: pattern validation where AWS validates (PutRule, TestEventPattern)', () => {
  const event = JSON.stringify({ id: '1', account: '000000000000', source: 'com.example.orders', time: '2026-01-01T00:00:00Z', region: 'us-east-1', resources: [], 'detail-type': 'order-placed', detail: { amount: 250 } });

  it('answers TestEventPattern true and false', () =>
    withBus(async ({ client }) => {
      expect((await client.send(new TestEventPatternCommand({ EventPattern: ORDER_PATTERN, Event: event }))).Result).toBe(true);
      const small = event.replace('"amount":250', '"amount":5');
      expect((await client.send(new TestEventPatternCommand({ EventPattern: ORDER_PATTERN, Event: small }))).Result).toBe(false);
    }));

  it.each([
    ['not JSON', '{"source": ['],
    ['an empty array of alternatives', '{"source": []}'],
    ['a numeric operator without a number', '{"detail": {"amount": [{"numeric": [">", "100"]}]}}'],
  ])('refuses a pattern that is %s with InvalidEventPatternException, in PutRule and TestEventPattern alike', (_case, pattern) =>
    withBus(async ({ client }) => {
      const tested = await errorOf(client.send(new TestEventPatternCommand({ EventPattern: pattern, Event: event })));
      expect(tested).toMatchObject({ name: 'InvalidEventPatternException', message: expect.stringMatching(/^Event pattern is not valid\. Reason: ./) as unknown });
      const put = await errorOf(client.send(new PutRuleCommand({ Name: 'bad', EventPattern: pattern })));
      expect(put).toMatchObject({ name: 'InvalidEventPatternException', message: tested?.message });
      expect((await errorOf(client.send(new DescribeRuleCommand({ Name: 'bad' }))))?.name).toBe('ResourceNotFoundException');
    }));

  it('refuses a TestEventPattern event without the mandatory fields', () =>
    withBus(async ({ client }) => {
      const error = await errorOf(client.send(new TestEventPatternCommand({ EventPattern: ORDER_PATTERN, Event: '{"source":"x"}' })));
      expect(error).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('id, account, time, region, resources, detail-type') as unknown });
    }));
});

describe('LocalEventBus: API destination targets (CreateConnection, CreateApiDestination, PutTargets)', () => {
  it('POSTs each matched event envelope to the loopback endpoint with the connection’s auth and EventBridge’s headers, after answering PutEvents', async () => {
    const target = await targetServer();
    try {
      await withBus(async ({ client, bus, stackRecords }) => {
        await routeOrdersTo(client, target.url);
        const put = await client.send(new PutEventsCommand({ Entries: [orderEvent(500), orderEvent(5), orderEvent(900, { EventBusName: 'default' }), orderEvent(700, { EventBusName: undefined })] }));
        expect(put.FailedEntryCount).toBe(0);
        await bus.deliveriesSettled();
        expect(target.received.map((r) => (JSON.parse(r.body) as { detail: { amount: number } }).detail.amount)).toEqual([500, 700]);
        const [first] = target.received;
        expect(first).toMatchObject({ method: 'POST', url: '/hooks/orders' });
        expect(first.headers).toMatchObject({ 'x-api-key': 'very-secret-key', 'user-agent': 'Amazon/EventBridge/ApiDestinations', 'content-type': 'application/json; charset=utf-8' });
        expect(JSON.parse(first.body)).toMatchObject({ version: '0', source: 'com.example.orders', 'detail-type': 'order-placed', id: put.Entries![0].EventId });
        expect(bus.stats().deliveries).toMatchObject({ delivered: 2, failed: 0, retries: 0 });
        expect(stackRecords).toEqual([]);
      });
    } finally {
      await target.close();
    }
  });

  it('never answers a connection’s secrets back', () =>
    withBus(async ({ client }) => {
      await routeOrdersTo(client, 'http://localhost:9');
      const described = await client.send(new DescribeConnectionCommand({ Name: 'orders-hook' }));
      expect(described.AuthParameters?.ApiKeyAuthParameters).toEqual({ ApiKeyName: 'x-api-key' });
      expect(JSON.stringify(described)).not.toContain('very-secret-key');
      expect(described.ConnectionState).toBe('AUTHORIZED');
    }));

  it('retries 5xx with backoff and counts it; gives up on other 4xx at once', async () => {
    const target = await targetServer([503, 503, 200, 400]);
    try {
      await withBus(async ({ client, bus }) => {
        await routeOrdersTo(client, target.url);
        await client.send(new PutEventsCommand({ Entries: [orderEvent(200)] }));
        await bus.deliveriesSettled();
        expect(target.received).toHaveLength(3);
        expect(bus.stats().deliveries).toMatchObject({ delivered: 1, retries: 2, failed: 0 });
        await client.send(new PutEventsCommand({ Entries: [orderEvent(300)] }));
        await bus.deliveriesSettled();
        expect(target.received).toHaveLength(4);
        expect(bus.stats().deliveries).toMatchObject({ delivered: 1, retries: 2, failed: 1 });
      });
    } finally {
      await target.close();
    }
  });

  it('honours a target’s RetryPolicy of no retries', async () => {
    const target = await targetServer([500]);
    try {
      await withBus(async ({ client, bus }) => {
        await routeOrdersTo(client, target.url, { RetryPolicy: { MaximumRetryAttempts: 0 } });
        await client.send(new PutEventsCommand({ Entries: [orderEvent(200)] }));
        await bus.deliveriesSettled();
        expect(target.received).toHaveLength(1);
        expect(bus.stats().deliveries).toMatchObject({ delivered: 0, failed: 1, retries: 0 });
      });
    } finally {
      await target.close();
    }
  });

  it('answers PutEvents while a target is still holding its request', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => { release = resolve; });
    const target = await targetServer([], held);
    try {
      await withBus(async ({ client, bus }) => {
        await routeOrdersTo(client, target.url);
        const put = await client.send(new PutEventsCommand({ Entries: [orderEvent(200)] }));
        expect(put.FailedEntryCount).toBe(0);
        for (let i = 0; i < 200 && target.received.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
        expect(bus.stats().deliveries).toMatchObject({ inFlight: 1, delivered: 0 });
        release();
        await bus.deliveriesSettled();
        expect(bus.stats().deliveries).toMatchObject({ inFlight: 0, delivered: 1 });
      });
    } finally {
      release();
      await target.close();
    }
  });

  it('refuses DeleteRule while the rule has targets, and lists and removes them', () =>
    withBus(async ({ client }) => {
      const { destinationArn } = await routeOrdersTo(client, 'http://[::1]:9/x');
      const refused = await errorOf(client.send(new DeleteRuleCommand({ Name: 'big-orders', EventBusName: BUS_NAME })));
      expect(refused).toMatchObject({ name: 'ValidationException', message: "Rule can't be deleted since it has targets." });
      expect((await client.send(new ListTargetsByRuleCommand({ Rule: 'big-orders', EventBusName: BUS_NAME }))).Targets).toEqual([{ Id: 'hook', Arn: destinationArn }]);
      await client.send(new RemoveTargetsCommand({ Rule: 'big-orders', EventBusName: BUS_NAME, Ids: ['hook'] }));
      await client.send(new DeleteRuleCommand({ Name: 'big-orders', EventBusName: BUS_NAME }));
      expect((await client.send(new ListRulesCommand({ EventBusName: BUS_NAME }))).Rules).toEqual([]);
    }));

  it('fails, one by one, targets that are not API destinations of this bus', () =>
    withBus(async ({ client }) => {
      const { destinationArn } = await routeOrdersTo(client, 'http://127.0.0.1:9');
      const put = await client.send(
        new PutTargetsCommand({ Rule: 'big-orders', EventBusName: BUS_NAME, Targets: [{ Id: 'fn', Arn: 'arn:aws:lambda:us-east-1:000000000000:function:f' }, { Id: 'again', Arn: destinationArn }] }),
      );
      expect(put.FailedEntryCount).toBe(1);
      expect(put.FailedEntries?.[0]).toMatchObject({ TargetId: 'fn', ErrorCode: 'ValidationException' });
      expect((await client.send(new ListTargetsByRuleCommand({ Rule: 'big-orders', EventBusName: BUS_NAME }))).Targets?.map((t) => t.Id)).toEqual(['hook', 'again']);
    }));

  it.each(['https://hooks.example.com/orders', 'http://10.0.0.8/orders', 'http://127.0.0.1.nip.io/orders', 'http://user:pw@127.0.0.1/x', 'https://127.0.0.1/x', 'not a url'])(
    'refuses an API destination at %s: locally only loopback HTTP endpoints',
    (endpoint) =>
      withBus(async ({ client }) => {
        const connection = await client.send(new CreateConnectionCommand({ Name: 'c', AuthorizationType: 'BASIC', AuthParameters: { BasicAuthParameters: { Username: 'u', Password: 'p' } } }));
        const error = await errorOf(client.send(new CreateApiDestinationCommand({ Name: 'd', ConnectionArn: connection.ConnectionArn, InvocationEndpoint: endpoint, HttpMethod: 'POST' })));
        expect(error).toMatchObject({ name: 'ValidationException', message: expect.stringMatching(/not (allowed on the local bus|a URL)/) as unknown });
      }),
  );

  it('refuses an API destination whose connection does not exist', () =>
    withBus(async ({ client }) => {
      const arn = 'arn:aws:events:us-east-1:000000000000:connection/missing/0b6e3c1e-0000-4000-8000-000000000000';
      const error = await errorOf(client.send(new CreateApiDestinationCommand({ Name: 'd', ConnectionArn: arn, InvocationEndpoint: 'http://127.0.0.1:9/', HttpMethod: 'POST' })));
      expect(error).toMatchObject({ name: 'ResourceNotFoundException' });
    }));
});

describe('LocalEventBus: rules survive a restart with a data directory', () => {
  it('reads back rules, targets, connections and destinations, and keeps the file owner-only', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'bus-rules-'));
    const target = await targetServer();
    try {
      const first = await startBus({ dataDir });
      await routeOrdersTo(first.client, target.url);
      await first.client.send(new PutRuleCommand({ Name: 'quiet', EventPattern: '{"source":["x"]}', State: 'DISABLED' }));
      await stopBus(first);
      expect(statSync(eventBusRulesFile(dataDir)).mode & 0o777).toBe(0o600);

      const second = await startBus({ dataDir });
      try {
        expect((await second.client.send(new ListRulesCommand({ EventBusName: BUS_NAME }))).Rules?.map((r) => r.Name)).toEqual(['big-orders']);
        expect((await second.client.send(new DescribeRuleCommand({ Name: 'quiet' }))).State).toBe('DISABLED');
        await second.client.send(new PutEventsCommand({ Entries: [orderEvent(1000)] }));
        await second.bus.deliveriesSettled();
        expect(target.received.map((r) => r.headers['x-api-key'])).toEqual(['very-secret-key']);
      } finally {
        await stopBus(second);
      }
    } finally {
      await target.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to start on a rules file it cannot read, naming it', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'bus-rules-bad-'));
    try {
      mkdirSync(path.dirname(eventBusRulesFile(dataDir)), { recursive: true });
      writeFileSync(eventBusRulesFile(dataDir), '{"version": 1, "rules": [');
      await expect(startBus({ dataDir })).rejects.toThrow(`The local bus's rules file ${eventBusRulesFile(dataDir)} cannot be read`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('keeps rules in memory only without a data directory', async () => {
    const first = await startBus();
    await first.client.send(new PutRuleCommand({ Name: 'r', EventPattern: '{"source":["x"]}' }));
    await stopBus(first);
    await withBus(async ({ client }) => {
      expect((await client.send(new ListRulesCommand({}))).Rules).toEqual([]);
    });
  });
});

/** A raw request to the bus: its status and JSON body. */
function rawRequest(endpoint: string, headers: Record<string, string>, body: Buffer | string): Promise<{ status: number; body: Record<string, unknown> }> {
  const { port } = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: Number(port), method: 'POST', path: '/', headers: { 'x-amz-target': 'AWSEvents.PutEvents', 'content-type': 'application/x-amz-json-1.1', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }); });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('LocalEventBus: every refusal is JSON', () => {
  it('answers a 64 KB Authorization header with 431 and an AWS JSON error body', () =>
    withBus(async ({ endpoint, bus }) => {
      const answer = await rawRequest(endpoint, { authorization: `AWS4-HMAC-SHA256 ${'x'.repeat(64 * 1024)}` }, '{}');
      expect(answer).toEqual({ status: 431, body: { __type: 'RequestHeaderFieldsTooLargeException', message: expect.stringContaining('headers are larger than') as unknown } });
      expect(bus.stats().requests).toBe(0);
    }));

  it.each([
    ['with a Content-Length over the limit', { 'content-length': String(2 * 1024 * 1024) }],
    ['sent in chunks, without a length', { 'transfer-encoding': 'chunked' }],
  ])('answers a body over the limit %s with 413 and an AWS JSON error body', (_case, headers) =>
    withBus(async ({ endpoint, bus }) => {
      const answer = await rawRequest(endpoint, headers, Buffer.alloc(2 * 1024 * 1024, 'x'));
      expect(answer).toEqual({ status: 413, body: { __type: 'ValidationException', message: expect.stringContaining('request body is larger than') as unknown } });
      expect(bus.stats().requests).toBe(0);
    }));

  it('answers an unknown operation with a JSON UnknownOperationException', () =>
    withBus(async ({ endpoint }) => {
      const answer = await rawRequest(endpoint, { 'x-amz-target': 'AWSEvents.CreateEventBus' }, '{}');
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ __type: 'UnknownOperationException', message: expect.stringContaining('AWSEvents.PutRule') as unknown });
    }));
});
