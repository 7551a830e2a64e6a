import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeDeliveryStreamCommand, FirehoseClient } from '@aws-sdk/client-firehose';
import { EntityNotFoundException, GetCrawlerCommand, GetJobRunsCommand, GetTableCommand, GetWorkflowRunsCommand, GlueClient } from '@aws-sdk/client-glue';
import { ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { loadNamedQueries } from '../../../contracts/named-queries';
import { DEFAULT_STACK_NAME, STACK_OUTPUTS, StackOutputKey } from '../../../contracts/stack-outputs';
import { PipelineNames, StatusCheck, pipelineStatus } from '../../../local/cli/pipeline-status';
import { runCli } from '../../../local/cli/usage-tracker';
import { DEFAULT_DATA_DIR } from '../../../local/data-dir';
import { capturingCliContext } from '../../support/cli-context';

const cloudformation = mockClient(CloudFormationClient);
const cloudwatch = mockClient(CloudWatchClient);
const firehose = mockClient(FirehoseClient);
const glue = mockClient(GlueClient);
const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:usage-alarms';
const NOW = new Date('2026-11-23T12:00:00Z');
const VIEWS = loadNamedQueries()
  .filter((query) => query.isView)
  .map((query) => query.name);

const names: PipelineNames = {
  deliveryStreamName: 'usage-stream',
  dataFreshnessThresholdSeconds: 1800,
  deadLetterQueueUrl: 'https://sqs/dlq',
  workflowName: 'usage-workflow',
  jobName: 'usage-job',
  crawlerName: 'usage-crawler',
  databaseName: 'api_usage',
  tableName: 'usage_events',
  viewNames: VIEWS,
  alarmTopicArn: TOPIC,
};

const region = 'eu-west-1';
const clients = () => ({
  firehose: new FirehoseClient({ region }),
  glue: new GlueClient({ region }),
  sqs: new SQSClient({ region }),
  cloudwatch: new CloudWatchClient({ region }),
  sns: new SNSClient({ region }),
});
const status = () => pipelineStatus(clients(), names, { now: () => NOW });

const notFound = (what: string) => new EntityNotFoundException({ message: `Entity Not Found: ${what}`, $metadata: {} });
const confirmed = { SubscriptionArn: `${TOPIC}:1b2c`, Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: TOPIC };
const pending = { SubscriptionArn: 'PendingConfirmation', Protocol: 'email', Endpoint: 'new@example.com', TopicArn: TOPIC };
const byComponent = (checks: StatusCheck[], component: string) => {
  const check = checks.find((c) => c.component === component);
  if (!check) throw new Error(`no check "${component}" in ${checks.map((c) => c.component).join(', ')}`);
  return check;
};

/** A pipeline after its first deploy and first successful workflow run. */
function healthyPipeline() {
  firehose.on(DescribeDeliveryStreamCommand).resolves({ DeliveryStreamDescription: { DeliveryStreamStatus: 'ACTIVE', DeliveryStreamEncryptionConfiguration: { Status: 'ENABLED' } } as never });
  cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'freshness', Values: [120, 640, 95], Timestamps: [] }] });
  sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '0' } });
  glue.on(GetWorkflowRunsCommand).resolves({
    Runs: [{ WorkflowRunId: 'wr-1', Status: 'COMPLETED', StartedOn: new Date('2026-11-23T11:00:00Z'), Statistics: { TotalActions: 2, SucceededActions: 2 } }],
  });
  glue.on(GetJobRunsCommand).resolves({
    JobRuns: [
      { Id: 'jr-old', JobRunState: 'FAILED', ErrorMessage: 'an older failure', StartedOn: new Date('2026-11-23T10:00:00Z') },
      { Id: 'jr-new', JobRunState: 'SUCCEEDED', StartedOn: new Date('2026-11-23T11:00:00Z'), ExecutionTime: 142 },
    ],
  });
  glue.on(GetCrawlerCommand).resolves({ Crawler: { State: 'READY', LastCrawl: { Status: 'SUCCEEDED', StartTime: new Date('2026-11-23T11:05:00Z') } } });
  glue.on(GetTableCommand, { DatabaseName: 'api_usage', Name: 'usage_events' }).resolves({
    Table: {
      Name: 'usage_events',
      StorageDescriptor: { Columns: [{ Name: 'event_id' }, { Name: 'tenant_id' }] },
      PartitionKeys: [{ Name: 'year' }, { Name: 'month' }, { Name: 'day' }],
      UpdateTime: new Date('2026-11-23T11:06:00Z'),
    },
  });
  for (const view of VIEWS) {
    glue.on(GetTableCommand, { DatabaseName: 'api_usage', Name: view }).resolves({ Table: { Name: view, TableType: 'VIRTUAL_VIEW', CreateTime: new Date('2026-11-23T11:07:00Z') } });
  }
  sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [confirmed] });
}

