import { ArnFormat, Stack } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { IConstruct } from 'constructs';
import {
  CATALOG,
  FIREHOSE_ACCOUNT_EVENTS_ERROR_PREFIX,
  ACCOUNT_EVENTS_TABLE,
  FIREHOSE_ACCOUNT_EVENTS_PREFIX,
  FIREHOSE_ERROR_PREFIX,
  FIREHOSE_RAW_PREFIX,
  LAKE_PREFIXES,
  PRICE_LIST,
  CURATION_ERRORS,
  curatedIndexSegmentKey,
  curatedPartitionPrefix,
  curationErrorsPartitionPrefix,
  renderFirehosePrefix,
} from '../contracts/lake-layout';
import { CURATION_METRICS } from '../contracts/pipeline-metrics';
import { STATEMENT_TABLES, billedEventsPrefix, closingRecordKey, monthOf, statementKey, statementPartitionPrefix } from '../contracts/billing-statements';
import { LIMITER_ATTRIBUTES, dayCounter, monthCounter, weekCounter } from '../contracts/limiter-item';
import { SOURCE_IP_ATTRIBUTES, sourceIpItemKey } from '../contracts/source-ip-limits';
import { ADMIN_TOKEN_ROUTE, AUDIT_ENTRY_ATTRIBUTES, AUDIT_PARTITION_PREFIX, BUILT_IN_ROUTES, CREDENTIALS_TTL_ATTRIBUTE, METERED_API_TABLES, PUBLIC_ROUTES } from '../contracts/metered-api';
import { ACCOUNT_EVENT_SOURCE, NOTIFICATION_OPT_OUTS_ATTRIBUTE, SIGNAL_ITEM_ATTRIBUTES, SIGNAL_PARTITION_PREFIX } from '../contracts/account-events';
import { SIGNAL_CLAIM_ATTRIBUTE } from '../lambdas/account-events/signal-counters';
import { cooldownKey, notifiedEventKey } from '../lambdas/notifications/notification-store';
import type { ApiUsageTrackerStack } from './api-usage-tracker-stack';
import type { AccountNotifications } from './account-notifications';
import { CREDENTIAL_ITEM_PREFIXES, KEY_LAST_USED_ATTRIBUTE } from './metered-http-api';
import { ATHENA_DEFAULT_DATABASE } from './usage-lake';

/**
 * Permission contracts: every AWS call a runtime component of the stack makes, as data.
 *
 * Each entry names the caller (the component's IAM role, or the AWS service principal that acts
 * for it), the action, the resource ARN as CDK tokens, and the request context the calling
 * service sets. A test resolves the tokens against the synthesized template and evaluates every
 * entry with an IAM policy simulator against the identity policies, the resource policies and
 * the key policies, so a missing grant fails before anyone deploys.
 *
 * Sample object keys and times stand for the names the services choose at run time; prefixes come
 * from `contracts/lake-layout.ts`.
 */

/** Who makes a call: a role of the stack, or an AWS service acting under its own principal. */
export type ContractPrincipal =
  | { readonly kind: 'role'; readonly role: iam.IRole }
  | { readonly kind: 'service'; readonly service: string };

/** One AWS call a component makes at run time. */
export interface PermissionContract {
  /** The runtime component, e.g. `glue job`. */
  readonly component: string;
  readonly principal: ContractPrincipal;
  /** The IAM action, e.g. `s3:GetObject`. */
  readonly action: string;
  /** The resource ARN (CDK tokens allowed); `*` for actions without resource types. */
  readonly resource: string;
  /** Request context the calling service sets (`aws:SourceArn`, `kms:ViaService`, `s3:prefix`, …). */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
  /** Why the component makes this call. */
  readonly why: string;
}

/** Options of {@link runtimePermissionContracts}. */
export interface RuntimePermissionOptions {
  /**
   * A principal given `analytics.grantQuery(...)`: its contract is running a named query end to end.
   * @default - no analyst contract
   */
  readonly analyst?: iam.IRole;
  /**
   * A principal given `billingStatements.grantCloseMonth(...)`: its contract is `billing close`
   * and `billing statement` in AWS.
   * @default - no month closer contract
   */
  readonly monthCloser?: iam.IRole;
}

/** Components the issue requires contracts for; each has at least one entry. */
export const CONTRACT_COMPONENTS = {
  glueJob: 'glue job',
  glueCrawler: 'glue crawler',
  firehose: 'firehose delivery',
  busRuleTarget: 'bus rule target (events → firehose)',
  deadLetterDelivery: 'eventbridge → dead-letter queue',
  alarmsToTopic: 'cloudwatch alarms → alarm topic',
  rulesToTopic: 'glue failure rules → alarm topic',
  viewRefresher: 'view refresher',
  viewRefreshRule: 'view refresh rule target (events → step functions)',
  apiGatewayInvoke: 'api gateway → lambdas',
  accessLogSubscription: 'cloudwatch logs → access-log-usage',
  usageLogSubscription: 'cloudwatch logs → usage-log-forwarder',
  analyst: 'analyst (grantQuery)',
  monthCloser: 'operator closes a month (grantCloseMonth)',
  accountEventsRule: 'account events rule → notifier queue',
  notifier: 'lambda notifier',
  notifierQueue: 'lambda → notifier queue (event source mapping)',
} as const;

/** The metered API's Lambda functions, by the name of their entry file under `lambdas/handlers/`. */
export const METERED_API_FUNCTIONS = [
  'authorizer',
  'token',
  'usage',
  'demo-users',
  'demo-products',
  'admin',
  'admin-token',
  'api-docs',
  'auth',
  'account',
  'access-log-usage',
  'usage-log-forwarder',
  'audit-stream',
] as const;

/** The functions that answer requests: each writes its usage events as log lines, which the forwarder puts on the bus. */
const USAGE_LINE_FUNCTIONS = ['token', 'usage', 'demo-users', 'demo-products', 'admin', 'admin-token', 'api-docs', 'auth', 'account'] as const satisfies readonly MeteredApiFunction[];
export type MeteredApiFunction = (typeof METERED_API_FUNCTIONS)[number];

/** The component name of a metered API Lambda. */
export const lambdaComponent = (name: MeteredApiFunction) => `lambda ${name}`;

// A run at 09:30 UTC on 2025-01-15: the names Firehose, Spark and Athena choose at run time.
const SAMPLE_TIME = new Date(Date.UTC(2025, 0, 15, 9, 30));
const SAMPLE_JOB_RUN = 'jr_0123456789abcdef0123456789abcdef';
const SAMPLE_QUERY_ID = '5f2b7c1d-2e4f-4d7e-9a51-8c1f6e1a0c5f';
const SPARK_JOB_ATTEMPT = 'attempt_202501150930001234567890_0001_m_000000_1';
const SPARK_TASK = 'task_202501150930001234567890_0001_m_000000';
const SPARK_PART = 'part-00000-8c1f6e1a-0c5f-4d7e-9a51-3f2b7c1d2e4f.c000';
// A tenant, a key and an account's EXTID# mapping, as lambdas/credentials/credential-store.ts names them.
const SAMPLE_TENANT_ID = 't-0123456789ab';
const SAMPLE_KEY_ID = 'key_AbCdEfGhIjKl';
const SAMPLE_KEY_HASH = 'a3f1'.repeat(16);
const SAMPLE_POOL_ISSUER = 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEfGhI';
const SAMPLE_EXTERNAL_IDENTITY = JSON.stringify([SAMPLE_POOL_ISSUER, 'subject', '8f3c2a1e-0b4d-4c6e-9f7a-1d2e3f4a5b6c']);

/** Builds the list of every runtime call of the stack's components. */
export function runtimePermissionContracts(stack: ApiUsageTrackerStack, options: RuntimePermissionOptions = {}): PermissionContract[] {
  const builder = new ContractBuilder(stack);
  glueJob(builder, stack);
  glueCrawler(builder, stack);
  firehoseDelivery(builder, stack);
  eventBridgeIngestion(builder, stack);
  accountEventsLake(builder, stack);
  alarmNotifications(builder, stack);
  viewRefresher(builder, stack);
  meteredApi(builder, stack);
  if (options.analyst) analyst(builder, stack, options.analyst);
  if (options.monthCloser) monthCloser(builder, stack, options.monthCloser);
  if (stack.accountNotifications) accountNotifications(builder, stack, stack.accountNotifications);
  return builder.contracts;
}

type Context = Readonly<Record<string, string | readonly string[]>>;

/** Collects contracts, with helpers for the call shapes that repeat (S3 via SSE-KMS, Glue catalog, logs). */
class ContractBuilder {
  public readonly contracts: PermissionContract[] = [];
  public readonly s3ViaService: string;

  constructor(public readonly stack: Stack) {
    this.s3ViaService = `s3.${stack.region}.amazonaws.com`;
  }

  public add(component: string, principal: ContractPrincipal, action: string, resource: string, why: string, context?: Context): void {
    this.contracts.push({ component, principal, action, resource, why, ...(context ? { context } : {}) });
  }

  /** The same call on several actions. */
  public addActions(component: string, principal: ContractPrincipal, actions: readonly string[], resource: string, why: string, context?: Context): void {
    for (const action of actions) this.add(component, principal, action, resource, why, context);
  }

