import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { signalWindowStart } from '../../contracts/account-events';
import { LAMBDA_ENV } from '../../contracts/lambda-environment';
import { USAGE_LOG_FILTER_PATTERN, USAGE_LOG_LINE } from '../../contracts/usage-log-line';
import { encodeSubscriptionData, forwardUsageLines, usageOfLogLine } from '../../lambdas/usage-log/usage-log-forwarder';
import { accountEventLogLine } from '../../lambdas/account-events/account-event-log';
import { UsageLogWriter, usageLogLine } from '../../lambdas/usage-log/usage-log-writer';
import { LocalUsageLogSubscription } from '../../local/events/usage-log-subscription';
import type { UsageRecorder } from '../../sdk/request-usage';
import type { UsageEventFields } from '../../sdk/usage-event-builder';
import { startDynalite } from '../support/dynalite';
import { LoopbackPutEventsServer } from '../support/put-events-server';

type Handler = typeof import('../../lambdas/handlers/usage-log-forwarder').handler;

/** The endpoint URL a client of the test's dynalite sends to. */
async function endpointOf(client: DynamoDBClient): Promise<string> {
  const endpoint = await client.config.endpoint?.();
  if (!endpoint) throw new Error('the client has no endpoint');
  return `${endpoint.protocol}//${endpoint.hostname}:${String(endpoint.port)}`;
}

const FIELDS: UsageEventFields = { tenantId: 'acme', operation: 'GET /v1/products', method: 'GET', statusCode: 200, latencyMs: 3 };

/** What a function's log holds besides usage lines: Powertools JSON, an EMF document, the runtime's own lines. */
const OTHER_LINES = [
  '{"level":"WARN","message":"limiter store throttled the tenant item","service":"metered-api","timestamp":"2026-11-30T04:00:00.000Z","tier":"free"}',
  '{"_aws":{"Timestamp":1795400000000,"CloudWatchMetrics":[{"Namespace":"ApiUsageTracker","Dimensions":[["service"]],"Metrics":[{"Name":"limiter.admitted","Unit":"Count"}]}]},"service":"metered-api","limiter.admitted":1}',
  'START RequestId: 8f5c7b8e-0000-4000-8000-000000000000 Version: $LATEST',
  `2026-11-30T04:00:00.000Z\t8f5c7b8e-0000-4000-8000-000000000000\tINFO\t{"${USAGE_LOG_LINE.markerKey}":"${USAGE_LOG_LINE.marker}","detail":{}}`,
  '{"level":"ERROR","message":"route failed","error":{"message":"{\\"usageLog\\":\\"api-usage-event/1\\"}"}}',
  `{"${USAGE_LOG_LINE.markerKey}":"api-usage-event/2","detail":{}}`,
];

/**
 * A CloudWatch Logs JSON filter pattern of the form `{ $.key = "value" }` or
 * `{ ($.a = "x") || ($.b = "y") }`, evaluated as CloudWatch does: the log event must be a JSON
 * object one of whose named properties equals its value
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/matching-terms-json-log-events.html).
 */
function matchesJsonFilter(pattern: string, message: string): boolean {
  const single = /^\{ \$\.(\w+) = "([^"]*)" \}$/.exec(pattern);
  const alternatives = single ? [[single[1], single[2]]] : /^\{ (\(\$\.\w+ = "[^"]*"\)(?: \|\| \(\$\.\w+ = "[^"]*"\))*) \}$/.exec(pattern)?.[1].split(' || ').map((term) => {
    const parsed = /^\(\$\.(\w+) = "([^"]*)"\)$/.exec(term);
    if (!parsed) throw new Error(`not a ($.key = "value") term: ${term}`);
    return [parsed[1], parsed[2]];
  });
  if (!alternatives) throw new Error(`not a { $.key = "value" } pattern or an OR of them: ${pattern}`);
  try {
    const value: unknown = JSON.parse(message);
    return typeof value === 'object' && value !== null && alternatives.some(([key, expected]) => (value as Record<string, unknown>)[key] === expected);
  } catch {
    return false;
  }
}

/** A recorder that keeps what it is given. */
function keeping(): UsageRecorder & { readonly recorded: UsageEventFields[] } {
  const recorded: UsageEventFields[] = [];
  return { recorded, record: (fields) => { recorded.push(fields); return fields.eventId ?? ''; }, flush: () => Promise.resolve() };
}

