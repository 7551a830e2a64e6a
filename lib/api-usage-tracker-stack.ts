import { CfnOutput, Stack, StackProps } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import { STACK_OUTPUTS, StackOutputKey } from '../contracts/stack-outputs';
import { resolveTierPolicies } from '../contracts/tiers';
import { Construct } from 'constructs';
import { AccountEventsLake } from './account-events-lake';
import { AccountNotifications } from './account-notifications';
import { AccountsUserPool } from './accounts-user-pool';
import { BillingStatements } from './billing-statements';
import { LakeBucket } from './lake-bucket';
import { MeteredApiOriginDomain } from './metered-api-edge';
import { MeteredHttpApi } from './metered-http-api';
import { EdgeConfig, NotificationsConfig, UsageTrackerConfig } from './stack-config';
import { UsageAnalytics } from './usage-analytics';
import { UsageIngestion } from './usage-ingestion';
import { UsageLake } from './usage-lake';
import { UsagePipelineMonitoring } from './usage-pipeline-monitoring';

/** The outputs that exist only with accounts on. */
type AccountsOutputKey = 'accountsUserPoolId' | 'accountsClientId';

/** Properties of an {@link ApiUsageTrackerStack}. */
export interface ApiUsageTrackerStackProps extends StackProps {
  readonly config: UsageTrackerConfig;
}

/**
 * The usage pipeline: bus → Firehose → S3 → Glue workflow → Athena, with its alarms and dashboard.
 */
export class ApiUsageTrackerStack extends Stack {
  public readonly lakeBucket: LakeBucket;
  public readonly ingestion: UsageIngestion;
  public readonly lake: UsageLake;
  public readonly analytics: UsageAnalytics;
  /** Closed months' billing statements under statements/: tables, immutability, grants. */
  public readonly billingStatements: BillingStatements;
  /** Account events into the lake (account-events/) and the account_events table. */
  public readonly accountEventsLake: AccountEventsLake;
  /** The account events' lake stream's alarms (dead letters, data freshness), to the alarm topic. */
  public readonly accountEventsLakeAlarms: ReturnType<AccountEventsLake['alarmTo']>;
  public readonly monitoring: UsagePipelineMonitoring;
  public readonly meteredApi: MeteredHttpApi;
  /** The API's custom domain behind the edge, when `edgeProtection` is on. */
  public readonly originDomain?: MeteredApiOriginDomain;
  /** The consumer accounts' user pool and app client, unless `accounts` is false. */
  public readonly accounts?: AccountsUserPool;
  /** Account events mailed to tenants and operators (issue 16), when `notificationsFrom` is set. */
  public readonly accountNotifications?: AccountNotifications;

  constructor(scope: Construct, id: string, props: ApiUsageTrackerStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.lakeBucket = new LakeBucket(this, 'LakeBucket', { rawRetention: config.rawRetention });
    this.ingestion = this.createIngestion(config);
    this.lake = this.createLake(config);
    this.analytics = this.createAnalytics(config);
    this.billingStatements = new BillingStatements(this, 'BillingStatements', { lake: this.lake, analytics: this.analytics, encryptionKey: this.lakeBucket.encryptionKey });
    this.accountEventsLake = new AccountEventsLake(this, 'AccountEventsLake', {
      eventBus: this.ingestion.eventBus,
      lakeBucket: this.lakeBucket.bucket,
      lakeEncryptionKey: this.lakeBucket.encryptionKey,
      database: this.lake.database,
      databaseName: this.lake.databaseName,
    });
    this.monitoring = new UsagePipelineMonitoring(this, 'Monitoring', {
      ingestion: this.ingestion,
      lake: this.lake,
      analytics: this.analytics,
      alarmEmail: config.alarmEmail,
      rejectedRecordsAlarmThreshold: config.rejectedRecordsAlarmThreshold,
    });
    if (config.accounts) {
      const { emailFrom } = config.accounts;
      this.accounts = new AccountsUserPool(this, 'Accounts', emailFrom ? { emailFrom: { fromEmail: emailFrom } } : {});
    }
    this.meteredApi = this.createMeteredApi(config);
    this.monitoring.watchUsageLogForwarder(this.meteredApi.usageLogForwarder, this.meteredApi.usageLogDeadLetterQueue);
    this.monitoring.watchQuotaUse(this.meteredApi.usageLineLogGroups, resolveTierPolicies(config.tiers));
    this.accountEventsLakeAlarms = this.accountEventsLake.alarmTo(this.monitoring.alarmTopic);
    if (config.notifications) this.accountNotifications = this.createAccountNotifications(config, config.notifications);
    if (config.edge) this.originDomain = this.createEdgeOrigin(config.edge);
    this.addOutputs(config);
  }

  private createIngestion(config: UsageTrackerConfig): UsageIngestion {
    return new UsageIngestion(this, 'Ingestion', {
      lakeBucket: this.lakeBucket.bucket,
      lakeEncryptionKey: this.lakeBucket.encryptionKey,
      eventSources: config.eventSources,
      bufferInterval: config.bufferInterval,
      bufferSize: config.bufferSize,
      archiveRetention: config.archiveRetention,
      schemaDiscovery: config.schemaDiscovery,
    });
  }

  private createLake(config: UsageTrackerConfig): UsageLake {
    return new UsageLake(this, 'Lake', {
      lakeBucket: this.lakeBucket.bucket,
      encryptionKey: this.lakeBucket.encryptionKey,
      databaseName: config.databaseName,
      schedule: config.glueSchedule,
      numberOfWorkers: config.glueWorkers,
      lateEventWindowDays: config.lateEventWindowDays,
    });
  }