  /**
   * S3 calls KMS with the caller's credentials for SSE-KMS objects: GenerateDataKey to write,
   * Decrypt to read (and to copy). With an S3 Bucket Key the encryption context is the bucket ARN,
   * not the object ARN.
   * https://docs.aws.amazon.com/AmazonS3/latest/userguide/configuring-bucket-key.html
   * https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
   */
  public sseKms(component: string, principal: ContractPrincipal, key: kms.IKey, bucket: s3.IBucket, actions: readonly ('kms:GenerateDataKey' | 'kms:Decrypt')[], why: string, extra: Context = {}): void {
    const context = {
      'kms:ViaService': this.s3ViaService,
      'kms:CallerAccount': this.stack.account,
      'kms:EncryptionContext:aws:s3:arn': bucket.bucketArn,
      ...extra,
    };
    this.addActions(component, principal, actions, key.keyArn, why, context);
  }

  /** `s3:ListBucket` with the prefix the caller lists. */
  public list(component: string, principal: ContractPrincipal, bucket: s3.IBucket, prefix: string, why: string, extra: Context = {}): void {
    this.add(component, principal, 's3:ListBucket', bucket.bucketArn, why, { 's3:prefix': prefix, ...extra });
  }

  /**
   * Glue authorizes a call on a table against the catalog, the database and the table: each must be allowed.
   * https://docs.aws.amazon.com/glue/latest/dg/glue-specifying-resource-arns.html
   */
  public glueTable(component: string, principal: ContractPrincipal, actions: readonly string[], database: string, table: string, why: string, extra?: Context): void {
    for (const resource of [this.glueArn('catalog'), this.glueArn('database', database), this.glueArn('table', `${database}/${table}`)]) {
      this.addActions(component, principal, actions, resource, why, extra);
    }
  }

  public glueDatabase(component: string, principal: ContractPrincipal, actions: readonly string[], database: string, why: string, extra?: Context): void {
    for (const resource of [this.glueArn('catalog'), this.glueArn('database', database)]) {
      this.addActions(component, principal, actions, resource, why, extra);
    }
  }

  public glueArn(resource: 'catalog' | 'database' | 'table', resourceName?: string): string {
    return this.stack.formatArn({ service: 'glue', resource, ...(resourceName ? { resourceName } : {}) });
  }

  public logGroupArn(logGroupName: string): string {
    return this.stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  }

  public logStreamArn(logGroupName: string, logStreamName: string): string {
    return this.logGroupArn(`${logGroupName}:log-stream:${logStreamName}`);
  }

  public executeApiArn(apiId: string, resourceName: string): string {
    return this.stack.formatArn({ service: 'execute-api', resource: apiId, resourceName });
  }
}

const role = (r: iam.IRole): ContractPrincipal => ({ kind: 'role', role: r });
const service = (name: string): ContractPrincipal => ({ kind: 'service', service: name });

function child<T>(scope: IConstruct, id: string, type: abstract new (...args: never[]) => T, what: string): T {
  const found = scope.node.tryFindChild(id);
  if (!(found instanceof type)) throw new Error(`Permission contracts: ${what} is no longer ${scope.node.path}/${id}; update lib/runtime-permissions.ts.`);
  return found;
}

/** `a/b/` + `c` — keys under a prefix. */
const under = (prefix: string, key: string) => `${prefix}${key}`;

/**
 * Spark writes a DataFrame to S3 through an output committer: it checks the output path, writes
 * task files under `<output>/_temporary/`, renames them into place on commit (S3 has no rename:
 * GetObject + PutObject copy, then DeleteObject), writes `_SUCCESS` and deletes `_temporary/`.
 * The EMRFS S3-optimized committer writes in place with multipart uploads instead, and aborts them
 * when a task fails.
 * https://hadoop.apache.org/docs/stable/hadoop-mapreduce-client/hadoop-mapreduce-client-core/manifest_committer_protocol.html
 * https://docs.aws.amazon.com/emr/latest/ReleaseGuide/emr-spark-committer-multipart.html
 */
function sparkWrite(b: ContractBuilder, component: string, principal: ContractPrincipal, bucket: s3.IBucket, output: string, relative: string, why: string): void {
  const attemptFile = under(output, `_temporary/0/_temporary/${SPARK_JOB_ATTEMPT}/${relative}`);
  const taskFile = under(output, `_temporary/0/${SPARK_TASK}/${relative}`);
  const finalFile = under(output, relative);
  const purpose = (step: string) => `${why}: ${step}`;
  b.list(component, principal, bucket, output, purpose('Spark checks the output path and lists task output before committing'));
  b.add(component, principal, 's3:GetObject', bucket.arnForObjects(output), purpose('Spark checks whether the output path exists (HEAD)'));
  b.add(component, principal, 's3:PutObject', bucket.arnForObjects(attemptFile), purpose('a task writes its attempt file under _temporary/'));
  b.add(component, principal, 's3:GetObject', bucket.arnForObjects(attemptFile), purpose('task commit renames the attempt file: copy source'));
  b.add(component, principal, 's3:PutObject', bucket.arnForObjects(taskFile), purpose('task commit renames the attempt file: copy target'));
  b.add(component, principal, 's3:DeleteObject', bucket.arnForObjects(attemptFile), purpose('task commit renames the attempt file: delete source'));
  b.add(component, principal, 's3:GetObject', bucket.arnForObjects(taskFile), purpose('job commit renames the task file into place: copy source'));
  b.add(component, principal, 's3:PutObject', bucket.arnForObjects(finalFile), purpose('job commit renames the task file into place: copy target'));
  b.add(component, principal, 's3:DeleteObject', bucket.arnForObjects(taskFile), purpose('job commit renames the task file into place: delete source'));
  b.add(component, principal, 's3:AbortMultipartUpload', bucket.arnForObjects(finalFile), purpose('the S3-optimized committer aborts its pending multipart upload when a task fails'));
  b.add(component, principal, 's3:PutObject', bucket.arnForObjects(under(output, '_SUCCESS')), purpose('job commit writes the _SUCCESS marker'));
  b.add(component, principal, 's3:DeleteObject', bucket.arnForObjects(under(output, '_temporary/')), purpose('job commit deletes _temporary/'));
  // EMRFS, Glue's s3:// file system, marks each folder it creates with an empty "<folder>_$folder$"
  // object: those of the output folder and its parents sit beside, not under, their prefix.
  // https://stackoverflow.com/questions/42876195/avoid-creation-of-folder-keys-in-s3-with-hadoop-emr
  const folders = output.split('/').filter(Boolean);
  for (let depth = 1; depth <= folders.length; depth++) {
    const marker = `${folders.slice(0, depth).join('/')}_$folder$`;
    b.addActions(component, principal, ['s3:GetObject', 's3:PutObject'], bucket.arnForObjects(marker), purpose('EMRFS checks for and writes the folder marker'));
  }
}

/**
 * Glue writes the logs of a job or crawler with a security configuration (CloudWatch encryption
 * SSE-KMS) to its own log groups under /aws-glue/, which it creates and associates with the key.
 * https://docs.aws.amazon.com/glue/latest/dg/encryption-security-configuration.html
 */
function glueLogs(b: ContractBuilder, component: string, principal: ContractPrincipal, logGroupName: string, why: string): void {
  b.addActions(component, principal, ['logs:CreateLogGroup', 'logs:AssociateKmsKey'], b.logGroupArn(logGroupName), why);
  b.addActions(component, principal, ['logs:CreateLogStream', 'logs:PutLogEvents'], b.logStreamArn(logGroupName, SAMPLE_JOB_RUN), why);
}

