import { EventBridgeClient, PutEventsCommand, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { AwsClientStub, mockClient } from 'aws-sdk-client-mock';
import { ACCOUNT_EVENT_DETAIL_TYPE, ACCOUNT_EVENT_SOURCE, AccountEventDetail } from '../../contracts/account-events';
import { AccountEventPublishError, AccountEventPublisher } from '../../lambdas/account-events/account-event-publisher';
import { SdkPutEventsTransport } from '../../sdk/put-events-transport';
import { BUS_NAME, CapturingBus, startCapturingBus } from './support';

const event = (n: number, overrides: Partial<AccountEventDetail> = {}): AccountEventDetail => ({
  schemaVersion: '1',
  eventId: `audit.2026-11-23T10:00:00.${String(n).padStart(3, '0')}Z.00112233aabbcc${String(n).padStart(2, '0')}`,
  kind: 'key-revoked',
  tenantId: 'acme',
  occurredAt: `2026-11-23T10:00:0${String(n % 10)}.${String(n).padStart(3, '0')}Z`,
  data: { keyId: `key_${String(n)}` },
  ...overrides,
});

/** Issue 16, item 2: the AccountEventPublisher against the real LocalEventBus (through the real EventBridge client). */
describe('AccountEventPublisher (the real LocalEventBus)', () => {
  let bus: CapturingBus;

  beforeAll(async () => {
    bus = await startCapturingBus();
  });
  afterAll(() => bus.stop());

  it('puts each event as the account rule matches it: its source, detail-type, the occurrence\'s time, and the detail unchanged', async () => {
    // Prepare
    const before = bus.envelopes().length;
    const detail = event(1);
    // Act
    await bus.publisher.publish([detail]);
    // Assess
    const [envelope, ...more] = bus.envelopes().slice(before);
    expect(more).toEqual([]);
    expect(envelope).toMatchObject({ source: ACCOUNT_EVENT_SOURCE, 'detail-type': ACCOUNT_EVENT_DETAIL_TYPE, detail });
    // PutEvents' Time has a precision of seconds (the SDK sends epoch seconds).
    expect(Date.parse(envelope.time)).toBe(Math.floor(Date.parse(detail.occurredAt) / 1000) * 1000);
  });

  it('sends 23 events in 3 requests of at most 10 and delivers every one', async () => {
    // Prepare
    const before = bus.envelopes().length;
    const requestsBefore = bus.bus.stats().requests;
    const events = Array.from({ length: 23 }, (_, n) => event(100 + n));
    // Act
    await bus.publisher.publish(events);
    // Assess
    expect(bus.bus.stats().requests - requestsBefore).toBe(3);
    expect(bus.envelopes().slice(before).map((envelope) => envelope.detail.eventId)).toEqual(events.map((e) => e.eventId));
  });

  it('refuses an event the contract refuses before sending anything', async () => {
    // Prepare
    const requestsBefore = bus.bus.stats().requests;
    const bad = { ...event(2), kind: 'tenant-deleted' } as unknown as AccountEventDetail;
    // Act
    const publishing = bus.publisher.publish([event(3), bad]);
    // Assess
    await expect(publishing).rejects.toThrow(/kind/);
    expect(bus.bus.stats().requests).toBe(requestsBefore);
  });
});

/** The publisher's retries with failed entries and calls (aws-sdk-client-mock on the EventBridge client). */
describe('AccountEventPublisher (failed entries and calls)', () => {
  // Mocking the class mocks every client of it: only from here on, after the real bus's tests.
  let eventBridge: AwsClientStub<EventBridgeClient>;
  const publisherWith = (maxAttempts = 4) =>
    new AccountEventPublisher({ transport: new SdkPutEventsTransport(new EventBridgeClient({ region: 'us-east-1' })), eventBusName: BUS_NAME, maxAttempts, sleep: () => Promise.resolve() });
  const sentIds = (call: number): string[] => {
    const input = eventBridge.commandCalls(PutEventsCommand)[call].args[0].input;
    return (input.Entries ?? []).map((entry: PutEventsRequestEntry) => (JSON.parse(entry.Detail ?? '{}') as AccountEventDetail).eventId);
  };
  const callError = (name: string) => Object.assign(new Error(name), { name });

  beforeAll(() => {
    eventBridge = mockClient(EventBridgeClient);
  });
  beforeEach(() => {
    eventBridge.reset();
  });
  afterAll(() => {
    eventBridge.restore();
  });

  it('retries a throttled entry alone, with the same eventId, until it is put', async () => {
    // Prepare
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'e1' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' }] })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'e2' }] });
    // Act
    await publisherWith().publish([event(1), event(2)]);
    // Assess
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(2);
    expect(sentIds(1)).toEqual([event(2).eventId]);
  });

  it('reports an entry refused for good even when the retry of another succeeds (a bug fixed: it was forgotten)', async () => {
    // Prepare
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 2, Entries: [{ ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'not yours' }, { ErrorCode: 'InternalFailure', ErrorMessage: 'oops' }] })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'e2' }] });
    // Act
    const error = await publisherWith().publish([event(1), event(2)]).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(AccountEventPublishError);
    expect((error as AccountEventPublishError).undelivered).toEqual([{ eventId: event(1).eventId, reason: 'NotAuthorizedForSourceException: not yours' }]);
    expect(sentIds(1)).toEqual([event(2).eventId]);
  });

  it('gives up after maxAttempts on an entry that keeps failing, naming it', async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'down' }] });
    // Act
    const error = await publisherWith(3).publish([event(4)]).catch((e: unknown) => e);
    // Assess
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(3);
    expect((error as AccountEventPublishError).undelivered).toEqual([{ eventId: event(4).eventId, reason: 'InternalFailure: down' }]);
  });

  it('retries a throttled call, and an entry without a result, then succeeds', async () => {
    // Prepare
    eventBridge
      .on(PutEventsCommand)
      .rejectsOnce(callError('ThrottlingException'))
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'e5' }] })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'e6' }] });
    // Act
    await publisherWith().publish([event(5), event(6)]);
    // Assess
    expect([0, 1, 2].map(sentIds)).toEqual([[event(5).eventId, event(6).eventId], [event(5).eventId, event(6).eventId], [event(6).eventId]]);
  });

  it('does not retry a call the service refuses as invalid', async () => {
    // Prepare
    eventBridge.on(PutEventsCommand).rejects(callError('ValidationException'));
    // Act
    const error = await publisherWith().publish([event(7)]).catch((e: unknown) => e);
    // Assess
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(1);
    expect((error as AccountEventPublishError).undelivered).toEqual([{ eventId: event(7).eventId, reason: 'ValidationException' }]);
  });
});
