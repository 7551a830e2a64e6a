import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeDeliveryStreamCommand, FirehoseClient } from '@aws-sdk/client-firehose';
import { Crawler, GetCrawlerCommand, GetJobRunsCommand, GetTableCommand, GetWorkflowRunsCommand, GlueClient, Table } from '@aws-sdk/client-glue';
import { ListSubscriptionsByTopicCommand, SNSClient, Subscription } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { StatusCheck } from '../status-check';

export type { StatusCheck };

export interface PipelineNames {
  readonly deliveryStreamName?: string;
  /** Age in seconds above which the stack's data-freshness alarm fires (a stack output). */
  readonly dataFreshnessThresholdSeconds?: number;
  readonly deadLetterQueueUrl?: string;
  readonly workflowName?: string;
  readonly jobName?: string;
  readonly crawlerName?: string;
  readonly databaseName?: string;
  readonly tableName?: string;
  /** The views the view refresher creates (the named queries that are views). */
  readonly viewNames?: readonly string[];
  readonly alarmTopicArn?: string;
}

export interface PipelineClients {
  readonly firehose: FirehoseClient;
  readonly glue: GlueClient;
  readonly sqs: SQSClient;
  readonly cloudwatch: CloudWatchClient;
  readonly sns: SNSClient;
}

export interface PipelineStatusOptions {
  /** Workflow runs to list. */
  readonly runs?: number;
  /** The clock, for the data-freshness window. */
  readonly now?: () => Date;
}

/** How far back the data-freshness check looks. */
const FRESHNESS_WINDOW_MINUTES = 15;

const failed = (component: string, error: unknown): StatusCheck => ({ component, state: 'UNKNOWN', healthy: false, detail: (error as Error).message });

const iso = (date: Date | undefined) => date?.toISOString() ?? 'an unknown time';

const UNHEALTHY_JOB_STATES = new Set(['FAILED', 'TIMEOUT', 'ERROR']);

/** Whether a table (or view) exists in the Glue catalogue: undefined when it does not. */
async function findTable(glue: GlueClient, databaseName: string, name: string): Promise<Table | undefined> {
  try {
    return (await glue.send(new GetTableCommand({ DatabaseName: databaseName, Name: name }))).Table ?? undefined;
  } catch (error) {
    if ((error as Error).name === 'EntityNotFoundException') return undefined;
    throw error;
  }
}

/** Every subscription of a topic, following the pages. */
async function topicSubscriptions(sns: SNSClient, topicArn: string): Promise<Subscription[]> {
  const subscriptions: Subscription[] = [];
  let NextToken: string | undefined;
  do {
    const page = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken }));
    subscriptions.push(...(page.Subscriptions ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return subscriptions;
}

/** The largest `DeliveryToS3.DataFreshness` of the stream over the window; undefined with no data points. */
async function maxDataFreshness(cloudwatch: CloudWatchClient, deliveryStreamName: string, now: Date): Promise<number | undefined> {
  const values: number[] = [];
  let NextToken: string | undefined;
  do {
    const page = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(now.getTime() - FRESHNESS_WINDOW_MINUTES * 60_000),
        EndTime: now,
        MetricDataQueries: [
          {
            Id: 'freshness',
            MetricStat: {
              Metric: { Namespace: 'AWS/Firehose', MetricName: 'DeliveryToS3.DataFreshness', Dimensions: [{ Name: 'DeliveryStreamName', Value: deliveryStreamName }] },
              Period: 60,
              Stat: 'Maximum',
            },
          },
        ],
        NextToken,
      }),
    );
    for (const result of page.MetricDataResults ?? []) values.push(...(result.Values ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return values.length === 0 ? undefined : Math.max(...values);
}

/** A check's lines, or one UNKNOWN line when its calls failed: one failing call hides no other check. */
const guarded = (component: string, check: Promise<StatusCheck[]>): Promise<StatusCheck[]> => check.catch((error: unknown) => [failed(component, error)]);

/** The Firehose stream: ACTIVE, and how it is encrypted. */
function streamCheck(firehose: FirehoseClient, stream: string): Promise<StatusCheck[]> {
  const component = `firehose ${stream}`;
  return guarded(
    component,
    firehose.send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream })).then(({ DeliveryStreamDescription: d }) => {
      const failure = d?.FailureDescription ? `; ${d.FailureDescription.Type ?? ''}: ${d.FailureDescription.Details ?? ''}` : '';
      return [
        {
          component,
          state: d?.DeliveryStreamStatus ?? 'UNKNOWN',
          healthy: d?.DeliveryStreamStatus === 'ACTIVE',
          detail: `encryption ${d?.DeliveryStreamEncryptionConfiguration?.Status ?? 'unknown'}${failure}`,
        },
      ];
    }),
  );
}

