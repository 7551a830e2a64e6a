import { randomBytes } from 'node:crypto';
import { AttributeValue, DeleteItemCommand, DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AUDIT_ENTRY_ATTRIBUTES } from '../../contracts/metered-api';
import { AdminService } from '../../lambdas/admin/admin-service';
import { AuditLog } from '../../lambdas/admin/audit-log';
import { CredentialStore, CredentialStoreError } from '../../lambdas/credentials/credential-store';
import { limiterKey } from '../../lambdas/limiter/token-bucket-limiter';
import { MeteredHttpApi } from '../../lib/metered-http-api';
import { testApp } from '../lib/fixtures';
import { startDynalite } from '../support/dynalite';
import { ResolvedCall, TemplatePolicies, evaluateCall } from '../support/template-policies';

/**
 * Issue 18, item 6: the audit log is append-only for the admin functions (PutItem of an entry in
 * an audit partition, Query; nothing else), and every admin change is written with its audit
 * entry in one transaction (injected failures and races on dynalite).
 */

describe('Security: the admin functions may only append to the audit log and read it', () => {
  const stack = new Stack(testApp({ 'aws:cdk:bundling-stacks': [] }), 'AuditStack');
  const api = new MeteredHttpApi(stack, 'MeteredApi', { usageEventBus: new events.EventBus(stack, 'Bus') });
  const policies = new TemplatePolicies(Template.fromStack(stack).toJSON(), { stackName: stack.stackName });
  const resolve = (value: string) => policies.resolver.resolveString(stack.resolve(value));
  const adminFunction = api.node.findChild('AdminFunction');
  if (!(adminFunction instanceof lambda.Function)) throw new Error('The API has no AdminFunction.');
  const adminRole = resolve(adminFunction.role!.roleArn);
  const auditTable = resolve(api.tables.audit.tableArn);
  const entry = { 'dynamodb:LeadingKeys': ['AUDIT#2025-01'], 'dynamodb:Attributes': [...AUDIT_ENTRY_ATTRIBUTES], 'dynamodb:ReturnValues': 'NONE' };
  const verdict = (action: string, context: Record<string, string | string[]> = {}) => {
    const call: ResolvedCall = { component: 'admin', principal: { kind: 'role', arn: adminRole }, action, resource: auditTable, context, why: 'test' };
    return evaluateCall(policies, call);
  };

  it('allows appending an entry and reading by month', async () => {
    expect(await verdict('dynamodb:PutItem', entry)).toMatchObject({ allowed: true, ignoredContextKeys: [] });
    expect(await verdict('dynamodb:Query', { 'dynamodb:LeadingKeys': ['AUDIT#2025-01'] })).toMatchObject({ allowed: true });
  });

  it.each(['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:PartiQLUpdate', 'dynamodb:PartiQLDelete', 'dynamodb:DeleteTable'])('denies %s on the audit table', async (action) => {
    expect((await verdict(action, entry)).allowed).toBe(false);
  });

  it.each([
    ['outside the audit partitions', { ...entry, 'dynamodb:LeadingKeys': ['KEY#k-1'] }],
    ['with an attribute an entry does not have', { ...entry, 'dynamodb:Attributes': [...AUDIT_ENTRY_ATTRIBUTES, 'erased'] }],
    ['returning the entry it would replace', { ...entry, 'dynamodb:ReturnValues': 'ALL_OLD' }],
  ])('denies a PutItem %s', async (_what, context) => {
    expect((await verdict('dynamodb:PutItem', context)).allowed).toBe(false);
  });
});

/** One action of a TransactWriteItems as sent: its kind, its table and the item's partition key. */
interface SentAction {
  readonly kind: string;
  readonly table: string;
  readonly pk: string;
}

/** A write request as the client sends it: its operation, and each action of a transaction. */
interface SentWrite {
  readonly target: string;
  readonly actions: readonly SentAction[];
}

type MarshalledItem = Partial<Record<string, AttributeValue>>;
type SentTransactItem = Partial<Record<string, { TableName?: string; Key?: MarshalledItem; Item?: MarshalledItem }>>;

