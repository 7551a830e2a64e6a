import { Duration, Size, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventschemas from 'aws-cdk-lib/aws-eventschemas';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { renderUsageEventJsonSchema } from '../contracts/generated-artifacts';
import { usageEventPattern } from '../contracts/event-pattern';
import { FIREHOSE_ERROR_PREFIX, FIREHOSE_RAW_PREFIX } from '../contracts/lake-layout';
import { DEFAULT_EVENT_SOURCES } from '../contracts/usage-event';
import { FirehoseTargetWithDeadLetterQueue } from './firehose-target-with-dlq';
import { acknowledgeBucketPrefixGrant, acknowledgeNagFindings } from './nag-acknowledgements';

/** Firehose's S3 buffering limits (dynamic partitioning and format conversion off). */
export const FIREHOSE_BUFFER_LIMITS = {
  minIntervalSeconds: 0,
  maxIntervalSeconds: 900,
  minSizeMiB: 1,
  maxSizeMiB: 128,
} as const;

/** Properties of a {@link UsageIngestion}. */
export interface UsageIngestionProps {
  /** The lake bucket Firehose writes `raw/` and `errors/` into. */
  readonly lakeBucket: s3.IBucket;

  /**
   * The key Firehose encrypts delivered objects with.
   * @default - the bucket's default encryption applies.
   */
  readonly lakeEncryptionKey?: kms.IKey;

  /**
   * An existing bus to read usage events from.
   * @default - a new event bus is created.
   */
  readonly eventBus?: events.IEventBus;

  /**
   * Event sources allowed on the rule.
   * @default DEFAULT_EVENT_SOURCES - [DEFAULT_EVENT_SOURCE], `my-applications`
   */
  readonly eventSources?: readonly string[];

  /**
   * How long Firehose buffers before writing an object (0-900 s). Longer means fewer, larger
   * objects: cheaper S3 PUTs and faster Glue reads.
   * @default Duration.seconds(900) - Firehose's maximum
   */
  readonly bufferInterval?: Duration;

  /**
   * How much Firehose buffers before writing an object (1-128 MiB), whichever of interval and
   * size comes first.
   * @default Size.mebibytes(128) - Firehose's maximum
   */
  readonly bufferSize?: Size;

  /**
   * How long the bus archive keeps usage events for replay after a fault.
   * @default Duration.days(30)
   */
  readonly archiveRetention?: Duration;

  /**
   * How many times EventBridge retries delivery to Firehose before the dead-letter queue.
   * @default 185 - EventBridge's maximum
   */
  readonly retryAttempts?: number;

  /**
   * How long EventBridge keeps retrying an event before the dead-letter queue.
   * @default Duration.hours(24) - EventBridge's maximum
   */
  readonly maxEventAge?: Duration;

  /**
   * Whether EventBridge schema discovery runs on the bus (billed per ingested event beyond the
   * free tier). The usage event schema is registered either way.
   * @default false
   */
  readonly schemaDiscovery?: boolean;
}

/**
 * Usage events from the bus into the lake: an EventBridge bus with an archive, a rule built from
 * the contracts' event pattern, a Firehose stream (gzip, newline-delimited, hive prefixes by
 * arrival hour) with a dead-letter queue on the rule target, and the usage event schema in an
 * EventBridge Schema Registry.
 */
export class UsageIngestion extends Construct {
  public readonly eventBus: events.IEventBus;
  public readonly rule: events.Rule;
  public readonly archive: events.Archive;
  public readonly deliveryStream: firehose.DeliveryStream;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly deliveryLogGroup: logs.LogGroup;
  public readonly schemaRegistry: eventschemas.CfnRegistry;
  public readonly schema: eventschemas.CfnSchema;
  /** The effective Firehose buffering interval. */
  public readonly bufferInterval: Duration;
  /** The `source` values the rule accepts, and the only ones {@link grantPutEvents} lets producers put. */
  public readonly eventSources: readonly string[];

  constructor(scope: Construct, id: string, props: UsageIngestionProps) {
    super(scope, id);
    this.bufferInterval = props.bufferInterval ?? Duration.seconds(FIREHOSE_BUFFER_LIMITS.maxIntervalSeconds);
    const bufferSize = props.bufferSize ?? Size.mebibytes(FIREHOSE_BUFFER_LIMITS.maxSizeMiB);
    validateBuffering(this.bufferInterval, bufferSize);
    this.eventSources = [...(props.eventSources ?? DEFAULT_EVENT_SOURCES)];
    const pattern = usageEventPattern(this.eventSources);
    const eventPattern: events.EventPattern = { source: [...pattern.source], detailType: [...pattern['detail-type']] };

    this.eventBus = props.eventBus ?? new events.EventBus(this, 'Bus', { description: 'API usage events from the services' });
    this.archive = new events.Archive(this, 'Archive', {
      sourceEventBus: this.eventBus,
      eventPattern,
      retention: props.archiveRetention ?? Duration.days(30),
      description: 'Usage events kept for replay after a pipeline fault',
    });
    this.deliveryLogGroup = new logs.LogGroup(this, 'DeliveryLogs', { retention: logs.RetentionDays.ONE_YEAR });
    this.deliveryStream = this.createDeliveryStream(props, bufferSize);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.rule = this.createRule(props, eventPattern);
    this.acknowledgeFindings(props.lakeBucket);

    this.schemaRegistry = new eventschemas.CfnRegistry(this, 'SchemaRegistry', {
      description: 'Schemas of the API usage events',
    });
    this.schema = this.registerUsageEventSchema();
    if (props.schemaDiscovery) {
      new eventschemas.CfnDiscoverer(this, 'SchemaDiscoverer', {
        sourceArn: this.eventBus.eventBusArn,
        crossAccount: false,
        description: 'Discovers the schemas of events on the usage bus',
      });
    }
  }

  /** Firehose into `raw/` (errors into `errors/`): gzip, newline-delimited, hive prefixes by arrival hour. */
  private createDeliveryStream(props: UsageIngestionProps, bufferSize: Size): firehose.DeliveryStream {
    return new firehose.DeliveryStream(this, 'DeliveryStream', {
      encryption: firehose.StreamEncryption.awsOwnedKey(),
      destination: new firehose.S3Bucket(props.lakeBucket, {
        bufferingInterval: this.bufferInterval,
        bufferingSize: bufferSize,
        compression: firehose.Compression.GZIP,
        dataOutputPrefix: FIREHOSE_RAW_PREFIX,
        errorOutputPrefix: FIREHOSE_ERROR_PREFIX,
        encryptionKey: props.lakeEncryptionKey,
        // EventBridge hands Firehose one JSON event per record with no delimiter; the processor
        // makes the objects newline-delimited JSON that Glue, Athena and DuckDB can split.
        processors: [new firehose.AppendDelimiterToRecordProcessor()],
        loggingConfig: new firehose.EnableLogging(this.deliveryLogGroup),
      }),
    });
  }

  /** The rule that routes usage events to Firehose, with the dead-letter queue on its target. */
  private createRule(props: UsageIngestionProps, eventPattern: events.EventPattern): events.Rule {
    return new events.Rule(this, 'ToFirehose', {
      eventBus: this.eventBus,
      eventPattern,
      description: 'Routes API usage events to Firehose and on to the lake',
      targets: [
        new FirehoseTargetWithDeadLetterQueue(this.deliveryStream, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: props.retryAttempts ?? 185,
          maxEventAge: props.maxEventAge ?? Duration.hours(24),
        }),
      ],
    });
  }

  private registerUsageEventSchema(): eventschemas.CfnSchema {
    return new eventschemas.CfnSchema(this, 'UsageEventSchema', {
      registryName: this.schemaRegistry.attrRegistryName,
      schemaName: 'ApiUsageEvent',
      type: 'JSONSchemaDraft4',
      content: renderUsageEventJsonSchema(),
      description: 'api-usage-event, version 1 (generated from contracts/usage-event.ts)',
    });
  }

  private acknowledgeFindings(lakeBucket: s3.IBucket): void {
    acknowledgeNagFindings(Stack.of(this), [
      {
        id: 'CloudFormation-Validate::W7001',
        reason: 'The Firehose L2 always adds its mapping of Firehose CIDR blocks; only Redshift and OpenSearch destinations reference it, not S3.',
      },
    ]);
    acknowledgeNagFindings(this.deadLetterQueue, [
      {
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is itself the dead-letter queue of the rule target; messages stay here (14 days, alarmed) until redriven.',
      },
    ]);
    const firehoseReason =
      'Granted by the Firehose L2 on its destination bucket and key: Firehose writes objects (multipart, names it chooses) under the raw/ and errors/ prefixes it is configured with.';
    acknowledgeBucketPrefixGrant(this.deliveryStream, lakeBucket, {
      actions: ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'],
      prefixes: [''],
      reason: firehoseReason,
    });
    acknowledgeNagFindings(this.deliveryStream, [
      { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: firehoseReason },
      { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: firehoseReason },
    ]);
  }

  /**
   * Lets a producer put usage events on the bus: PutEvents of entries whose `source` is one of the
   * allowed usage sources (`events:source`, which EventBridge checks for every entry of the call:
   * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-conditions.html). A producer
   * cannot put an account event (source `api-usage-tracker.accounts`) or any other source: only the
   * stack's own functions, granted on the bus without this condition, publish account events.
   */
  public grantPutEvents(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['events:PutEvents'],
      resourceArns: [this.eventBus.eventBusArn],
      conditions: { 'ForAllValues:StringEquals': { 'events:source': [...this.eventSources] } },
    });
  }

  /** Messages waiting in the dead-letter queue: events the lake has not received. */
  public metricDeadLetterMessages(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', ...props });
  }

  /** Age of the oldest record in Firehose not yet delivered to S3, in seconds. */
  public metricDataFreshness(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deliveryStream.metric('DeliveryToS3.DataFreshness', { statistic: 'Maximum', ...props });
  }

  /** Share of successful S3 puts (1 = all succeeded). */
  public metricDeliverySuccess(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deliveryStream.metric('DeliveryToS3.Success', { statistic: 'Minimum', ...props });
  }

  /** Records Firehose delivered to S3. */
  public metricDeliveredRecords(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deliveryStream.metric('DeliveryToS3.Records', { statistic: 'Sum', ...props });
  }

  /** Rule invocations EventBridge could not deliver to Firehose (before the dead-letter queue). */
  public metricFailedInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.ruleMetric('FailedInvocations', props);
  }

  /** Usage events the rule matched. */
  public metricMatchedEvents(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.ruleMetric('MatchedEvents', props);
  }

  private ruleMetric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/Events',
      metricName,
      dimensionsMap: { RuleName: this.rule.ruleName, EventBusName: this.eventBus.eventBusName },
      statistic: 'Sum',
      ...props,
    });
  }
}

function validateBuffering(interval: Duration, size: Size): void {
  const seconds = interval.toSeconds();
  const { minIntervalSeconds, maxIntervalSeconds, minSizeMiB, maxSizeMiB } = FIREHOSE_BUFFER_LIMITS;
  if (seconds < minIntervalSeconds || seconds > maxIntervalSeconds) {
    throw new Error(
      `bufferInterval must be from ${minIntervalSeconds} to ${maxIntervalSeconds} seconds (Firehose's limits for an S3 destination); got ${seconds} seconds.`,
    );
  }
  const mebibytes = size.toMebibytes();
  if (mebibytes < minSizeMiB || mebibytes > maxSizeMiB) {
    throw new Error(
      `bufferSize must be from ${minSizeMiB} to ${maxSizeMiB} MiB (Firehose's limits for an S3 destination); got ${mebibytes} MiB.`,
    );
  }
}