beforeEach(() => {
  for (const mock of [cloudformation, cloudwatch, firehose, glue, sns, sqs]) mock.reset();
  healthyPipeline();
});

describe('pipelineStatus', () => {
  it('reports every first-deploy step of a healthy pipeline as its own healthy line, in order', async () => {
    const checks = await status();
    expect(checks.map((c) => [c.component, c.state, c.healthy])).toEqual([
      ['firehose usage-stream', 'ACTIVE', true],
      ['data freshness', '640 s', true],
      ['dead-letter queue', '0 messages', true],
      ['workflow run 2026-11-23T11:00:00.000Z', 'COMPLETED', true],
      ['job usage-job', 'SUCCEEDED', true],
      ['crawler usage-crawler', 'READY (last crawl SUCCEEDED)', true],
      ['table api_usage.usage_events', 'EXISTS', true],
      ['view api_usage.usage_events_deduped', 'EXISTS', true],
      ['view api_usage.billable_usage_events', 'EXISTS', true],
      ['alarm topic', '1 confirmed, 0 pending', true],
    ]);
    expect(byComponent(checks, 'data freshness').detail).toBe('oldest buffered record over the last 15 min; the alarm fires above 1800 s');
    expect(byComponent(checks, 'job usage-job').detail).toBe('last run started 2026-11-23T11:00:00.000Z, took 142 s');
    expect(byComponent(checks, 'table api_usage.usage_events').detail).toBe('2 columns, partitioned by year/month/day; updated 2026-11-23T11:06:00.000Z');
    expect(byComponent(checks, 'alarm topic').detail).toBe('alarms reach email ops@example.com');
  });

  it('asks each service with the names it was given', async () => {
    await status();
    expect(glue.commandCalls(GetJobRunsCommand)[0].args[0].input).toEqual({ JobName: 'usage-job', MaxResults: 5 });
    expect(glue.commandCalls(GetTableCommand).map((c) => c.args[0].input)).toEqual([
      { DatabaseName: 'api_usage', Name: 'usage_events' },
      { DatabaseName: 'api_usage', Name: 'usage_events_deduped' },
      { DatabaseName: 'api_usage', Name: 'billable_usage_events' },
    ]);
    expect(sns.commandCalls(ListSubscriptionsByTopicCommand)[0].args[0].input).toEqual({ TopicArn: TOPIC, NextToken: undefined });
    const metric = cloudwatch.commandCalls(GetMetricDataCommand)[0].args[0].input;
    expect(metric.StartTime).toEqual(new Date('2026-11-23T11:45:00Z'));
    expect(metric.EndTime).toEqual(NOW);
    expect(metric.MetricDataQueries).toEqual([
      {
        Id: 'freshness',
        MetricStat: {
          Metric: { Namespace: 'AWS/Firehose', MetricName: 'DeliveryToS3.DataFreshness', Dimensions: [{ Name: 'DeliveryStreamName', Value: 'usage-stream' }] },
          Period: 60,
          Stat: 'Maximum',
        },
      },
    ]);
  });

  describe('the last Glue job run', () => {
    it.each([
      ['FAILED', 'AnalysisException: Path does not exist'],
      ['TIMEOUT', 'Job run timed out after 60 minutes'],
      ['ERROR', 'Access denied for s3://lake/errors/glue/_temporary'],
    ])('is unhealthy when %s, with the error message and what to do', async (state, message) => {
      glue.on(GetJobRunsCommand).resolves({ JobRuns: [{ Id: 'jr-9', JobRunState: state as never, ErrorMessage: message, StartedOn: new Date('2026-11-23T11:30:00Z') }] });
      const job = byComponent(await status(), 'job usage-job');
      expect(job).toEqual({
        component: 'job usage-job',
        state,
        healthy: false,
        detail: `${message} (run jr-9, started 2026-11-23T11:30:00.000Z): fix the cause, then \`usage-tracker etl --aws\`; the bookmark has not advanced, so the next run re-reads the same raw objects`,
      });
    });

    it('is healthy before its first run, saying the schedule starts it', async () => {
      glue.on(GetJobRunsCommand).resolves({ JobRuns: [] });
      expect(byComponent(await status(), 'job usage-job')).toEqual({
        component: 'job usage-job',
        state: 'NO RUNS',
        healthy: true,
        detail: 'not run yet (the schedule starts it; `usage-tracker etl --aws` starts it now)',
      });
    });
  });

  describe('the table', () => {
    it('is healthy while missing before any successful crawl: the first crawl after the first job run creates it', async () => {
      glue.on(GetCrawlerCommand).resolves({ Crawler: { State: 'READY' } });
      glue.on(GetTableCommand).rejects(notFound('usage_events'));
      const checks = await status();
      expect(byComponent(checks, 'table api_usage.usage_events')).toEqual({
        component: 'table api_usage.usage_events',
        state: 'NOT CREATED',
        healthy: true,
        detail: 'not created yet: created by the first crawl after the first job run',
      });
      // The views wait for the table: missing views are expected too.
      const view = byComponent(checks, 'view api_usage.usage_events_deduped');
      expect(view).toMatchObject({ state: 'NOT CREATED', healthy: true });
      expect(view.detail).toContain('after the crawl that creates usage_events');
      expect(checks.every((c) => c.healthy)).toBe(true);
    });

    it('is unhealthy when missing after a successful crawl', async () => {
      glue.on(GetTableCommand).rejects(notFound('usage_events'));
      const table = byComponent(await status(), 'table api_usage.usage_events');
      expect(table).toMatchObject({ state: 'NOT CREATED', healthy: false });
      expect(table.detail).toMatch(/^the last crawl succeeded but created no table: curated\/usage_events\/ holds no Parquet yet; send usage events and run `usage-tracker etl --aws`/);
    });
  });

  it('reports a view missing while the table exists as unhealthy, saying how to create it', async () => {
    glue.on(GetTableCommand, { Name: 'usage_events_deduped' }).rejects(notFound('usage_events_deduped'));
    const view = byComponent(await status(), 'view api_usage.usage_events_deduped');
    expect(view).toMatchObject({ state: 'NOT CREATED', healthy: false });
    expect(view.detail).toBe(
      'usage_events exists but the view is missing: the view refresher (re)creates it after each successful crawl; check its executions in Step Functions, or create it now with `usage-tracker query usage_events_deduped --aws`',
    );
  });

  describe('data freshness', () => {
    it('is unhealthy above the alarm threshold, healthy at it', async () => {
      cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'freshness', Values: [1800.4, 2400] }] });
      const stale = byComponent(await status(), 'data freshness');
      expect(stale).toMatchObject({ state: '2400 s', healthy: false });
      expect(stale.detail).toMatch(/^the oldest record waits in Firehose longer than the alarm's 1800 s: delivery to S3 is stuck/);

      cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'freshness', Values: [1800] }] });
      expect(byComponent(await status(), 'data freshness')).toMatchObject({ state: '1800 s', healthy: true });
    });

    it('is healthy without data points: no records buffered', async () => {
      cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'freshness', Values: [], Timestamps: [] }] });
      expect(byComponent(await status(), 'data freshness')).toEqual({ component: 'data freshness', state: 'NO DATA', healthy: true, detail: 'no records buffered in the last 15 min' });
    });

    it('reads every page of the metric', async () => {
      cloudwatch
        .on(GetMetricDataCommand)
        .resolvesOnce({ MetricDataResults: [{ Id: 'freshness', Values: [100] }], NextToken: 'm-2' })
        .resolves({ MetricDataResults: [{ Id: 'freshness', Values: [1900] }] });
      expect(byComponent(await status(), 'data freshness')).toMatchObject({ state: '1900 s', healthy: false });
      expect(cloudwatch.commandCalls(GetMetricDataCommand).map((c) => c.args[0].input.NextToken)).toEqual([undefined, 'm-2']);
    });

    it('cannot be judged without the threshold output', async () => {
      const checks = await pipelineStatus(clients(), { ...names, dataFreshnessThresholdSeconds: undefined }, { now: () => NOW });
      const freshness = byComponent(checks, 'data freshness');
      expect(freshness).toMatchObject({ state: '640 s', healthy: false });
      expect(freshness.detail).toContain('no DataFreshnessThresholdSeconds output');
    });
  });

  describe('the alarm topic', () => {
    it('is unhealthy with only a pending subscription, naming the address to confirm', async () => {
      sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [pending] });
      expect(byComponent(await status(), 'alarm topic')).toEqual({
        component: 'alarm topic',
        state: '0 confirmed, 1 pending',
        healthy: false,
        detail: 'nobody receives alarms: confirm the e-mail (the "Subscription Confirmation" message sent to new@example.com) or subscribe',
      });
    });

    it('is unhealthy with no subscription at all', async () => {
      sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [] });
      expect(byComponent(await status(), 'alarm topic')).toMatchObject({
        state: '0 confirmed, 0 pending',
        healthy: false,
        detail: 'nobody receives alarms: confirm the e-mail or subscribe (deploy with -c alarmEmail=<address>, or aws sns subscribe)',
      });
    });

    it('follows the pages: a confirmed subscription on the last page counts', async () => {
      sns
        .on(ListSubscriptionsByTopicCommand, { NextToken: undefined })
        .resolves({ Subscriptions: [pending], NextToken: 'page-2' })
        .on(ListSubscriptionsByTopicCommand, { NextToken: 'page-2' })
        .resolves({ Subscriptions: [pending], NextToken: 'page-3' })
        .on(ListSubscriptionsByTopicCommand, { NextToken: 'page-3' })
        .resolves({ Subscriptions: [confirmed] });
      expect(byComponent(await status(), 'alarm topic')).toMatchObject({ state: '1 confirmed, 2 pending', healthy: true });
      expect(sns.commandCalls(ListSubscriptionsByTopicCommand).map((c) => c.args[0].input.NextToken)).toEqual([undefined, 'page-2', 'page-3']);
    });
  });

  it('reports the other unhealthy steps: stream, DLQ, workflow run, crawl', async () => {
    firehose.on(DescribeDeliveryStreamCommand).resolves({ DeliveryStreamDescription: { DeliveryStreamStatus: 'CREATING_FAILED', FailureDescription: { Type: 'KMS_ACCESS_DENIED', Details: 'no kms:Decrypt' } } as never });
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { ApproximateNumberOfMessages: '7' } });
    glue.on(GetWorkflowRunsCommand).resolves({ Runs: [{ WorkflowRunId: 'wr-2', Status: 'COMPLETED', StartedOn: new Date('2026-11-23T11:00:00Z'), Statistics: { TotalActions: 2, SucceededActions: 1, FailedActions: 1 } }] });
    glue.on(GetCrawlerCommand).resolves({ Crawler: { State: 'READY', LastCrawl: { Status: 'FAILED', ErrorMessage: 'Insufficient Lake Formation permission(s)' } } });
    const checks = await status();
    expect(byComponent(checks, 'firehose usage-stream')).toMatchObject({ state: 'CREATING_FAILED', healthy: false, detail: 'encryption unknown; KMS_ACCESS_DENIED: no kms:Decrypt' });
    expect(byComponent(checks, 'dead-letter queue')).toMatchObject({ state: '7 messages', healthy: false });
    expect(byComponent(checks, 'workflow run 2026-11-23T11:00:00.000Z')).toMatchObject({ healthy: false, detail: '1/2 actions succeeded, 1 failed' });
    expect(byComponent(checks, 'crawler usage-crawler')).toMatchObject({ state: 'READY (last crawl FAILED)', healthy: false, detail: 'Insufficient Lake Formation permission(s)' });
  });

  it('does not let a throwing call hide the other checks', async () => {
    glue.on(GetJobRunsCommand).rejects(new Error('AccessDeniedException: glue:GetJobRuns not allowed'));
    glue.on(GetCrawlerCommand).rejects(new Error('ThrottlingException: Rate exceeded'));
    glue.on(GetTableCommand, { Name: 'usage_events' }).rejects(new Error('AccessDeniedException: glue:GetTable not allowed'));
    glue.on(GetTableCommand, { Name: 'usage_events_deduped' }).rejects(notFound('usage_events_deduped'));
    cloudwatch.on(GetMetricDataCommand).rejects(new Error('AccessDenied: cloudwatch:GetMetricData'));
    sns.on(ListSubscriptionsByTopicCommand).rejects(new Error('AuthorizationError: sns:ListSubscriptionsByTopic'));
    const checks = await status();
    expect(checks.map((c) => [c.component, c.state, c.healthy])).toEqual([
      ['firehose usage-stream', 'ACTIVE', true],
      ['data freshness', 'UNKNOWN', false],
      ['dead-letter queue', '0 messages', true],
      ['workflow run 2026-11-23T11:00:00.000Z', 'COMPLETED', true],
      ['job usage-job', 'UNKNOWN', false],
      ['crawler usage-crawler', 'UNKNOWN', false],
      ['table api_usage.usage_events', 'UNKNOWN', false],
      ['view api_usage.usage_events_deduped', 'NOT CREATED', false],
      ['view api_usage.billable_usage_events', 'EXISTS', true],
      ['alarm topic', 'UNKNOWN', false],
    ]);
    expect(byComponent(checks, 'job usage-job').detail).toBe('AccessDeniedException: glue:GetJobRuns not allowed');
    expect(byComponent(checks, 'crawler usage-crawler').detail).toBe('ThrottlingException: Rate exceeded');
    expect(byComponent(checks, 'table api_usage.usage_events').detail).toBe('AccessDeniedException: glue:GetTable not allowed');
    expect(byComponent(checks, 'view api_usage.usage_events_deduped').detail).toMatch(/^could not tell whether usage_events exists, and the view is missing/);
    expect(byComponent(checks, 'data freshness').detail).toBe('AccessDenied: cloudwatch:GetMetricData');
    expect(byComponent(checks, 'alarm topic').detail).toBe('AuthorizationError: sns:ListSubscriptionsByTopic');
  });

  it('a missing table is not blamed on the crawl when the crawler cannot be read', async () => {
    glue.on(GetCrawlerCommand).rejects(new Error('ThrottlingException: Rate exceeded'));
    glue.on(GetTableCommand).rejects(notFound('usage_events'));
    expect(byComponent(await status(), 'table api_usage.usage_events')).toMatchObject({ state: 'NOT CREATED', healthy: true });
  });
});


