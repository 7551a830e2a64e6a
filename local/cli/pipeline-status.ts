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
export const FRESHNESS_WINDOW_MINUTES = 15;

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

/**
 * The deployed pipeline's health, one line per step of its first deploy and after: the Firehose
 * stream, data freshness, the dead-letter queue, the workflow runs, the last job run, the last
 * crawl, the curated table, the views and whether anyone receives the alarms. Each check stands
 * alone: one failing call does not hide the rest.
 */
export async function pipelineStatus(clients: PipelineClients, names: PipelineNames, options: PipelineStatusOptions = {}): Promise<StatusCheck[]> {
  const runs = options.runs ?? 5;
  const now = (options.now ?? (() => new Date()))();
  const checks: Promise<StatusCheck[]>[] = [];

  if (names.deliveryStreamName) {
    const stream = names.deliveryStreamName;
    checks.push(
      clients.firehose
        .send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: stream }))
        .then(({ DeliveryStreamDescription: d }) => [
          {
            component: `firehose ${stream}`,
            state: d?.DeliveryStreamStatus ?? 'UNKNOWN',
            healthy: d?.DeliveryStreamStatus === 'ACTIVE',
            detail: `encryption ${d?.DeliveryStreamEncryptionConfiguration?.Status ?? 'unknown'}${d?.FailureDescription ? `; ${d.FailureDescription.Type}: ${d.FailureDescription.Details}` : ''}`,
          },
        ])
        .catch((error) => [failed(`firehose ${stream}`, error)]),
    );

    const threshold = names.dataFreshnessThresholdSeconds;
    checks.push(
      maxDataFreshness(clients.cloudwatch, stream, now)
        .then((age): StatusCheck[] => {
          const component = 'data freshness';
          if (age === undefined) {
            return [{ component, state: 'NO DATA', healthy: true, detail: `no records buffered in the last ${FRESHNESS_WINDOW_MINUTES} min` }];
          }
          const state = `${Math.round(age)} s`;
          if (threshold === undefined) {
            return [{ component, state, healthy: false, detail: 'the stack has no DataFreshnessThresholdSeconds output to judge this by: redeploy it (npx cdk deploy)' }];
          }
          return age > threshold
            ? [
                {
                  component,
                  state,
                  healthy: false,
                  detail: `the oldest record waits in Firehose longer than the alarm's ${threshold} s: delivery to S3 is stuck; look in the bucket's errors/ prefix and the stream's error logs (S3 or KMS access denied?)`,
                },
              ]
            : [{ component, state, healthy: true, detail: `oldest buffered record over the last ${FRESHNESS_WINDOW_MINUTES} min; the alarm fires above ${threshold} s` }];
        })
        .catch((error) => [failed('data freshness', error)]),
    );
  }

  if (names.deadLetterQueueUrl) {
    checks.push(
      clients.sqs
        .send(new GetQueueAttributesCommand({ QueueUrl: names.deadLetterQueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }))
        .then(({ Attributes }) => {
          const depth = Number(Attributes?.ApproximateNumberOfMessages ?? 0);
          return [
            {
              component: 'dead-letter queue',
              state: `${depth} message${depth === 1 ? '' : 's'}`,
              healthy: depth === 0,
              detail: depth === 0 ? 'nothing undelivered' : 'events EventBridge could not deliver to Firehose: fix the cause, then redrive or replay the archive',
            },
          ];
        })
        .catch((error) => [failed('dead-letter queue', error)]),
    );
  }

  if (names.workflowName) {
    checks.push(
      clients.glue
        .send(new GetWorkflowRunsCommand({ Name: names.workflowName, MaxResults: runs, IncludeGraph: false }))
        .then(({ Runs }) =>
          (Runs ?? []).length === 0
            ? [{ component: `workflow ${names.workflowName}`, state: 'NO RUNS', healthy: true, detail: 'not run yet (the schedule starts it)' }]
            : (Runs ?? []).map((run) => {
                const s = run.Statistics ?? {};
                const bad = (s.FailedActions ?? 0) + (s.ErroredActions ?? 0) + (s.TimeoutActions ?? 0);
                return {
                  component: `workflow run ${run.StartedOn?.toISOString() ?? run.WorkflowRunId}`,
                  state: run.Status ?? 'UNKNOWN',
                  healthy: (run.Status === 'COMPLETED' || run.Status === 'RUNNING') && bad === 0,
                  detail: `${s.SucceededActions ?? 0}/${s.TotalActions ?? 0} actions succeeded, ${bad} failed${run.ErrorMessage ? `; ${run.ErrorMessage}` : ''}`,
                };
              }),
        )
        .catch((error) => [failed(`workflow ${names.workflowName}`, error)]),
    );
  }

  if (names.jobName) {
    const component = `job ${names.jobName}`;
    checks.push(
      clients.glue
        .send(new GetJobRunsCommand({ JobName: names.jobName, MaxResults: runs }))
        .then(({ JobRuns }): StatusCheck[] => {
          const last = [...(JobRuns ?? [])].sort((a, b) => (b.StartedOn?.getTime() ?? 0) - (a.StartedOn?.getTime() ?? 0))[0];
          if (!last) return [{ component, state: 'NO RUNS', healthy: true, detail: 'not run yet (the schedule starts it; `usage-tracker etl` starts it now)' }];
          const state = last.JobRunState ?? 'UNKNOWN';
          if (UNHEALTHY_JOB_STATES.has(state)) {
            return [
              {
                component,
                state,
                healthy: false,
                detail: `${last.ErrorMessage ?? 'no error message'} (run ${last.Id}, started ${iso(last.StartedOn)}): fix the cause, then \`usage-tracker etl\`; the bookmark has not advanced, so the next run re-reads the same raw objects`,
              },
            ];
          }
          const detail =
            state === 'SUCCEEDED'
              ? `last run started ${iso(last.StartedOn)}, took ${last.ExecutionTime ?? 0} s`
              : state === 'STOPPED'
                ? `last run (started ${iso(last.StartedOn)}) was stopped; the next scheduled run picks up where the bookmark stands`
                : `run ${last.Id} started ${iso(last.StartedOn)}`;
          return [{ component, state, healthy: true, detail }];
        })
        .catch((error) => [failed(component, error)]),
    );
  }

  // The crawler's last crawl tells the table check whether a missing table is expected yet.
  const crawler: Promise<Crawler | undefined> | undefined = names.crawlerName
    ? clients.glue.send(new GetCrawlerCommand({ Name: names.crawlerName })).then(({ Crawler: c }) => c)
    : undefined;
  if (crawler) {
    checks.push(
      crawler
        .then((c) => [
          {
            component: `crawler ${names.crawlerName}`,
            state: `${c?.State ?? 'UNKNOWN'}${c?.LastCrawl?.Status ? ` (last crawl ${c.LastCrawl.Status})` : ''}`,
            healthy: c?.LastCrawl?.Status === undefined || c.LastCrawl.Status === 'SUCCEEDED',
            detail: c?.LastCrawl?.ErrorMessage ?? (c?.LastCrawl?.StartTime ? `last started ${c.LastCrawl.StartTime.toISOString()}` : 'never crawled (the workflow starts it after the job succeeds)'),
          },
        ])
        .catch((error) => [failed(`crawler ${names.crawlerName}`, error)]),
    );
  }

  const { databaseName, tableName } = names;
  // Whether the table exists: undefined when that could not be read.
  let tableExists: Promise<boolean | undefined> = Promise.resolve(undefined);
  if (databaseName && tableName) {
    const component = `table ${databaseName}.${tableName}`;
    const table = findTable(clients.glue, databaseName, tableName);
    tableExists = table.then(
      (t) => t !== undefined,
      () => undefined,
    );
    checks.push(
      table
        .then(async (t): Promise<StatusCheck[]> => {
          if (t) {
            const partitioned = (t.PartitionKeys ?? []).map((k) => k.Name).join('/');
            return [
              {
                component,
                state: 'EXISTS',
                healthy: true,
                detail: `${t.StorageDescriptor?.Columns?.length ?? 0} columns${partitioned ? `, partitioned by ${partitioned}` : ''}; updated ${iso(t.UpdateTime ?? t.CreateTime)}`,
              },
            ];
          }
          const lastCrawl = crawler ? await crawler.then((c) => c?.LastCrawl?.Status, () => undefined) : undefined;
          return lastCrawl === 'SUCCEEDED'
            ? [
                {
                  component,
                  state: 'NOT CREATED',
                  healthy: false,
                  detail:
                    'the last crawl succeeded but created no table: curated/usage_events/ holds no Parquet yet; send usage events and run `usage-tracker etl` (job, then crawler); if the job did write curated data, read the crawler\u2019s log',
                },
              ]
            : [{ component, state: 'NOT CREATED', healthy: true, detail: 'not created yet: created by the first crawl after the first job run' }];
        })
        .catch((error) => [failed(component, error)]),
    );

    for (const view of names.viewNames ?? []) {
      const viewComponent = `view ${databaseName}.${view}`;
      checks.push(
        findTable(clients.glue, databaseName, view)
          .then(async (v): Promise<StatusCheck[]> => {
            if (v) return [{ component: viewComponent, state: 'EXISTS', healthy: true, detail: `updated ${iso(v.UpdateTime ?? v.CreateTime)}` }];
            const exists = await tableExists;
            if (exists === false) {
              return [{ component: viewComponent, state: 'NOT CREATED', healthy: true, detail: `not created yet: the view refresher creates it after the crawl that creates ${tableName}` }];
            }
            return [
              {
                component: viewComponent,
                state: 'NOT CREATED',
                healthy: false,
                detail: `${exists ? `${tableName} exists but` : `could not tell whether ${tableName} exists, and`} the view is missing: the view refresher (re)creates it after each successful crawl; check its executions in Step Functions, or create it now with \`usage-tracker query ${view} --aws\``,
              },
            ];
          })
          .catch((error) => [failed(viewComponent, error)]),
      );
    }
  }

  if (names.alarmTopicArn) {
    checks.push(
      topicSubscriptions(clients.sns, names.alarmTopicArn)
        .then((subscriptions): StatusCheck[] => {
          const pending = subscriptions.filter((s) => s.SubscriptionArn === 'PendingConfirmation');
          const confirmed = subscriptions.filter((s) => s.SubscriptionArn?.startsWith('arn:'));
          const state = `${confirmed.length} confirmed, ${pending.length} pending`;
          if (confirmed.length > 0) {
            return [{ component: 'alarm topic', state, healthy: true, detail: `alarms reach ${confirmed.map((s) => `${s.Protocol} ${s.Endpoint}`).join(', ')}` }];
          }
          const how =
            pending.length > 0
              ? `confirm the e-mail (the "Subscription Confirmation" message sent to ${pending.map((s) => s.Endpoint).join(', ')}) or subscribe`
              : 'confirm the e-mail or subscribe (deploy with -c alarmEmail=<address>, or aws sns subscribe)';
          return [{ component: 'alarm topic', state, healthy: false, detail: `nobody receives alarms: ${how}` }];
        })
        .catch((error) => [failed('alarm topic', error)]),
    );
  }

  return (await Promise.all(checks)).flat();
}
