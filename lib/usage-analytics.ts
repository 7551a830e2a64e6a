import { Duration, Names, RemovalPolicy, Size } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct, IConstruct } from 'constructs';
import { LAKE_PREFIXES, PRICE_LIST } from '../contracts/lake-layout';
import { NamedQuery, QUERIES_DIR, describeParameterType, loadNamedQueries } from '../contracts/named-queries';
import { S3_LOGS_USE_BUCKET_POLICY } from './lake-bucket';
import { acknowledgeBucketPrefixGrant, acknowledgeNagFindings, nagStackArn } from './nag-acknowledgements';
import { UsageLake } from './usage-lake';

/** The error a Step Functions SDK task raises when a Glue table (or database) does not exist. */
export const GLUE_ENTITY_NOT_FOUND = 'Glue.EntityNotFoundException';

/** Athena refuses a per-query cutoff below 10 MB. */
export const ATHENA_MIN_BYTES_SCANNED_CUTOFF = 10_000_000;

/** Properties of a {@link UsageAnalytics}. */
export interface UsageAnalyticsProps {
  /** The lake whose curated table the queries read. */
  readonly lake: UsageLake;
  /** The key that encrypts query results. */
  readonly encryptionKey: kms.IKey;

  /**
   * Largest amount of data one query may scan before Athena cancels it: a guard against a
   * forgotten partition filter on a large table.
   * @default Size.gibibytes(10) - $0.05 at $5 per TB
   */
  readonly bytesScannedCutoffPerQuery?: Size;

  /**
   * How long query results are kept.
   * @default Duration.days(30)
   */
  readonly resultsRetention?: Duration;

  /**
   * The bucket receiving the results bucket's server access logs.
   * @default - no server access logs (pass the lake's log bucket)
   */
  readonly serverAccessLogsBucket?: s3.IBucket;

  /**
   * The folder of `.sql` files to publish as named queries.
   * @default - the project's `queries/`
   */
  readonly queriesDir?: string;

  /**
   * Whether the view queries run after every successful crawl, so that every named query can be
   * run right after the first crawl created the table.
   * @default true
   */
  readonly refreshViewsAfterCrawl?: boolean;

  /**
   * What happens to the results bucket when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Athena for analysts: a workgroup with enforced settings, encrypted results in their own bucket,
 * a bytes-scanned cutoff, one named query per file in `queries/`, and a state machine that
 * (re)creates the views after each crawl.
 */
export class UsageAnalytics extends Construct {
  public readonly workGroup: athena.CfnWorkGroup;
  public readonly resultsBucket: s3.Bucket;
  public readonly namedQueries: Readonly<Record<string, athena.CfnNamedQuery>>;
  public readonly queries: readonly NamedQuery[];
  /** Runs the view queries; undefined when `refreshViewsAfterCrawl` is false. */
  public readonly viewRefresher?: sfn.StateMachine;
  /** The lake the queries read. */
  private readonly lake: UsageLake;

  constructor(scope: Construct, id: string, props: UsageAnalyticsProps) {
    super(scope, id);
    this.node.setContext(S3_LOGS_USE_BUCKET_POLICY, true);
    this.lake = props.lake;
    const { cutoffBytes, resultsRetention } = resolveQueryLimits(props);
    this.resultsBucket = this.createResultsBucket(props, resultsRetention);
    this.workGroup = this.createWorkGroup(props.encryptionKey, cutoffBytes);
    this.queries = loadNamedQueries(props.queriesDir ?? QUERIES_DIR);
    this.namedQueries = this.createNamedQueries();

    const views = this.queries.filter((query) => query.isView);
    if ((props.refreshViewsAfterCrawl ?? true) && views.length > 0) {
      this.viewRefresher = this.createViewRefresher(props.encryptionKey, views);
    }
  }

