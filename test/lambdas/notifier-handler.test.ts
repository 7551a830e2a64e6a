import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { ACCOUNT_EVENT_DETAIL_TYPE, ACCOUNT_EVENT_SCHEMA_VERSION, ACCOUNT_EVENT_SOURCE, AccountEventDetail, AccountEventKind } from '../../contracts/account-events';
import { LAMBDA_ENV } from '../../contracts/lambda-environment';
import { SelfServiceStore } from '../../lambdas/credentials/self-service-store';
import { NotifierLog, accountEventDetailOf, notifyRecords } from '../../lambdas/handlers/notifier';
import { InvalidAccountEventError, NotificationInProgressError, NotifyResult } from '../../lambdas/notifications/notifier';
import { SesMailSender } from '../../lambdas/notifications/ses-mail-sender';
import { notifierFunctionDependencies, readNotifierConfig } from '../../lambdas/runtime/notifier-dependencies';
import { RuntimeConfigError } from '../../lambdas/runtime/runtime-config';
import { SesLocalServer, startSesLocalServer } from '../../local/notifications/ses-local-server';
import { startDynalite } from '../support/dynalite';

const FROM = 'notifications@usage.example.com';
const OPERATORS = ['ops@usage.example.com'];

/** An account event's detail, as the producers put it on the bus. */
const detailOf = (kind: AccountEventKind, tenantId: string, eventId = `ev-${randomUUID()}`): AccountEventDetail => ({
  schemaVersion: ACCOUNT_EVENT_SCHEMA_VERSION,
  eventId,
  kind,
  tenantId,
  occurredAt: '2026-11-30T09:59:58Z',
  data: { keyId: 'k-123' },
});

/** An SQS record as Lambda hands it over: the whole EventBridge event in the body (the SQS target's default message). */
const recordOf = (body: unknown, messageId = randomUUID(), receiveCount = 1): SQSRecord => ({
  messageId,
  receiptHandle: `handle-${messageId}`,
  body: typeof body === 'string' ? body : JSON.stringify(body),
  attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: '1764496798000', SenderId: 'AIDAEXAMPLE', ApproximateFirstReceiveTimestamp: '1764496798000' },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:AccountEvents',
  awsRegion: 'us-east-1',
});

const envelopeOf = (detail: unknown, overrides: Record<string, unknown> = {}) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': ACCOUNT_EVENT_DETAIL_TYPE,
  source: ACCOUNT_EVENT_SOURCE,
  account: '123456789012',
  time: '2026-11-30T09:59:59Z',
  region: 'us-east-1',
  resources: [],
  detail,
  ...overrides,
});

/** A log that keeps what it was told. */
const recordingLog = () => {
  const lines: { level: string; message: string; extra: Record<string, unknown> }[] = [];
  const log: NotifierLog = {
    info: (message, extra) => lines.push({ level: 'info', message, extra }),
    warn: (message, extra) => lines.push({ level: 'warn', message, extra }),
    error: (message, extra) => lines.push({ level: 'error', message, extra }),
  };
  return { log, lines };
};

describe('Function: accountEventDetailOf', () => {
  it('answers the detail of an account event envelope', () => {
    const detail = detailOf('key-created', 't-1');
    expect(accountEventDetailOf(recordOf(envelopeOf(detail)))).toEqual(detail);
  });

  it.each([
    ['a body that is not JSON', '{"detail":'],
    ['a JSON body that is no object', '42'],
    ['a usage event (another source and detail-type)', envelopeOf({}, { source: 'my-applications', 'detail-type': 'api-usage-event' })],
    ['an account event detail-type from another source', envelopeOf({}, { source: 'forged.source' })],
  ])('refuses %s as no account event', (_what, body) => {
    expect(() => accountEventDetailOf(recordOf(body))).toThrow(InvalidAccountEventError);
  });
});