describe('Usage log lines', () => {
  it('writes one contract-valid line per event, with the eventId decided in the function', () => {
    // Prepare
    const lines: string[] = [];
    const writer = new UsageLogWriter({ service: 'metered-api' }, (line) => lines.push(line));
    // Act
    const eventId = writer.record(FIELDS);
    // Assess
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    const parsed = JSON.parse(lines[0]) as { usageLog: string; detail: Record<string, unknown> };
    expect(parsed).toMatchObject({ usageLog: USAGE_LOG_LINE.marker, detail: { ...FIELDS, eventId, service: 'metered-api', schemaVersion: '1' } });
  });

  it('refuses an event the contract refuses, as the publisher does, and writes nothing', () => {
    const lines: string[] = [];
    const writer = new UsageLogWriter({ service: 'metered-api' }, (line) => lines.push(line));
    expect(() => writer.record({ ...FIELDS, statusCode: 42 })).toThrow(/statusCode/);
    expect(lines).toEqual([]);
  });

  it("has a filter pattern that selects usage and account-event lines and nothing else of a function's log", () => {
    const usage = usageLogLine({ schemaVersion: '1', eventId: 'e-1', ...FIELDS });
    const account = accountEventLogLine({ schemaVersion: '1', eventId: 'quota-80.acme.d2026-11-30', kind: 'quota-80', tenantId: 'acme', occurredAt: '2026-11-30T10:00:00.000Z', data: {} });
    // The OR CloudWatch Logs JSON patterns write, as CDK's FilterPattern.any writes it.
    expect(USAGE_LOG_FILTER_PATTERN).toBe('{ ($.usageLog = "api-usage-event/1") || ($.accountEventLog = "api-account-event/1") }');
    expect(matchesJsonFilter(USAGE_LOG_FILTER_PATTERN, usage)).toBe(true);
    expect(matchesJsonFilter(USAGE_LOG_FILTER_PATTERN, account)).toBe(true);
    expect(matchesJsonFilter(USAGE_LOG_FILTER_PATTERN, '{"accountEventLog":"api-account-event/2","detail":{}}')).toBe(false);
    expect(OTHER_LINES.filter((line) => matchesJsonFilter(USAGE_LOG_FILTER_PATTERN, line))).toEqual([]);
    // The forwarder checks each line again, whatever a filter let through.
    expect(OTHER_LINES.map((line) => 'problem' in usageOfLogLine(line))).toEqual(OTHER_LINES.map(() => true));
  });

  it('forwards each usage line with its own eventId and occurredAt, and skips what is not one', () => {
    // Prepare
    const lines: string[] = [];
    const writer = new UsageLogWriter({ service: 'metered-api' }, (line) => lines.push(line));
    const ids = [writer.record(FIELDS), writer.record({ ...FIELDS, statusCode: 429 })];
    const recorder = keeping();
    const skipped: string[] = [];
    // Act
    const result = forwardUsageLines([...lines, ...OTHER_LINES].map((message, i) => ({ id: String(i), message })), recorder, (_id, reason) => skipped.push(reason));
    // Assess
    expect(result).toEqual({ forwarded: 2, skipped: OTHER_LINES.length });
    expect(recorder.recorded.map((fields) => fields.eventId)).toEqual(ids);
    expect(recorder.recorded.every((fields) => typeof fields.occurredAt === 'string' && !('schemaVersion' in fields))).toBe(true);
  });

  it('locally gathers lines and delivers them to the forwarder code, off the request path', async () => {
    // Prepare
    const recorder = keeping();
    const subscription = new LocalUsageLogSubscription({ publisher: recorder, intervalMs: 60_000 });
    const writer = new UsageLogWriter({ service: 'metered-api' }, subscription.sink);
    // Act
    const id = writer.record(FIELDS);
    const before = recorder.recorded.length;
    await subscription.flush();
    // Assess: nothing is sent while the request is answered; the flush delivers it.
    expect(before).toBe(0);
    expect(recorder.recorded.map((fields) => fields.eventId)).toEqual([id]);
    subscription.close();
  });
});

