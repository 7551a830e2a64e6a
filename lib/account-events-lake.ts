import { Aws, Duration, Size, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { accountEventPattern } from '../contracts/account-events';
import {
  ACCOUNT_EVENTS_TABLE,
  CURATED_PARTITION_KEYS,
  CURATED_PARTITION_LAYOUT,
  FIREHOSE_ACCOUNT_EVENTS_ERROR_PREFIX,
  FIREHOSE_ACCOUNT_EVENTS_PREFIX,
  LAKE_PREFIXES,
  accountEventDetailGlueType,
} from '../contracts/lake-layout';
import { FirehoseTargetWithDeadLetterQueue } from './firehose-target-with-dlq';
import { acknowledgeBucketPrefixGrant, acknowledgeNagFindings } from './nag-acknowledgements';
import { aboveThresholdAlarm, notifyTopic } from './topic-alarms';
import { FIREHOSE_BUFFER_LIMITS } from './usage-ingestion';
import { GZIP_JSON_LINES_STORAGE } from './usage-lake';

/** Properties of an {@link AccountEventsLake}. */
export interface AccountEventsLakeProps {
  /** The bus account events are put on (the usage bus). */
  readonly eventBus: events.IEventBus;
  /** The lake bucket; the stream writes `account-events/` and `errors/account-events/`. */
  readonly lakeBucket: s3.IBucket;
  /**
   * The key Firehose encrypts delivered objects with.
   * @default - the bucket's default encryption applies.
   */
  readonly lakeEncryptionKey?: kms.IKey;
  /** The Glue database the `account_events` table is created in (the usage database, where the named queries run). */
  readonly database: glue.CfnDatabase;
  /** That database's name. */
  readonly databaseName: string;
  /**
   * How long Firehose buffers before writing an object (0-900 s).
   * @default Duration.seconds(300) - few events, wanted within minutes
   */
  readonly bufferInterval?: Duration;
  /**
   * How much Firehose buffers before writing an object (1-128 MiB), whichever of interval and size comes first.
   * @default Size.mebibytes(5)
   */
  readonly bufferSize?: Size;
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
}

/**
 * Account events into the lake for analysts: a rule on the usage bus with the contracts' account
 * event pattern, its own Firehose stream (gzip, newline-delimited envelopes, hive folders by
 * arrival day under `account-events/`) with a dead-letter queue on the rule target, and the
 * `account_events` Glue table over it with projected partitions, so no crawler runs.
 */
export class AccountEventsLake extends Construct {
  public readonly rule: events.Rule;
  public readonly deliveryStream: firehose.DeliveryStream;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly deliveryLogGroup: logs.LogGroup;
  /** `account_events`, over `account-events/`. */
  public readonly table: glue.CfnTable;
  public readonly tableName: string = ACCOUNT_EVENTS_TABLE.table;
  private readonly lakeBucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: AccountEventsLakeProps) {
    super(scope, id);
    this.lakeBucket = props.lakeBucket;
    const interval = props.bufferInterval ?? Duration.seconds(ACCOUNT_EVENTS_TABLE.buffering.intervalSeconds);
    const size = props.bufferSize ?? Size.mebibytes(ACCOUNT_EVENTS_TABLE.buffering.sizeMiB);
    validateBuffering(this, interval, size);

    this.deliveryLogGroup = new logs.LogGroup(this, 'DeliveryLogs', { retention: logs.RetentionDays.ONE_YEAR });
    this.deliveryStream = this.createDeliveryStream(props, interval, size);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const pattern = accountEventPattern();
    this.rule = new events.Rule(this, 'ToFirehose', {
      eventBus: props.eventBus,
      eventPattern: { source: [...pattern.source], detailType: [...pattern['detail-type']] },
      description: 'Routes account events to their Firehose stream and on to the lake',
      targets: [
        new FirehoseTargetWithDeadLetterQueue(this.deliveryStream, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: props.retryAttempts ?? 185,
          maxEventAge: props.maxEventAge ?? Duration.hours(24),
        }),
      ],
    });
    this.table = this.createTable(props);
    this.acknowledgeFindings();
  }

  /** Lets a reader query `account_events`: its objects under `account-events/` (the catalog reads and the key come with the usage lake's grant). */
  public grantReadEvents(grantee: iam.IGrantable): iam.Grant {
    return this.lakeBucket.grantRead(grantee, `${LAKE_PREFIXES.accountEvents}*`);
  }

  /**
   * Alarms, ALARM and OK to `topic`: account events waiting in the rule's dead-letter queue (the
   * lake has not received them), and Firehose holding one longer than twice its buffer interval
   * (delivery to S3 stuck), as the usage stream's alarms do.
   */
  public alarmTo(topic: sns.ITopic): Readonly<Record<'deadLetters' | 'dataFreshness', cloudwatch.Alarm>> {
    const period = Duration.minutes(5);
    const alarm = (id: string, metric: cloudwatch.IMetric, threshold: number, description: string) => aboveThresholdAlarm(this, id, metric, threshold, description);
    const alarms = {
      deadLetters: alarm('DeadLetterAlarm', this.metricDeadLetterMessages({ period }), 0,
        'EventBridge gave up putting account events on their Firehose stream: they wait in the dead-letter queue (14 days), not in the lake. Fix the cause, then redrive.'),
      dataFreshness: alarm('DataFreshnessAlarm', this.metricDataFreshness({ period }), 2 * ACCOUNT_EVENTS_TABLE.buffering.intervalSeconds,
        'Firehose holds account events older than twice its buffer interval: delivery to the lake bucket is stuck (look under errors/account-events/).'),
    };
    return notifyTopic(topic, alarms);
  }

  /** Messages waiting in the dead-letter queue: account events the lake has not received. */
  public metricDeadLetterMessages(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', ...props });
  }

  /** Age of the oldest account event in Firehose not yet delivered to S3, in seconds. */
  public metricDataFreshness(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deliveryStream.metric('DeliveryToS3.DataFreshness', { statistic: 'Maximum', ...props });
  }

  /**
   * Firehose into `account-events/` (errors into `errors/account-events/`), as the usage stream
   * writes `raw/`: the processor ends each EventBridge record with a newline, so an object is
   * newline-delimited JSON, one envelope a line, which the JSON SerDe and DuckDB both read. The
   * prefix's timestamps are the arrival of the oldest record in the object, in UTC:
   * https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html
   */
  private createDeliveryStream(props: AccountEventsLakeProps, interval: Duration, size: Size): firehose.DeliveryStream {
    return new firehose.DeliveryStream(this, 'DeliveryStream', {
      encryption: firehose.StreamEncryption.awsOwnedKey(),
      destination: new firehose.S3Bucket(props.lakeBucket, {
        bufferingInterval: interval,
        bufferingSize: size,
        compression: firehose.Compression.GZIP,
        dataOutputPrefix: FIREHOSE_ACCOUNT_EVENTS_PREFIX,
        errorOutputPrefix: FIREHOSE_ACCOUNT_EVENTS_ERROR_PREFIX,
        encryptionKey: props.lakeEncryptionKey,
        processors: [new firehose.AppendDelimiterToRecordProcessor()],
        loggingConfig: new firehose.EnableLogging(this.deliveryLogGroup),
      }),
    });
  }

  /**
   * The table analysts query (queries/account_events_by_tenant.sql). Not crawled: the schema is
   * the contract's, and partition projection computes the arrival days' folders
   * (account-events/year=YYYY/month=MM/day=DD/, Athena's default Hive-style template) in memory.
   * https://docs.aws.amazon.com/athena/latest/ug/partition-projection-setting-up.html
   * https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html
   * The OpenX JSON SerDe lower-cases keys (case.insensitive defaults to true), so `detail.eventId`
   * matches the struct's field, and gives any scalar declared `string` as its text, which is how
   * `detail.data` holds numbers and booleans in a map<string,string>:
   * https://docs.aws.amazon.com/athena/latest/ug/openx-json-serde.html
   * https://github.com/rcongiu/Hive-JSON-Serde/blob/master/json-serde/src/main/java/org/openx/data/jsonserde/objectinspector/primitive/JavaStringJsonObjectInspector.java
   * Firehose ends each object's name with the compression's file extension (`.gz`), which is how
   * Athena knows to decompress it: https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html
   * https://docs.aws.amazon.com/athena/latest/ug/compression-formats.html
   */
  private createTable(props: AccountEventsLakeProps): glue.CfnTable {
    const table = new glue.CfnTable(this, 'Table', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: props.databaseName,
      tableInput: {
        name: ACCOUNT_EVENTS_TABLE.table,
        description: 'Account events as delivered (at least once: keep one row per detail.eventId), by the UTC day they reached the lake (account-events/)',
        tableType: 'EXTERNAL_TABLE',
        parameters: { classification: 'json', compressionType: 'gzip', 'projection.enabled': 'true', ...accountEventsPartitionProjection() },
        partitionKeys: CURATED_PARTITION_KEYS.map((name) => ({ name, type: 'string' })),
        storageDescriptor: {
          columns: ACCOUNT_EVENTS_TABLE.columns.map((column) => ({
            name: column.name,
            type: column.type === 'struct' ? accountEventDetailGlueType() : column.type,
            comment: column.comment,
          })),
          location: props.lakeBucket.s3UrlForObject(LAKE_PREFIXES.accountEvents),
          ...GZIP_JSON_LINES_STORAGE,
        },
      },
    });
    table.node.addDependency(props.database);
    return table;
  }

  private acknowledgeFindings(): void {
    acknowledgeNagFindings(Stack.of(this), [
      {
        id: 'CloudFormation-Validate::W7001',
        reason: 'The Firehose L2 always adds its mapping of Firehose CIDR blocks; only Redshift and OpenSearch destinations reference it, not S3.',
      },
    ]);
    acknowledgeNagFindings(this.deadLetterQueue, [
      {
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is itself the dead-letter queue of the account events rule target; messages stay here (14 days) until redriven.',
      },
    ]);
    const firehoseReason =
      'Granted by the Firehose L2 on its destination bucket and key: Firehose writes objects (multipart, names it chooses) under the account-events/ and errors/account-events/ prefixes it is configured with.';
    acknowledgeBucketPrefixGrant(this.deliveryStream, this.lakeBucket, {
      actions: ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'],
      prefixes: [''],
      reason: firehoseReason,
    });
    acknowledgeNagFindings(this.deliveryStream, [
      { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: firehoseReason },
      { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: firehoseReason },
    ]);
  }
}

