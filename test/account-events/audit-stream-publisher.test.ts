import type { AttributeValue as SdkAttributeValue } from '@aws-sdk/client-dynamodb';
import type { EventBridgeClient, PutEventsRequestEntry, PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { AccountEventDetail } from '../../contracts/account-events';
import { AccountEventPublisher } from '../../lambdas/account-events/account-event-publisher';
import { accountEventOfAudit, auditEntryOfItem } from '../../lambdas/account-events/audit-account-events';
import { SkippedRecord, publishAuditStream } from '../../lambdas/account-events/audit-stream-publisher';
import { AdminService } from '../../lambdas/admin/admin-service';
import { AuditLog } from '../../lambdas/admin/audit-log';
import { CredentialStore } from '../../lambdas/credentials/credential-store';
import { PutEventsTransport, SdkPutEventsTransport } from '../../sdk/put-events-transport';
import { startDynalite } from '../support/dynalite';
import { BUS_NAME, CapturingBus, auditItems, startCapturingBus } from './support';

type Image = Record<string, AttributeValue>;

let sequence = 1000;
/** A stream record as DynamoDB Streams delivers it to Lambda (NEW_IMAGE view). */
const streamRecord = (eventName: 'INSERT' | 'MODIFY' | 'REMOVE', image: Image | undefined): DynamoDBRecord => ({
  eventID: `ev-${String(++sequence)}`,
  eventName,
  eventSource: 'aws:dynamodb',
  eventVersion: '1.1',
  awsRegion: 'us-east-1',
  dynamodb: { ApproximateCreationDateTime: 1_795_000_000, ...(image ? { NewImage: image } : {}), SequenceNumber: `${String(sequence)}00000000000000000001`, SizeBytes: 100, StreamViewType: 'NEW_IMAGE' },
});
const imageOf = (item: Record<string, unknown>): Image => {
  const image: Record<string, SdkAttributeValue> = marshall(item, { removeUndefinedValues: true });
  return image as Image;
};

/**
 * Issue 16, item 2: the audit table's stream records (INSERTs of entries the real AdminService
 * wrote on dynalite, marshalled as DynamoDB Streams delivers them) to account events on the real
 * LocalEventBus, and the partial batch response
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html).
 */
describe('publishAuditStream', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let bus: CapturingBus;
  let tick = Date.parse('2026-11-23T12:00:00.000Z');
  const clock = () => (tick += 1);
  let admin: AdminService;

  beforeAll(async () => {
    [dynamo, bus] = await Promise.all([startDynalite(), startCapturingBus()]);
    const store = new CredentialStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter, clock });
    admin = new AdminService(store, new AuditLog(dynamo.client, dynamo.tables.audit, clock));
  });
  afterAll(async () => {
    await Promise.all([dynamo.stop(), bus.stop()]);
  });

  /** Actions of the real service, and the stream records of the entries they wrote (in commit order). */
  const actions = async (): Promise<{ records: DynamoDBRecord[]; tenantId: string }> => {
    const seen = new Set((await auditItems(dynamo.client, dynamo.tables.audit, '2026-11')).map((item) => String(item.sk)));
    const tenant = await admin.createTenant('admin:ops', { name: 'Streamed' });
    const key = await admin.createKey('admin:ops', tenant.tenantId);
    await admin.setKeyStatus('admin:ops', key.keyId, 'blocked');
    await admin.setKeyStatus('admin:ops', key.keyId, 'active');
    await admin.setTenantBlocked('admin:ops', tenant.tenantId, true);
    const items = (await auditItems(dynamo.client, dynamo.tables.audit, '2026-11')).filter((item) => !seen.has(String(item.sk)));
    return { records: items.map((item) => streamRecord('INSERT', imageOf(item))), tenantId: tenant.tenantId };
  };
  const newDetails = (before: number): AccountEventDetail[] => bus.details().slice(before);

  it('publishes the event of each INSERTed entry in stream order, and skips entries that raise none', async () => {
    // Prepare
    const { records, tenantId } = await actions();
    const before = bus.details().length;
    const skipped: SkippedRecord[] = [];
    // Act
    const response = await publishAuditStream(records, { sink: bus.publisher, onSkipped: (s) => skipped.push(s) });
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(newDetails(before).map((detail) => [detail.kind, detail.tenantId])).toEqual([
      ['tenant-created', tenantId],
      ['key-created', tenantId],
      ['key-blocked', tenantId],
      ['tenant-blocked', tenantId],
    ]);
    expect(skipped).toEqual([{ sequenceNumber: records[3].dynamodb?.SequenceNumber, reason: 'no-event', detail: 'key.unblock' }]);
  });

  it('a redelivered batch publishes the same event ids again: one id per action, which the consumers keep once', async () => {
    // Prepare
    const { records } = await actions();
    const before = bus.details().length;
    // Act
    await publishAuditStream(records, { sink: bus.publisher });
    await publishAuditStream(records, { sink: bus.publisher });
    // Assess
    const ids = newDetails(before).map((detail) => detail.eventId);
    expect(ids).toHaveLength(8);
    expect(new Set(ids).size).toBe(4);
    expect(ids.slice(4)).toEqual(ids.slice(0, 4));
    const expected = records.map((record) => auditEntryOfItem(fromImage(record.dynamodb?.NewImage ?? {}))).map((entry) => entry && accountEventOfAudit(entry)?.eventId);
    expect(ids.slice(0, 4)).toEqual(expected.filter((id) => id !== undefined));
  });

  it('skips MODIFY and REMOVE records, items that are not audit entries, unreadable images and events the contract refuses, without failing the batch', async () => {
    // Prepare
    const { records } = await actions();
    const entryItem = fromImage(records[0].dynamodb?.NewImage ?? {});
    const odd = [
      streamRecord('MODIFY', records[0].dynamodb?.NewImage),
      streamRecord('REMOVE', undefined),
      streamRecord('INSERT', imageOf({ pk: 'TENANT#acme', sk: 'TENANT', name: 'not an entry' })),
      streamRecord('INSERT', { ...records[0].dynamodb?.NewImage, details: { Z: 'unknown type' } as unknown as AttributeValue }),
      streamRecord('INSERT', imageOf({ ...entryItem, sk: `${String(entryItem.sk)}x`, at: 'yesterday' })),
    ];
    const skipped: SkippedRecord[] = [];
    const before = bus.details().length;
    // Act
    const response = await publishAuditStream([...odd, records[4]], { sink: bus.publisher, onSkipped: (s) => skipped.push(s) });
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(skipped.map((s) => s.reason)).toEqual(['not-an-insert', 'not-an-insert', 'not-an-audit-entry', 'malformed', 'malformed']);
    expect(skipped[3].detail).toMatch(/Unsupported type/);
    expect(newDetails(before).map((detail) => detail.kind)).toEqual(['tenant-blocked']);
  });

  it('answers the sequence number of the first record whose event was not put, stops there, and a retry from it delivers the rest with the same ids', async () => {
    // Prepare: 3 rounds of actions (12 events, 15 records); the bus refuses the 3rd event for good on the first try.
    const rounds = [await actions(), await actions(), await actions()];
    const records = rounds.flatMap((round) => round.records);
    const events = records.map((record) => accountEventOfAudit(auditEntryOfItem(fromImage(record.dynamodb?.NewImage ?? {}))!));
    const third = records.filter((_, i) => events[i] !== undefined)[2];
    const refusedId = events[records.indexOf(third)]?.eventId;
    let refuse = true;
    const before = bus.details().length;
    const flaky = transportRefusing(bus.client, (entry) => refuse && entry.Detail?.includes(`"${String(refusedId)}"`) === true);
    const failing = new AccountEventPublisher({ transport: flaky, eventBusName: BUS_NAME, sleep: () => Promise.resolve() });
    // Act
    const first = await publishAuditStream(records, { sink: failing });
    const delivered = newDetails(before).map((detail) => detail.eventId);
    refuse = false;
    const fromCheckpoint = records.slice(records.findIndex((record) => record.dynamodb?.SequenceNumber === first.batchItemFailures[0]?.itemIdentifier));
    const retried = await publishAuditStream(fromCheckpoint, { sink: failing });
    // Assess
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: third.dynamodb?.SequenceNumber }] });
    // The first chunk of 10 went (but the refused one); the second chunk was not sent.
    expect(delivered).toHaveLength(9);
    expect(delivered).not.toContain(refusedId);
    expect(retried).toEqual({ batchItemFailures: [] });
    const all = newDetails(before).map((detail) => detail.eventId);
    expect(new Set(all)).toEqual(new Set(events.filter((e) => e !== undefined).map((e) => e.eventId)));
  });

  it('a sink that fails outright fails its chunk from the first record with an event; a record without a sequence number fails the whole batch', async () => {
    // Prepare
    const { records } = await actions();
    const down = { publish: () => Promise.reject(new Error('no network')) };
    const noSequence = { ...records[0], dynamodb: { ...records[0].dynamodb, SequenceNumber: undefined } };
    // Act
    const response = await publishAuditStream([streamRecord('REMOVE', undefined), ...records], { sink: down });
    const missing = publishAuditStream([noSequence], { sink: bus.publisher });
    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: records[0].dynamodb?.SequenceNumber }] });
    await expect(missing).rejects.toThrow(/no SequenceNumber/);
  });
});

/** A stored item from a stream image (the test's own unmarshalling of images it marshalled). */
function fromImage(image: Image): Record<string, unknown> {
  return unmarshall(image as Record<string, SdkAttributeValue>);
}

/** The real SDK transport, but entries the predicate picks are answered as refused for good (as EventBridge answers an entry it will not take). */
function transportRefusing(client: EventBridgeClient, refused: (entry: PutEventsRequestEntry) => boolean): PutEventsTransport {
  const real = new SdkPutEventsTransport(client);
  return {
    putEvents: async (entries) => {
      const kept = entries.filter((entry) => !refused(entry));
      const results = kept.length > 0 ? ((await real.putEvents(kept)) ?? []) : [];
      const answers: PutEventsResultEntry[] = [];
      let next = 0;
      for (const entry of entries) answers.push(refused(entry) ? { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'refused by the test' } : results[next++]);
      return answers;
    },
    close: () => real.close(),
  };
}
