import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { LAKE_PREFIXES } from '../../contracts/lake-layout';
import { STACK_ID } from '../../lib/app';
import { ApiUsageTrackerStack } from '../../lib/api-usage-tracker-stack';
import { readUsageTrackerConfig } from '../../lib/stack-config';
import {
  CONTRACT_COMPONENTS,
  METERED_API_FUNCTIONS,
  PermissionContract,
  lambdaComponent,
  runtimePermissionContracts,
} from '../../lib/runtime-permissions';
import { CfnTemplate, ResolvedCall, TemplatePolicies, evaluateCall } from '../support/template-policies';
import { CDK_JSON_CONTEXT } from './fixtures';

/**
 * Every AWS call a runtime component declares (lib/runtime-permissions.ts) is evaluated with an
 * IAM policy simulator against the synthesized template: identity policies of the calling role,
 * and the bucket, key, topic, queue and function policies of the resource.
 */

// The stack as lib/app.ts builds it, without the cdk-nag plugin (app.test.ts covers it), so the
// test-only analyst role needs no acknowledgements. Bundling is skipped: assets do not change policies.
// With the notifier on (notificationsFrom), so that its contracts are evaluated too.
const NOTIFICATIONS_CONTEXT = { notificationsFrom: 'notifications@usage.example.com', notificationOperators: 'ops@example.com' };
const app = new App({ outdir: mkdtempSync(path.join(tmpdir(), 'cdk-out-')), context: { ...CDK_JSON_CONTEXT, ...NOTIFICATIONS_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
const stack = new ApiUsageTrackerStack(app, STACK_ID, { config: readUsageTrackerConfig(app.node) });
// A principal an operator gives query access to, as the README shows.
const analyst = new iam.Role(stack, 'PermissionTestAnalyst', { assumedBy: new iam.AccountRootPrincipal(), description: 'Test-only analyst' });
stack.analytics.grantQuery(analyst);
// A service that produces usage events, granted as the README shows.
const producer = new iam.Role(stack, 'PermissionTestProducer', { assumedBy: new iam.AccountRootPrincipal(), description: 'Test-only producer' });
stack.ingestion.grantPutEvents(producer);
// The operator who closes months, as the README shows.
const monthCloser = new iam.Role(stack, 'PermissionTestMonthCloser', { assumedBy: new iam.AccountRootPrincipal(), description: 'Test-only month closer' });
stack.billingStatements.grantCloseMonth(monthCloser);

const template = Template.fromStack(stack).toJSON() as CfnTemplate;
const policies = new TemplatePolicies(template, { stackName: stack.stackName });
const contracts = runtimePermissionContracts(stack, { analyst, monthCloser });

function resolveCall(owner: ApiUsageTrackerStack, contract: PermissionContract): ResolvedCall {
  const resolve = (value: unknown, what: string) => policies.resolver.resolveString(owner.resolve(value), `${contract.component} ${contract.action} ${what}`);
  const context: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(contract.context ?? {})) {
    context[key] = typeof value === 'string' ? resolve(value, key) : value.map((item) => resolve(item, key));
  }
  return {
    component: contract.component,
    principal:
      contract.principal.kind === 'role'
        ? { kind: 'role', arn: resolve(contract.principal.role.roleArn, 'principal') }
        : { kind: 'service', service: contract.principal.service },
    action: contract.action,
    resource: contract.resource === '*' ? '*' : resolve(contract.resource, 'resource'),
    context,
    why: contract.why,
  };
}

const principalName = (call: ResolvedCall) =>
  call.principal.kind === 'role' ? `role ${policies.roleLogicalId(call.principal.arn) ?? call.principal.arn}` : call.principal.service;

const titleOf = (call: ResolvedCall) => {
  const context = Object.keys(call.context).length > 0 ? ` ${JSON.stringify(call.context)}` : '';
  return `${principalName(call)} ${call.action} ${call.resource}${context}`;
};

const calls = contracts.map((contract) => resolveCall(stack, contract));
const byComponent = new Map<string, Map<string, ResolvedCall>>();
for (const call of calls) {
  const forComponent = byComponent.get(call.component) ?? new Map<string, ResolvedCall>();
  forComponent.set(titleOf(call), call);
  byComponent.set(call.component, forComponent);
}

async function expectAllowed(call: ResolvedCall): Promise<void> {
  const verdict = await evaluateCall(policies, call);
  if (!verdict.allowed) {
    const context = Object.keys(call.context).length > 0 ? ` with context ${JSON.stringify(call.context)}` : '';
    throw new Error(
      `[${call.component}] ${principalName(call)} may not ${call.action} on ${call.resource}${context}: ${verdict.problem}.\n` + `It needs it because ${call.why}.`,
    );
  }
}

describe('Runtime permission contracts hold against the synthesized template', () => {
  describe.each([...byComponent.keys()])('%s', (component) => {
    it.each([...byComponent.get(component)!.entries()])('%s', async (_title, call) => {
      await expectAllowed(call);
    });
  });
});

describe('Runtime permission contracts are not vacuous', () => {
  it('declares calls for every runtime component the issue lists', () => {
    const required = [
      ...Object.values(CONTRACT_COMPONENTS),
      ...METERED_API_FUNCTIONS.map(lambdaComponent),
    ];
    const counts = Object.fromEntries(required.map((component) => [component, byComponent.get(component)?.size ?? 0]));
    expect(Object.entries(counts).filter(([, count]) => count === 0)).toEqual([]);
  });

  it('covers the Spark write protocol on every prefix the Glue job writes, and the KMS calls', () => {
    const job = [...byComponent.get(CONTRACT_COMPONENTS.glueJob)!.values()];
    for (const prefix of [LAKE_PREFIXES.curated, LAKE_PREFIXES.glueErrors]) {
      for (const action of ['s3:PutObject', 's3:GetObject', 's3:DeleteObject']) {
        const onPrefix = job.filter((call) => call.action === action && call.resource.includes(`/${prefix}`));
        expect({ prefix, action, temporary: onPrefix.some((call) => call.resource.includes('/_temporary/')) }).toEqual({ prefix, action, temporary: true });
      }
      expect({ prefix, listed: job.some((call) => call.action === 's3:ListBucket' && String(call.context['s3:prefix']).startsWith(prefix)) }).toEqual({ prefix, listed: true });
    }
    expect(job.some((call) => call.action === 'kms:GenerateDataKey' && call.context['kms:ViaService'] === 's3.us-east-1.amazonaws.com')).toBe(true);
    expect(job.some((call) => call.action === 'kms:Decrypt' && !('kms:ViaService' in call.context))).toBe(true);
  });

  it('declares every alarm of the stack as a publisher to the alarm topic', () => {
    const publishers = [...byComponent.get(CONTRACT_COMPONENTS.alarmsToTopic)!.values()].filter((call) => call.action === 'sns:Publish');
    const alarmArns = policies.resolver
      .logicalIdsOfType('AWS::CloudWatch::Alarm')
      .map((id) => policies.resolver.resolveString({ 'Fn::GetAtt': [id, 'Arn'] }));
    expect(publishers.map((call) => call.context['aws:SourceArn']).sort()).toEqual(alarmArns.sort());
  });

  it('declares no AWS call of the api-docs function beyond its log and traces, and API Gateway invokes it for both reference routes', () => {
    // The reference routes (GET /openapi.json, GET /docs) answer a document built at init: nothing to read anywhere.
    const apiDocs = [...(byComponent.get(lambdaComponent('api-docs'))?.values() ?? [])];
    expect([...new Set(apiDocs.map((call) => call.action))].sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    const invocations = [...(byComponent.get(CONTRACT_COMPONENTS.apiGatewayInvoke)?.values() ?? [])].map((call) => call.why);
    expect(invocations).toEqual(expect.arrayContaining(['API Gateway invokes GET /openapi.json', 'API Gateway invokes GET /docs']));
  });

  it('evaluates against the roles of the template: every contract role is one of them', () => {
    const roleArns = new Set(policies.roleArns());
    const unknown = calls.filter((call) => call.principal.kind === 'role' && !roleArns.has(call.principal.arn));
    expect(unknown.map(titleOf)).toEqual([]);
  });
});

describe('The harness can fail', () => {
  const crawlerRole = policies.resolver.resolveString(stack.resolve(stack.lake.crawlerRole.roleArn));
  const lakeBucket = policies.resolver.resolveString(stack.resolve(stack.lakeBucket.bucket.bucketArn));
  const topicArn = policies.resolver.resolveString(stack.resolve(stack.monitoring.alarmTopic.topicArn));

  it('denies the crawler role writing raw/: no identity policy allows it', async () => {
    const verdict = await evaluateCall(policies, {
      component: 'negative',
      principal: { kind: 'role', arn: crawlerRole },
      action: 's3:PutObject',
      resource: `${lakeBucket}/${LAKE_PREFIXES.raw}year=2025/month=01/day=15/hour=09/forged.gz`,
      context: {},
      why: 'it must not',
    });
    expect(verdict.allowed).toBe(false);
    expect(verdict.problem).toMatch(/no identity policy statement of role .* allows it/);
  });

  it('denies a service the topic policy does not name', async () => {
    const verdict = await evaluateCall(policies, {
      component: 'negative',
      principal: { kind: 'service', service: 's3.amazonaws.com' },
      action: 'sns:Publish',
      resource: topicArn,
      context: { 'aws:SourceAccount': '123456789012' },
      why: 'it must not',
    });
    expect(verdict.allowed).toBe(false);
    expect(verdict.problem).toMatch(/the topic policy .* does not allow s3\.amazonaws\.com/);
  });

  it('denies a service whose request context misses the condition, and says which statement would allow it', async () => {
    const queueArn = policies.resolver.resolveString(stack.resolve(stack.ingestion.deadLetterQueue.queueArn));
    const otherRule = policies.resolver.resolveString(stack.resolve(stack.monitoring.jobFailureRule.ruleArn));
    const verdict = await evaluateCall(policies, {
      component: 'negative',
      principal: { kind: 'service', service: 'events.amazonaws.com' },
      action: 'sqs:SendMessage',
      resource: queueArn,
      context: { 'aws:SourceArn': otherRule, 'aws:SourceAccount': '123456789012' },
      why: 'only the ingestion rule may use the dead-letter queue',
    });
    expect(verdict.allowed).toBe(false);
    expect(verdict.problem).toMatch(/the queue policy .* does not allow events\.amazonaws\.com; statement .* would allow it but its condition does not hold/);
  });

  it('denies a role reading the lake without TLS: explicit deny in the bucket policy', async () => {
    const verdict = await evaluateCall(policies, {
      component: 'negative',
      principal: { kind: 'role', arn: crawlerRole },
      action: 's3:GetObject',
      resource: `${lakeBucket}/${LAKE_PREFIXES.curated}year=2025/month=01/day=15/part-00000.snappy.parquet`,
      context: { 'aws:SecureTransport': 'false' },
      why: 'it must not',
    });
    expect(verdict.allowed).toBe(false);
    expect(verdict.problem).toMatch(/explicit deny in the bucket policy/);
  });
});

describe('Tenant functions on the limiter table (dynamodb:Attributes)', () => {
  const usageFunction = stack.meteredApi.node.findChild('UsageFunction');
  if (!(usageFunction instanceof lambda.Function)) throw new Error('The usage route function is no longer MeteredApi/UsageFunction.');
  const usageRole = policies.resolver.resolveString(stack.resolve(usageFunction.role!.roleArn));
  const limiterTable = policies.resolver.resolveString(stack.resolve(stack.meteredApi.tables.limiter.tableArn));
  const updateWith = (attributes: string[]) =>
    evaluateCall(policies, {
      component: 'negative',
      principal: { kind: 'role', arn: usageRole },
      action: 'dynamodb:UpdateItem',
      resource: limiterTable,
      context: { 'dynamodb:Attributes': attributes },
      why: 'a tenant function may touch the limiter attributes only',
    });

  it.each([
    ['an attribute the limiter does not have', ['pk', 'tat', 'credits']],
    ['a name that only starts like a day counter', ['pk', 'd2025-01-15-extra']],
    ['a name that only starts like a month counter', ['pk', 'm2025-1']],
    ['a week counter one character short', ['pk', 'w2026-W4']],
    ['a name shaped like a week counter but longer', ['pk', 'w2026-W48x']],
  ])('denies an UpdateItem naming %s', async (_what, attributes) => {
    const verdict = await updateWith(attributes);
    expect(verdict.allowed).toBe(false);
    expect(verdict.problem).toMatch(/would allow it but its condition does not hold/);
  });

  it('allows the limiter attributes and dated counters', async () => {
    expect((await updateWith(['pk', 'tat', 'tier', 'blocked', 'blockedKeys', 'revokedKeys', 'd2026-11-30', 'm2026-11'])).allowed).toBe(true);
    expect((await updateWith(['pk', 'tat', 'd2026-11-30', 'm2026-11', 'w2026-W49', 'w2026-W47'])).allowed).toBe(true);
  });
});

describe('Account functions and the authorizer on the credentials and limiter tables (dynamodb:LeadingKeys, dynamodb:Attributes)', () => {
  const roleArnOf = (fn: lambda.IFunction) => policies.resolver.resolveString(stack.resolve(fn.role!.roleArn));
  const accountFunction = stack.meteredApi.node.findChild('AccountFunction') as lambda.IFunction;
  const roles = { auth: roleArnOf(stack.meteredApi.authFunction), account: roleArnOf(accountFunction), authorizer: roleArnOf(stack.meteredApi.authorizerFunction) };
  const tables = {
    credentials: policies.resolver.resolveString(stack.resolve(stack.meteredApi.tables.credentials.tableArn)),
    limiter: policies.resolver.resolveString(stack.resolve(stack.meteredApi.tables.limiter.tableArn)),
  };
  const call = (principal: keyof typeof roles, action: string, table: keyof typeof tables, context: Readonly<Record<string, string | readonly string[]>>) =>
    evaluateCall(policies, {
      component: 'negative',
      principal: { kind: 'role', arn: roles[principal] },
      action,
      resource: tables[table],
      context: Object.fromEntries(Object.entries(context).map(([key, value]) => [key, typeof value === 'string' ? value : [...value]])),
      why: 'it must not',
    });

  it.each([
    ['the auth function writing a key record', 'auth', 'dynamodb:PutItem', 'credentials', { 'dynamodb:LeadingKeys': ['KEY#key_AbCdEfGhIjKl'] }],
    ['the auth function revoking an admin token', 'auth', 'dynamodb:PutItem', 'credentials', { 'dynamodb:LeadingKeys': ['ADMINTOKEN#jti'] }],
    ['the auth function putting counters on a limiter item', 'auth', 'dynamodb:PutItem', 'limiter', { 'dynamodb:LeadingKeys': ['TENANT#t-1'], 'dynamodb:Attributes': ['pk', 'tier', 'd2025-01-15'] }],
    ['the account function mapping an external identity', 'account', 'dynamodb:PutItem', 'credentials', { 'dynamodb:LeadingKeys': ['EXTID#["iss","subject","sub"]'] }],
    // It may set the tenant record's notification opt-outs (issue 16), and nothing else of it.
    ['the account function changing its tenant\'s tier on the record', 'account', 'dynamodb:UpdateItem', 'credentials', { 'dynamodb:LeadingKeys': ['TENANT#t-1'], 'dynamodb:Attributes': ['pk', 'tier'] }],
    ['the account function unblocking its tenant record', 'account', 'dynamodb:UpdateItem', 'credentials', { 'dynamodb:LeadingKeys': ['TENANT#t-1'], 'dynamodb:Attributes': ['pk', 'notificationOptOuts', 'blocked'] }],
    ['the account function taking over a tenant (its owner)', 'account', 'dynamodb:UpdateItem', 'credentials', { 'dynamodb:LeadingKeys': ['TENANT#t-1'], 'dynamodb:Attributes': ['pk', 'ownerSubject'] }],
    ['the account function unblocking itself on its limiter item', 'account', 'dynamodb:UpdateItem', 'limiter', { 'dynamodb:LeadingKeys': ['TENANT#t-1'], 'dynamodb:Attributes': ['pk', 'blocked'] }],
    ['the account function deleting a key record', 'account', 'dynamodb:DeleteItem', 'credentials', { 'dynamodb:LeadingKeys': ['KEY#key_AbCdEfGhIjKl'] }],
    ['the authorizer reactivating a key', 'authorizer', 'dynamodb:UpdateItem', 'credentials', { 'dynamodb:LeadingKeys': ['KEYHASH#a3f1'], 'dynamodb:Attributes': ['pk', 'status'] }],
    ['the authorizer touching a key record by id', 'authorizer', 'dynamodb:UpdateItem', 'credentials', { 'dynamodb:LeadingKeys': ['KEY#key_AbCdEfGhIjKl'], 'dynamodb:Attributes': ['pk', 'lastUsedAt'] }],
    ['the auth function reading a key by hash', 'auth', 'dynamodb:BatchGetItem', 'credentials', { 'dynamodb:LeadingKeys': ['KEYHASH#a3f1'] }],
    ['the authorizer touching a tenant record', 'authorizer', 'dynamodb:UpdateItem', 'credentials', { 'dynamodb:LeadingKeys': ['TENANT#t-1'], 'dynamodb:Attributes': ['pk', 'lastUsedAt'] }],
  ] as const)('denies %s', async (_what, principal, action, table, context) => {
    const verdict = await call(principal, action, table, context);
    expect(verdict.allowed).toBe(false);
  });

  it('allows what the contracts need: the authorizer noting lastUsedAt, the account function revoking on the limiter item', async () => {
    expect((await call('authorizer', 'dynamodb:UpdateItem', 'credentials', { 'dynamodb:LeadingKeys': ['KEYHASH#a3f1'], 'dynamodb:Attributes': ['pk', 'lastUsedAt'] })).allowed).toBe(true);
    expect((await call('account', 'dynamodb:UpdateItem', 'limiter', { 'dynamodb:LeadingKeys': ['TENANT#t-1'], 'dynamodb:Attributes': ['pk', 'revokedKeys'] })).allowed).toBe(true);
  });
});

describe('Account events (issue 16): who may write what', () => {
  const arnOf = (value: unknown) => policies.resolver.resolveString(stack.resolve(value));
  const notifications = stack.accountNotifications;
  if (!notifications?.notifier.role) throw new Error('The test stack has no notifier: NOTIFICATIONS_CONTEXT is not applied.');
  const roles = {
    notifier: arnOf(notifications.notifier.role.roleArn),
    forwarder: arnOf(stack.meteredApi.usageLogForwarder.role!.roleArn),
    accessLog: arnOf((stack.meteredApi.node.findChild('AccessLogUsageFunction') as lambda.IFunction).role!.roleArn),
    producer: arnOf(producer.roleArn),
  };
  const resources = {
    credentials: arnOf(stack.meteredApi.tables.credentials.tableArn),
    limiter: arnOf(stack.meteredApi.tables.limiter.tableArn),
    bus: arnOf(stack.ingestion.eventBus.eventBusArn),
    otherIdentity: `arn:aws:ses:us-east-1:123456789012:identity/other.example.com`,
  };
  const call = (principal: keyof typeof roles, action: string, resource: keyof typeof resources, context: Readonly<Record<string, string | readonly string[]>> = {}) =>
    evaluateCall(policies, {
      component: 'negative',
      principal: { kind: 'role', arn: roles[principal] },
      action,
      resource: resources[resource],
      context: Object.fromEntries(Object.entries(context).map(([key, value]) => [key, typeof value === 'string' ? value : [...value]])),
      why: 'it must not',
    });

  it.each([
    ['the notifier writing a tenant record', 'notifier', 'dynamodb:PutItem', 'credentials', { 'dynamodb:LeadingKeys': ['TENANT#t-1'], 'dynamodb:Attributes': ['pk', 'state'] }],
    ['the notifier changing a tenant\'s opt-outs', 'notifier', 'dynamodb:UpdateItem', 'credentials', { 'dynamodb:LeadingKeys': ['TENANT#t-1'], 'dynamodb:Attributes': ['pk', 'notificationOptOuts'] }],
    ['the notifier deleting a key record', 'notifier', 'dynamodb:DeleteItem', 'credentials', { 'dynamodb:LeadingKeys': ['KEY#key_AbCdEfGhIjKl'], 'dynamodb:Attributes': ['pk', 'token'] }],
    ['the notifier storing another attribute on its claim', 'notifier', 'dynamodb:PutItem', 'credentials', { 'dynamodb:LeadingKeys': ['NOTIFYEVENT#ev-1'], 'dynamodb:Attributes': ['pk', 'state', 'payload'] }],
    ['the notifier reading a key record', 'notifier', 'dynamodb:GetItem', 'credentials', { 'dynamodb:LeadingKeys': ['KEYHASH#a3f1'] }],
    ['the notifier sending from another identity', 'notifier', 'ses:SendEmail', 'otherIdentity', {}],
    ['the usage-log forwarder writing a tenant\'s limiter item', 'forwarder', 'dynamodb:UpdateItem', 'limiter', { 'dynamodb:LeadingKeys': ['TENANT#t-1'], 'dynamodb:Attributes': ['pk', 'signalCount'] }],
    ['the usage-log forwarder setting a GCRA tat on a signal item', 'forwarder', 'dynamodb:UpdateItem', 'limiter', { 'dynamodb:LeadingKeys': ['SIGNAL#rate-limit-spike#t-1#1'], 'dynamodb:Attributes': ['pk', 'tat'] }],
    ['the access-log function writing an IP item', 'accessLog', 'dynamodb:UpdateItem', 'limiter', { 'dynamodb:LeadingKeys': ['IP#203.0.113.7'], 'dynamodb:Attributes': ['pk', 'signalCount'] }],
    ['the access-log function returning an old item', 'accessLog', 'dynamodb:UpdateItem', 'limiter', { 'dynamodb:LeadingKeys': ['SIGNAL#auth-failures#203.0.113.7#1'], 'dynamodb:Attributes': ['pk', 'signalCount'], 'dynamodb:ReturnValues': 'ALL_OLD' }],
    ['a producer forging an account event', 'producer', 'events:PutEvents', 'bus', { 'events:source': ['api-usage-tracker.accounts'] }],
    ['a producer slipping an account event into a batch of usage events', 'producer', 'events:PutEvents', 'bus', { 'events:source': ['my-applications', 'api-usage-tracker.accounts'] }],
  ] as const)('denies %s', async (_what, principal, action, resource, context) => {
    expect((await call(principal, action, resource, context)).allowed).toBe(false);
  });

  it('allows what the contracts need: a producer\'s usage events, the notifier\'s claim, a forwarder\'s count', async () => {
    expect((await call('producer', 'events:PutEvents', 'bus', { 'events:source': ['my-applications'] })).allowed).toBe(true);
    expect((await call('notifier', 'dynamodb:PutItem', 'credentials', { 'dynamodb:LeadingKeys': ['NOTIFYEVENT#ev-1'], 'dynamodb:Attributes': ['pk', 'state', 'token', 'leaseUntil', 'expiresAt'] })).allowed).toBe(true);
    const count = { 'dynamodb:LeadingKeys': ['SIGNAL#rate-limit-spike#t-1#1'], 'dynamodb:Attributes': ['pk', 'signalCount', 'expiresAt'], 'dynamodb:ReturnValues': 'ALL_NEW' };
    expect((await call('forwarder', 'dynamodb:UpdateItem', 'limiter', count)).allowed).toBe(true);
  });
});