function glueJob(b: ContractBuilder, stack: ApiUsageTrackerStack): void {
  const component = CONTRACT_COMPONENTS.glueJob;
  const { lake } = stack;
  const jobRole = role(lake.jobRole);
  const bucket = stack.lakeBucket.bucket;
  const key = stack.lakeBucket.encryptionKey;
  const dayDirs = curatedPartitionPrefix(SAMPLE_TIME).slice(LAKE_PREFIXES.curated.length);

  const script = child(lake, 'JobScript', s3assets.Asset, 'the Glue job script asset');
  b.add(component, jobRole, 's3:GetObject', script.bucket.arnForObjects(script.s3ObjectKey), 'Glue downloads the job script with the job role');

  // Bookmarked read of raw/ (create_dynamic_frame.from_options, recurse).
  const rawObject = `${renderFirehosePrefix(FIREHOSE_RAW_PREFIX, SAMPLE_TIME)}usage-1-2025-01-15-09-15-00-0f1e2d3c.gz`;
  b.list(component, jobRole, bucket, LAKE_PREFIXES.raw, 'the job lists new raw objects (bookmarked, recursive)');
  b.add(component, jobRole, 's3:GetObject', bucket.arnForObjects(rawObject), 'the job reads raw Firehose objects');

  // Dedup against the curated days touched: spark.read.parquet(curated/).
  const existingPart = `${curatedPartitionPrefix(SAMPLE_TIME)}part-00000-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d.c000.snappy.parquet`;
  b.list(component, jobRole, bucket, LAKE_PREFIXES.curated, 'the job reads the curated table to drop event ids already there');
  b.add(component, jobRole, 's3:GetObject', bucket.arnForObjects(existingPart), 'the job reads existing curated Parquet for deduplication');

  sparkWrite(b, component, jobRole, bucket, LAKE_PREFIXES.curated, `${dayDirs}${SPARK_PART}.snappy.parquet`, 'appending curated Parquet partitioned by event day');
  // The index of curated event ids (glue-scripts/usage_events_job.py, CuratedIndex): listed and
  // read for the days touched, a segment written per curated file through the commit protocol,
  // then marked complete by the driver.
  const segment = curatedIndexSegmentKey(existingPart).replace(/([^/]+)$/, 'file=$1/');
  b.list(component, jobRole, bucket, LAKE_PREFIXES.curatedIndex, 'the job lists the index segments of the days a run touches');
  b.add(component, jobRole, 's3:GetObject', bucket.arnForObjects(`${segment}${SPARK_PART}.snappy.parquet`), 'the job reads the index keys of the days a run touches');
  sparkWrite(b, component, jobRole, bucket, LAKE_PREFIXES.curatedIndex, `${segment.slice(LAKE_PREFIXES.curatedIndex.length)}${SPARK_PART}.snappy.parquet`, 'writing index segments of curated files');
  b.add(component, jobRole, 's3:PutObject', bucket.arnForObjects(`${segment}_COMPLETE`), 'the driver marks an index segment complete once its write has returned');
  sparkWrite(
    b,
    component,
    jobRole,
    bucket,
    curationErrorsPartitionPrefix(SAMPLE_TIME),
    `${SPARK_PART}.txt.gz`,
    'writing the records the curation refused, after the curated append and before job.commit()',
  );

  b.sseKms(component, jobRole, key, bucket, ['kms:GenerateDataKey', 'kms:Decrypt'], 'raw/, curated/ and errors/ objects are SSE-KMS with the lake key; renames copy them');
  // CSE-KMS bookmarks: Glue encrypts the bookmark itself with the job role, not through S3.
  // https://docs.aws.amazon.com/glue/latest/dg/encryption-security-configuration.html
  b.addActions(component, jobRole, ['kms:GenerateDataKey', 'kms:Decrypt'], key.keyArn, 'job bookmarks are client-side encrypted (CSE-KMS) with the lake key', {
    'kms:CallerAccount': stack.account,
  });

  const securityConfiguration = lake.securityConfiguration.ref;
  for (const stream of ['output', 'error', 'logs-v2']) {
    glueLogs(b, component, jobRole, `/aws-glue/jobs/${securityConfiguration}-role/${lake.jobRole.roleName}/${stream}`, `Glue writes the job's ${stream} log, encrypted by the security configuration`);
  }
  b.add(component, jobRole, 'cloudwatch:PutMetricData', '*', 'job metrics (--enable-metrics, --enable-observability-metrics) in the Glue namespace', { 'cloudwatch:namespace': 'Glue' });
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html
  b.add(component, jobRole, 'cloudwatch:PutMetricData', '*', 'the job publishes the records it refused and curated in each run (publish_curation_metrics)', { 'cloudwatch:namespace': CURATION_METRICS.namespace });

  // The job keeps the table's columns in step with the contract.
  b.glueTable(component, jobRole, ['glue:GetTable', 'glue:UpdateTable'], lake.databaseName, CATALOG.table, 'the job adds contract columns missing from usage_events');
}

function glueCrawler(b: ContractBuilder, stack: ApiUsageTrackerStack): void {
  const component = CONTRACT_COMPONENTS.glueCrawler;
  const { lake } = stack;
  const crawlerRole = role(lake.crawlerRole);
  const bucket = stack.lakeBucket.bucket;
  // https://docs.aws.amazon.com/glue/latest/dg/define-crawler-configure-security-settings.html
  b.list(component, crawlerRole, bucket, LAKE_PREFIXES.curated, 'the crawler lists the curated table folder');
  b.add(component, crawlerRole, 's3:GetObject', bucket.arnForObjects(`${curatedPartitionPrefix(SAMPLE_TIME)}${SPARK_PART}.snappy.parquet`), 'the crawler reads Parquet footers');
  b.sseKms(component, crawlerRole, stack.lakeBucket.encryptionKey, bucket, ['kms:Decrypt'], 'curated objects are SSE-KMS with the lake key');
  b.glueDatabase(component, crawlerRole, ['glue:GetDatabase'], lake.databaseName, 'the crawler resolves its database');
  b.glueTable(
    component,
    crawlerRole,
    ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable', 'glue:GetPartitions', 'glue:BatchGetPartition', 'glue:BatchCreatePartition', 'glue:BatchUpdatePartition', 'glue:CreatePartitionIndex', 'glue:GetPartitionIndexes'],
    lake.databaseName,
    CATALOG.table,
    'the crawler creates usage_events, adds day partitions and its partition index',
  );
  glueLogs(b, component, crawlerRole, `/aws-glue/crawlers-role/${lake.crawlerRole.roleName}-${lake.securityConfiguration.ref}`, 'Glue writes the crawler log, encrypted by the security configuration');
}

function firehoseDelivery(b: ContractBuilder, stack: ApiUsageTrackerStack): void {
  const component = CONTRACT_COMPONENTS.firehose;
  const { ingestion } = stack;
  const destinationRole = role(child(ingestion.deliveryStream, 'S3 Destination Role', iam.Role, 'the Firehose S3 destination role'));
  const bucket = stack.lakeBucket.bucket;
  // https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-s3
  const rawObject = `${renderFirehosePrefix(FIREHOSE_RAW_PREFIX, SAMPLE_TIME)}usage-1-2025-01-15-09-15-00-0f1e2d3c.gz`;
  const errorObject = `${renderFirehosePrefix(FIREHOSE_ERROR_PREFIX, SAMPLE_TIME, 'processing-failed')}usage-1-2025-01-15-09-15-00-0f1e2d3c`;
  for (const object of [rawObject, errorObject]) {
    b.addActions(component, destinationRole, ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject'], bucket.arnForObjects(object), 'Firehose delivers buffered records (multipart) and backs up failed ones under errors/');
  }
  b.addActions(component, destinationRole, ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], bucket.bucketArn, 'Firehose checks the bucket and its pending multipart uploads');
  b.sseKms(component, destinationRole, stack.lakeBucket.encryptionKey, bucket, ['kms:GenerateDataKey', 'kms:Decrypt'], 'objects are SSE-KMS with the lake key');
  const stream = child(ingestion.deliveryLogGroup, 'S3Destination', logs.LogStream, 'the Firehose delivery log stream');
  b.add(component, destinationRole, 'logs:PutLogEvents', b.logStreamArn(ingestion.deliveryLogGroup.logGroupName, stream.logStreamName), 'Firehose logs delivery errors to its log stream');
}

function eventBridgeIngestion(b: ContractBuilder, stack: ApiUsageTrackerStack): void {
  const { ingestion } = stack;
  const targetRole = role(child(ingestion.deliveryStream, 'EventsRole', iam.Role, 'the rule target role of the delivery stream'));
  b.addActions(CONTRACT_COMPONENTS.busRuleTarget, targetRole, ['firehose:PutRecord', 'firehose:PutRecordBatch'], ingestion.deliveryStream.deliveryStreamArn, 'the rule puts matched usage events on the stream');
  // https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
  b.add(CONTRACT_COMPONENTS.deadLetterDelivery, service('events.amazonaws.com'), 'sqs:SendMessage', ingestion.deadLetterQueue.queueArn, 'EventBridge sends events it could not deliver to the dead-letter queue', {
    'aws:SourceArn': ingestion.rule.ruleArn,
    'aws:SourceAccount': stack.account,
  });
}

/** The account events' own stream into the lake (lib/account-events-lake.ts, issue 16). */
export const ACCOUNT_EVENTS_LAKE_COMPONENTS = {
  firehose: 'account events firehose delivery',
  busRuleTarget: 'bus rule target (account events → firehose)',
  deadLetterDelivery: 'eventbridge → account events dead-letter queue',
} as const;

/**
 * Account events take the usage events' path with their own stream, rule and dead-letter queue:
 * EventBridge puts them on the stream with the rule target's role, Firehose writes account-events/
 * (and errors/account-events/) with its destination role, SSE-KMS with the lake key.
 * https://docs.aws.amazon.com/firehose/latest/dev/controlling-access.html#using-iam-s3
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html
 */