/** The oldest record waiting in Firehose, judged by the data-freshness alarm's threshold. */
function freshnessCheck(cloudwatch: CloudWatchClient, stream: string, threshold: number | undefined, now: Date): Promise<StatusCheck[]> {
  const component = 'data freshness';
  return guarded(
    component,
    maxDataFreshness(cloudwatch, stream, now).then((age): StatusCheck[] => {
      if (age === undefined) {
        return [{ component, state: 'NO DATA', healthy: true, detail: `no records buffered in the last ${FRESHNESS_WINDOW_MINUTES} min` }];
      }
      const state = `${Math.round(age)} s`;
      if (threshold === undefined) {
        return [{ component, state, healthy: false, detail: 'the stack has no DataFreshnessThresholdSeconds output to judge this by: redeploy it (npx cdk deploy)' }];
      }
      if (age > threshold) {
        const detail = `the oldest record waits in Firehose longer than the alarm's ${threshold} s: delivery to S3 is stuck; look in the bucket's errors/ prefix and the stream's error logs (S3 or KMS access denied?)`;
        return [{ component, state, healthy: false, detail }];
      }
      return [{ component, state, healthy: true, detail: `oldest buffered record over the last ${FRESHNESS_WINDOW_MINUTES} min; the alarm fires above ${threshold} s` }];
    }),
  );
}

/** The dead-letter queue: empty when EventBridge delivered everything to Firehose. */
function deadLetterCheck(sqs: SQSClient, queueUrl: string): Promise<StatusCheck[]> {
  const component = 'dead-letter queue';
  return guarded(
    component,
    sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] })).then(({ Attributes }) => {
      const depth = Number(Attributes?.ApproximateNumberOfMessages ?? 0);
      return [
        {
          component,
          state: `${depth} message${depth === 1 ? '' : 's'}`,
          healthy: depth === 0,
          detail: depth === 0 ? 'nothing undelivered' : 'events EventBridge could not deliver to Firehose: fix the cause, then redrive or replay the archive',
        },
      ];
    }),
  );
}

/** One line per recent workflow run, or one saying it has not run yet. */
function workflowRunsCheck(glue: GlueClient, workflowName: string, runs: number): Promise<StatusCheck[]> {
  const component = `workflow ${workflowName}`;
  return guarded(
    component,
    glue.send(new GetWorkflowRunsCommand({ Name: workflowName, MaxResults: runs, IncludeGraph: false })).then(({ Runs = [] }) =>
      Runs.length === 0
        ? [{ component, state: 'NO RUNS', healthy: true, detail: 'not run yet (the schedule starts it)' }]
        : Runs.map((run) => {
            const s = run.Statistics ?? {};
            const bad = (s.FailedActions ?? 0) + (s.ErroredActions ?? 0) + (s.TimeoutActions ?? 0);
            return {
              component: `workflow run ${run.StartedOn?.toISOString() ?? run.WorkflowRunId ?? ''}`,
              state: run.Status ?? 'UNKNOWN',
              healthy: (run.Status === 'COMPLETED' || run.Status === 'RUNNING') && bad === 0,
              detail: `${s.SucceededActions ?? 0}/${s.TotalActions ?? 0} actions succeeded, ${bad} failed${run.ErrorMessage ? `; ${run.ErrorMessage}` : ''}`,
            };
          }),
    ),
  );
}

