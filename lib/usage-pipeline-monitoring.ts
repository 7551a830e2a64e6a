import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RESERVED_TENANT_IDS } from '../contracts/tenants';
import { TIER_NAMES, TierName, TierPolicy } from '../contracts/tiers';
import { USAGE_LOG_LINE } from '../contracts/usage-log-line';
import { UsageAnalytics } from './usage-analytics';
import { UsageIngestion } from './usage-ingestion';
import { UsageLake } from './usage-lake';

/** Glue job states that mean a run did not complete. */
export const GLUE_JOB_FAILURE_STATES = ['FAILED', 'TIMEOUT', 'ERROR'] as const;

/** The alarms every deployment has. */
export type PipelineAlarm = 'deadLetterQueue' | 'failedInvocations' | 'dataFreshness' | 'deliveryFailures' | 'rejectedRecords';

/** The alarms on the usage-log forwarder (see {@link UsagePipelineMonitoring.watchUsageLogForwarder}). */
export type UsageLogForwarderAlarm = 'errors' | 'deadLetterMessages' | 'destinationDeliveryFailures';

/** Records the Glue job may refuse in one hour before the rejected-records alarm fires, unless configured. */
export const DEFAULT_REJECTED_RECORDS_ALARM_THRESHOLD = 100;

/** Properties of a {@link UsagePipelineMonitoring}. */
export interface UsagePipelineMonitoringProps {
  readonly ingestion: UsageIngestion;
  readonly lake: UsageLake;
  /**
   * The analytics whose view refresher is watched: a failed or timed-out refresh raises an alarm.
   * @default - no view refresher alarm
   */
  readonly analytics?: UsageAnalytics;

  /**
   * An address subscribed to the alarm topic (it must confirm the subscription).
   * @default - no subscription; subscribe to the topic yourself.
   */
  readonly alarmEmail?: string;

  /**
   * An existing topic for alarms and failure notifications.
   * @default - a new topic encrypted with a new key.
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Records the Glue job may refuse (write to `errors/glue/`) in one hour before the
   * rejected-records alarm fires; 0 alarms on any.
   * @default 100
   */
  readonly rejectedRecordsAlarmThreshold?: number;
}

/**
 * Says when the usage pipeline breaks: alarms on undelivered events (dead-letter queue, failed
 * rule invocations), Firehose delivery failures and stale data, and Glue job or crawler failures,
 * all to one SNS topic, plus a dashboard of the whole flow.
 */
export class UsagePipelineMonitoring extends Construct {
  public readonly alarmTopic: sns.ITopic;
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly alarms: Readonly<Record<PipelineAlarm, cloudwatch.Alarm>> & { readonly viewRefresher?: cloudwatch.Alarm };
  public readonly jobFailureRule: events.Rule;
  public readonly crawlerFailureRule: events.Rule;
  /** Twice the Firehose buffer interval (at least 5 minutes): older undelivered data raises the alarm. */
  public readonly dataFreshnessThresholdSeconds: number;
  /** Records refused in an hour above which the rejected-records alarm fires. */
  public readonly rejectedRecordsThreshold: number;
  /** The usage-log forwarder's alarms, once {@link watchUsageLogForwarder} has been called. */
  public usageLogForwarderAlarms?: Readonly<Record<UsageLogForwarderAlarm, cloudwatch.Alarm>>;
  private readonly alarmAction: cwActions.SnsAction;
  private readonly period = Duration.minutes(5);