function accountEventsLake(b: ContractBuilder, stack: ApiUsageTrackerStack): void {
  const { accountEventsLake: lake } = stack;
  const component = ACCOUNT_EVENTS_LAKE_COMPONENTS.firehose;
  const destinationRole = role(child(lake.deliveryStream, 'S3 Destination Role', iam.Role, 'the account events Firehose S3 destination role'));
  const bucket = stack.lakeBucket.bucket;
  const object = `${renderFirehosePrefix(FIREHOSE_ACCOUNT_EVENTS_PREFIX, SAMPLE_TIME)}account-events-1-2025-01-15-09-30-00-0f1e2d3c.gz`;
  const errorObject = `${renderFirehosePrefix(FIREHOSE_ACCOUNT_EVENTS_ERROR_PREFIX, SAMPLE_TIME, 'processing-failed')}account-events-1-2025-01-15-09-30-00-0f1e2d3c`;
  for (const key of [object, errorObject]) {
    b.addActions(component, destinationRole, ['s3:PutObject', 's3:AbortMultipartUpload', 's3:GetObject'], bucket.arnForObjects(key), 'Firehose delivers buffered account events (multipart) and backs up failed ones');
  }
  b.addActions(component, destinationRole, ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], bucket.bucketArn, 'Firehose checks the bucket and its pending multipart uploads');
  b.sseKms(component, destinationRole, stack.lakeBucket.encryptionKey, bucket, ['kms:GenerateDataKey', 'kms:Decrypt'], 'objects are SSE-KMS with the lake key');
  const stream = child(lake.deliveryLogGroup, 'S3Destination', logs.LogStream, 'the account events Firehose delivery log stream');
  b.add(component, destinationRole, 'logs:PutLogEvents', b.logStreamArn(lake.deliveryLogGroup.logGroupName, stream.logStreamName), 'Firehose logs delivery errors to its log stream');

  const targetRole = role(child(lake.deliveryStream, 'EventsRole', iam.Role, 'the rule target role of the account events stream'));
  b.addActions(ACCOUNT_EVENTS_LAKE_COMPONENTS.busRuleTarget, targetRole, ['firehose:PutRecord', 'firehose:PutRecordBatch'], lake.deliveryStream.deliveryStreamArn, 'the rule puts matched account events on their stream');
  b.add(ACCOUNT_EVENTS_LAKE_COMPONENTS.deadLetterDelivery, service('events.amazonaws.com'), 'sqs:SendMessage', lake.deadLetterQueue.queueArn, 'EventBridge sends account events it could not deliver to the dead-letter queue', {
    'aws:SourceArn': lake.rule.ruleArn,
    'aws:SourceAccount': stack.account,
  });
}

/**
 * CloudWatch alarms and EventBridge rules publish to the encrypted alarm topic as their service
 * principals: the topic policy must allow them, and the topic key's policy must let them use the key.
 * https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger
 * https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions
 */
function alarmNotifications(b: ContractBuilder, stack: ApiUsageTrackerStack): void {
  const { monitoring } = stack;
  const topic = monitoring.alarmTopic;
  const topicKey = topic instanceof sns.Topic ? topic.masterKey : undefined;
  const publish = (component: string, servicePrincipal: string, sourceArn: string, what: string) => {
    const context = { 'aws:SourceArn': sourceArn, 'aws:SourceAccount': stack.account };
    b.add(component, service(servicePrincipal), 'sns:Publish', topic.topicArn, `${what} notifies the alarm topic`, context);
    if (topicKey) {
      b.addActions(component, service(servicePrincipal), ['kms:GenerateDataKey', 'kms:Decrypt'], topicKey.keyArn, `${what} publishes to a topic encrypted with a customer managed key`, {
        ...context,
        'kms:EncryptionContext:aws:sns:topicArn': topic.topicArn,
      });
    }
  };
  for (const [name, alarm] of Object.entries(monitoring.alarms)) {
    publish(CONTRACT_COMPONENTS.alarmsToTopic, 'cloudwatch.amazonaws.com', alarm.alarmArn, `the ${name} alarm (ALARM and OK actions)`);
  }
  for (const [name, alarm] of Object.entries(monitoring.usageLogForwarderAlarms ?? {})) {
    publish(CONTRACT_COMPONENTS.alarmsToTopic, 'cloudwatch.amazonaws.com', alarm.alarmArn, `the usage-log forwarder's ${name} alarm (ALARM and OK actions)`);
  }
  for (const [name, alarm] of Object.entries(stack.meteredApi.auditStreamAlarms)) {
    publish(CONTRACT_COMPONENTS.alarmsToTopic, 'cloudwatch.amazonaws.com', alarm.alarmArn, `the audit stream's ${name} alarm (ALARM and OK actions)`);
  }
  for (const [name, alarm] of Object.entries(stack.accountEventsLakeAlarms)) {
    publish(CONTRACT_COMPONENTS.alarmsToTopic, 'cloudwatch.amazonaws.com', alarm.alarmArn, `the account events' lake ${name} alarm (ALARM and OK actions)`);
  }
  for (const [name, alarm] of Object.entries(stack.accountNotifications?.alarms ?? {})) {
    publish(CONTRACT_COMPONENTS.alarmsToTopic, 'cloudwatch.amazonaws.com', alarm.alarmArn, `the notifier's ${name} alarm (ALARM and OK actions)`);
  }
  publish(CONTRACT_COMPONENTS.rulesToTopic, 'events.amazonaws.com', monitoring.jobFailureRule.ruleArn, 'the Glue job failure rule');
  publish(CONTRACT_COMPONENTS.rulesToTopic, 'events.amazonaws.com', monitoring.crawlerFailureRule.ruleArn, 'the Glue crawler failure rule');
}

/** Athena makes the S3, Glue and KMS calls of a query with the credentials of whoever started it. */
const viaAthena: Context = { 'aws:CalledVia': ['athena.amazonaws.com'], 'aws:CalledViaFirst': 'athena.amazonaws.com' };

/**
 * What Athena needs of the caller for a query in the workgroup: its result objects under
 * `results/` (SSE-KMS with the key the workgroup enforces).
 * https://docs.aws.amazon.com/athena/latest/ug/security-iam-athena.html
 * https://docs.aws.amazon.com/athena/latest/ug/encryption.html
 */
function athenaResults(b: ContractBuilder, stack: ApiUsageTrackerStack, component: string, principal: ContractPrincipal, readResults: boolean): void {
  const { resultsBucket } = stack.analytics;
  const resultKey = `results/${SAMPLE_QUERY_ID}.csv`;
  b.add(component, principal, 's3:GetBucketLocation', resultsBucket.bucketArn, 'Athena checks the results bucket', viaAthena);
  b.list(component, principal, resultsBucket, 'results/', 'Athena lists the query result location', viaAthena);
  b.addActions(component, principal, ['s3:PutObject', 's3:AbortMultipartUpload'], resultsBucket.arnForObjects(resultKey), 'Athena writes the query result', viaAthena);
  b.add(component, principal, 's3:PutObject', resultsBucket.arnForObjects(`${resultKey}.metadata`), 'Athena writes the result metadata', viaAthena);
  b.sseKms(component, principal, stack.lakeBucket.encryptionKey, resultsBucket, ['kms:GenerateDataKey'], 'results are SSE-KMS with the workgroup key', viaAthena);
  if (readResults) {
    b.add(component, principal, 's3:GetObject', resultsBucket.arnForObjects(resultKey), 'GetQueryResults reads the result object', viaAthena);
    b.sseKms(component, principal, stack.lakeBucket.encryptionKey, resultsBucket, ['kms:Decrypt'], 'reading an SSE-KMS result', viaAthena);
  }
}

function curatedReads(b: ContractBuilder, stack: ApiUsageTrackerStack, component: string, principal: ContractPrincipal, prefixes: readonly string[]): void {
  const bucket = stack.lakeBucket.bucket;
  for (const prefix of prefixes) {
    const object =
      prefix === LAKE_PREFIXES.curated
        ? `${curatedPartitionPrefix(SAMPLE_TIME)}${SPARK_PART}.snappy.parquet`
        : prefix === LAKE_PREFIXES.glueErrors
          ? `${curationErrorsPartitionPrefix(SAMPLE_TIME)}${SPARK_PART}.txt.gz`
          : `${prefix}prices.csv`;
    b.list(component, principal, bucket, prefix, `Athena lists ${prefix}`, viaAthena);
    b.add(component, principal, 's3:GetObject', bucket.arnForObjects(object), `Athena reads ${prefix}`, viaAthena);
  }
  b.sseKms(component, principal, stack.lakeBucket.encryptionKey, bucket, ['kms:Decrypt'], 'lake objects are SSE-KMS with the lake key', viaAthena);
}

function viewRefresher(b: ContractBuilder, stack: ApiUsageTrackerStack): void {
  const { analytics, lake } = stack;
  const refresher = analytics.viewRefresher;
  if (!refresher) return;
  const component = CONTRACT_COMPONENTS.viewRefresher;
  const machineRole = role(refresher.role);
  const views = analytics.queries.filter((query) => query.isView).map((query) => query.name);

  // https://docs.aws.amazon.com/step-functions/latest/dg/connect-athena.html
  b.addActions(component, machineRole, ['athena:StartQueryExecution', 'athena:GetQueryExecution'], analytics.workGroupArn, 'the state machine runs each view query and waits for it (.sync)');
  b.glueTable(component, machineRole, ['glue:GetTable'], lake.databaseName, CATALOG.table, 'the state machine checks that usage_events exists before creating views');
  // CREATE OR REPLACE VIEW: Athena reads the table the view selects from, then creates or replaces the view.
  b.glueDatabase(component, machineRole, ['glue:GetDatabase'], lake.databaseName, 'Athena resolves the query database', viaAthena);
  b.glueDatabase(component, machineRole, ['glue:GetDatabase'], ATHENA_DEFAULT_DATABASE, "Athena looks up the Region's default database", viaAthena);
  b.glueTable(component, machineRole, ['glue:GetTable'], lake.databaseName, CATALOG.table, 'Athena analyses the view query against usage_events', viaAthena);
  for (const view of views) {
    b.glueTable(component, machineRole, ['glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable'], lake.databaseName, view, `Athena creates or replaces the ${view} view`, viaAthena);
  }
  athenaResults(b, stack, component, machineRole, false);
  curatedReads(b, stack, component, machineRole, [LAKE_PREFIXES.curated]);
  // Step Functions delivers execution logs and X-Ray traces with the state machine role.
  // https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html
  b.addActions(component, machineRole, ['logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery', 'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups'], '*', 'execution logging to CloudWatch Logs (level ALL)');
  b.addActions(component, machineRole, ['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets'], '*', 'X-Ray tracing is enabled');

  const ruleRole = role(child(refresher, 'EventsRole', iam.Role, 'the rule target role of the view refresher'));
  b.add(CONTRACT_COMPONENTS.viewRefreshRule, ruleRole, 'states:StartExecution', refresher.stateMachineArn, 'a successful crawl starts the view refresher');
}

