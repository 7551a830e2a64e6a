import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AUDIT_ENTRY_ATTRIBUTES } from '../../contracts/metered-api';
import { AdminService } from '../../lambdas/admin/admin-service';
import { AuditLog } from '../../lambdas/admin/audit-log';
import { CredentialStore } from '../../lambdas/credentials/credential-store';
import { limiterKey } from '../../lambdas/limiter/token-bucket-limiter';
import { MeteredHttpApi } from '../../lib/metered-http-api';
import { testApp } from '../lib/fixtures';
import { startDynalite } from '../support/dynalite';
import { CfnTemplate, ResolvedCall, TemplatePolicies, evaluateCall } from '../support/template-policies';

/**
 * Issue 18, item 6: the audit log is append-only for the admin functions (PutItem of an entry in
 * an audit partition, Query; nothing else), and every key or tenant status change that happened
 * has its audit entry, whichever write fails (injected failures on dynalite).
 */

describe('Security: the admin functions may only append to the audit log and read it', () => {
  const stack = new Stack(testApp({ 'aws:cdk:bundling-stacks': [] }), 'AuditStack');
  const api = new MeteredHttpApi(stack, 'MeteredApi', { usageEventBus: new events.EventBus(stack, 'Bus') });
  const policies = new TemplatePolicies(Template.fromStack(stack).toJSON() as CfnTemplate, { stackName: stack.stackName });
  const resolve = (value: string) => policies.resolver.resolveString(stack.resolve(value));
  const adminRole = resolve((api.node.findChild('AdminFunction') as lambda.Function).role!.roleArn);
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

/** The writes a DynamoDB client sends, each of which a test can make fail. */
function injectWriteFailures(client: { middlewareStack: { add: (...args: never[]) => void } }) {
  const state = { writes: 0, failAt: 0 };
  const add = client.middlewareStack.add as unknown as (middleware: unknown, options: { step: string; name: string }) => void;
  add(
    (next: (args: unknown) => Promise<unknown>) => async (args: { request?: { headers?: Record<string, string> } }) => {
      const target = args.request?.headers?.['x-amz-target'] ?? '';
      if (/\.(PutItem|UpdateItem|DeleteItem)$/.test(target)) {
        state.writes += 1;
        if (state.writes === state.failAt) throw Object.assign(new Error(`injected failure of write ${state.writes} (${target})`), { name: 'InternalServerError' });
      }
      return next(args);
    },
    { step: 'build', name: 'injectWriteFailures' },
  );
  return {
    /** Counts writes from 0, failing the `n`-th from now (0: none). */
    failWrite(n: number) {
      state.writes = 0;
      state.failAt = n;
    },
    get writes() {
      return state.writes;
    },
  };
}

describe('Security: a status change always has its audit entry, whichever write fails', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let store: CredentialStore;
  let audit: AuditLog;
  let admin: AdminService;
  let faults: ReturnType<typeof injectWriteFailures>;
  let tenantCounter = 0;

  beforeAll(async () => {
    dynamo = await startDynalite();
    faults = injectWriteFailures(dynamo.client as never);
    store = new CredentialStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter });
    audit = new AuditLog(dynamo.client, dynamo.tables.audit);
    admin = new AdminService(store, audit);
  });
  afterAll(async () => dynamo.stop());
  afterEach(() => faults.failWrite(0));

  const freshKey = async () => {
    const tenant = await store.createTenant({ tenantId: `audit-${++tenantCounter}`, name: 'Audited', tier: 'basic' });
    return store.createKey(tenant.tenantId, 'tenant');
  };
  const entriesFor = async (target: string, action: string) => (await audit.recent(500)).filter((e) => e.target === target && e.action === action);
  const rawItem = async (table: string, pk: string) => (await dynamo.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }))).Item;
  /** What of a key revocation is visible in the tables: each record that changed. */
  const revocationState = async (key: { keyId: string; tenantId: string }) => {
    const byId = await rawItem(dynamo.tables.credentials, `KEY#${key.keyId}`);
    const byHash = await rawItem(dynamo.tables.credentials, `KEYHASH#${byId!.hash.S}`);
    const limiter = await rawItem(dynamo.tables.limiter, limiterKey(key.tenantId));
    return {
      byId: byId!.status.S === 'revoked',
      byHash: byHash!.status.S === 'revoked',
      limiter: (limiter!.revokedKeys?.SS ?? []).includes(key.keyId),
      lastAuditEntry: [byId!.lastAuditEntry?.S, byHash!.lastAuditEntry?.S],
    };
  };

  it('knows how many writes a revocation and a tenant block make (so that every one of them is failed below)', async () => {
    // Prepare
    const key = await freshKey();
    // Act + Assess: the audit entry, the two key records, the limiter item.
    faults.failWrite(0);
    await admin.setKeyStatus('operator-arn', key.keyId, 'revoked');
    expect(faults.writes).toBe(4);
    // Act + Assess: the audit entry, the limiter item, the tenant record.
    faults.failWrite(0);
    await admin.setTenantBlocked('operator-arn', key.tenantId, true);
    expect(faults.writes).toBe(3);
  });

  it.each([1, 2, 3, 4])('key revocation with write %i failing: whatever changed has its entry, and repeating completes it', async (failing) => {
    // Prepare
    const key = await freshKey();
    // Act
    faults.failWrite(failing);
    await expect(admin.setKeyStatus('operator-arn', key.keyId, 'revoked')).rejects.toThrow('injected failure');
    faults.failWrite(0);
    const afterFailure = await revocationState(key);
    const entriesAfterFailure = await entriesFor(key.keyId, 'key.revoke');
    await admin.setKeyStatus('operator-arn', key.keyId, 'revoked');
    const completed = await revocationState(key);
    const entries = await entriesFor(key.keyId, 'key.revoke');
    // Assess
    if (afterFailure.byId || afterFailure.byHash || afterFailure.limiter) expect(entriesAfterFailure.length).toBeGreaterThanOrEqual(1);
    expect(completed).toMatchObject({ byId: true, byHash: true, limiter: true });
    expect(entries.length).toBeGreaterThanOrEqual(1);
    const ids = new Set((await dynamo.client.send(new QueryCommand({ TableName: dynamo.tables.audit, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: `AUDIT#${new Date().toISOString().slice(0, 7)}` } } }))).Items!.map((i) => i.sk.S));
    for (const id of completed.lastAuditEntry) expect(ids.has(id)).toBe(true);
  });

  it.each([1, 2, 3])('tenant block with write %i failing: whatever changed has its entry, and repeating completes it', async (failing) => {
    // Prepare
    const { tenantId } = await freshKey();
    const blockedNow = async () => ({
      tenant: (await rawItem(dynamo.tables.credentials, `TENANT#${tenantId}`))!.blocked?.BOOL === true,
      limiter: (await rawItem(dynamo.tables.limiter, limiterKey(tenantId)))!.blocked?.BOOL === true,
    });
    // Act
    faults.failWrite(failing);
    await expect(admin.setTenantBlocked('operator-arn', tenantId, true)).rejects.toThrow('injected failure');
    faults.failWrite(0);
    const afterFailure = await blockedNow();
    const entriesAfterFailure = await entriesFor(tenantId, 'tenant.block');
    await admin.setTenantBlocked('operator-arn', tenantId, true);
    // Assess
    if (afterFailure.tenant || afterFailure.limiter) expect(entriesAfterFailure.length).toBeGreaterThanOrEqual(1);
    expect(await blockedNow()).toEqual({ tenant: true, limiter: true });
    expect((await entriesFor(tenantId, 'tenant.block')).length).toBeGreaterThanOrEqual(1);
  });

  it('writes nothing, not even an entry, for a change it refuses (an unknown key, an unblock of a revoked key)', async () => {
    // Prepare
    const key = await freshKey();
    await admin.setKeyStatus('operator-arn', key.keyId, 'revoked');
    // Act
    faults.failWrite(0);
    await expect(admin.setKeyStatus('operator-arn', key.keyId, 'active')).rejects.toMatchObject({ statusCode: 409 });
    await expect(admin.setKeyStatus('operator-arn', 'k-unknown', 'blocked')).rejects.toMatchObject({ statusCode: 404 });
    await expect(admin.setTenantBlocked('operator-arn', 'no-such-tenant', true)).rejects.toMatchObject({ statusCode: 404 });
    // Assess
    expect(faults.writes).toBe(0);
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
