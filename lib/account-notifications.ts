import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambdaNodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { NOTIFICATION_LEASE_SECONDS, accountEventPattern } from '../contracts/account-events';
import { NOTIFICATION_COOLDOWN_RANGE, notifierEnvironment } from '../contracts/lambda-environment';
import { CREDENTIALS_TTL_ATTRIBUTE, METERED_API_TABLES } from '../contracts/metered-api';
import { NOTIFICATION_ITEM_PREFIX } from '../lambdas/notifications/notification-store';
import { CREDENTIAL_ITEM_PREFIXES, newHandlerFunction } from './metered-http-api';
import { acknowledgeNagFindings } from './nag-acknowledgements';
import { aboveThresholdAlarm, notifyTopic } from './topic-alarms';

/**
 * The notifier's timing, which the Notifier's lease (NOTIFICATION_LEASE_SECONDS, contracts/account-event-names.ts)
 * must fit: a claim outlives any run of the function still holding it (timeout < lease), and a
 * message redelivered after a crash finds the lease passed (lease < visibility timeout). A batch is
 * at most 5 events, each at most one SES call of at most 10 s.
 */
export const NOTIFIER_TIMING = {
  functionTimeoutSeconds: 60,
  leaseSeconds: NOTIFICATION_LEASE_SECONDS,
  batchSize: 5,
  /** Lambda's advice for an SQS source: at least six times the function's timeout (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html). */
  visibilityTimeoutSeconds: 6 * 60,
  /** Receives before a message goes to the dead-letter queue: a claim held by a crashed run is taken over on the next. */
  maxReceiveCount: 5,
} as const;

/** The attributes of the notifier's own items (NOTIFYEVENT#, NOTIFYCOOLDOWN#), as lambdas/notifications/notification-store.ts writes them. */
export const NOTIFICATION_ITEM_ATTRIBUTES = [
  METERED_API_TABLES.credentials.partitionKey.name,
  'state',
  'token',
  'leaseUntil',
  'messageId',
  'until',
  'heldBy',
  CREDENTIALS_TTL_ATTRIBUTE,
] as const;

/** The alarms of the notifier's path, each to the stack's alarm topic. */
export type AccountNotificationAlarm = 'ruleDeadLetters' | 'notifierDeadLetters' | 'notifierErrors';

export interface AccountNotificationsProps {
  /** The usage bus, where the stack's components put account events. */
  readonly eventBus: events.IEventBus;
  /** The credentials table: tenants' contacts and opt-outs, and the notifier's NOTIFY… items. */
  readonly credentialsTable: dynamodb.ITableV2;
  /** The address mails are sent from: its own SES identity, or its domain's, verified in the stack's region. */
  readonly from: string;
  /** Who hears the operator kinds; none: those are not mailed. */
  readonly operators: readonly string[];
  /** The usage link of the mails, `{tenantId}` replaced by the tenant's id. */
  readonly usageUrl: string;
  /** The cooldown per tenant and kind, in seconds. */
  readonly cooldownSeconds: number;
  /** Where the alarms go: the stack's alarm topic (UsagePipelineMonitoring.alarmTopic). */
  readonly alarmTopic: sns.ITopic;
}

/**
 * Account events to mail: a rule on the usage bus with accountEventPattern() puts each event on
 * an SQS queue (SSE-SQS, TLS only); the notifier function reads it in batches and reports the
 * records to retry (partial batch responses); a message that keeps failing goes to a dead-letter
 * queue after {@link NOTIFIER_TIMING.maxReceiveCount} receives. What EventBridge itself cannot put
 * on the queue (after its retries, up to 24 hours) goes to the rule target's own dead-letter
 * queue (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html). Both
 * dead-letter queues and the function's errors alarm to the stack's topic.
 */
export class AccountNotifications extends Construct {
  public readonly rule: events.Rule;
  public readonly queue: sqs.Queue;
  /** Messages the notifier failed {@link NOTIFIER_TIMING.maxReceiveCount} times (an event it cannot read, SES refusing for long). */
  public readonly deadLetterQueue: sqs.Queue;
  /** Events EventBridge could not put on {@link queue}. */
  public readonly ruleDeadLetterQueue: sqs.Queue;
  public readonly notifier: lambdaNodejs.NodejsFunction;
  /** The address mails are sent from. */
  public readonly from: string;
  public readonly alarms: Readonly<Record<AccountNotificationAlarm, cloudwatch.Alarm>>;