  constructor(scope: Construct, id: string, props: UsagePipelineMonitoringProps) {
    super(scope, id);
    this.rejectedRecordsThreshold = validateProps(props);
    this.alarmTopic = props.alarmTopic ?? this.createTopic();
    if (props.alarmEmail) {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    const { ingestion, lake } = props;
    const period = this.period;
    this.dataFreshnessThresholdSeconds = Math.max(2 * ingestion.bufferInterval.toSeconds(), 300);

    this.alarms = this.createAlarms(props, period);
    this.alarmAction = new cwActions.SnsAction(this.alarmTopic);
    this.notify(Object.values(this.alarms));
    this.jobFailureRule = this.createJobFailureRule(lake);
    this.crawlerFailureRule = this.createCrawlerFailureRule(lake);
    this.dashboard = this.createDashboard(ingestion, lake, period);
  }

  /**
   * Watches the function that puts the metered API's usage log lines on the bus
   * (lambdas/usage-log/usage-log-forwarder.ts) and its on-failure queue: alarms to the topic, and a
   * row on the dashboard. CloudWatch Logs invokes the forwarder asynchronously; on a function error
   * Lambda runs it twice more, keeps throttled or failed deliveries queued for up to the event's
   * maximum age, then sends the invocation record, with the delivery in it, to the on-failure
   * destination (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html,
   * https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html). So an error
   * is an early warning, a message in the queue is usage not billed until it is replayed, and a
   * failed write to the queue (DestinationDeliveryFailures, "Lambda attempts to send an event to a
   * destination but fails", https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html)
   * is usage lost but for the function's own log lines.
   */
  public watchUsageLogForwarder(forwarder: lambda.IFunction, deadLetterQueue: sqs.IQueue): Readonly<Record<UsageLogForwarderAlarm, cloudwatch.Alarm>> {
    if (this.usageLogForwarderAlarms) throw new Error('watchUsageLogForwarder was already called: the stack has one usage-log forwarder.');
    const period = this.period;
    const metrics = usageLogForwarderMetrics(forwarder, deadLetterQueue, period);
    const alarms = {
      errors: this.alarm('UsageLogForwarderErrorsAlarm', metrics.errors, 0, false,
        'The usage-log forwarder failed an invocation (see its log group). Lambda runs a failed delivery twice more before it goes to the forwarder\'s on-failure queue; nothing is lost yet.'),
      deadLetterMessages: this.alarm('UsageLogForwarderDeadLetterAlarm', metrics.deadLetterMessages, 0, false,
        'Usage log lines the forwarder could not put on the bus after Lambda\'s retries are in its on-failure queue: those requests are not billed until replayed. Fix the cause, then put each message\'s requestPayload (a CloudWatch Logs delivery) through the forwarder again.'),
      destinationDeliveryFailures: this.alarm('UsageLogForwarderDestinationFailuresAlarm', metrics.destinationDeliveryFailures, 0, false,
        'Lambda could not write a failed usage-log delivery to the forwarder\'s on-failure queue (permissions, size, or the queue itself): those usage events are only in the route functions\' log groups now.'),
    };
    this.notify(Object.values(alarms));
    this.usageLogForwarderAlarms = alarms;
    this.dashboard.addWidgets(...usageLogForwarderWidgets(metrics, Object.values(alarms)));
    return alarms;
  }

  /**
   * A dashboard row of quota use per tenant (issue 16): a Logs Insights table over the usage lines
   * the route functions log (`logGroups`), counting per UTC day, tenant and tier the requests the
   * limiter admitted (every answer but 401, 403 and 429), beside a text widget of the tiers'
   * quotas (`tiers`, the stack's). Lambda log events that are one JSON object have their fields
   * discovered, nested ones in dot notation (`detail.tenantId`)
   * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_AnalyzeLogData-discoverable-fields.html);
   * `stats … by bin(1d), …` groups by day, `d` being one of bin's documented units
   * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL_QuerySyntax-Stats.html).
   * The widget queries over the dashboard's time range (24 hours unless changed: widen it to a
   * week or a month for those quotas), each refresh one query
   * (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_cloudwatch.LogQueryWidget.html).
   */
  public watchQuotaUse(logGroups: readonly logs.ILogGroup[], tiers: Readonly<Record<TierName, TierPolicy>>): cloudwatch.LogQueryWidget {
    if (logGroups.length === 0) throw new Error('watchQuotaUse needs the log groups of the functions that write usage lines; got none.');
    const widget = new cloudwatch.LogQueryWidget({
      title: 'Quota use per tenant: requests admitted per UTC day (not 401, 403 or 429)',
      logGroupNames: logGroups.map((group) => group.logGroupName),
      queryLines: quotaUseQueryLines(),
      view: cloudwatch.LogQueryVisualizationType.TABLE,
      width: 16,
      height: 8,
    });
    this.dashboard.addWidgets(widget, new cloudwatch.TextWidget({ markdown: quotasMarkdown(tiers), width: 8, height: 8 }));
    return widget;
  }

  /** Alarm and OK notifications of some alarms go to the topic. */
  private notify(alarms: readonly cloudwatch.Alarm[]): void {
    for (const alarm of alarms) {
      alarm.addAlarmAction(this.alarmAction);
      alarm.addOkAction(this.alarmAction);
    }
  }

  /** One alarm; no data means no traffic, not a fault. */
  private alarm(id: string, metric: cloudwatch.IMetric, threshold: number, below: boolean, description: string): cloudwatch.Alarm {
    return new cloudwatch.Alarm(this, id, {
      alarmDescription: description,
      metric,
      threshold,
      comparisonOperator: below ? cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD : cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // No data means no traffic, not a fault.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }

  private createAlarms(props: UsagePipelineMonitoringProps, period: Duration): UsagePipelineMonitoring['alarms'] {
    const { ingestion, lake } = props;
    const freshnessThreshold = this.dataFreshnessThresholdSeconds;
    const rejectedThreshold = this.rejectedRecordsThreshold;
    const refresher = props.analytics?.viewRefresher;
    return {
      ...(refresher ? { viewRefresher: this.viewRefresherAlarm(refresher, period) } : {}),
      deadLetterQueue: this.alarm('DeadLetterQueueAlarm', ingestion.metricDeadLetterMessages({ period }), 0, false,
        'Usage events are in the dead-letter queue: EventBridge gave up delivering them to Firehose. Fix the cause, then redrive or replay from the archive.'),
      failedInvocations: this.alarm('FailedInvocationsAlarm', ingestion.metricFailedInvocations({ period }), 0, false,
        'EventBridge could not put usage events on Firehose (it retries, then uses the dead-letter queue).'),
      dataFreshness: this.alarm('DataFreshnessAlarm', ingestion.metricDataFreshness({ period }), freshnessThreshold, false,
        `Firehose holds records older than ${freshnessThreshold} s (twice the buffer interval): delivery to S3 is stuck.`),
      deliveryFailures: this.alarm('DeliveryFailuresAlarm', ingestion.metricDeliverySuccess({ period }), 1, true,
        'Firehose failed to put objects in the lake bucket (see the delivery log group and errors/ in the bucket).'),
      // The job publishes its count once per run; an hour without a run is no data, which is not
      // breaching (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarms-and-missing-data).
      rejectedRecords: this.alarm('RejectedRecordsAlarm', lake.metricRejectedRecords(), rejectedThreshold, false,
        `The Glue job refused more than ${rejectedThreshold} records in an hour (errors/glue/): they are not curated and not billed. Run "usage-tracker rejects --aws --start <day> --end <day>" (named query rejected_records) to see the reasons and the producing services.`),
    };
  }

  private viewRefresherAlarm(refresher: sfn.StateMachine, period: Duration): cloudwatch.Alarm {
    return this.alarm(
      'ViewRefresherFailedAlarm',
      new cloudwatch.MathExpression({
        expression: 'FILL(failed, 0) + FILL(timedOut, 0) + FILL(aborted, 0)',
        usingMetrics: { failed: refresher.metricFailed({ period }), timedOut: refresher.metricTimedOut({ period }), aborted: refresher.metricAborted({ period }) },
        period,
        label: 'view refreshes failed',
      }),
      0,
      false,
      'A view refresh after a crawl failed: the usage views (usage_events_deduped) may be missing or stale, so named queries fail. See the execution in the Step Functions console.',
    );
  }

  private createJobFailureRule(lake: UsageLake): events.Rule {
    return new events.Rule(this, 'JobFailedRule', {
      description: 'Notifies when the usage lake Glue job fails',
      eventPattern: {
        source: ['aws.glue'],
        detailType: ['Glue Job State Change'],
        detail: { jobName: [lake.jobName], state: [...GLUE_JOB_FAILURE_STATES] },
      },
      targets: [
        new targets.SnsTopic(this.alarmTopic, {
          message: events.RuleTargetInput.fromText(
            `Glue job ${events.EventField.fromPath('$.detail.jobName')} run ${events.EventField.fromPath('$.detail.jobRunId')} ended ${events.EventField.fromPath('$.detail.state')}: ${events.EventField.fromPath('$.detail.message')}`,
          ),
        }),
      ],
    });
  }

  private createCrawlerFailureRule(lake: UsageLake): events.Rule {
    return new events.Rule(this, 'CrawlerFailedRule', {
      description: 'Notifies when the usage_events crawler fails',
      eventPattern: {
        source: ['aws.glue'],
        detailType: ['Glue Crawler State Change'],
        detail: { crawlerName: [lake.crawlerName], state: ['Failed'] },
      },
      targets: [
        new targets.SnsTopic(this.alarmTopic, {
          message: events.RuleTargetInput.fromText(
            `Glue crawler ${events.EventField.fromPath('$.detail.crawlerName')} failed: ${events.EventField.fromPath('$.detail.errorMessage')}`,
          ),
        }),
      ],
    });
  }

  private createTopic(): sns.Topic {
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Encrypts the usage pipeline alarm topic',
      enableKeyRotation: true,
    });
    // CloudWatch alarms and EventBridge rules publish to the encrypted topic.
    for (const service of ['cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
      key.grant(new iam.ServicePrincipal(service), 'kms:Decrypt', 'kms:GenerateDataKey*');
    }
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'API usage pipeline alarms',
      masterKey: key,
      enforceSSL: true,
    });
    // The topic policy CDK writes replaces SNS's default one, so CloudWatch alarms may publish
    // only if a statement lets cloudwatch.amazonaws.com do so; limited to this account's alarms.
    // https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger
    const stack = Stack.of(this);
    topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    return topic;
  }

  private createDashboard(ingestion: UsageIngestion, lake: UsageLake, period: Duration): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${Stack.of(this).stackName}-usage-pipeline`,
      defaultInterval: Duration.hours(24),
    });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: '# API usage pipeline\nBus → rule → Firehose → S3 `raw/` → Glue job → `curated/` → crawler → Athena',
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(...this.deliveryWidgets(ingestion, period));
    dashboard.addWidgets(...this.healthWidgets(ingestion, period));
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Glue job: records curated and refused per hour',
        left: [lake.metricCuratedRecords({ label: 'curated' })],
        right: [lake.metricRejectedRecords({ label: 'refused (errors/glue/)' })],
        rightAnnotations: [{ value: this.rejectedRecordsThreshold, label: 'alarm' }],
        width: 24,
      }),
    );
    dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 24 }));
    return dashboard;
  }

  /** The dashboard's second row: events matched and delivered, and those not delivered. */
  private deliveryWidgets(ingestion: UsageIngestion, period: Duration): cloudwatch.IWidget[] {
    return [
      new cloudwatch.GraphWidget({
        title: 'Usage events: matched by the rule, delivered to S3',
        left: [ingestion.metricMatchedEvents({ period, label: 'matched' }), ingestion.metricDeliveredRecords({ period, label: 'delivered' })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Undelivered: failed invocations, dead-letter queue',
        left: [ingestion.metricFailedInvocations({ period, label: 'failed invocations' })],
        right: [ingestion.metricDeadLetterMessages({ period, label: 'DLQ messages' })],
        width: 12,
      }),
    ];
  }

  /** The dashboard's third row: Firehose freshness and success, Glue failures. */
  private healthWidgets(ingestion: UsageIngestion, period: Duration): cloudwatch.IWidget[] {
    const triggered = (rule: events.Rule, label: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/Events', metricName: 'TriggeredRules', dimensionsMap: { RuleName: rule.ruleName }, statistic: 'Sum', period, label });
    return [
      new cloudwatch.GraphWidget({
        title: 'Firehose data freshness (s)',
        left: [ingestion.metricDataFreshness({ period })],
        leftAnnotations: [{ value: this.dataFreshnessThresholdSeconds, label: 'alarm' }],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Firehose S3 delivery success',
        left: [ingestion.metricDeliverySuccess({ period })],
        leftYAxis: { min: 0, max: 1 },
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Glue failures (job, crawler)',
        left: [triggered(this.jobFailureRule, 'job failed'), triggered(this.crawlerFailureRule, 'crawler failed')],
        width: 8,
      }),
    ];
  }
}

/** What the usage-log forwarder's alarms and dashboard row watch (unlabelled: an alarm on a labelled metric becomes metric math). */
interface UsageLogForwarderMetrics {
  readonly invocations: cloudwatch.Metric;
  readonly errors: cloudwatch.Metric;
  readonly throttles: cloudwatch.Metric;
  readonly deadLetterMessages: cloudwatch.Metric;
  readonly destinationDeliveryFailures: cloudwatch.Metric;
}

function usageLogForwarderMetrics(forwarder: lambda.IFunction, queue: sqs.IQueue, period: Duration): UsageLogForwarderMetrics {
  return {
    invocations: forwarder.metricInvocations({ period, statistic: 'Sum' }),
    errors: forwarder.metricErrors({ period, statistic: 'Sum' }),
    throttles: forwarder.metricThrottles({ period, statistic: 'Sum' }),
    deadLetterMessages: queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
    destinationDeliveryFailures: forwarder.metric('DestinationDeliveryFailures', { period, statistic: 'Sum' }),
  };
}

/** The dashboard's usage-log forwarder row: its work, what failed, and its alarms. */
function usageLogForwarderWidgets(metrics: UsageLogForwarderMetrics, alarms: readonly cloudwatch.Alarm[]): cloudwatch.IWidget[] {
  return [
    new cloudwatch.GraphWidget({
      title: 'Usage-log forwarder: invocations, errors, throttles',
      left: [metrics.invocations.with({ label: 'invocations' }), metrics.errors.with({ label: 'errors' }), metrics.throttles.with({ label: 'throttles' })],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: 'Usage-log forwarder: undelivered (on-failure queue)',
      left: [metrics.deadLetterMessages.with({ label: 'on-failure queue messages' })],
      right: [metrics.destinationDeliveryFailures.with({ label: 'on-failure queue write failures' })],
      width: 8,
    }),
    new cloudwatch.AlarmStatusWidget({ title: 'Usage-log forwarder alarms', alarms: [...alarms], width: 8 }),
  ];
}

/** Checks the props; returns the rejected-records threshold, defaulted. */
function validateProps(props: UsagePipelineMonitoringProps): number {
  if (props.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail)) {
    throw new Error(`alarmEmail "${props.alarmEmail}" is not an e-mail address.`);
  }
  if (props.alarmTopic && props.alarmEmail) {
    throw new Error('Give either alarmTopic or alarmEmail: subscribe the address to your own topic yourself.');
  }
  const rejectedThreshold = props.rejectedRecordsAlarmThreshold ?? DEFAULT_REJECTED_RECORDS_ALARM_THRESHOLD;
  if (!Number.isInteger(rejectedThreshold) || rejectedThreshold < 0) {
    throw new Error(`rejectedRecordsAlarmThreshold must be a whole number of records, 0 or more; got ${rejectedThreshold}.`);
  }
  return rejectedThreshold;
}

/**
 * The Logs Insights query of {@link UsagePipelineMonitoring.watchQuotaUse}, one command a line
 * (LogQueryWidget joins them with `|`): usage lines only, the limiter's refusals and the traffic
 * no tenant made (RESERVED_TENANT_IDS) left out, counted per UTC day, tenant and tier.
 */
export function quotaUseQueryLines(): string[] {
  const reserved = Object.values(RESERVED_TENANT_IDS).map((id) => `detail.tenantId != "${id}"`);
  return [
    `filter ${USAGE_LOG_LINE.markerKey} = "${USAGE_LOG_LINE.marker}"`,
    `filter detail.statusCode != 401 and detail.statusCode != 403 and detail.statusCode != 429 and ${reserved.join(' and ')}`,
    'stats count(*) as admitted by bin(1d), detail.tenantId, detail.tier',
    'sort admitted desc',
    'limit 100',
  ];
}

/** The tiers' quotas as the dashboard's text widget shows them, beside the counts. */
export function quotasMarkdown(tiers: Readonly<Record<TierName, TierPolicy>>): string {
  const rows = TIER_NAMES.map((name) => {
    const quota = tiers[name].quota;
    return `| ${name} | ${quota ? `${quota.requests.toLocaleString('en-US')} a ${quota.period} (UTC)` : 'none'} | ${tiers[name].requestsPerMinute}/min |`;
  });
  return ['### Tier quotas', 'Requests each tenant of a tier may make in a day, ISO week or month; the table counts them per day.', '', '| Tier | Quota | Rate |', '|---|---|---|', ...rows].join('\n');
}
