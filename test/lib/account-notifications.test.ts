import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as sns from 'aws-cdk-lib/aws-sns';
import { ACCOUNT_EVENT_DETAIL_TYPE, ACCOUNT_EVENT_SOURCE } from '../../contracts/account-events';
import { LAMBDA_ENV } from '../../contracts/lambda-environment';
import { AccountNotifications, AccountNotificationsProps, NOTIFIER_TIMING } from '../../lib/account-notifications';
import { createUsageTrackerApp } from '../../lib/app';
import { CDK_JSON_CONTEXT, resourcesOf, testApp } from './fixtures';

const FROM = 'notifications@usage.example.com';

/** The construct alone, on a bare stack with a bus, a table and a topic; bundling skipped. */
function notificationsTemplate(overrides: Partial<AccountNotificationsProps> = {}): { template: Template; notifications: AccountNotifications; stack: Stack } {
  const stack = new Stack(testApp({ 'aws:cdk:bundling-stacks': [] }), 'TestStack', { env: { account: '123456789012', region: 'us-east-1' } });
  const notifications = new AccountNotifications(stack, 'AccountNotifications', {
    eventBus: new events.EventBus(stack, 'Bus'),
    credentialsTable: new dynamodb.TableV2(stack, 'Credentials', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } }),
    from: FROM,
    operators: ['ops@example.com', 'oncall@example.com'],
    usageUrl: 'https://dashboard.example.com/tenants/{tenantId}',
    cooldownSeconds: 900,
    alarmTopic: new sns.Topic(stack, 'AlarmTopic'),
    ...overrides,
  });
  return { template: Template.fromStack(stack), notifications, stack };
}

type Statement = { Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> };
const statementsOf = (template: Template, roleFragment: string): Statement[] =>
  Object.entries(template.findResources('AWS::IAM::Policy'))
    .filter(([id]) => id.includes(roleFragment))
    .flatMap(([, policy]) => (policy as { Properties: { PolicyDocument: { Statement: Statement[] } } }).Properties.PolicyDocument.Statement);
const actionsOf = (statement: Statement) => [statement.Action].flat();