  /** Lets a grantee run queries in the workgroup and read their results, and read what the queries read in the lake. */
  public grantQuery(grantee: iam.IGrantable): iam.Grant {
    this.resultsBucket.grantReadWrite(grantee);
    this.lake.grantReadCurated(grantee);
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults', 'athena:StopQueryExecution', 'athena:GetWorkGroup', 'athena:ListNamedQueries', 'athena:GetNamedQuery', 'athena:BatchGetNamedQuery'],
      resourceArns: [this.workGroupArn],
    });
  }

  /** The workgroup's ARN. */
  public get workGroupArn(): string {
    return `arn:${this.workGroup.stack.partition}:athena:${this.workGroup.stack.region}:${this.workGroup.stack.account}:workgroup/${this.workGroup.ref}`;
  }

  private createResultsBucket(props: UsageAnalyticsProps, resultsRetention: Duration): s3.Bucket {
    const bucket = new s3.Bucket(this, 'ResultsBucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.encryptionKey,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.serverAccessLogsBucket,
      serverAccessLogsPrefix: props.serverAccessLogsBucket ? 'athena-results/' : undefined,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'ExpireResults', expiration: resultsRetention },
        { id: 'AbortIncompleteUploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    if (!props.serverAccessLogsBucket) {
      acknowledgeNagFindings(bucket, [
        { id: 'AwsSolutions-S1', reason: 'No log bucket was given; query results are short-lived copies of data in the lake, whose access is logged.' },
      ]);
    }
    return bucket;
  }

  private createWorkGroup(encryptionKey: kms.IKey, cutoffBytes: number): athena.CfnWorkGroup {
    return new athena.CfnWorkGroup(this, 'WorkGroup', {
      name: Names.uniqueResourceName(this, { maxLength: 128 }),
      description: 'API usage analytics: billing, feature usage, latency and errors',
      state: 'ENABLED',
      recursiveDeleteOption: true,
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        bytesScannedCutoffPerQuery: cutoffBytes,
        engineVersion: { selectedEngineVersion: 'Athena engine version 3' },
        resultConfiguration: {
          outputLocation: this.resultsBucket.s3UrlForObject('results/'),
          encryptionConfiguration: { encryptionOption: 'SSE_KMS', kmsKey: encryptionKey.keyArn },
        },
      },
    });
  }

  private createNamedQueries(): Record<string, athena.CfnNamedQuery> {
    const namedQueries: Record<string, athena.CfnNamedQuery> = {};
    for (const query of this.queries) {
      namedQueries[query.name] = new athena.CfnNamedQuery(this, `Query-${query.name}`, {
        name: query.name,
        description: describe(query),
        database: this.lake.databaseName,
        workGroup: this.workGroup.ref,
        queryString: query.sql,
      });
    }
    return namedQueries;
  }

  /** A state machine that (re)creates the views, started by every successful crawl. */
  private createViewRefresher(encryptionKey: kms.IKey, views: readonly NamedQuery[]): sfn.StateMachine {
    const definition = this.viewRefreshDefinition(views);
    const stateMachine = new sfn.StateMachine(this, 'ViewRefresher', {
      comment: 'Creates or replaces the usage views after the crawler has updated the table',
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      timeout: Duration.minutes(15),
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'ViewRefresherLogs', { retention: logs.RetentionDays.THREE_MONTHS }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    this.grantQuery(stateMachine);
    this.lake.grantCreateViews(stateMachine);
    encryptionKey.grantEncryptDecrypt(stateMachine);

    new events.Rule(this, 'RefreshViewsAfterCrawl', {
      description: 'Recreates the usage views after each successful crawl',
      eventPattern: {
        source: ['aws.glue'],
        detailType: ['Glue Crawler State Change'],
        detail: { crawlerName: [this.lake.crawlerName], state: ['Succeeded'] },
      },
      targets: [new targets.SfnStateMachine(stateMachine)],
    });
    this.acknowledgeViewRefresherFindings(stateMachine.role);
    return stateMachine;
  }

  /** Look for the table, then run each view query in turn. */
  private viewRefreshDefinition(views: readonly NamedQuery[]): sfn.IChainable {
    const lake = this.lake;
    const steps = views.map(
      (view) =>
        new tasks.AthenaStartQueryExecution(this, `Refresh-${view.name}`, {
          queryString: view.sql,
          queryExecutionContext: { databaseName: lake.databaseName },
          workGroup: this.workGroup.ref,
          integrationPattern: sfn.IntegrationPattern.RUN_JOB,
          resultPath: sfn.JsonPath.DISCARD,
        }),
    );
    const refreshViews = steps.slice(1).reduce<sfn.IChainable & sfn.INextable>((chain, step) => chain.next(step), steps[0]);
    // Glue reports "Crawler Succeeded" also when the crawl created no table (no curated data
    // yet), and CREATE VIEW over a missing table fails: look for the table first and stop
    // cleanly without it. SDK integration errors are named <Service>.<Exception>:
    // https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html
    const tableExists = new tasks.CallAwsService(this, 'UsageTableExists', {
      comment: `Does ${lake.tableName} exist yet? The first crawl after the first job run with data creates it.`,
      service: 'glue',
      action: 'getTable',
      iamAction: 'glue:GetTable',
      iamResources: lake.catalogArns(lake.tableName),
      parameters: { DatabaseName: lake.databaseName, Name: lake.tableName },
      resultPath: sfn.JsonPath.DISCARD,
    });
    tableExists.addCatch(new sfn.Succeed(this, 'NoUsageTableYet', { comment: 'Nothing to refresh until the first crawl creates the table' }), {
      errors: [GLUE_ENTITY_NOT_FOUND],
      resultPath: sfn.JsonPath.DISCARD,
    });
    return tableExists.next(refreshViews);
  }

  private acknowledgeViewRefresherFindings(role: iam.IRole): void {
    const reason = 'The view refresher runs Athena, which reads the curated objects and writes result objects whose names it chooses.';
    acknowledgeBucketPrefixGrant(role, this.resultsBucket, { actions: ['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*'], prefixes: [''], reason });
    // grantQuery gives what every named query reads, the rejected records under errors/glue/ included.
    const lakePrefixes = [LAKE_PREFIXES.curated, PRICE_LIST.prefix, LAKE_PREFIXES.glueErrors, LAKE_PREFIXES.accountEvents];
    acknowledgeBucketPrefixGrant(role, this.lake.lakeBucket, { actions: [], prefixes: lakePrefixes, reason });
    acknowledgeNagFindings(role, [
      { id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', reason: 'Athena writes SSE-KMS results with the one analytics key.' },
      { id: 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', reason: 'Granted by CDK with encrypt/decrypt on the one analytics key.' },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'Step Functions requires X-Ray and CloudWatch Logs delivery actions on "*"; these actions have no resource-level permissions.',
      },
      ...athenaTaskFindings(role),
      ...lakeReadFindings(this.lake),
    ]);
  }
}

/** The per-query cutoff and the results' retention, defaulted and checked against Athena's and S3's rules. */
function resolveQueryLimits(props: UsageAnalyticsProps): { cutoffBytes: number; resultsRetention: Duration } {
  const cutoff = props.bytesScannedCutoffPerQuery ?? Size.gibibytes(10);
  const cutoffBytes = cutoff.toBytes();
  if (cutoffBytes < ATHENA_MIN_BYTES_SCANNED_CUTOFF) {
    throw new Error(
      `bytesScannedCutoffPerQuery must be at least 10 MB (${ATHENA_MIN_BYTES_SCANNED_CUTOFF} bytes), Athena's minimum; got ${cutoffBytes} bytes.`,
    );
  }
  const resultsRetention = props.resultsRetention ?? Duration.days(30);
  if (resultsRetention.toHours() < 24 || resultsRetention.toHours() % 24 !== 0) {
    throw new Error(`resultsRetention must be a whole number of days, at least 1; got ${resultsRetention.toHumanString()}.`);
  }
  return { cutoffBytes, resultsRetention };
}

/**
 * Parameters, with their types, are listed after the description, since Athena keeps no parameter
 * metadata; when Athena's 1,024 characters run short, the description is cut, never a parameter.
 */
function describe(query: NamedQuery): string {
  const parameters = query.parameters.map((p, i) => `?${i + 1} ${p.name}: ${p.description} [${describeParameterType(p.type)}]`).join('; ');
  const suffix = parameters ? ` Execution parameters, each a quoted string literal: ${parameters}.` : '';
  const room = 1024 - suffix.length;
  return `${query.description.length > room ? `${query.description.slice(0, room - 3)}...` : query.description}${suffix}`;
}

/**
 * The catalog wildcards AthenaStartQueryExecution adds to the role for the views it reads, named
 * as cdk-nag prints them: with placeholders in an environment-agnostic stack, literally in a
 * pipeline stage's stack (nagStackArn).
 */
function athenaTaskFindings(scope: IConstruct) {
  const reason =
    'Generated by the Step Functions Athena task: Athena resolves the view and the tables it reads in the Glue catalog at run time.';
  return [
    `Resource::${nagStackArn(scope, 'glue', 'table/*')}`,
    `Resource::${nagStackArn(scope, 'glue', 'userDefinedFunction/*')}`,
    `Resource::${nagStackArn(scope, 'glue', 'database/*')}`,
    `Resource::arn:${/^arn:(<AWS::Partition>|[^:]+):/.exec(nagStackArn(scope, 's3', '*'))?.[1] ?? '<AWS::Partition>'}:s3:::*`,
    'Action::s3:GetObject*',
    'Action::s3:List*',
  ].map((finding) => ({ id: `AwsSolutions-IAM5[${finding}]`, reason }));
}

function lakeReadFindings(lake: UsageLake) {
  const reason = 'Reading the usage database: the curated table, its partitions and its views, and the functions Athena may resolve there.';
  return ['table', 'userDefinedFunction'].map((resource) => ({
    id: `AwsSolutions-IAM5[Resource::${nagStackArn(lake, 'glue', `${resource}/${lake.databaseName}/*`)}]`,
    reason,
  }));
}