type MeteredApiFunctions = Readonly<Record<MeteredApiFunction, lambda.Function>>;

/** The execution role of a metered API function, as a contract principal. */
function functionRole(fn: lambda.Function): ContractPrincipal {
  if (!fn.role) throw new Error(`Permission contracts: ${fn.node.path} has no execution role; update lib/runtime-permissions.ts.`);
  return role(fn.role);
}

function meteredApi(b: ContractBuilder, stack: ApiUsageTrackerStack): void {
  const api = stack.meteredApi;
  const functions = Object.fromEntries(
    METERED_API_FUNCTIONS.map((name) => [
      name,
      name === 'authorizer' ? api.authorizerFunction : child(api, `${name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}Function`, lambda.Function, `the ${name} function`),
    ]),
  ) as MeteredApiFunctions;
  functionBaseline(b, stack, functions);
  authorizerCalls(b, stack, functions);
  adminTokenCalls(b, stack, functions);
  limiterCalls(b, stack, functions);
  sourceIpCalls(b, stack, functions);
  b.add(lambdaComponent('token'), functionRole(functions.token), 'secretsmanager:GetSecretValue', api.tenantTokenSecret.secretArn, 'mints tenant tokens (HS256)');
  adminCalls(b, stack, functions);
  authCalls(b, stack, functions);
  accountCalls(b, stack, functions);
  signalCounterCalls(b, stack, functions);
  auditStreamCalls(b, stack, functions);
  apiInvocations(b, stack, functions);
}

/**
 * What every function does: its log and its traces. Only the two forwarders call PutEvents: the
 * access-log function for the gateway's own answers, the usage-log forwarder for the usage lines
 * every route function logs; and the forwarder sends what it cannot deliver to its queue.
 */
function functionBaseline(b: ContractBuilder, stack: ApiUsageTrackerStack, functions: MeteredApiFunctions): void {
  const bus = stack.ingestion.eventBus;
  for (const name of METERED_API_FUNCTIONS) {
    const fn = functions[name];
    const component = lambdaComponent(name);
    const fnRole = functionRole(fn);
    // Lambda writes the function's logs and traces with its execution role.
    // https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html
    b.addActions(component, fnRole, ['logs:CreateLogStream', 'logs:PutLogEvents'], b.logStreamArn(fn.logGroup.logGroupName, '2025/01/15/[$LATEST]0123456789abcdef'), 'Lambda writes the function log');
    b.addActions(component, fnRole, ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], '*', 'active X-Ray tracing');
    // The tables use the AWS managed DynamoDB key and the secrets the AWS managed Secrets Manager
    // key: their key policies allow the account's principals through those services, so the
    // functions make no KMS call of their own.
    if (name === 'access-log-usage' || name === 'usage-log-forwarder') {
      b.add(component, fnRole, 'events:PutEvents', bus.eventBusArn, 'every answer is recorded as a usage event on the bus');
      b.add(component, fnRole, 'events:PutEvents', bus.eventBusArn, 'signal events (spikes, failed authentications) and quota thresholds go on the bus as account events', { 'events:source': [ACCOUNT_EVENT_SOURCE] });
    }
  }
  // https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html (the execution role sends the record)
  b.add(lambdaComponent('usage-log-forwarder'), functionRole(functions['usage-log-forwarder']), 'sqs:SendMessage', stack.meteredApi.usageLogDeadLetterQueue.queueArn, 'Lambda sends a delivery the forwarder failed, after its retries, to the on-failure queue');
  b.add(lambdaComponent('access-log-usage'), functionRole(functions['access-log-usage']), 'sqs:SendMessage', stack.meteredApi.usageLogDeadLetterQueue.queueArn, 'Lambda sends an access-log delivery it failed, after its retries, to the same on-failure queue');
}

function authorizerCalls(b: ContractBuilder, stack: ApiUsageTrackerStack, functions: MeteredApiFunctions): void {
  const api = stack.meteredApi;
  const authorizer = functionRole(functions.authorizer);
  b.add(lambdaComponent('authorizer'), authorizer, 'dynamodb:GetItem', api.tables.credentials.tableArn, 'looks up an API key by its hash, or an admin token\'s revocation');
  // Both possible mappings of an external token (its subject's, its app client's) in one request
  // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html: BatchGetItem is its own action).
  b.add(lambdaComponent('authorizer'), authorizer, 'dynamodb:BatchGetItem', api.tables.credentials.tableArn, 'looks up an external identity\'s mappings, subject and app client, in one request');
  b.add(lambdaComponent('authorizer'), authorizer, 'dynamodb:UpdateItem', api.tables.credentials.tableArn, 'notes when a key was last used on the by-hash record, at most once per KEY_LAST_USED_RESOLUTION_SECONDS per key (CredentialStore.touchLastUsed)', {
    'dynamodb:LeadingKeys': [`${CREDENTIAL_ITEM_PREFIXES.keyHash}${SAMPLE_KEY_HASH}`],
    'dynamodb:Attributes': ['pk', KEY_LAST_USED_ATTRIBUTE],
  });
  // Account tokens are verified against the pool's JWKS, a public URL: no AWS call, no permission.
  b.add(lambdaComponent('authorizer'), authorizer, 'secretsmanager:GetSecretValue', api.tenantTokenSecret.secretArn, 'verifies tenant tokens (HS256)');
  // The key policy names the authorizer for GetPublicKey only: it verifies admin tokens and can never sign one.
  b.add(lambdaComponent('authorizer'), authorizer, 'kms:GetPublicKey', api.adminTokenKey.keyArn, 'verifies admin tokens (ES256) with the admin token key\'s public half');
}

/** POST /v1/admin/token: signs with the admin token key (named in its key policy) and audits the mint. */
function adminTokenCalls(b: ContractBuilder, stack: ApiUsageTrackerStack, functions: MeteredApiFunctions): void {
  const api = stack.meteredApi;
  const minter = functionRole(functions['admin-token']);
  const minterComponent = lambdaComponent('admin-token');
  b.add(minterComponent, minter, 'kms:Sign', api.adminTokenKey.keyArn, 'signs admin tokens for the IAM principal API Gateway verified');
  b.add(minterComponent, minter, 'dynamodb:PutItem', api.tables.audit.tableArn, 'records each minted admin token (actor: the principal ARN) in the audit log', {
    'dynamodb:LeadingKeys': [`${AUDIT_PARTITION_PREFIX}2025-01`],
    'dynamodb:Attributes': [...AUDIT_ENTRY_ATTRIBUTES],
    'dynamodb:ReturnValues': 'NONE',
  });
  const [method, routePath] = ADMIN_TOKEN_ROUTE.routeKey.split(' ');
  b.add(CONTRACT_COMPONENTS.apiGatewayInvoke, service('apigateway.amazonaws.com'), 'lambda:InvokeFunction', functions['admin-token'].functionArn, `API Gateway invokes ${ADMIN_TOKEN_ROUTE.routeKey}`, {
    'aws:SourceArn': b.executeApiArn(api.httpApi.apiId, `$default/${method}${routePath}`),
    'aws:SourceAccount': stack.account,
  });
}

/**
 * The attribute names each limiter call of a metered route carries (`dynamodb:Attributes`: key,
 * update, condition and projection), as lambdas/limiter/token-bucket-limiter.ts sends them at SAMPLE_TIME.
 */
function limiterCalls(b: ContractBuilder, stack: ApiUsageTrackerStack, functions: MeteredApiFunctions): void {
  const metered = new Set(BUILT_IN_ROUTES.filter((route) => route.metered).map((route) => route.handler));
  const day = (daysBack: number) => dayCounter(new Date(SAMPLE_TIME.getTime() - daysBack * 86_400_000));
  const month = (monthsBack: number) => monthCounter(new Date(Date.UTC(SAMPLE_TIME.getUTCFullYear(), SAMPLE_TIME.getUTCMonth() - monthsBack, 1)));
  const week = (weeksBack: number) => weekCounter(new Date(SAMPLE_TIME.getTime() - weeksBack * 7 * 86_400_000));
  const { pk, tat, tier, blocked, blockedKeys, revokedKeys, revokedSeen, revokedSeenAt } = LIMITER_ATTRIBUTES;
  const calls = [
    ['dynamodb:UpdateItem', [pk, tat, tier, blocked, blockedKeys, revokedKeys, day(0), month(0), day(2), month(2), revokedSeen, revokedSeenAt], 'the limiter decides with one conditional UpdateItem on the tenant item, counting and tidying on the way'],
    ['dynamodb:UpdateItem', [pk, tat, tier, blocked, blockedKeys, revokedKeys, day(0), month(0), week(0), day(2), month(2), week(2)], "where a tier's quota is weekly, the same write counts (and tidies) the ISO week too, and its condition holds the quota"],
    ['dynamodb:UpdateItem', [pk, day(3), month(3), revokedSeen, revokedSeenAt, revokedKeys, blockedKeys], 'the limiter tidies the tenant item after an admitting write (old counters, expired revocations)'],
    ['dynamodb:GetItem', [pk, tier, blocked, blockedKeys, revokedKeys], "when its write fails, the limiter reads the item's blocks and revocations (consistent read) before failing open"],
  ] as const;
  for (const name of metered) {
    for (const [action, attributes, why] of calls) {
      b.add(lambdaComponent(name), functionRole(functions[name]), action, stack.meteredApi.tables.limiter.tableArn, why, { 'dynamodb:Attributes': [...attributes] });
    }
  }
}