  constructor(scope: Construct, id: string, props: AccountNotificationsProps) {
    super(scope, id);
    validate(this, props);
    this.from = props.from;
    this.deadLetterQueue = this.deadLetters('NotifierDeadLetterQueue', 'It holds account events the notifier failed to mail five times, for an operator to read and redrive; its own consumer is a person.');
    this.ruleDeadLetterQueue = this.deadLetters('RuleDeadLetterQueue', 'It is the rule target\'s dead-letter queue: events EventBridge could not put on the notifier\'s queue, kept for replay.');
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(NOTIFIER_TIMING.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: NOTIFIER_TIMING.maxReceiveCount },
    });
    this.rule = new events.Rule(this, 'Rule', {
      eventBus: props.eventBus,
      description: 'Account events to the notifier\'s queue',
      eventPattern: { source: [...accountEventPattern().source], detailType: [...accountEventPattern()['detail-type']] },
      targets: [new targets.SqsQueue(this.queue, { deadLetterQueue: this.ruleDeadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) })],
    });
    this.notifier = this.createNotifier(props);
    this.alarms = this.createAlarms(props.alarmTopic);
  }

  private deadLetters(id: string, reason: string): sqs.Queue {
    const queue = new sqs.Queue(this, id, { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    acknowledgeNagFindings(queue, [{ id: 'AwsSolutions-SQS3', reason }]);
    return queue;
  }

  /**
   * The notifier function: SQS batches (ReportBatchItemFailures:
   * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html), SES v2
   * SendEmail from `from`, and the credentials table's items it needs, nothing else.
   */
  private createNotifier(props: AccountNotificationsProps): lambdaNodejs.NodejsFunction {
    const environment = notifierEnvironment({
      credentialsTable: props.credentialsTable.tableName,
      from: props.from,
      operators: props.operators,
      usageUrl: props.usageUrl,
      cooldownSeconds: props.cooldownSeconds,
    });
    const fn = newHandlerFunction(this, 'notifier', 'Mails account events to tenants\' contacts and the operators (SES v2)', environment, Duration.seconds(NOTIFIER_TIMING.functionTimeoutSeconds));
    fn.addEventSource(new SqsEventSource(this.queue, { batchSize: NOTIFIER_TIMING.batchSize, reportBatchItemFailures: true }));
    this.grantSendEmail(fn, props.from);
    this.grantNotificationItems(fn, props.credentialsTable);
    return fn;
  }

  /**
   * SES v2 SendEmail authorizes the sending identity, an `identity` resource (and a
   * `configuration-set` when the call names one; the notifier names none):
   * https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsimpleemailservicev2.html.
   * The identity is the address when it is verified itself, else its domain
   * (https://docs.aws.amazon.com/ses/latest/dg/policy-anatomy.html): both are granted, no other.
   */
  private grantSendEmail(fn: lambdaNodejs.NodejsFunction, from: string): void {
    const domain = from.slice(from.lastIndexOf('@') + 1);
    ses.EmailIdentity.fromEmailIdentityName(this, 'FromAddressIdentity', from).grantSendEmail(fn);
    ses.EmailIdentity.fromEmailIdentityName(this, 'FromDomainIdentity', domain).grantSendEmail(fn);
  }

  /**
   * The credentials table, by item (`dynamodb:LeadingKeys`,
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html):
   * GetItem of tenant records (the contact, `getTenant`; the opt-outs), and conditional writes of
   * the notifier's own NOTIFY… items with their attributes only. Tenant records, keys and mappings
   * stay out of its reach for writing.
   */
  private grantNotificationItems(fn: lambdaNodejs.NodejsFunction, table: dynamodb.ITableV2): void {
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['dynamodb:GetItem'],
      resourceArns: [table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${CREDENTIAL_ITEM_PREFIXES.tenant}*`] } },
    });
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resourceArns: [table.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${NOTIFICATION_ITEM_PREFIX}*`] },
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...NOTIFICATION_ITEM_ATTRIBUTES] },
        StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
      },
    });
  }

  private createAlarms(topic: sns.ITopic): Readonly<Record<AccountNotificationAlarm, cloudwatch.Alarm>> {
    const period = Duration.minutes(5);
    const visible = (queue: sqs.Queue) => queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' });
    const alarms = {
      ruleDeadLetters: this.alarm('RuleDeadLetterAlarm', visible(this.ruleDeadLetterQueue),
        'EventBridge could not put account events on the notifier\'s queue (its policy, the queue itself): they are in the rule\'s dead-letter queue, not mailed. Fix the cause, then send them to the queue again.'),
      notifierDeadLetters: this.alarm('NotifierDeadLetterAlarm', visible(this.deadLetterQueue),
        'Account events the notifier failed to mail five times (not an account event, SES refusing, the table unreachable) are in its dead-letter queue. Read the notifier\'s log, fix the cause, then redrive the messages.'),
      notifierErrors: this.alarm('NotifierErrorsAlarm', this.notifier.metricErrors({ period, statistic: 'Sum' }),
        'The notifier function failed an invocation (configuration, timeout): its whole batch returns to the queue and is retried until the dead-letter queue.'),
    };
    return notifyTopic(topic, alarms);
  }

  private alarm(id: string, metric: cloudwatch.IMetric, description: string): cloudwatch.Alarm {
    return aboveThresholdAlarm(this, id, metric, 0, description);
  }
}

/** Checks the props before anything is created; errors name the prop. */
function validate(scope: Construct, props: AccountNotificationsProps): void {
  const { min, max } = NOTIFICATION_COOLDOWN_RANGE;
  if (!Number.isInteger(props.cooldownSeconds) || props.cooldownSeconds < min || props.cooldownSeconds > max) {
    throw new Error(`cooldownSeconds of ${scope.node.path} must be a whole number from ${String(min)} to ${String(max)}; got ${String(props.cooldownSeconds)}.`);
  }
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.from)) throw new Error(`from of ${scope.node.path} must be an email address; got "${props.from}".`);
}