  private createAnalytics(config: UsageTrackerConfig): UsageAnalytics {
    return new UsageAnalytics(this, 'Analytics', {
      lake: this.lake,
      encryptionKey: this.lakeBucket.encryptionKey,
      bytesScannedCutoffPerQuery: config.athenaBytesScannedCutoff,
      resultsRetention: config.athenaResultsRetention,
      serverAccessLogsBucket: this.lakeBucket.serverAccessLogsBucket,
    });
  }

  private createMeteredApi(config: UsageTrackerConfig): MeteredHttpApi {
    return new MeteredHttpApi(this, 'MeteredApi', {
      usageEventBus: this.ingestion.eventBus,
      usageEventSource: config.eventSources[0],
      tiers: config.tiers,
      demo: config.demo,
      externalIssuer: config.externalIssuer,
      ...(this.accounts ? { accounts: this.accounts.settings } : {}),
      corsAllowOrigins: config.corsAllowOrigins,
      authorizerReservedConcurrency: config.authorizerReservedConcurrency,
      disableExecuteApiEndpoint: config.edge !== undefined,
      // Behind CloudFront the function sees CloudFront's address; the edge's WAF limits the token exchange per viewer.
      sourceIpGuard: config.edge === undefined,
      accountSignals: config.accountSignals,
      alarmTopic: this.monitoring.alarmTopic,
    });
  }

  /** The notifier and its queue; the mails link to the API's own GET /v1/usage unless `notificationUsageUrl` says otherwise. */
  private createAccountNotifications(config: UsageTrackerConfig, notifications: NotificationsConfig): AccountNotifications {
    return new AccountNotifications(this, 'AccountNotifications', {
      eventBus: this.ingestion.eventBus,
      credentialsTable: this.meteredApi.tables.credentials,
      from: notifications.from,
      operators: notifications.operators,
      usageUrl: notifications.usageUrl ?? `${this.apiBaseUrl(config)}/v1/usage`,
      cooldownSeconds: notifications.cooldownSeconds,
      alarmTopic: this.monitoring.alarmTopic,
    });
  }

  /** Where callers reach the API: the origin's custom domain behind the edge, else the execute-api URL. */
  private apiBaseUrl(config: UsageTrackerConfig): string {
    return config.edge ? `https://${config.edge.originDomainName}` : this.meteredApi.url;
  }

  /** The API's custom domain CloudFront connects to, and where its DNS record must point. */
  private createEdgeOrigin(edge: EdgeConfig): MeteredApiOriginDomain {
    const originDomain = new MeteredApiOriginDomain(this, 'EdgeOrigin', {
      api: this.meteredApi,
      domainName: edge.originDomainName,
      certificate: acm.Certificate.fromCertificateArn(this, 'EdgeOriginCertificate', edge.originCertificateArn),
    });
    new CfnOutput(this, 'EdgeOriginDnsTarget', {
      value: originDomain.regionalDomainName,
      description: `Point ${edge.originDomainName} (CNAME or alias) here; CloudFront connects to that name`,
    });
    return originDomain;
  }

  /** The outputs the CLI and operators read, under the keys of contracts/stack-outputs.ts. */
  private addOutputs(config: UsageTrackerConfig): void {
    const outputs: Record<Exclude<StackOutputKey, AccountsOutputKey>, [string, string]> & Partial<Record<AccountsOutputKey, [string, string]>> = {
      // With the edge on, the execute-api URL answers nothing; callers use the edge stack's ApiUrl.
      apiUrl: config.edge ? [`https://${config.edge.originDomainName}`, 'Origin of the metered API behind CloudFront (callers use the edge stack\'s ApiUrl)'] : [this.meteredApi.url, 'Base URL of the metered API'],
      adminTokenKeyArn: [this.meteredApi.adminTokenKey.keyArn, 'KMS key that signs admin tokens (only the mint route may sign; mint with scripts/mint-admin-token.ts)'],
      eventBusName: [this.ingestion.eventBus.eventBusName, 'Bus that services put usage events on'],
      eventBusArn: [this.ingestion.eventBus.eventBusArn, 'ARN of the usage event bus'],
      lakeBucketName: [this.lakeBucket.bucket.bucketName, 'Bucket holding raw/, curated/ and errors/'],
      deliveryStreamName: [this.ingestion.deliveryStream.deliveryStreamName, 'Firehose stream into raw/'],
      glueDatabaseName: [this.lake.databaseName, 'Glue database of the usage table'],
      glueTableName: [this.lake.tableName, 'Curated table (created by the first crawl)'],
      glueWorkflowName: [this.lake.workflowName, 'Workflow running the job, then the crawler'],
      glueJobName: [this.lake.jobName, 'Job converting raw/ to curated Parquet'],
      glueCrawlerName: [this.lake.crawlerName, 'Crawler keeping the usage table current'],
      athenaWorkGroupName: [this.analytics.workGroup.ref, 'Workgroup of the named queries'],
      alarmTopicArn: [this.monitoring.alarmTopic.topicArn, 'Topic receiving pipeline alarms'],
      dataFreshnessThresholdSeconds: [String(this.monitoring.dataFreshnessThresholdSeconds), 'Record age (s) above which the data-freshness alarm fires'],
      deadLetterQueueUrl: [this.ingestion.deadLetterQueue.queueUrl, 'Events EventBridge could not deliver'],
      ...(this.accounts
        ? {
            accountsUserPoolId: [this.accounts.userPool.userPoolId, 'Cognito user pool of the consumer accounts (POST /v1/auth/register)'],
            accountsClientId: [this.accounts.client.userPoolClientId, 'App client the account routes sign in with (public: no secret)'],
          }
        : {}),
    };
    for (const [key, [value, description]] of Object.entries(outputs) as [StackOutputKey, [string, string]][]) {
      new CfnOutput(this, STACK_OUTPUTS[key], { value, description });
    }
  }
}
