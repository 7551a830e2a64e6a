import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ACCOUNT_EVENT_DETAIL_TYPE, AccountEventDetail, accountEventPattern } from '../../contracts/account-events';
import { AUDIT_PARTITION_PREFIX } from '../../contracts/metered-api';
import { AccountEventPublisher } from '../../lambdas/account-events/account-event-publisher';
import { auditEntryOfItem } from '../../lambdas/account-events/audit-account-events';
import type { AppendedAuditEntry } from '../../lambdas/admin/audit-log';
import { LocalEventBus } from '../../local/events/local-event-bus';
import { SdkPutEventsTransport } from '../../sdk/put-events-transport';

export const BUS_NAME = 'usage-bus';

/** An envelope as the bus's rule handed it to its target. */
export interface Envelope {
  readonly id: string;
  readonly source: string;
  readonly 'detail-type': string;
  readonly time: string;
  readonly detail: AccountEventDetail;
}

/**
 * The real LocalEventBus with the account-event rule (contracts' `accountEventPattern()`) feeding a
 * target that keeps every envelope it matched, the real EventBridge client pointed at it, and an
 * AccountEventPublisher over that client (no waits between its retries).
 */
export async function startCapturingBus() {
  const records: string[] = [];
  let failPuts = 0;
  const bus = new LocalEventBus({
    busName: BUS_NAME,
    rule: {
      pattern: accountEventPattern(),
      target: {
        put: (batch) => {
          records.push(...batch);
          return Promise.resolve();
        },
      },
    },
  });
  const endpoint = await bus.listen(0);
  const client = new EventBridgeClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  const publisher = new AccountEventPublisher({ transport: new SdkPutEventsTransport(client), eventBusName: BUS_NAME, sleep: () => Promise.resolve() });
  return {
    endpoint,
    client,
    publisher,
    bus,
    /** A sink that fails its next `n` publishes (before reaching the bus), then publishes. */
    failingNext: (n: number) => {
      failPuts = n;
    },
    sink: {
      publish: (events: readonly AccountEventDetail[]) => {
        if (failPuts > 0) {
          failPuts--;
          return Promise.reject(new Error('the bus is unreachable'));
        }
        return publisher.publish(events);
      },
    },
    envelopes: (): Envelope[] => records.map((record) => JSON.parse(record) as Envelope),
    details: (): AccountEventDetail[] => records.map((record) => (JSON.parse(record) as Envelope).detail).filter((detail) => typeof detail.eventId === 'string'),
    detailType: ACCOUNT_EVENT_DETAIL_TYPE,
    stop: async () => {
      client.destroy();
      await bus.close();
    },
  };
}

export type CapturingBus = Awaited<ReturnType<typeof startCapturingBus>>;

/** The stored audit items of a month (`YYYY-MM`), oldest first, exactly as the table holds them. */
export async function auditItems(client: DynamoDBClient, table: string, month: string): Promise<Record<string, unknown>[]> {
  const documents = DynamoDBDocumentClient.from(client);
  const { Items } = await documents.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `${AUDIT_PARTITION_PREFIX}${month}` }, ConsistentRead: true }));
  return Items ?? [];
}

/** The stored entries of a month with their ids, read back through `auditEntryOfItem`. */
export async function auditEntries(client: DynamoDBClient, table: string, month: string): Promise<AppendedAuditEntry[]> {
  return (await auditItems(client, table, month)).map((item) => {
    const entry = auditEntryOfItem(item);
    if (!entry) throw new Error(`not an audit entry: ${JSON.stringify(item)}`);
    return entry;
  });
}
