import { LAMBDA_ENV } from '../../contracts/lambda-environment';
import { USAGE_LOG_FILTER_PATTERN, USAGE_LOG_LINE } from '../../contracts/usage-log-line';
import { encodeSubscriptionData, forwardUsageLines, usageOfLogLine } from '../../lambdas/usage-log/usage-log-forwarder';
import { UsageLogWriter, usageLogLine } from '../../lambdas/usage-log/usage-log-writer';
import { LocalUsageLogSubscription } from '../../local/events/usage-log-subscription';
import type { UsageRecorder } from '../../sdk/request-usage';
import type { UsageEventFields } from '../../sdk/usage-event-builder';
import { LoopbackPutEventsServer } from '../support/put-events-server';

type Handler = typeof import('../../lambdas/handlers/usage-log-forwarder').handler;

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
 * A CloudWatch Logs JSON filter pattern of the form `{ $.key = "value" }`, evaluated as CloudWatch
 * does: the log event must be a JSON object whose property equals the value
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html#matching-terms-json-log-events).
 */
function matchesJsonFilter(pattern: string, message: string): boolean {
  const parsed = /^\{ \$\.(\w+) = "([^"]*)" \}$/.exec(pattern);
  if (!parsed) throw new Error(`not a { $.key = "value" } pattern: ${pattern}`);
  try {
    const value: unknown = JSON.parse(message);
    return typeof value === 'object' && value !== null && (value as Record<string, unknown>)[parsed[1]] === parsed[2];
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

  it("has a filter pattern that selects usage lines and nothing else of a function's log", () => {
    const usage = usageLogLine({ schemaVersion: '1', eventId: 'e-1', ...FIELDS });
    expect(matchesJsonFilter(USAGE_LOG_FILTER_PATTERN, usage)).toBe(true);
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
    process.env[LAMBDA_ENV.usageEventBusName] = 'usage-bus';
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
    await bus.stop();
  });

  it('puts a delivery of usage lines on the bus in PutEvents of up to 10 entries, with the same eventIds', async () => {
    const { lines, ids } = linesOf(95);
    const result = await handler(delivery(lines));
    expect(result).toEqual({ forwarded: 95, skipped: 0 });
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

  it('answers the control message CloudWatch Logs sends to a new subscription', async () => {
    const event = { awslogs: { data: encodeSubscriptionData({ messageType: 'CONTROL_MESSAGE', owner: 'CloudwatchLogs', logGroup: '', logStream: '', subscriptionFilters: [], logEvents: [{ id: '', timestamp: 0, message: 'CWL CONTROL MESSAGE: Checking health of destination Lambda function.' }] }) } };
    await expect(handler(event)).resolves.toEqual({ forwarded: 0, skipped: 0 });
    expect(bus.requests).toBe(0);
  });
});