/**
 * The token exchange's source IP guard (lambdas/limiter/source-ip-guard.ts): one conditional
 * UpdateItem per decision on the caller's `IP#…` item, naming only that item's attributes.
 */
function sourceIpCalls(b: ContractBuilder, stack: ApiUsageTrackerStack, functions: MeteredApiFunctions): void {
  const { pk, tat } = LIMITER_ATTRIBUTES;
  const { offences, offencesSince, bannedUntil, bans, banHistoryEnds, expiresAt } = SOURCE_IP_ATTRIBUTES;
  const calls = [
    [[pk, tat, bannedUntil, banHistoryEnds, expiresAt], 'the source IP guard admits a request: GCRA on the address\'s item, unless it is banned'],
    [[pk, tat, bannedUntil, offences, offencesSince], 'the source IP guard counts a request the rate refused as an offence'],
    [[pk, tat, offences, offencesSince, bannedUntil, bans, banHistoryEnds, expiresAt], 'the source IP guard bans an address after repeated offences, for longer each time'],
  ] as const;
  // Behind CloudFront the guard is off (the edge's WAF limits these routes per viewer) and so is its grant.
  const guarded = stack.meteredApi.sourceIpGuard ? (['token', 'auth'] as const) : [];
  for (const name of guarded) {
    for (const [attributes, why] of calls) {
      b.add(lambdaComponent(name), functionRole(functions[name]), 'dynamodb:UpdateItem', stack.meteredApi.tables.limiter.tableArn, why, {
        'dynamodb:Attributes': [...attributes],
        'dynamodb:LeadingKeys': [sourceIpItemKey('203.0.113.7')],
      });
    }
  }
}

function adminCalls(b: ContractBuilder, stack: ApiUsageTrackerStack, functions: MeteredApiFunctions): void {
  const { tables } = stack.meteredApi;
  const admin = functionRole(functions.admin);
  const adminComponent = lambdaComponent('admin');
  const byEntity = METERED_API_TABLES.credentials.globalSecondaryIndexes[0].indexName;
  b.addActions(adminComponent, admin, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], tables.credentials.tableArn, 'tenants and keys: create, read, block, revoke; the calling admin key\'s status on every admin request');
  b.add(adminComponent, admin, 'dynamodb:Query', `${tables.credentials.tableArn}/index/${byEntity}`, 'lists tenants, and a tenant\'s keys and external identities (whose tier hints a tier change rewrites), through the byEntity index');
  // Each change and its audit entry are one TransactWriteItems, whose actions need the underlying
  // PutItem/UpdateItem, and dynamodb:ConditionCheckItem for a ConditionCheck
  // (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
  b.add(adminComponent, admin, 'dynamodb:ConditionCheckItem', tables.credentials.tableArn, 'checks, in the same transaction, that the tenant a key or an external identity is created for exists and still has the tier recorded with it');
  b.addActions(adminComponent, admin, ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], tables.limiter.tableArn, 'the enforcement copy of tier and blocks on the limiter item, read before a tier change (a raised tier also clears the bucket\'s debt)');
  // Append-only: a PutItem of an entry's attributes in an audit partition, and reading by month.
  b.add(adminComponent, admin, 'dynamodb:PutItem', tables.audit.tableArn, 'appends an entry to the audit log (with attribute_not_exists, so never over another)', {
    'dynamodb:LeadingKeys': [`${AUDIT_PARTITION_PREFIX}2025-01`],
    'dynamodb:Attributes': [...AUDIT_ENTRY_ATTRIBUTES],
    'dynamodb:ReturnValues': 'NONE',
  });
  b.add(adminComponent, admin, 'dynamodb:Query', tables.audit.tableArn, 'reads the audit log by month');
}

/** An audit entry of the sample month: what the admin, auth and account functions append. */
const auditAppend = (): Context => ({
  'dynamodb:LeadingKeys': [`${AUDIT_PARTITION_PREFIX}2025-01`],
  'dynamodb:Attributes': [...AUDIT_ENTRY_ATTRIBUTES],
  'dynamodb:ReturnValues': 'NONE',
});

/**
 * The `auth` routes (lambdas/handlers/auth.ts): SignUp, ConfirmSignUp, InitiateAuth and
 * RevokeToken are public Cognito operations, authorized by the app client id and the user's
 * tokens, not IAM (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pools-API-operations.html),
 * so no Cognito call is declared here. A registration creates the account's own tenant in one
 * TransactWriteItems (CredentialStore.createOwnedTenant): the tenant record and the subject's
 * EXTID# mapping with their conditions, the limiter item and the audit entry; sign-in reads the
 * mappings back (BatchGetItem, as the authorizer does) and creates the tenant if registration's write was lost.
 */
function authCalls(b: ContractBuilder, stack: ApiUsageTrackerStack, functions: MeteredApiFunctions): void {
  const { tables } = stack.meteredApi;
  const auth = functionRole(functions.auth);
  const component = lambdaComponent('auth');
  const tenantKey = [`${CREDENTIAL_ITEM_PREFIXES.tenant}${SAMPLE_TENANT_ID}`];
  const mappingKey = [`${CREDENTIAL_ITEM_PREFIXES.externalIdentity}${SAMPLE_EXTERNAL_IDENTITY}`];
  b.add(component, auth, 'dynamodb:PutItem', tables.credentials.tableArn, 'creates the new account\'s tenant record (attribute_not_exists)', { 'dynamodb:LeadingKeys': tenantKey });
  b.add(component, auth, 'dynamodb:PutItem', tables.credentials.tableArn, 'maps the account\'s pool subject to its tenant (EXTID#, attribute_not_exists)', { 'dynamodb:LeadingKeys': mappingKey });
  b.add(component, auth, 'dynamodb:BatchGetItem', tables.credentials.tableArn, 'finds the tenant of an account at sign-in: its subject\'s and its app client\'s mappings, as the authorizer looks them up', {
    'dynamodb:LeadingKeys': [mappingKey[0], `${CREDENTIAL_ITEM_PREFIXES.externalIdentity}${JSON.stringify([SAMPLE_POOL_ISSUER, 'client', 'app-client-id'])}`],
  });
  const { pk, tier, blocked } = LIMITER_ATTRIBUTES;
  b.add(component, auth, 'dynamodb:PutItem', tables.limiter.tableArn, 'creates the new tenant\'s limiter item: its tier, not blocked (LimiterItemWrites.create)', {
    'dynamodb:LeadingKeys': tenantKey,
    'dynamodb:Attributes': [pk, tier, blocked],
  });
  b.add(component, auth, 'dynamodb:PutItem', tables.audit.tableArn, 'records each registration in the audit log', auditAppend());
}

/**
 * The account routes (lambdas/handlers/account.ts): the signed-in account's tenant and its keys.
 * Creating a key is one TransactWriteItems of a ConditionCheck on the tenant (its tier), the
 * key's two records (by hash, by id) and the audit entry; rotating adds an Update of the old key's
 * records (its expiry); revoking updates both records and puts the key on the tenant's limiter
 * item, with the audit entry; listing reads the tenant's keys through the byEntity index.
 */
function accountCalls(b: ContractBuilder, stack: ApiUsageTrackerStack, functions: MeteredApiFunctions): void {
  const { tables } = stack.meteredApi;
  const account = functionRole(functions.account);
  const component = lambdaComponent('account');
  const { tenant, key, keyHash } = CREDENTIAL_ITEM_PREFIXES;
  const tenantKey = [`${tenant}${SAMPLE_TENANT_ID}`];
  const keyRecords = [`${key}${SAMPLE_KEY_ID}`, `${keyHash}${SAMPLE_KEY_HASH}`];
  b.add(component, account, 'dynamodb:GetItem', tables.credentials.tableArn, 'reads the account\'s tenant (GET /v1/auth/me, and its tier for a new key)', { 'dynamodb:LeadingKeys': tenantKey });
  b.add(component, account, 'dynamodb:ConditionCheckItem', tables.credentials.tableArn, 'checks, in the key\'s transaction, that the tenant still has the tier read', { 'dynamodb:LeadingKeys': tenantKey });
  b.add(component, account, 'dynamodb:GetItem', tables.credentials.tableArn, 'reads a key by id (consistently) before rotating or revoking it', { 'dynamodb:LeadingKeys': [keyRecords[0]] });
  for (const record of keyRecords) {
    b.addActions(component, account, ['dynamodb:PutItem', 'dynamodb:UpdateItem'], tables.credentials.tableArn, 'creates a key\'s records, sets a rotated key\'s expiry, revokes a key', { 'dynamodb:LeadingKeys': [record] });
  }
  const byEntity = METERED_API_TABLES.credentials.globalSecondaryIndexes[0].indexName;
  b.add(component, account, 'dynamodb:Query', `${tables.credentials.tableArn}/index/${byEntity}`, 'lists the tenant\'s keys (and counts them against MAX_KEYS_PER_TENANT)');
  b.add(component, account, 'dynamodb:BatchGetItem', tables.credentials.tableArn, 'reads the listed keys\' by-hash records, where the authorizer notes lastUsedAt', { 'dynamodb:LeadingKeys': [keyRecords[1]] });
  const { pk, revokedKeys } = LIMITER_ATTRIBUTES;
  b.add(component, account, 'dynamodb:UpdateItem', tables.limiter.tableArn, 'puts a revoked key on the tenant\'s limiter item, which refuses it from the next request on', {
    'dynamodb:LeadingKeys': tenantKey,
    'dynamodb:Attributes': [pk, revokedKeys],
  });
  b.add(component, account, 'dynamodb:PutItem', tables.audit.tableArn, 'records each key created, rotated or revoked in the audit log', auditAppend());
  // Issue 16: PUT /v1/notifications, an Update of the tenant record's opt-outs alone in the audit entry's TransactWriteItems,
  // authorized as UpdateItem (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
  b.add(component, account, 'dynamodb:UpdateItem', tables.credentials.tableArn, 'sets the tenant\'s notification opt-outs (attribute_exists(pk)), that attribute alone', {
    'dynamodb:LeadingKeys': tenantKey,
    'dynamodb:Attributes': ['pk', NOTIFICATION_OPT_OUTS_ATTRIBUTE],
    'dynamodb:ReturnValues': 'NONE',
  });
}