describe('usage-tracker status against AWS (mocked clients)', () => {
  const outputs = (overrides: Partial<Record<StackOutputKey, string>> = {}) =>
    Object.entries({
      deliveryStreamName: 'usage-stream',
      dataFreshnessThresholdSeconds: '1800',
      deadLetterQueueUrl: 'https://sqs/dlq',
      glueWorkflowName: 'usage-workflow',
      glueJobName: 'usage-job',
      glueCrawlerName: 'usage-crawler',
      glueDatabaseName: 'api_usage',
      glueTableName: 'usage_events',
      alarmTopicArn: TOPIC,
      ...overrides,
    } satisfies Partial<Record<StackOutputKey, string>>).map(([key, OutputValue]) => ({ OutputKey: STACK_OUTPUTS[key as StackOutputKey], OutputValue }));

  it('prints one healthy line per step and exits 0 for a healthy pipeline, with every name from the stack outputs', async () => {
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'UsageStack', Outputs: outputs() } as never] });
    const c = capturingCliContext();
    expect(await runCli(['status', '--stack', 'UsageStack', '--region', region, '--format', 'json'], c)).toBe(0);
    const rows = JSON.parse(c.out) as StatusCheck[];
    expect(rows.map((r) => r.component)).toEqual([
      'firehose usage-stream',
      'data freshness',
      'dead-letter queue',
      'workflow run 2026-11-23T11:00:00.000Z',
      'job usage-job',
      'crawler usage-crawler',
      'table api_usage.usage_events',
      'view api_usage.usage_events_deduped',
      'view api_usage.billable_usage_events',
      'alarm topic',
    ]);
    expect(rows.every((r) => r.healthy)).toBe(true);
    expect(cloudformation.commandCalls(DescribeStacksCommand)[0].args[0].input).toEqual({ StackName: 'UsageStack' });
    expect(sns.commandCalls(ListSubscriptionsByTopicCommand)[0].args[0].input.TopicArn).toBe(TOPIC);
  });

  it('prints the unhealthy steps with what to do and exits 1', async () => {
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'ApiUsageTracker', Outputs: outputs({ dataFreshnessThresholdSeconds: '600' }) } as never] });
    glue.on(GetJobRunsCommand).resolves({ JobRuns: [{ Id: 'jr-9', JobRunState: 'FAILED', ErrorMessage: 'AnalysisException: Path does not exist', StartedOn: new Date('2026-11-23T11:30:00Z') }] });
    sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [pending] });
    const c = capturingCliContext();
    expect(await runCli(['status', '--region', region], c)).toBe(1);
    const lines = c.out.split('\n');
    expect(lines[0]).toMatch(/^component\s+state\s+healthy\s+detail$/);
    expect(lines.find((l) => l.startsWith('data freshness'))).toMatch(/^data freshness\s+640 s\s+false\s+the oldest record waits in Firehose longer than the alarm's 600 s/);
    expect(lines.find((l) => l.startsWith('job usage-job'))).toMatch(/^job usage-job\s+FAILED\s+false\s+AnalysisException: Path does not exist \(run jr-9/);
    expect(lines.find((l) => l.startsWith('alarm topic'))).toMatch(/^alarm topic\s+0 confirmed, 1 pending\s+false\s+nobody receives alarms: confirm the e-mail/);
    expect(lines.find((l) => l.startsWith('table'))).toMatch(/^table api_usage\.usage_events\s+EXISTS\s+true/);
    expect(c.out).toContain(`(${8 + VIEWS.length} rows)`);
    expect(c.err).toBe('');
  });

  it.each([
    [['--aws'], DEFAULT_STACK_NAME],
    [['--aws', '--stack', 'UsageStack'], 'UsageStack'],
  ])('status %j reports on AWS, reading the stack %s', async (flags, stackName) => {
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: stackName, Outputs: outputs() } as never] });
    const c = capturingCliContext();
    expect(await runCli(['status', ...flags, '--format', 'json'], c)).toBe(0);
    expect(cloudformation.commandCalls(DescribeStacksCommand)[0].args[0].input).toEqual({ StackName: stackName });
    expect((JSON.parse(c.out) as StatusCheck[]).map((r) => r.component)).toContain('firehose usage-stream');
  });

  it.each([
    [['status', '--local', '--aws']],
    [['status', '--local', '--stack', 'UsageStack']],
    [['status', '--data-dir', 'some-folder', '--region', region]],
    [['status', '--data-dir', 'some-folder', '--aws']],
  ])('refuses %j, the local lake and AWS at once, with exit code 2 and asks nothing of AWS', async (argv) => {
    const c = capturingCliContext();
    expect(await runCli(argv, c)).toBe(2);
    expect(c.err).toMatch(/^usage-tracker: --(local|data-dir) cannot be combined with --aws\/--stack\/--region\/--role-arn: the local lake or AWS, not both\.\n/);
    expect(c.out).toBe('');
    expect(cloudformation.calls()).toHaveLength(0);
  });

  it('no flag is the local lake: it asks nothing of AWS, and names the default data folder when there is none', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'status-default-'));
    const before = process.cwd();
    process.chdir(empty);
    try {
      const c = capturingCliContext();
      expect(await runCli(['status'], c)).toBe(2);
      expect(c.err).toContain(`usage-tracker: the default data folder "${DEFAULT_DATA_DIR}" (--data-dir) does not exist.`);
    } finally {
      process.chdir(before);
      rmSync(empty, { recursive: true, force: true });
    }
    expect(cloudformation.calls()).toHaveLength(0);
    expect(firehose.calls()).toHaveLength(0);
  });
});