/** Partition projection of `account_events`: integer year, month and day, zero-padded as the contract's layout pads the folders. */
export function accountEventsPartitionProjection(): Record<string, string> {
  const { first, last } = ACCOUNT_EVENTS_TABLE.projectedYears;
  const ranges = { year: `${first},${last}`, month: '1,12', day: '1,31' } as const;
  return Object.fromEntries(
    CURATED_PARTITION_KEYS.flatMap((key) => {
      const { datePart, digits } = CURATED_PARTITION_LAYOUT[key];
      return [
        [`projection.${key}.type`, 'integer'],
        [`projection.${key}.range`, ranges[datePart]],
        [`projection.${key}.digits`, String(digits)],
      ];
    }),
  );
}

/** Refuses buffering hints Firehose would not take for an S3 destination, naming the construct. */
function validateBuffering(scope: Construct, interval: Duration, size: Size): void {
  const seconds = interval.toSeconds();
  const { minIntervalSeconds, maxIntervalSeconds, minSizeMiB, maxSizeMiB } = FIREHOSE_BUFFER_LIMITS;
  if (seconds < minIntervalSeconds || seconds > maxIntervalSeconds) {
    throw new Error(`${scope.node.path}: bufferInterval must be from ${minIntervalSeconds} to ${maxIntervalSeconds} seconds (Firehose's limits for an S3 destination); got ${seconds} seconds.`);
  }
  const mebibytes = size.toMebibytes();
  if (mebibytes < minSizeMiB || mebibytes > maxSizeMiB) {
    throw new Error(`${scope.node.path}: bufferSize must be from ${minSizeMiB} to ${maxSizeMiB} MiB (Firehose's limits for an S3 destination); got ${mebibytes} MiB.`);
  }
}