/** API Gateway invokes the route functions and the authorizer; CloudWatch Logs the access-log function. */
function apiInvocations(b: ContractBuilder, stack: ApiUsageTrackerStack, functions: MeteredApiFunctions): void {
  const api = stack.meteredApi;
  const apiId = api.httpApi.apiId;
  // The reference routes (no authorizer) invoke the api-docs function, which makes no AWS call of its own.
  for (const route of [...BUILT_IN_ROUTES, ...PUBLIC_ROUTES]) {
    const [method, routePath] = route.routeKey.split(' ');
    b.add(CONTRACT_COMPONENTS.apiGatewayInvoke, service('apigateway.amazonaws.com'), 'lambda:InvokeFunction', functions[route.handler].functionArn, `API Gateway invokes ${route.routeKey}`, {
      'aws:SourceArn': b.executeApiArn(apiId, `$default/${method}${routePath}`),
      'aws:SourceAccount': stack.account,
    });
  }
  const authorizers = api.node.findAll().filter((c): c is apigwv2.CfnAuthorizer => c instanceof apigwv2.CfnAuthorizer);
  if (authorizers.length === 0) throw new Error('Permission contracts: the metered API has no Lambda authorizer any more; update lib/runtime-permissions.ts.');
  // Each authorizer invokes the function through the alias of its name, which tells it the access to grant.
  const aliases = api.authorizerFunction.node.findAll().filter((c): c is lambda.Alias => c instanceof lambda.Alias);
  for (const cfnAuthorizer of authorizers) {
    const alias = aliases.find((candidate) => (candidate.node.defaultChild as lambda.CfnAlias).name === cfnAuthorizer.name);
    if (!alias) throw new Error(`Permission contracts: the ${cfnAuthorizer.name} authorizer has no alias of its name on the authorizer function; update lib/runtime-permissions.ts.`);
    b.add(CONTRACT_COMPONENTS.apiGatewayInvoke, service('apigateway.amazonaws.com'), 'lambda:InvokeFunction', alias.functionArn, `API Gateway invokes the ${cfnAuthorizer.name} authorizer`, {
      'aws:SourceArn': b.executeApiArn(apiId, `authorizers/${cfnAuthorizer.ref}`),
      'aws:SourceAccount': stack.account,
    });
  }
  // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#LambdaFunctionExample
  b.add(CONTRACT_COMPONENTS.accessLogSubscription, service('logs.amazonaws.com'), 'lambda:InvokeFunction', functions['access-log-usage'].functionArn, 'the access log subscription filter delivers gateway answers', {
    'aws:SourceArn': api.accessLogGroup.logGroupArn,
    'aws:SourceAccount': stack.account,
  });
  for (const name of USAGE_LINE_FUNCTIONS) {
    b.add(CONTRACT_COMPONENTS.usageLogSubscription, service('logs.amazonaws.com'), 'lambda:InvokeFunction', functions['usage-log-forwarder'].functionArn, `the usage-line subscription filter on the ${name} function's log delivers its usage events`, {
      'aws:SourceArn': functions[name].logGroup.logGroupArn,
      'aws:SourceAccount': stack.account,
    });
  }
}

/**
 * The forwarders' signal counters (lambdas/account-events/signal-counters.ts): an ADD to the
 * window's `SIGNAL#…` item with `ReturnValues: ALL_NEW`, then conditional UpdateItems that claim,
 * mark and release the raise; each names only the counter's own attributes.
 */
function signalCounterCalls(b: ContractBuilder, stack: ApiUsageTrackerStack, functions: MeteredApiFunctions): void {
  const { pk, expiresAt, count, raisedAt } = { pk: LIMITER_ATTRIBUTES.pk, expiresAt: SOURCE_IP_ATTRIBUTES.expiresAt, ...SIGNAL_ITEM_ATTRIBUTES };
  const counters = [
    ['usage-log-forwarder', `${SIGNAL_PARTITION_PREFIX}rate-limit-spike#${SAMPLE_TENANT_ID}#29000000`, '429s of a tenant'],
    ['access-log-usage', `${SIGNAL_PARTITION_PREFIX}auth-failures#203.0.113.7#29000000`, '401s and 403s from a source'],
  ] as const;
  for (const [name, key, what] of counters) {
    const principal = functionRole(functions[name]);
    const limiter = stack.meteredApi.tables.limiter.tableArn;
    b.add(lambdaComponent(name), principal, 'dynamodb:UpdateItem', limiter, `adds the delivery's ${what} to the window's counter and reads the count after the add`, {
      'dynamodb:LeadingKeys': [key],
      'dynamodb:Attributes': [pk, count, expiresAt],
      'dynamodb:ReturnValues': 'ALL_NEW',
    });
    b.add(lambdaComponent(name), principal, 'dynamodb:UpdateItem', limiter, 'claims, marks or releases the raise of the window\'s event (conditional)', {
      'dynamodb:LeadingKeys': [key],
      'dynamodb:Attributes': [pk, raisedAt, SIGNAL_CLAIM_ATTRIBUTE],
    });
  }
}

/**
 * The audit outbox: Lambda reads the audit table's stream with the function's execution role
 * (DescribeStream, GetRecords, GetShardIterator, ListStreams:
 * https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-eventsourcemapping.html), the
 * function puts each new entry's account event on the bus, and Lambda sends a batch it gave up on
 * to the on-failure queue, with the execution role too
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html).
 */
function auditStreamCalls(b: ContractBuilder, stack: ApiUsageTrackerStack, functions: MeteredApiFunctions): void {
  const api = stack.meteredApi;
  const component = lambdaComponent('audit-stream');
  const principal = functionRole(functions['audit-stream']);
  const streamArn = api.tables.audit.tableStreamArn;
  if (!streamArn) throw new Error('Permission contracts: the audit table has no stream any more; update lib/runtime-permissions.ts.');
  b.addActions(component, principal, ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'], streamArn, 'Lambda reads the audit table\'s stream for the function');
  b.add(component, principal, 'dynamodb:ListStreams', '*', 'Lambda lists the table\'s streams (ListStreams has no resource type)');
  b.add(component, principal, 'events:PutEvents', stack.ingestion.eventBus.eventBusArn, 'each new audit entry goes on the bus as an account event', { 'events:source': [ACCOUNT_EVENT_SOURCE] });
  b.add(component, principal, 'sqs:SendMessage', api.auditStreamDeadLetterQueue.queueArn, 'Lambda records a stream batch it gave up on in the on-failure queue');
}

/**
 * The notifier (lib/account-notifications.ts): EventBridge puts account events on its queue (and
 * what it cannot, on the rule target's dead-letter queue: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html),
 * Lambda polls the queue with the function's role
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html), and the function
 * reads tenants, writes its NOTIFY… items (lambdas/notifications/notification-store.ts, the
 * attributes each call names) and sends with SES v2 (its sending identity).
 */