/** The job's last run: a failure says what to do; the bookmark has not moved past it. */
function jobRunCheck(glue: GlueClient, jobName: string, runs: number): Promise<StatusCheck[]> {
  const component = `job ${jobName}`;
  return guarded(
    component,
    glue.send(new GetJobRunsCommand({ JobName: jobName, MaxResults: runs })).then(({ JobRuns = [] }): StatusCheck[] => {
      const last = [...JobRuns].sort((a, b) => (b.StartedOn?.getTime() ?? 0) - (a.StartedOn?.getTime() ?? 0)).at(0);
      if (!last) return [{ component, state: 'NO RUNS', healthy: true, detail: 'not run yet (the schedule starts it; `usage-tracker etl --aws` starts it now)' }];
      const state = last.JobRunState ?? 'UNKNOWN';
      const run = `run ${last.Id ?? ''}`;
      if (UNHEALTHY_JOB_STATES.has(state)) {
        const detail = `${last.ErrorMessage ?? 'no error message'} (${run}, started ${iso(last.StartedOn)}): fix the cause, then \`usage-tracker etl --aws\`; the bookmark has not advanced, so the next run re-reads the same raw objects`;
        return [{ component, state, healthy: false, detail }];
      }
      const detail =
        state === 'SUCCEEDED'
          ? `last run started ${iso(last.StartedOn)}, took ${last.ExecutionTime ?? 0} s`
          : state === 'STOPPED'
            ? `last run (started ${iso(last.StartedOn)}) was stopped; the next scheduled run picks up where the bookmark stands`
            : `${run} started ${iso(last.StartedOn)}`;
      return [{ component, state, healthy: true, detail }];
    }),
  );
}

/** The crawler's state and its last crawl. */
function crawlerCheck(crawlerName: string, crawler: Promise<Crawler | undefined>): Promise<StatusCheck[]> {
  const component = `crawler ${crawlerName}`;
  return guarded(
    component,
    crawler.then((c) => {
      const lastCrawl = c?.LastCrawl;
      return [
        {
          component,
          state: `${c?.State ?? 'UNKNOWN'}${lastCrawl?.Status ? ` (last crawl ${lastCrawl.Status})` : ''}`,
          healthy: lastCrawl?.Status === undefined || lastCrawl.Status === 'SUCCEEDED',
          detail: lastCrawl?.ErrorMessage ?? (lastCrawl?.StartTime ? `last started ${lastCrawl.StartTime.toISOString()}` : 'never crawled (the workflow starts it after the job succeeds)'),
        },
      ];
    }),
  );
}

/** The curated table: missing is expected until a crawl succeeds, and a problem after one. */
function tableCheck(databaseName: string, tableName: string, table: Promise<Table | undefined>, crawler: Promise<Crawler | undefined> | undefined): Promise<StatusCheck[]> {
  const component = `table ${databaseName}.${tableName}`;
  return guarded(
    component,
    table.then(async (t): Promise<StatusCheck[]> => {
      if (t) {
        const partitioned = (t.PartitionKeys ?? []).map((k) => k.Name).join('/');
        const detail = `${t.StorageDescriptor?.Columns?.length ?? 0} columns${partitioned ? `, partitioned by ${partitioned}` : ''}; updated ${iso(t.UpdateTime ?? t.CreateTime)}`;
        return [{ component, state: 'EXISTS', healthy: true, detail }];
      }
      const lastCrawl = crawler ? await crawler.then((c) => c?.LastCrawl?.Status, () => undefined) : undefined;
      if (lastCrawl !== 'SUCCEEDED') return [{ component, state: 'NOT CREATED', healthy: true, detail: 'not created yet: created by the first crawl after the first job run' }];
      const detail =
        'the last crawl succeeded but created no table: curated/usage_events/ holds no Parquet yet; send usage events and run `usage-tracker etl --aws` (job, then crawler); if the job did write curated data, read the crawler\u2019s log';
      return [{ component, state: 'NOT CREATED', healthy: false, detail }];
    }),
  );
}

/** A view over the table: missing is expected while the table is, and a problem once it exists. */
function viewCheck(glue: GlueClient, databaseName: string, tableName: string, view: string, tableExists: Promise<boolean | undefined>): Promise<StatusCheck[]> {
  const component = `view ${databaseName}.${view}`;
  return guarded(
    component,
    findTable(glue, databaseName, view).then(async (v): Promise<StatusCheck[]> => {
      if (v) return [{ component, state: 'EXISTS', healthy: true, detail: `updated ${iso(v.UpdateTime ?? v.CreateTime)}` }];
      const exists = await tableExists;
      if (exists === false) {
        return [{ component, state: 'NOT CREATED', healthy: true, detail: `not created yet: the view refresher creates it after the crawl that creates ${tableName}` }];
      }
      const known = exists ? `${tableName} exists but` : `could not tell whether ${tableName} exists, and`;
      const detail = `${known} the view is missing: the view refresher (re)creates it after each successful crawl; check its executions in Step Functions, or create it now with \`usage-tracker query ${view} --aws\``;
      return [{ component, state: 'NOT CREATED', healthy: false, detail }];
    }),
  );
}