function sentActions(items: readonly SentTransactItem[] | undefined): SentAction[] {
  return (items ?? []).flatMap((item) =>
    Object.entries(item).map(([kind, action]) => ({ kind, table: action?.TableName ?? '', pk: (action?.Key ?? action?.Item)?.pk?.S ?? '' })),
  );
}

/** The writes a DynamoDB client sends, each of which a test can make fail or precede with another change. */
function interceptWrites(client: DynamoDBClient) {
  const state = { writes: [] as SentWrite[], failAt: 0, before: undefined as (() => Promise<void>) | undefined };
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> } | undefined;
      const target = (request?.headers?.['x-amz-target'] ?? '').split('.')[1] ?? '';
      if (/^(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)$/.test(target)) {
        const input = args.input as { TransactItems?: SentTransactItem[] };
        state.writes.push({ target, actions: sentActions(input.TransactItems) });
        if (state.writes.length === state.failAt) throw Object.assign(new Error(`injected failure of write ${state.writes.length} (${target})`), { name: 'InternalServerError' });
        const before = state.before;
        state.before = undefined;
        if (before) await before();
      }
      return next(args);
    },
    { step: 'build', name: 'interceptWrites' },
  );
  return {
    /** Counts writes from none, failing the `n`-th from now (0: none). */
    failWrite(n: number) {
      state.writes = [];
      state.failAt = n;
    },
    /** Runs `change` (on another client) just before the next write is sent. */
    beforeNextWrite(change: () => Promise<void>) {
      state.before = change;
    },
    get writes(): readonly SentWrite[] {
      return state.writes;
    },
  };
}

type Dynalite = Awaited<ReturnType<typeof startDynalite>>;

/**
 * An admin on its own intercepted client, and a bystander (another admin, racing) whose client is
 * not intercepted: made afresh for each test, so no test sees another's interceptions.
 */