describe('Function: notifyRecords (a stand-in notifier)', () => {
  it('reports exactly the records whose notification threw, whatever the error, and keeps going after one', async () => {
    // Prepare: the second record's event is held by another delivery, the third is no account event.
    const held = detailOf('quota-80', 't-1');
    const notified: string[] = [];
    const target = {
      notify: (detail: unknown): Promise<NotifyResult> => {
        const { eventId } = detail as AccountEventDetail;
        notified.push(eventId);
        if (eventId === held.eventId) return Promise.reject(new NotificationInProgressError(eventId));
        return Promise.resolve({ outcome: 'sent', messageId: `m-${eventId}`, to: ['a@example.com'], recorded: eventId !== held.eventId });
      },
    };
    const details = [detailOf('key-created', 't-1'), held, detailOf('tier-changed', 't-2')];
    const records = [recordOf(envelopeOf(details[0])), recordOf(envelopeOf(held), undefined, 3), recordOf('not json'), recordOf(envelopeOf(details[2]))];
    const { log, lines } = recordingLog();
    // Act
    const answer = await notifyRecords(records, target, log);
    // Assess
    expect(notified).toEqual([details[0].eventId, held.eventId, details[2].eventId]);
    expect(answer.batchItemFailures).toEqual([{ itemIdentifier: records[1].messageId }, { itemIdentifier: records[2].messageId }]);
    expect(lines.filter((line) => line.level === 'error').map((line) => line.extra.messageId)).toEqual([records[2].messageId]);
    expect(lines.find((line) => line.level === 'warn')?.extra).toMatchObject({ messageId: records[1].messageId, receiveCount: 3, error: { name: 'NotificationInProgressError' } });
  });

  it('answers no failure for an empty batch, and warns when a mail went out but its record was not written', async () => {
    const { log, lines } = recordingLog();
    expect(await notifyRecords([], { notify: () => Promise.reject(new Error('never called')) }, log)).toEqual({ batchItemFailures: [] });
    const unrecorded = await notifyRecords([recordOf(envelopeOf(detailOf('key-created', 't-1')))], { notify: () => Promise.resolve({ outcome: 'sent', messageId: 'm-9', to: ['a@example.com'], recorded: false }) }, log);
    expect(unrecorded.batchItemFailures).toEqual([]);
    expect(lines.map((line) => [line.level, line.extra.sesMessageId])).toEqual([['warn', 'm-9']]);
  });
});

describe('Function: notifyRecords runs a batch side by side', () => {
  it('notifies distinct events at once, and two records of one event one after the other', async () => {
    // Prepare: three distinct events and a second delivery of the first.
    const details = [detailOf('key-created', 't-1'), detailOf('tier-changed', 't-2'), detailOf('tenant-blocked', 't-3')];
    const records = [...details, details[0]].map((detail) => recordOf(envelopeOf(detail)));
    const inFlight = new Map<string, number>();
    let most = 0;
    const overlaps: string[] = [];
    const notify = async (detail: unknown) => {
      const { eventId } = detail as AccountEventDetail;
      if ((inFlight.get(eventId) ?? 0) > 0) overlaps.push(eventId);
      inFlight.set(eventId, (inFlight.get(eventId) ?? 0) + 1);
      most = Math.max(most, [...inFlight.values()].reduce((a, b) => a + b, 0));
      await new Promise((resolve) => setTimeout(resolve, 30));
      inFlight.set(eventId, (inFlight.get(eventId) ?? 1) - 1);
      return { outcome: 'duplicate' } as const;
    };
    // Act
    const answer = await notifyRecords(records, { notify }, recordingLog().log);
    // Assess: the three events were in flight together; the same event never twice at once.
    expect(answer.batchItemFailures).toEqual([]);
    expect(most).toBe(3);
    expect(overlaps).toEqual([]);
  });
});