/** The table, then each view: the views' lines know whether the table exists. */
function catalogueChecks(
  glue: GlueClient,
  databaseName: string,
  tableName: string,
  viewNames: readonly string[],
  crawler: Promise<Crawler | undefined> | undefined,
): Promise<StatusCheck[]>[] {
  const table = findTable(glue, databaseName, tableName);
  // Whether the table exists: undefined when that could not be read.
  const tableExists = table.then(
    (t) => t !== undefined,
    () => undefined,
  );
  return [tableCheck(databaseName, tableName, table, crawler), ...viewNames.map((view) => viewCheck(glue, databaseName, tableName, view, tableExists))];
}

/** Whether anyone receives the alarms: a confirmed subscription to the topic. */
function alarmTopicCheck(sns: SNSClient, topicArn: string): Promise<StatusCheck[]> {
  const component = 'alarm topic';
  return guarded(
    component,
    topicSubscriptions(sns, topicArn).then((subscriptions): StatusCheck[] => {
      const pending = subscriptions.filter((s) => s.SubscriptionArn === 'PendingConfirmation');
      const confirmed = subscriptions.filter((s) => s.SubscriptionArn?.startsWith('arn:'));
      const state = `${confirmed.length} confirmed, ${pending.length} pending`;
      if (confirmed.length > 0) {
        return [{ component, state, healthy: true, detail: `alarms reach ${confirmed.map((s) => `${s.Protocol ?? ''} ${s.Endpoint ?? ''}`).join(', ')}` }];
      }
      const how =
        pending.length > 0
          ? `confirm the e-mail (the "Subscription Confirmation" message sent to ${pending.map((s) => s.Endpoint).join(', ')}) or subscribe`
          : 'confirm the e-mail or subscribe (deploy with -c alarmEmail=<address>, or aws sns subscribe)';
      return [{ component, state, healthy: false, detail: `nobody receives alarms: ${how}` }];
    }),
  );
}

/**
 * The deployed pipeline's health, one line per step of its first deploy and after: the Firehose
 * stream, data freshness, the dead-letter queue, the workflow runs, the last job run, the last
 * crawl, the curated table, the views and whether anyone receives the alarms. Each check stands
 * alone: one failing call does not hide the rest. The calls run at once; the lines keep that order.
 */
export async function pipelineStatus(clients: PipelineClients, names: PipelineNames, options: PipelineStatusOptions = {}): Promise<StatusCheck[]> {
  const runs = options.runs ?? 5;
  const now = (options.now ?? (() => new Date()))();
  const { deliveryStreamName, deadLetterQueueUrl, workflowName, jobName, crawlerName, databaseName, tableName, alarmTopicArn } = names;
  const checks: Promise<StatusCheck[]>[] = [];
  if (deliveryStreamName) {
    checks.push(streamCheck(clients.firehose, deliveryStreamName), freshnessCheck(clients.cloudwatch, deliveryStreamName, names.dataFreshnessThresholdSeconds, now));
  }
  if (deadLetterQueueUrl) checks.push(deadLetterCheck(clients.sqs, deadLetterQueueUrl));
  if (workflowName) checks.push(workflowRunsCheck(clients.glue, workflowName, runs));
  if (jobName) checks.push(jobRunCheck(clients.glue, jobName, runs));
  // The crawler's last crawl tells the table check whether a missing table is expected yet.
  const crawler = crawlerName ? clients.glue.send(new GetCrawlerCommand({ Name: crawlerName })).then(({ Crawler: c }) => c) : undefined;
  if (crawlerName && crawler) checks.push(crawlerCheck(crawlerName, crawler));
  if (databaseName && tableName) checks.push(...catalogueChecks(clients.glue, databaseName, tableName, names.viewNames ?? [], crawler));
  if (alarmTopicArn) checks.push(alarmTopicCheck(clients.sns, alarmTopicArn));
  return (await Promise.all(checks)).flat();
}