describe('Handler: usage-log-forwarder', () => {
  const bus = new LoopbackPutEventsServer();
  const saved = { ...process.env };
  let handler: Handler;
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  const delivery = (messages: readonly string[]) => ({
    awslogs: {
      data: encodeSubscriptionData({
        messageType: 'DATA_MESSAGE',
        owner: '1',
        logGroup: '/aws/lambda/demo-products',
        logStream: 's',
        subscriptionFilters: ['usage-lines'],
        logEvents: messages.map((message, i) => ({ id: String(i), timestamp: i, message })),
      }),
    },
  });
  const linesOf = (count: number) => {
    const lines: string[] = [];
    const writer = new UsageLogWriter({ service: 'metered-api' }, (line) => lines.push(line));
    const ids = Array.from({ length: count }, (_, i) => writer.record({ ...FIELDS, latencyMs: i }));
    return { lines, ids };
  };

  beforeAll(async () => {
    dynamo = await startDynalite();
    process.env[LAMBDA_ENV.usageEventBusName] = 'usage-bus';
    process.env[LAMBDA_ENV.tables.limiter] = dynamo.tables.limiter;
    process.env[LAMBDA_ENV.accountSignals] = JSON.stringify({ rateLimitSpike: { count: 3, minutes: 5 } });
    // As Lambda sets them: the region and the execution role's credentials.
    Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_ENDPOINT_URL_DYNAMODB: await endpointOf(dynamo.client) });
    process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = await bus.start();
    process.env.AWS_LAMBDA_FUNCTION_NAME = 'usage-log-forwarder';
    ({ handler } = await import('../../lambdas/handlers/usage-log-forwarder'));
  });

  afterEach(() => {
    bus.details.length = 0;
    bus.requests = 0;
    bus.setFaults({});
  });

  afterAll(async () => {
    process.env = saved;
    await Promise.all([bus.stop(), dynamo.stop()]);
  });

  it('puts a delivery of usage lines on the bus in PutEvents of up to 10 entries, with the same eventIds', async () => {
    const { lines, ids } = linesOf(95);
    const result = await handler(delivery(lines));
    expect(result).toEqual({ forwarded: 95, skipped: 0, accountEvents: 0, raised: 0 });
    expect(bus.requests).toBe(10);
    expect(bus.details.map((detail) => detail.eventId).sort()).toEqual([...ids].sort());
  });

  it('retries failed entries with the same eventId, so each event arrives', async () => {
    bus.setFaults({ failEntryRate: 0.3 });
    const { lines, ids } = linesOf(40);
    await handler(delivery(lines));
    expect(new Set(bus.details.map((detail) => detail.eventId))).toEqual(new Set(ids));
  });

  it('fails the invocation when events cannot be delivered, so that Lambda retries it and then keeps it on the failure queue', async () => {
    bus.setFaults({ rejectDetailContaining: '"latencyMs":1,' });
    const { lines } = linesOf(3);
    await expect(handler(delivery(lines))).rejects.toThrow(/1 of 3 usage events .* were not delivered/);
  });

  it('puts account-event lines on the bus as account events, and raises a rate-limit spike once for 429s over the threshold', async () => {
    // Prepare: 5 429s of one tenant (threshold 3) and a quota line, delivered twice (CloudWatch Logs delivers at least once).
    const lines: string[] = [];
    const writer = new UsageLogWriter({ service: 'metered-api' }, (line) => lines.push(line));
    const at = Date.parse('2026-11-30T10:01:00Z');
    for (let i = 0; i < 5; i++) writer.record({ ...FIELDS, tenantId: 'spiky', statusCode: 429, occurredAt: new Date(at) });
    const quota = { schemaVersion: '1', eventId: 'quota-100.spiky.d2026-11-30', kind: 'quota-100', tenantId: 'spiky', occurredAt: '2026-11-30T10:01:00.000Z', data: { period: 'day', limit: 10, used: 10, tier: 'basic' } } as const;
    writer.recordAccountEvent(quota);
    // Act
    const first = await handler(delivery(lines));
    const again = await handler(delivery(lines));
    // Assess: the spike is raised once (the second delivery finds it marked); the quota event is sent with each delivery, with its id.
    expect(first).toEqual({ forwarded: 5, skipped: 0, accountEvents: 1, raised: 1 });
    expect(again).toEqual({ forwarded: 5, skipped: 0, accountEvents: 1, raised: 0 });
    const accountDetails = bus.details.filter((detail) => typeof detail.kind === 'string');
    expect(accountDetails.map((detail) => detail.eventId)).toEqual([quota.eventId, `rate-limit-spike.spiky.${String(signalWindowStart(at, 5))}`, quota.eventId]);
    expect(accountDetails[1]).toMatchObject({ kind: 'rate-limit-spike', tenantId: 'spiky', data: { count: 5, windowMinutes: 5 } });
  });

  it('fails the invocation when an account event cannot be put on the bus, so that the delivery is retried', async () => {
    bus.setFaults({ rejectDetailContaining: '"quota-80.refused' });
    const lines = [accountEventLogLine({ schemaVersion: '1', eventId: 'quota-80.refused.d2026-11-30', kind: 'quota-80', tenantId: 'refused', occurredAt: '2026-11-30T10:00:00.000Z', data: {} })];
    await expect(handler(delivery(lines))).rejects.toThrow(/account events were not put on the bus/);
  });

  it('answers the control message CloudWatch Logs sends to a new subscription', async () => {
    const event = { awslogs: { data: encodeSubscriptionData({ messageType: 'CONTROL_MESSAGE', owner: 'CloudwatchLogs', logGroup: '', logStream: '', subscriptionFilters: [], logEvents: [{ id: '', timestamp: 0, message: 'CWL CONTROL MESSAGE: Checking health of destination Lambda function.' }] }) } };
    await expect(handler(event)).resolves.toEqual({ forwarded: 0, skipped: 0 });
    expect(bus.requests).toBe(0);
  });
});