describe('Construct: AccountNotifications', () => {
  const { template, stack } = notificationsTemplate();

  it('routes account events (accountEventPattern) from the bus to an encrypted, TLS-only queue, with a dead-letter queue for the target\'s own failures', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: [ACCOUNT_EVENT_SOURCE], 'detail-type': [ACCOUNT_EVENT_DETAIL_TYPE] },
      Targets: [Match.objectLike({ DeadLetterConfig: { Arn: Match.anyValue() }, RetryPolicy: { MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 } })],
    });
    const queues = resourcesOf<{ SqsManagedSseEnabled?: boolean; VisibilityTimeout?: number; RedrivePolicy?: { maxReceiveCount: number } }>(template, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(3);
    expect(queues.every((queue) => queue.Properties.SqsManagedSseEnabled === true)).toBe(true);
    // enforceSSL: each queue's policy denies requests without TLS.
    const policies = resourcesOf<{ PolicyDocument: { Statement: { Effect: string; Condition?: unknown }[] } }>(template, 'AWS::SQS::QueuePolicy');
    expect(policies.flatMap((p) => p.Properties.PolicyDocument.Statement).filter((s) => s.Effect === 'Deny' && JSON.stringify(s.Condition).includes('aws:SecureTransport'))).toHaveLength(3);
  });

  it('gives the queue a visibility timeout of six times the function timeout, above the notifier\'s lease, and dead-letters after 5 receives (services-sqs-configure.html)', () => {
    type QueueProperties = { VisibilityTimeout: number; RedrivePolicy: { maxReceiveCount: number } };
    const [main] = resourcesOf<QueueProperties>(template, 'AWS::SQS::Queue', { Properties: { RedrivePolicy: Match.anyValue() } });
    const [fn] = resourcesOf<{ Timeout: number }>(template, 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('Mails account events') } });
    expect(main.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Properties.Timeout);
    expect(main.Properties.VisibilityTimeout).toBeGreaterThan(NOTIFIER_TIMING.leaseSeconds);
    expect(fn.Properties.Timeout).toBeLessThan(NOTIFIER_TIMING.leaseSeconds);
    expect(main.Properties.RedrivePolicy.maxReceiveCount).toBe(5);
  });

  it('reads the queue in batches with partial batch responses (ReportBatchItemFailures)', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: NOTIFIER_TIMING.batchSize, FunctionResponseTypes: ['ReportBatchItemFailures'] });
  });

  it('gives the notifier its own environment only: the credentials table and the notification settings, no secrets or keys', () => {
    const [fn] = resourcesOf<{ Environment: { Variables: Record<string, unknown> } }>(template, 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('Mails account events') } });
    const variables = fn.Properties.Environment.Variables;
    expect(Object.keys(variables).sort()).toEqual(
      [
        LAMBDA_ENV.tables.credentials,
        LAMBDA_ENV.notificationsFrom,
        LAMBDA_ENV.notificationOperators,
        LAMBDA_ENV.notificationUsageUrl,
        LAMBDA_ENV.notificationCooldownSeconds,
        LAMBDA_ENV.metricsNamespace,
      ].sort(),
    );
    expect(variables).toMatchObject({ [LAMBDA_ENV.notificationsFrom]: FROM, [LAMBDA_ENV.notificationOperators]: 'ops@example.com,oncall@example.com', [LAMBDA_ENV.notificationCooldownSeconds]: '900' });
  });

  it('lets the notifier send from its address\'s identity or its domain\'s only (SES v2 SendEmail authorizes the identity)', () => {
    const ses = statementsOf(template, 'NotifierFunction').filter((statement) => actionsOf(statement).includes('ses:SendEmail'));
    const identities = ses.flatMap((statement) => [stack.resolve(statement.Resource) as unknown].flat().map((arn) => JSON.stringify(arn)));
    expect(identities).toHaveLength(2);
    expect(identities.filter((arn) => arn.includes(`:identity/${FROM}`))).toHaveLength(1);
    expect(identities.filter((arn) => arn.endsWith(':identity/usage.example.com"'))).toHaveLength(1);
  });

  it('lets the notifier write NOTIFY… items with their attributes only, and read tenant records', () => {
    const dynamo = statementsOf(template, 'NotifierFunction').filter((statement) => actionsOf(statement).some((action) => action.startsWith('dynamodb:')));
    const writes = dynamo.find((statement) => actionsOf(statement).includes('dynamodb:PutItem'));
    expect(writes?.Condition?.['ForAllValues:StringLike']).toEqual({ 'dynamodb:LeadingKeys': ['NOTIFY*'] });
    expect(writes?.Condition?.['ForAllValues:StringEquals']).toEqual({ 'dynamodb:Attributes': ['pk', 'state', 'token', 'leaseUntil', 'messageId', 'until', 'heldBy', 'expiresAt'] });
    const reads = dynamo.find((statement) => actionsOf(statement).includes('dynamodb:GetItem'));
    expect(reads?.Condition?.['ForAllValues:StringLike']).toEqual({ 'dynamodb:LeadingKeys': ['TENANT#*'] });
    expect(dynamo.flatMap(actionsOf).sort()).toEqual(['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']);
  });

  it('alarms on both dead-letter queues and the notifier\'s errors, to the topic, on ALARM and OK', () => {
    const alarms = resourcesOf<{ MetricName: string; AlarmActions: unknown[]; OKActions: unknown[] }>(template, 'AWS::CloudWatch::Alarm');
    expect(alarms.map((alarm) => alarm.Properties.MetricName).sort()).toEqual(['ApproximateNumberOfMessagesVisible', 'ApproximateNumberOfMessagesVisible', 'Errors']);
    expect(alarms.every((alarm) => alarm.Properties.AlarmActions.length === 1 && alarm.Properties.OKActions.length === 1)).toBe(true);
  });

  it.each([
    [{ cooldownSeconds: 30 }, /cooldownSeconds of TestStack\/AccountNotifications must be a whole number from 60 to 86400; got 30/],
    [{ from: 'usage.example.com' }, /from of TestStack\/AccountNotifications must be an email address; got "usage.example.com"/],
  ])('refuses %j, naming the prop', (overrides, message) => {
    expect(() => notificationsTemplate(overrides)).toThrow(message);
  });
});

describe('Stack: the notifier is deployed with notificationsFrom only', () => {
  const newStack = (context: Record<string, unknown>) =>
    createUsageTrackerApp({ outdir: mkdtempSync(path.join(tmpdir(), 'cdk-out-')), context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } }).stack;

  it('has no notifier, queue or rule to it without notificationsFrom', () => {
    const stack = newStack({});
    expect(stack.accountNotifications).toBeUndefined();
    expect(resourcesOf(Template.fromStack(stack), 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('Mails account events') } })).toHaveLength(0);
  });

  it('links the mails to the API\'s own GET /v1/usage unless notificationUsageUrl says otherwise', () => {
    const stack = newStack({ notificationsFrom: FROM });
    const [fn] = resourcesOf<{ Environment: { Variables: Record<string, unknown> } }>(Template.fromStack(stack), 'AWS::Lambda::Function', {
      Properties: { Description: Match.stringLikeRegexp('Mails account events') },
    });
    expect(JSON.stringify(fn.Properties.Environment.Variables[LAMBDA_ENV.notificationUsageUrl])).toContain('/v1/usage');
    expect(JSON.stringify(fn.Properties.Environment.Variables[LAMBDA_ENV.notificationUsageUrl])).toContain('MeteredApi');
  });
});