async function adminAndBystander(dynamo: Dynalite) {
  const endpoint = await dynamo.client.config.endpoint!();
  const adminClient = new DynamoDBClient({ endpoint: `http://${endpoint.hostname}:${endpoint.port}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  const writes = interceptWrites(adminClient);
  const tables = { credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter };
  const audit = new AuditLog(adminClient, dynamo.tables.audit);
  const bystander = new CredentialStore({ client: dynamo.client, ...tables });
  return { writes, audit, bystander, admin: new AdminService(new CredentialStore({ client: adminClient, ...tables }), audit) };
}

// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html:
// "The actions are completed atomically so that either all of them succeed, or all of them fail."
describe('Security: a status change and its audit entry land together or not at all', () => {
  let dynamo: Dynalite;

  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => dynamo.stop());

  /** A new tenant (with an id of its own) and a key of it, made by the bystander. */
  const freshKey = async (bystander: CredentialStore) => {
    const tenant = await bystander.createTenant({ tenantId: `audit-${randomBytes(6).toString('hex')}`, name: 'Audited', tier: 'basic' });
    return bystander.createKey(tenant.tenantId, 'tenant');
  };
  const entriesFor = async (audit: AuditLog, target: string, action: string) => (await audit.recent(500)).filter((e) => e.target === target && e.action === action);
  const rawItem = async (table: string, pk: string): Promise<MarshalledItem | undefined> =>
    (await dynamo.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }))).Item;
  /** What of a key status change is visible in the tables. */
  const keyState = async (key: { keyId: string; tenantId: string }) => {
    const byId = (await rawItem(dynamo.tables.credentials, `KEY#${key.keyId}`))!;
    const byHash = (await rawItem(dynamo.tables.credentials, `KEYHASH#${byId.hash!.S!}`))!;
    const limiter = await rawItem(dynamo.tables.limiter, limiterKey(key.tenantId));
    return {
      byId: byId.status?.S,
      byHash: byHash.status?.S,
      revokedOnLimiter: (limiter?.revokedKeys?.SS ?? []).includes(key.keyId),
      lastAuditEntry: [byId.lastAuditEntry?.S, byHash.lastAuditEntry?.S],
    };
  };
  const auditIds = async () => {
    const month = { S: `AUDIT#${new Date().toISOString().slice(0, 7)}` };
    const { Items } = await dynamo.client.send(new QueryCommand({ TableName: dynamo.tables.audit, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': month } }));
    return new Set((Items ?? []).map((item: MarshalledItem) => item.sk?.S));
  };

  type Key = Awaited<ReturnType<typeof freshKey>>;
  const auditEntry = (): SentAction => ({ kind: 'Put', table: dynamo.tables.audit, pk: `AUDIT#${new Date().toISOString().slice(0, 7)}` });
  const tenantRecord = (kind: string, key: Key): SentAction => ({ kind, table: dynamo.tables.credentials, pk: `TENANT#${key.tenantId}` });
  const limiterItem = (kind: string, key: Key): SentAction => ({ kind, table: dynamo.tables.limiter, pk: limiterKey(key.tenantId) });
  const keyRecords = (kind: string, key: Key, hash: string | RegExp): SentAction[] => [
    { kind, table: dynamo.tables.credentials, pk: hash instanceof RegExp ? (expect.stringMatching(hash) as string) : `KEYHASH#${hash}` },
    { kind, table: dynamo.tables.credentials, pk: hash instanceof RegExp ? (expect.stringMatching(/^KEY#/) as string) : `KEY#${key.keyId}` },
  ];
  const hashOf = async (key: Key) => (await rawItem(dynamo.tables.credentials, `KEY#${key.keyId}`))!.hash!.S!;

  it.each<[string, (admin: AdminService, key: Key) => Promise<unknown>, (key: Key, hash: string) => SentAction[]]>([
    ['a key revocation', (admin, key) => admin.setKeyStatus('operator-arn', key.keyId, 'revoked'), (key, hash) => [...keyRecords('Update', key, hash), limiterItem('Update', key), auditEntry()]],
    ['a tenant block', (admin, key) => admin.setTenantBlocked('operator-arn', key.tenantId, true), (key) => [limiterItem('Update', key), tenantRecord('Update', key), auditEntry()]],
    [
      'a tier change (with the tier hint of the key record the authorizer reads)',
      (admin, key) => admin.setTier('operator-arn', key.tenantId, { tier: 'premium' }),
      (key, hash) => [limiterItem('Update', key), tenantRecord('Update', key), { kind: 'Update', table: dynamo.tables.credentials, pk: `KEYHASH#${hash}` }, auditEntry()],
    ],
    ['a key creation', (admin, key) => admin.createKey('operator-arn', key.tenantId), (key) => [tenantRecord('ConditionCheck', key), ...keyRecords('Put', key, /^KEYHASH#/), auditEntry()]],
    [
      'an external identity mapping',
      (admin, key) => admin.mapExternalIdentity('operator-arn', key.tenantId, { issuer: 'https://issuer.example', subject: key.keyId }),
      (key) => [tenantRecord('ConditionCheck', key), { kind: 'Put', table: dynamo.tables.credentials, pk: expect.stringMatching(/^EXTID#/) as string }, auditEntry()],
    ],
  ])('writes %s as one TransactWriteItems of every item it changes and its entry', async (_what, change, changedItems) => {
    // Prepare
    const { admin, bystander, writes } = await adminAndBystander(dynamo);
    const key = await freshKey(bystander);
    const hash = await hashOf(key);
    // Act
    await change(admin, key);
    // Assess
    expect(writes.writes).toEqual([{ target: 'TransactWriteItems', actions: changedItems(key, hash) }]);
  });

  it('leaves nothing changed and no entry when the transaction fails, and repeating it completes the change with one entry', async () => {
    // Prepare
    const { admin, audit, bystander, writes } = await adminAndBystander(dynamo);
    const key = await freshKey(bystander);
    const before = await keyState(key);
    // Act
    writes.failWrite(1);
    await expect(admin.setKeyStatus('operator-arn', key.keyId, 'revoked')).rejects.toThrow('injected failure');
    writes.failWrite(0);
    const afterFailure = await keyState(key);
    const entriesAfterFailure = await entriesFor(audit, key.keyId, 'key.revoke');
    await admin.setKeyStatus('operator-arn', key.keyId, 'revoked');
    const completed = await keyState(key);
    // Assess
    expect(afterFailure).toEqual(before);
    expect(entriesAfterFailure).toEqual([]);
    expect(completed).toMatchObject({ byId: 'revoked', byHash: 'revoked', revokedOnLimiter: true });
    expect(await entriesFor(audit, key.keyId, 'key.revoke')).toHaveLength(1);
    const ids = await auditIds();
    for (const id of completed.lastAuditEntry) expect(ids.has(id)).toBe(true);
  });

  it('writes neither the unblock nor its entry when a revocation lands between its check and its write', async () => {
    // Prepare
    const { admin, audit, bystander, writes } = await adminAndBystander(dynamo);
    const key = await freshKey(bystander);
    await bystander.setKeyStatus(key.keyId, 'blocked');
    writes.beforeNextWrite(async () => {
      await bystander.setKeyStatus(key.keyId, 'revoked');
    });
    // Act
    const unblock = admin.setKeyStatus('operator-arn', key.keyId, 'active');
    // Assess
    await expect(unblock).rejects.toThrow(CredentialStoreError);
    await expect(unblock).rejects.toMatchObject({ code: 'key-revoked' });
    expect(await keyState(key)).toMatchObject({ byId: 'revoked', byHash: 'revoked', revokedOnLimiter: true });
    expect(await entriesFor(audit, key.keyId, 'key.unblock')).toEqual([]);
  });

  it('writes neither a tenant block nor its entry when the tenant is deleted under it', async () => {
    // Prepare
    const { admin, audit, bystander, writes } = await adminAndBystander(dynamo);
    const { tenantId } = await freshKey(bystander);
    writes.beforeNextWrite(async () => {
      await dynamo.client.send(new DeleteItemCommand({ TableName: dynamo.tables.limiter, Key: { pk: { S: limiterKey(tenantId) } } }));
    });
    // Act
    const block = admin.setTenantBlocked('operator-arn', tenantId, true);
    // Assess
    await expect(block).rejects.toMatchObject({ code: 'tenant-not-found' });
    expect((await rawItem(dynamo.tables.credentials, `TENANT#${tenantId}`))!.blocked?.BOOL).toBe(false);
    expect(await entriesFor(audit, tenantId, 'tenant.block')).toEqual([]);
  });

  it('writes nothing, not even an entry, for a change it refuses (an unknown key, an unblock of a revoked key, an existing tenant)', async () => {
    // Prepare
    const { admin, audit, bystander, writes } = await adminAndBystander(dynamo);
    const key = await freshKey(bystander);
    await bystander.setKeyStatus(key.keyId, 'revoked');
    // Act
    await expect(admin.setKeyStatus('operator-arn', key.keyId, 'active')).rejects.toMatchObject({ code: 'key-revoked' });
    await expect(admin.setKeyStatus('operator-arn', 'k-unknown', 'blocked')).rejects.toMatchObject({ code: 'key-not-found' });
    await expect(admin.setTenantBlocked('operator-arn', 'no-such-tenant', true)).rejects.toMatchObject({ code: 'tenant-not-found' });
    await expect(admin.createKey('operator-arn', 'no-such-tenant')).rejects.toMatchObject({ code: 'tenant-not-found' });
    await expect(admin.createTenant('operator-arn', { tenantId: key.tenantId, name: 'again' })).rejects.toMatchObject({ code: 'tenant-exists' });
    // Assess: the last one reached DynamoDB, as a cancelled transaction (the key creation reads its
    // tenant's tier first, and stops there); nothing else was sent.
    expect(writes.writes.map((write) => write.target)).toEqual(['TransactWriteItems']);
    expect(await entriesFor(audit, 'no-such-tenant', 'key.create')).toEqual([]);
    expect(await entriesFor(audit, key.tenantId, 'tenant.create')).toEqual([]);
    expect(await entriesFor(audit, key.keyId, 'key.unblock')).toEqual([]);
  });

  it('gives entries appended at the same instant keys of their own, so that no append meets another', async () => {
    // Prepare: two appends at the same instant get different ids.
    const fixed = new AuditLog(dynamo.client, dynamo.tables.audit, () => Date.UTC(2025, 0, 15, 9, 30));
    // Act
    const [a, b] = [await fixed.append({ actor: 'x', action: 'test', target: 't' }), await fixed.append({ actor: 'x', action: 'test', target: 't' })];
    // Assess
    expect(a.id).not.toBe(b.id);
  });
});