function accountNotifications(b: ContractBuilder, stack: ApiUsageTrackerStack, notifications: AccountNotifications): void {
  const ruleContext = { 'aws:SourceArn': notifications.rule.ruleArn, 'aws:SourceAccount': stack.account };
  b.add(CONTRACT_COMPONENTS.accountEventsRule, service('events.amazonaws.com'), 'sqs:SendMessage', notifications.queue.queueArn, 'the rule puts each account event on the notifier\'s queue', ruleContext);
  b.add(CONTRACT_COMPONENTS.accountEventsRule, service('events.amazonaws.com'), 'sqs:SendMessage', notifications.ruleDeadLetterQueue.queueArn, 'EventBridge sends events it could not put on the queue to the target\'s dead-letter queue', ruleContext);
  if (!notifications.notifier.role) throw new Error('Permission contracts: the notifier has no execution role; update lib/runtime-permissions.ts.');
  const principal = role(notifications.notifier.role);
  const queue: sqs.IQueue = notifications.queue;
  b.addActions(CONTRACT_COMPONENTS.notifierQueue, principal, ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueAttributes'], queue.queueArn, 'Lambda polls the queue for the notifier and deletes what it handled');
  const fnLog = notifications.notifier.logGroup.logGroupName;
  b.addActions(CONTRACT_COMPONENTS.notifier, principal, ['logs:CreateLogStream', 'logs:PutLogEvents'], b.logStreamArn(fnLog, '2025/01/15/[$LATEST]0123456789abcdef'), 'Lambda writes the function log');
  b.addActions(CONTRACT_COMPONENTS.notifier, principal, ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], '*', 'active X-Ray tracing');
  const table = stack.meteredApi.tables.credentials.tableArn;
  const event = [notifiedEventKey('audit.20250115T093000Z.abc123')];
  const cooldown = [cooldownKey(SAMPLE_TENANT_ID, 'quota-80')];
  const calls: [string, readonly string[], readonly string[], string][] = [
    ['dynamodb:PutItem', event, ['pk', 'state', 'token', 'leaseUntil', CREDENTIALS_TTL_ATTRIBUTE], 'claims an event (conditional, with a lease)'],
    ['dynamodb:UpdateItem', event, ['pk', 'state', 'token', 'messageId'], 'records how a claimed event ended'],
    ['dynamodb:DeleteItem', event, ['pk', 'token'], 'releases its claim after a failed send'],
    ['dynamodb:PutItem', cooldown, ['pk', 'until', 'heldBy', CREDENTIALS_TTL_ATTRIBUTE], 'takes the tenant\'s cooldown of a kind'],
    ['dynamodb:DeleteItem', cooldown, ['pk', 'heldBy'], 'releases the cooldown after a failed send'],
  ];
  for (const [action, keys, attributes, why] of calls) b.add(CONTRACT_COMPONENTS.notifier, principal, action, table, why, { 'dynamodb:LeadingKeys': keys, 'dynamodb:Attributes': attributes });
  b.add(CONTRACT_COMPONENTS.notifier, principal, 'dynamodb:GetItem', table, 'reads the tenant\'s contact and its opt-outs', { 'dynamodb:LeadingKeys': [`${CREDENTIAL_ITEM_PREFIXES.tenant}${SAMPLE_TENANT_ID}`] });
  const from = notifications.from;
  for (const identity of [from, from.slice(from.lastIndexOf('@') + 1)]) {
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsimpleemailservicev2.html (SendEmail: identity)
    b.add(CONTRACT_COMPONENTS.notifier, principal, 'ses:SendEmail', stack.formatArn({ service: 'ses', resource: 'identity', resourceName: identity }), `sends from ${from} (SES authorizes the address's identity, or its domain's)`);
  }
}

/** Running a named query end to end: start it, wait, read its result rows. */
function analyst(b: ContractBuilder, stack: ApiUsageTrackerStack, analystRole: iam.IRole): void {
  const component = CONTRACT_COMPONENTS.analyst;
  const principal = role(analystRole);
  const { analytics, lake } = stack;
  b.addActions(component, principal, ['athena:ListNamedQueries', 'athena:GetNamedQuery', 'athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults'], analytics.workGroupArn, 'finds a named query, runs it and reads its rows');
  b.glueDatabase(component, principal, ['glue:GetDatabase'], lake.databaseName, 'Athena resolves the query database', viaAthena);
  // https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html#full-access-to-default-db-per-region
  b.glueDatabase(component, principal, ['glue:GetDatabase'], ATHENA_DEFAULT_DATABASE, "Athena looks up the Region's default database", viaAthena);
  for (const table of [CATALOG.table, PRICE_LIST.table]) {
    b.glueTable(component, principal, ['glue:GetTable', 'glue:GetPartitions'], lake.databaseName, table, `named queries read ${table}`, viaAthena);
  }
  for (const view of analytics.queries.filter((query) => query.isView).map((query) => query.name)) {
    b.glueTable(component, principal, ['glue:GetTable'], lake.databaseName, view, `named queries read the ${view} view`, viaAthena);
  }
  // rejected_records: partition projection computes the partitions, so Athena reads the table only.
  // https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html
  b.glueTable(component, principal, ['glue:GetTable'], lake.databaseName, CURATION_ERRORS.table, `rejected_records reads ${CURATION_ERRORS.table}`, viaAthena);
  b.glueTable(component, principal, ['glue:GetTable'], lake.databaseName, ACCOUNT_EVENTS_TABLE.table, `account_events_by_tenant reads ${ACCOUNT_EVENTS_TABLE.table} (projected partitions)`, viaAthena);
  curatedReads(b, stack, component, principal, [LAKE_PREFIXES.curated, PRICE_LIST.prefix, LAKE_PREFIXES.glueErrors, LAKE_PREFIXES.accountEvents]);
  athenaResults(b, stack, component, principal, true);
}

/**
 * `usage-tracker billing close` and `billing statement` in AWS: the CLI reads and creates the
 * closing record and the statements itself, with `If-None-Match: *` (the bucket policy denies a
 * write without it); Athena reads the billable events and the statement tables and UNLOADs the
 * billed event ids with the caller's credentials, into a folder of its own that it first checks
 * is empty. https://docs.aws.amazon.com/athena/latest/ug/unload.html
 */
function monthCloser(b: ContractBuilder, stack: ApiUsageTrackerStack, closerRole: iam.IRole): void {
  const component = CONTRACT_COMPONENTS.monthCloser;
  const principal = role(closerRole);
  const { analytics, lake } = stack;
  const bucket = stack.lakeBucket.bucket;
  const key = stack.lakeBucket.encryptionKey;
  const month = monthOf(SAMPLE_TIME);
  const statement = statementKey(month, 'tenant-a');
  const conditional = { 's3:if-none-match': '*' };

  b.list(component, principal, bucket, STATEMENT_TABLES.closings.prefix, 'finds the closed months (months close in order)');
  b.add(component, principal, 's3:GetObject', bucket.arnForObjects(closingRecordKey(month)), 'reads the closing record: is the month closed already?');
  b.add(component, principal, 's3:PutObject', bucket.arnForObjects(closingRecordKey(month)), 'commits the closing: the record is created only if absent', conditional);
  b.list(component, principal, bucket, statementPartitionPrefix(STATEMENT_TABLES.statements, month), 'lists the statements of a closed month');
  b.add(component, principal, 's3:PutObject', bucket.arnForObjects(statement), 'writes one statement per tenant, only if absent', conditional);
  b.add(component, principal, 's3:GetObject', bucket.arnForObjects(statement), 'billing statement reads a statement');
  b.sseKms(component, principal, key, bucket, ['kms:GenerateDataKey', 'kms:Decrypt'], 'statements are SSE-KMS with the lake key');

  b.addActions(component, principal, ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution'], analytics.workGroupArn, 'runs the closing\'s queries and its UNLOAD');
  b.glueDatabase(component, principal, ['glue:GetDatabase'], lake.databaseName, 'Athena resolves the query database', viaAthena);
  b.glueDatabase(component, principal, ['glue:GetDatabase'], ATHENA_DEFAULT_DATABASE, "Athena looks up the Region's default database", viaAthena);
  b.glueTable(component, principal, ['glue:GetTable', 'glue:GetPartitions'], lake.databaseName, CATALOG.table, 'billable events are curated events', viaAthena);
  const views = analytics.queries.filter((query) => query.isView).map((query) => query.name);
  for (const table of [PRICE_LIST.table, ...views, ...Object.values(STATEMENT_TABLES).map((t) => t.table)]) {
    b.glueTable(component, principal, ['glue:GetTable'], lake.databaseName, table, `the closing reads ${table}`, viaAthena);
  }
  curatedReads(b, stack, component, principal, [LAKE_PREFIXES.curated, PRICE_LIST.prefix]);
  const billed = billedEventsPrefix(month, SAMPLE_QUERY_ID);
  const billedFile = `${billed}20250115_093000_00042_abcde_${SAMPLE_QUERY_ID}`;
  b.list(component, principal, bucket, STATEMENT_TABLES.billedEvents.prefix, 'Athena lists the billed events of committed closings', viaAthena);
  b.list(component, principal, bucket, STATEMENT_TABLES.closings.prefix, 'Athena lists the closing records', viaAthena);
  b.add(component, principal, 's3:GetObject', bucket.arnForObjects(closingRecordKey(month)), 'Athena reads the closing records', viaAthena);
  b.add(component, principal, 's3:GetObject', bucket.arnForObjects(billedFile), 'Athena reads billed events', viaAthena);
  b.add(component, principal, 's3:GetBucketLocation', bucket.bucketArn, 'UNLOAD checks its destination bucket', viaAthena);
  b.list(component, principal, bucket, billed, 'UNLOAD checks that its destination is empty', viaAthena);
  b.addActions(component, principal, ['s3:PutObject', 's3:AbortMultipartUpload'], bucket.arnForObjects(billedFile), 'UNLOAD writes the billed events as Parquet', viaAthena);
  b.sseKms(component, principal, key, bucket, ['kms:GenerateDataKey', 'kms:Decrypt'], 'UNLOAD output and the lake objects Athena reads are SSE-KMS with the lake key', viaAthena);
  athenaResults(b, stack, component, principal, true);
}
