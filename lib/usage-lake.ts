import * as path from 'node:path';
import { ArnFormat, Aws, Duration, Names, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { renderCuratedColumnsJson } from '../contracts/generated-artifacts';
import { CATALOG, CURATED_PARTITION_KEYS, CURATED_PARTITION_LAYOUT, CURATION_ERRORS, LAKE_PREFIXES, PRICE_LIST, curatedTableLevel } from '../contracts/lake-layout';
import { CURATION_METRICS } from '../contracts/pipeline-metrics';
import { EVENT_TIME_WINDOW, LATE_EVENT_WINDOW_DAYS_RANGE } from '../contracts/usage-event';
import { acknowledgeBucketPrefixGrant, acknowledgeNagFindings, nagStackArn } from './nag-acknowledgements';

/** The PySpark job's source, shipped as an asset. */
export const GLUE_JOB_SCRIPT = path.join(__dirname, '..', 'glue-scripts', 'usage_events_job.py');

/** Catalog actions a crawler needs to keep one table and its partitions current. */
export const GLUE_CRAWLER_CATALOG_ACTIONS = [
  'glue:GetDatabase',
  'glue:GetTable',
  'glue:GetTables',
  'glue:CreateTable',
  'glue:UpdateTable',
  'glue:GetPartition',
  'glue:GetPartitions',
  'glue:BatchGetPartition',
  'glue:CreatePartition',
  'glue:BatchCreatePartition',
  'glue:UpdatePartition',
  'glue:BatchUpdatePartition',
  'glue:CreatePartitionIndex',
  'glue:GetPartitionIndexes',
] as const;

/** Catalog actions a reader (Athena, analysts) needs to query the table. */
export const GLUE_CATALOG_READ_ACTIONS = [
  'glue:GetDatabase',
  'glue:GetDatabases',
  'glue:GetTable',
  'glue:GetTables',
  'glue:GetPartition',
  'glue:GetPartitions',
  'glue:BatchGetPartition',
] as const;

/** Catalog actions of the job's table sync: read the crawler's table, add the contract's new columns. */
export const GLUE_TABLE_SYNC_ACTIONS = ['glue:GetTable', 'glue:UpdateTable'] as const;

/**
 * Prefixes the job writes through Spark's commit protocol: curated rows, the index of curated
 * event ids (read back each run, with the driver's completion markers) and malformed records.
 */
export const JOB_OUTPUT_PREFIXES = [LAKE_PREFIXES.curated, LAKE_PREFIXES.curatedIndex, LAKE_PREFIXES.glueErrors] as const;

/**
 * The keys of the `_$folder$` markers EMRFS may write for a prefix (ending in `/`) and each folder
 * above it: `errors/glue/` → `errors_$folder$`, `errors/glue_$folder$`. Markers of folders below
 * the prefix are under it already.
 */
export function folderMarkerKeys(prefix: string): string[] {
  const folders = prefix.split('/').filter(Boolean);
  return folders.map((_, i) => `${folders.slice(0, i + 1).join('/')}_$folder$`);
}

/** Catalog actions to create and replace views (Athena `CREATE OR REPLACE VIEW`). */
export const GLUE_VIEW_WRITE_ACTIONS = ['glue:CreateTable', 'glue:UpdateTable'] as const;

/** Glue writes job and crawler logs itself; with a security configuration it also associates the key. */
export const GLUE_LOG_ACTIONS = ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:AssociateKmsKey'] as const;

/** The database Athena falls back to in every Region. */
export const ATHENA_DEFAULT_DATABASE = 'default';

/** Glue's default cron: every hour at minute 10, after Firehose has flushed the previous hour. */
export const DEFAULT_GLUE_SCHEDULE = 'cron(10 * * * ? *)';

/** Properties of a {@link UsageLake}. */
export interface UsageLakeProps {
  /** The lake bucket holding `raw/`, `curated/` and `errors/`. */
  readonly lakeBucket: s3.IBucket;
  /** The key that encrypts the lake; Glue's security configuration uses it too. */
  readonly encryptionKey: kms.IKey;

  /**
   * Glue database name.
   * @default 'api_usage'
   */
  readonly databaseName?: string;

  /**
   * When the workflow runs, as a Glue cron expression `cron(min hour dom month dow year)`.
   * @default 'cron(10 * * * ? *)' - hourly
   */
  readonly schedule?: string;

  /**
   * G.1X workers of the job (at least 2).
   * @default 2 - enough for about 10 million events an hour
   */
  readonly numberOfWorkers?: number;

  /**
   * Longest a job run may take before Glue stops it.
   * @default Duration.minutes(60)
   */
  readonly jobTimeout?: Duration;

  /**
   * How many days before the envelope's `time` an event's `occurredAt` may lie and still be
   * curated; older events go to `errors/glue/` with their reason.
   * @default 35 - EVENT_TIME_WINDOW.defaultLateEventWindowDays
   */
  readonly lateEventWindowDays?: number;
}

/**
 * How a Glue table reads gzipped newline-delimited JSON (the curation errors, the account events):
 * text input, the OpenX JSON SerDe (https://docs.aws.amazon.com/athena/latest/ug/openx-json-serde.html).
 */
export const GZIP_JSON_LINES_STORAGE = {
  inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
  outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
  serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
} as const;

/**
 * Raw JSON to curated Parquet: a Glue database and security configuration, the PySpark job
 * (bookmarked, deduplicating, partitioned by event time), a crawler that keeps exactly one table
 * current, and a workflow that runs the job on a schedule and then the crawler.
 */
export class UsageLake extends Construct {
  public readonly database: glue.CfnDatabase;
  public readonly databaseName: string;
  /** The table the crawler creates and keeps current. */
  public readonly tableName: string = CATALOG.table;
  public readonly securityConfiguration: glue.CfnSecurityConfiguration;
  public readonly job: glue.CfnJob;
  public readonly jobRole: iam.Role;
  public readonly crawler: glue.CfnCrawler;
  /** `operation_prices`, over the CSV price list under `reference/operation_prices/`. */
  public readonly priceListTable: glue.CfnTable;
  /** `curation_errors`, over `errors/glue/`: the records the job refused, with the reason; partitions projected. */
  public readonly curationErrorsTable: glue.CfnTable;
  public readonly crawlerRole: iam.Role;
  public readonly workflow: glue.CfnWorkflow;
  public readonly scheduleTrigger: glue.CfnTrigger;
  public readonly crawlerTrigger: glue.CfnTrigger;
  /** The lake bucket. */
  public readonly lakeBucket: s3.IBucket;
  private readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: UsageLakeProps) {
    super(scope, id);
    this.lakeBucket = props.lakeBucket;
    this.encryptionKey = props.encryptionKey;
    this.databaseName = props.databaseName ?? CATALOG.defaultDatabase;
    const settings = resolveJobSettings(this.databaseName, props);

    this.database = this.createDatabase();
    this.securityConfiguration = this.createSecurityConfiguration();
    const glueLogGroups = this.glueLogGroupsArn();
    this.allowLogsToUseLakeKey(glueLogGroups);

    const script = new s3assets.Asset(this, 'JobScript', { path: GLUE_JOB_SCRIPT });
    this.jobRole = this.createJobRole(script, glueLogGroups);
    this.job = this.createJob(script, settings);
    // The job brings the crawler's table up to the contract (new columns, partition filtering)
    // before each run; the crawler's incremental mode never changes a table's schema.
    this.jobRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: [...GLUE_TABLE_SYNC_ACTIONS], resources: this.catalogArns(CATALOG.table) }),
    );

    this.crawlerRole = this.createCrawlerRole(glueLogGroups);
    this.crawler = this.createCrawler();
    this.priceListTable = this.createPriceListTable();
    this.curationErrorsTable = this.createCurationErrorsTable();

    this.workflow = new glue.CfnWorkflow(this, 'Workflow', {
      description: 'Hourly: the usage lake job, then the crawler when the job succeeded',
      maxConcurrentRuns: 1,
    });
    this.scheduleTrigger = this.createScheduleTrigger(settings.schedule);
    this.crawlerTrigger = this.createCrawlerTrigger();

    this.acknowledgeFindings();
  }

  /** The job's name. */
  public get jobName(): string {
    return this.job.ref;
  }

  /**
   * Records the job refused (to `errors/glue/`), as it publishes them once per run: the sum over
   * an hour by default, the job's default schedule.
   */
  public metricRejectedRecords(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.curationMetric(CURATION_METRICS.rejectedRecords, props);
  }

  /** Records the job curated (before deduplication against earlier runs), per run: the sum over an hour by default. */
  public metricCuratedRecords(props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return this.curationMetric(CURATION_METRICS.curatedRecords, props);
  }

  private curationMetric(metricName: string, props: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: CURATION_METRICS.namespace,
      metricName,
      dimensionsMap: { [CURATION_METRICS.jobNameDimension]: this.jobName },
      statistic: 'Sum',
      period: Duration.hours(1),
      ...props,
    });
  }

  /** The crawler's name. */
  public get crawlerName(): string {
    return this.crawler.ref;
  }

  /** The workflow's name. */
  public get workflowName(): string {
    return this.workflow.ref;
  }

  /** Lets a reader query the curated table, the price list and the rejects: catalog reads, their prefixes' reads, key decrypt. */
  public grantReadCurated(grantee: iam.IGrantable): iam.Grant {
    this.lakeBucket.grantRead(grantee, `${LAKE_PREFIXES.curated}*`);
    this.lakeBucket.grantRead(grantee, `${PRICE_LIST.prefix}*`);
    // The rejected records (curation_errors), as rejected_records reads them.
    this.lakeBucket.grantRead(grantee, `${LAKE_PREFIXES.glueErrors}*`);
    // The account events (account_events, a table over the JSON the account events' stream writes).
    this.lakeBucket.grantRead(grantee, `${LAKE_PREFIXES.accountEvents}*`);
    this.encryptionKey.grantDecrypt(grantee);
    // Athena looks up the Region's `default` database for every query it plans.
    // https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html#full-access-to-default-db-per-region
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['glue:GetDatabase'],
      resourceArns: [Stack.of(this).formatArn({ service: 'glue', resource: 'database', resourceName: ATHENA_DEFAULT_DATABASE })],
    });
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...GLUE_CATALOG_READ_ACTIONS],
      resourceArns: this.catalogArns('*'),
    });
  }

  /** Lets a grantee create or replace views in the usage database (the deduplicated view). */
  public grantCreateViews(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [...GLUE_VIEW_WRITE_ACTIONS],
      resourceArns: this.catalogArns(CATALOG.dedupedView),
    });
  }

  /** Catalog, database and matching tables of the usage database: the ARNs a table action needs. */
  public catalogArns(tablePattern: string): string[] {
    const stack = Stack.of(this);
    return [
      stack.formatArn({ service: 'glue', resource: 'catalog' }),
      stack.formatArn({ service: 'glue', resource: 'database', resourceName: this.databaseName }),
      stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${this.databaseName}/${tablePattern}` }),
    ];
  }

  private createDatabase(): glue.CfnDatabase {
    return new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: { name: this.databaseName, description: 'API usage events, curated by the usage lake job' },
    });
  }

  private createSecurityConfiguration(): glue.CfnSecurityConfiguration {
    return new glue.CfnSecurityConfiguration(this, 'SecurityConfiguration', {
      name: Names.uniqueResourceName(this, { maxLength: 128 }),
      encryptionConfiguration: {
        s3Encryptions: [{ s3EncryptionMode: 'SSE-KMS', kmsKeyArn: this.encryptionKey.keyArn }],
        cloudWatchEncryption: { cloudWatchEncryptionMode: 'SSE-KMS', kmsKeyArn: this.encryptionKey.keyArn },
        jobBookmarksEncryption: { jobBookmarksEncryptionMode: 'CSE-KMS', kmsKeyArn: this.encryptionKey.keyArn },
      },
    });
  }

  /** The log groups Glue writes the job's and the crawler's logs to. */
  private glueLogGroupsArn(): string {
    return Stack.of(this).formatArn({ service: 'logs', resource: 'log-group', resourceName: '/aws-glue/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  }

  /** CloudWatch Logs encrypts the Glue log groups with the lake key. */
  private allowLogsToUseLakeKey(glueLogGroups: string): void {
    this.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': glueLogGroups } },
      }),
    );
  }

  /** The job's role: the script, raw/ to read, curated/ and errors/glue/ to write, the key, logs and metrics. */
  private createJobRole(script: s3assets.Asset, glueLogGroups: string): iam.Role {
    const jobRole = new iam.Role(this, 'JobRole', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description: 'Runs the usage lake job: reads raw/, writes curated/, its event id index and errors/glue/',
    });
    script.bucket.grantRead(jobRole, script.s3ObjectKey);
    this.lakeBucket.grantRead(jobRole, `${LAKE_PREFIXES.raw}*`);
    // Spark writes every output (curated rows and error records alike) through its commit
    // protocol: it lists and heads the output path, writes under _temporary/ and renames into
    // place, which on S3 is GetObject + PutObject + DeleteObject (grantReadWrite grants all
    // three). Put alone fails the run after the curated append, so the bookmark never advances.
    for (const prefix of JOB_OUTPUT_PREFIXES) {
      this.lakeBucket.grantReadWrite(jobRole, `${prefix}*`);
      // EMRFS (Glue's s3:// file system) marks each folder it creates with an empty
      // "<folder>_$folder$" object; those of the prefix and its parents sit outside the prefix.
      // https://stackoverflow.com/questions/42876195/avoid-creation-of-folder-keys-in-s3-with-hadoop-emr
      for (const marker of folderMarkerKeys(prefix)) this.lakeBucket.grantReadWrite(jobRole, marker);
    }
    this.encryptionKey.grantEncryptDecrypt(jobRole);
    this.grantGlueLogs(jobRole, glueLogGroups);
    // Glue's own job metrics, and the job's (records refused and curated per run) in their own
    // namespace only: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html
    for (const namespace of ['Glue', CURATION_METRICS.namespace]) {
      jobRole.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ['cloudwatch:PutMetricData'], resources: ['*'], conditions: { StringEquals: { 'cloudwatch:namespace': namespace } } }),
      );
    }
    return jobRole;
  }

  private createJob(script: s3assets.Asset, settings: JobSettings): glue.CfnJob {
    return new glue.CfnJob(this, 'Job', {
      description: 'Raw usage events (JSON) to deduplicated, event-time partitioned Parquet',
      role: this.jobRole.roleArn,
      glueVersion: '5.0',
      workerType: 'G.1X',
      numberOfWorkers: settings.numberOfWorkers,
      timeout: settings.jobTimeout.toMinutes(),
      maxRetries: 0,
      executionProperty: { maxConcurrentRuns: 1 },
      securityConfiguration: this.securityConfiguration.ref,
      command: { name: 'glueetl', pythonVersion: '3', scriptLocation: script.s3ObjectUrl },
      defaultArguments: {
        '--job-language': 'python',
        '--job-bookmark-option': 'job-bookmark-enable',
        '--enable-metrics': 'true',
        '--enable-observability-metrics': 'true',
        '--enable-continuous-cloudwatch-log': 'true',
        '--lake_bucket': this.lakeBucket.bucketName,
        '--database_name': this.databaseName,
        // The curation spec (columns, the contract's constraints, envelope, partition layout,
        // window, reasons, metric names): about 7 KB, of the 260 KB Glue takes for a job's arguments.
        // https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html
        '--curated_columns': JSON.stringify(JSON.parse(renderCuratedColumnsJson({ lateEventWindowDays: settings.lateEventWindowDays }))),
      },
    });
  }

  private createCrawlerRole(glueLogGroups: string): iam.Role {
    const crawlerRole = new iam.Role(this, 'CrawlerRole', {
      assumedBy: new iam.ServicePrincipal('glue.amazonaws.com'),
      description: 'Crawls curated/usage_events/ into the usage_events table',
    });
    this.lakeBucket.grantRead(crawlerRole, `${LAKE_PREFIXES.curated}*`);
    this.encryptionKey.grantEncryptDecrypt(crawlerRole);
    this.grantGlueLogs(crawlerRole, glueLogGroups);
    crawlerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: [...GLUE_CRAWLER_CATALOG_ACTIONS], resources: this.catalogArns(`${CATALOG.table}*`) }),
    );
    return crawlerRole;
  }

  private createCrawler(): glue.CfnCrawler {
    const crawler = new glue.CfnCrawler(this, 'Crawler', {
      description: 'Keeps the usage_events table and its partitions current',
      role: this.crawlerRole.roleArn,
      databaseName: this.databaseName,
      crawlerSecurityConfiguration: this.securityConfiguration.ref,
      targets: {
        s3Targets: [
          {
            path: this.lakeBucket.s3UrlForObject(LAKE_PREFIXES.curated),
            exclusions: ['**/_SUCCESS', '**/_temporary/**', '**.crc'],
          },
        ],
      },
      // New day folders only. Incremental crawls force LOG for both behaviours, so the crawler
      // adds partitions but never changes the table's columns: the job does that (see
      // sync_catalog_table), and new partitions inherit the table's schema.
      // https://docs.aws.amazon.com/glue/latest/dg/incremental-crawls.html
      recrawlPolicy: { recrawlBehavior: 'CRAWL_NEW_FOLDERS_ONLY' },
      schemaChangePolicy: { updateBehavior: 'LOG', deleteBehavior: 'LOG' },
      configuration: JSON.stringify({
        Version: 1.0,
        Grouping: { TableGroupingPolicy: 'CombineCompatibleSchemas', TableLevelConfiguration: curatedTableLevel() },
        CrawlerOutput: {
          Partitions: { AddOrUpdateBehavior: 'InheritFromTable' },
          Tables: { TableThreshold: 1 },
        },
        CreatePartitionIndex: true,
      }),
    });
    crawler.node.addDependency(this.database);
    return crawler;
  }

  /**
   * The price list billing_by_tenant reads: a CSV with a header row that operators upload under
   * reference/operation_prices/ (the README shows one). Not crawled: its schema is fixed.
   */
  private createPriceListTable(): glue.CfnTable {
    const table = new glue.CfnTable(this, 'PriceListTable', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name: PRICE_LIST.table,
        description: `Unit price per operation for billing; operation "${PRICE_LIST.defaultOperation}" prices every other operation`,
        tableType: 'EXTERNAL_TABLE',
        parameters: { classification: 'csv', 'skip.header.line.count': '1' },
        storageDescriptor: {
          columns: PRICE_LIST.columns.map((column) => ({ name: column.name, type: column.type })),
          location: this.lakeBucket.s3UrlForObject(PRICE_LIST.prefix),
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe', parameters: { 'field.delim': ',' } },
        },
      },
    });
    table.node.addDependency(this.database);
    return table;
  }

  /**
   * The records the job refused, for analysts (queries/rejected_records.sql). Not crawled: the
   * schema is fixed, and partition projection computes the run days' folders
   * (errors/glue/year=YYYY/month=MM/day=DD/, Athena's default Hive-style template) in memory,
   * so a new day needs no crawl and no GetPartitions call.
   * https://docs.aws.amazon.com/athena/latest/ug/partition-projection-setting-up.html
   * https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html
   * Spark writes them as gzip text, one JSON object per line; Athena reads .gz by its extension.
   * https://docs.aws.amazon.com/athena/latest/ug/compression-formats.html
   */
  private createCurationErrorsTable(): glue.CfnTable {
    const table = new glue.CfnTable(this, 'CurationErrorsTable', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName: this.databaseName,
      tableInput: {
        name: CURATION_ERRORS.table,
        description: 'Records the usage lake job refused, with the reason, by the UTC day of the run (errors/glue/)',
        tableType: 'EXTERNAL_TABLE',
        parameters: { classification: 'json', compressionType: 'gzip', 'projection.enabled': 'true', ...curationErrorsPartitionProjection() },
        partitionKeys: CURATED_PARTITION_KEYS.map((name) => ({ name, type: 'string' })),
        storageDescriptor: {
          columns: CURATION_ERRORS.columns.map((column) => ({ name: column.name, type: column.type, comment: column.comment })),
          location: this.lakeBucket.s3UrlForObject(LAKE_PREFIXES.glueErrors),
          ...GZIP_JSON_LINES_STORAGE,
        },
      },
    });
    table.node.addDependency(this.database);
    return table;
  }

  private createScheduleTrigger(schedule: string): glue.CfnTrigger {
    return new glue.CfnTrigger(this, 'ScheduleTrigger', {
      type: 'SCHEDULED',
      schedule,
      startOnCreation: true,
      workflowName: this.workflow.ref,
      actions: [{ jobName: this.job.ref }],
      description: 'Starts the usage lake job',
    });
  }

  private createCrawlerTrigger(): glue.CfnTrigger {
    return new glue.CfnTrigger(this, 'CrawlerTrigger', {
      type: 'CONDITIONAL',
      startOnCreation: true,
      workflowName: this.workflow.ref,
      predicate: { logical: 'ANY', conditions: [{ logicalOperator: 'EQUALS', jobName: this.job.ref, state: 'SUCCEEDED' }] },
      actions: [{ crawlerName: this.crawler.ref }],
      description: 'Crawls the curated table after the job succeeded',
    });
  }

  private grantGlueLogs(role: iam.Role, glueLogGroups: string): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: [...GLUE_LOG_ACTIONS], resources: [glueLogGroups, `${glueLogGroups}:*`] }),
    );
  }

  private acknowledgeFindings(): void {
    const keyReason =
      'CDK grants kms:GenerateDataKey* and kms:ReEncrypt* on the one lake key; Glue needs both for SSE-KMS writes and CSE-KMS bookmarks.';
    const logsReason =
      'Glue names its log groups and streams per run under /aws-glue/; the grant is limited to that prefix in this account and region.';
    const logsArn = `Resource::${nagStackArn(this, 'logs', 'log-group:/aws-glue/*')}`;
    for (const role of [this.jobRole, this.crawlerRole]) {
      acknowledgeNagFindings(role, [
        { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: keyReason },
        { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: keyReason },
        { id: `AwsSolutions-IAM5[${logsArn}]`, reason: logsReason },
        { id: `AwsSolutions-IAM5[${logsArn}:*]`, reason: logsReason },
      ]);
    }
    acknowledgeBucketPrefixGrant(this.jobRole, this.lakeBucket, {
      actions: ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'],
      prefixes: [LAKE_PREFIXES.raw, ...JOB_OUTPUT_PREFIXES],
      reason:
        'The job reads every new object under raw/, rewrites curated/ and writes error objects, whose names Spark chooses; access is limited to those prefixes.',
    });
    acknowledgeNagFindings(this.jobRole, [
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'cloudwatch:PutMetricData has no resource type; each statement is limited by condition to one metric namespace (Glue, and the job\'s own).',
      },
    ]);
    acknowledgeBucketPrefixGrant(this.crawlerRole, this.lakeBucket, {
      actions: ['s3:GetObject*', 's3:GetBucket*', 's3:List*'],
      prefixes: [LAKE_PREFIXES.curated],
      reason: 'The crawler reads the Parquet objects under curated/usage_events/ only.',
    });
    acknowledgeNagFindings(this.crawlerRole, [
      {
        id: `AwsSolutions-IAM5[Resource::${nagStackArn(this, 'glue', `table/${this.databaseName}/${CATALOG.table}*`)}]`,
        reason: 'The crawler manages the usage_events table; the wildcard covers only that name in the usage database.',
      },
    ]);
  }
}

/** The job's settings, defaulted and checked. */
interface JobSettings {
  readonly schedule: string;
  readonly numberOfWorkers: number;
  readonly jobTimeout: Duration;
  readonly lateEventWindowDays: number;
}

/** Defaults the job's settings and refuses what Glue, Athena or the contract would not take. */
function resolveJobSettings(databaseName: string, props: UsageLakeProps): JobSettings {
  validateDatabaseName(databaseName);
  const schedule = props.schedule ?? DEFAULT_GLUE_SCHEDULE;
  validateGlueSchedule(schedule);
  const numberOfWorkers = props.numberOfWorkers ?? 2;
  if (!Number.isInteger(numberOfWorkers) || numberOfWorkers < 2 || numberOfWorkers > 299) {
    throw new Error(`numberOfWorkers must be a whole number from 2 to 299 (Glue's limits for G.1X); got ${numberOfWorkers}.`);
  }
  const jobTimeout = props.jobTimeout ?? Duration.minutes(60);
  const lateEventWindowDays = props.lateEventWindowDays ?? EVENT_TIME_WINDOW.defaultLateEventWindowDays;
  const late = LATE_EVENT_WINDOW_DAYS_RANGE;
  if (!Number.isInteger(lateEventWindowDays) || lateEventWindowDays < late.min || lateEventWindowDays > late.max) {
    throw new Error(`lateEventWindowDays must be a whole number of days from ${late.min} to ${late.max}; got ${lateEventWindowDays}.`);
  }
  return { schedule, numberOfWorkers, jobTimeout, lateEventWindowDays };
}

/** Partition projection of `curation_errors`: integer year, month and day, zero-padded as the contract's layout pads the folders. */
function curationErrorsPartitionProjection(): Record<string, string> {
  const { first, last } = CURATION_ERRORS.projectedYears;
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

function validateDatabaseName(name: string): void {
  if (!/^[a-z0-9_]{1,255}$/.test(name)) {
    throw new Error(
      `databaseName "${name}" is not usable by Athena: use lower-case letters, digits and underscores (1-255 characters).`,
    );
  }
}

/** Glue cron: `cron(minutes hours day-of-month month day-of-week year)`, one of the day fields `?`. */
export function validateGlueSchedule(schedule: string): void {
  const match = /^cron\(([^)]+)\)$/.exec(schedule.trim());
  const fields = match ? match[1].trim().split(/\s+/) : [];
  if (fields.length !== 6 || (fields[2] !== '?' && fields[4] !== '?')) {
    throw new Error(
      `schedule "${schedule}" is not a Glue cron expression: write cron(minutes hours day-of-month month day-of-week year) with "?" in one of the day fields, e.g. "cron(10 * * * ? *)" for hourly.`,
    );
  }
}