describe('Function: readNotifierConfig', () => {
  const complete = {
    [LAMBDA_ENV.tables.credentials]: 'credentials',
    [LAMBDA_ENV.notificationsFrom]: FROM,
    [LAMBDA_ENV.notificationUsageUrl]: 'https://api.example.com/v1/usage',
    [LAMBDA_ENV.notificationOperators]: ' ops@example.com, ,oncall@example.com ',
    [LAMBDA_ENV.notificationCooldownSeconds]: '600',
  };

  it('reads the environment the stack writes', () => {
    const expected = { credentialsTable: 'credentials', from: FROM, usageUrl: 'https://api.example.com/v1/usage', operators: ['ops@example.com', 'oncall@example.com'], cooldownSeconds: 600 };
    expect(readNotifierConfig(complete)).toEqual(expected);
    const defaults = readNotifierConfig({ ...complete, [LAMBDA_ENV.notificationOperators]: undefined, [LAMBDA_ENV.notificationCooldownSeconds]: undefined });
    expect(defaults).toMatchObject({ operators: [], cooldownSeconds: 3600 });
  });

  it('names every variable that is missing or out of range', () => {
    const read = () => readNotifierConfig({ ...complete, [LAMBDA_ENV.notificationsFrom]: ' ', [LAMBDA_ENV.tables.credentials]: undefined, [LAMBDA_ENV.notificationCooldownSeconds]: '59' });
    expect(read).toThrow(RuntimeConfigError);
    expect(read).toThrow(/CREDENTIALS_TABLE is not set; NOTIFICATIONS_FROM is not set; NOTIFICATION_COOLDOWN_SECONDS must be a whole number of seconds from 60 to 86400, got "59"/);
  });
});

/** Integration: the function's own wiring (notifierFunctionDependencies) on dynalite and the real local SES server (aws-ses-v2-local), mails read back from its GET /store. */
describe('Integration: the notifier function on dynalite and the local SES server', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let ses: SesLocalServer;
  let tenants: SelfServiceStore;

  beforeAll(async () => {
    [dynamo, ses] = await Promise.all([startDynalite(), startSesLocalServer()]);
    tenants = new SelfServiceStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter });
  });
  afterAll(async () => {
    await Promise.all([dynamo.stop(), ses.stop()]);
  });
  beforeEach(async () => {
    await ses.clear();
  });

  const notifier = (sesUrl: string) =>
    notifierFunctionDependencies({
      config: { credentialsTable: dynamo.tables.credentials, from: FROM, operators: OPERATORS, usageUrl: 'https://api.example.com/v1/usage?tenant={tenantId}', cooldownSeconds: 3600 },
      dynamodb: dynamo.client,
      sender: new SesMailSender({ from: FROM, region: 'us-east-1', endpoint: new URL(sesUrl), credentials: () => Promise.resolve({ accessKeyId: 'local', secretAccessKey: 'local' }) }),
    });

  it('mails each event of a batch once, the same event delivered twice in it included, and fails none', async () => {
    // Prepare
    const tenantId = `t-${randomUUID().slice(0, 8)}`;
    const email = `owner-${tenantId}@customer.example.com`;
    await tenants.createOwnedTenant({ tenantId, owner: { subject: randomUUID(), email }, issuer: 'https://issuer.example.com' });
    const created = detailOf('key-created', tenantId);
    const spike = detailOf('rate-limit-spike', tenantId);
    const records = [recordOf(envelopeOf(created)), recordOf(envelopeOf(spike)), recordOf(envelopeOf(created))];
    // Act
    const answer = await notifyRecords(records, notifier(ses.url), recordingLog().log);
    // Assess
    const mails = await ses.mails();
    expect(answer.batchItemFailures).toEqual([]);
    expect(mails.map((mail) => mail.destination.to).sort()).toEqual([OPERATORS, [email]]);
    expect(mails.find((mail) => mail.destination.to[0] === email)?.body.text).toContain(`https://api.example.com/v1/usage?tenant=${tenantId}`);
  });

  it('fails the record whose send failed (SES unreachable), so that the queue retries it, and mails it once on the retry', async () => {
    // Prepare: a port nothing listens on, then the real server.
    const tenantId = `t-${randomUUID().slice(0, 8)}`;
    await tenants.createOwnedTenant({ tenantId, owner: { subject: randomUUID(), email: `owner-${tenantId}@customer.example.com` }, issuer: 'https://issuer.example.com' });
    const record = recordOf(envelopeOf(detailOf('tenant-blocked', tenantId)));
    // Act
    const failed = await notifyRecords([record], notifier('http://127.0.0.1:9'), recordingLog().log);
    const retried = await notifyRecords([record], notifier(ses.url), recordingLog().log);
    // Assess
    expect(failed.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(retried.batchItemFailures).toEqual([]);
    expect(await ses.mails()).toHaveLength(1);
  });
});
