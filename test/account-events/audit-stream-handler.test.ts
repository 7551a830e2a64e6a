import type { AttributeValue as SdkAttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { LAMBDA_ENV } from '../../contracts/lambda-environment';
import { AdminService } from '../../lambdas/admin/admin-service';
import { AuditLog } from '../../lambdas/admin/audit-log';
import { CredentialStore } from '../../lambdas/credentials/credential-store';
import { startDynalite } from '../support/dynalite';
import { BUS_NAME, CapturingBus, auditItems, startCapturingBus } from './support';

/** An item as a stream record's NewImage. */
function imageOf(item: Record<string, unknown>): Record<string, AttributeValue> {
  const image: Record<string, SdkAttributeValue> = marshall(item);
  return image as Record<string, AttributeValue>;
}

/**
 * Issue 16, item 2: the audit-stream Lambda handler as deployed (its publisher built from the
 * environment: the usage bus's name, the EventBridge endpoint), given a stream batch of entries
 * the real AdminService wrote on dynalite, puts their events on the real LocalEventBus.
 */
describe('Handler: audit-stream', () => {
  const saved = { ...process.env };
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let bus: CapturingBus;
  let handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;

  beforeAll(async () => {
    [dynamo, bus] = await Promise.all([startDynalite(), startCapturingBus()]);
    process.env[LAMBDA_ENV.usageEventBusName] = BUS_NAME;
    process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = bus.endpoint;
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    ({ handler } = await import('../../lambdas/handlers/audit-stream'));
  });
  afterAll(async () => {
    process.env = saved;
    await Promise.all([dynamo.stop(), bus.stop()]);
  });

  it('puts the events of a batch on the usage bus and answers no failures', async () => {
    // Prepare
    const store = new CredentialStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter });
    const admin = new AdminService(store, new AuditLog(dynamo.client, dynamo.tables.audit));
    const tenant = await admin.createTenant('admin:ops', { name: 'Handled' });
    await admin.setTier('admin:ops', tenant.tenantId, { tier: 'basic' });
    const months = [...new Set([new Date(Date.now() - 60_000).toISOString().slice(0, 7), new Date().toISOString().slice(0, 7)])];
    const items = (await Promise.all(months.map((m) => auditItems(dynamo.client, dynamo.tables.audit, m)))).flat();
    const event: DynamoDBStreamEvent = {
      Records: items.map((item, i) => ({
        eventID: `e${String(i)}`,
        eventName: 'INSERT',
        eventSource: 'aws:dynamodb',
        dynamodb: { NewImage: imageOf(item), SequenceNumber: String(100 + i), StreamViewType: 'NEW_IMAGE' },
      })),
    };
    const before = bus.details().length;
    // Act
    const response = await handler(event);
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(bus.details().slice(before).map((detail) => [detail.kind, detail.tenantId, detail.data])).toEqual([
      ['tenant-created', tenant.tenantId, { tier: 'free', name: 'Handled', via: 'admin' }],
      ['tier-changed', tenant.tenantId, { from: 'free', to: 'basic' }],
    ]);
  });
});
