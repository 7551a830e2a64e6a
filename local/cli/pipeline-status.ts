import { DescribeDeliveryStreamCommand, FirehoseClient } from '@aws-sdk/client-firehose';
import { GetCrawlerCommand, GetWorkflowRunsCommand, GlueClient } from '@aws-sdk/client-glue';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { StatusCheck } from '../status-check';

export type { StatusCheck };

export interface PipelineNames {
  readonly deliveryStreamName?: string;
  readonly workflowName?: string;
  readonly crawlerName?: string;
  readonly deadLetterQueueUrl?: string;
}

export interface PipelineClients {
  readonly firehose: FirehoseClient;
  readonly glue: GlueClient;
  readonly sqs: SQSClient;
}

const failed = (component: string, error: unknown): StatusCheck => ({ component, state: 'UNKNOWN', healthy: false, detail: (error as Error).message });

/**
 * The deployed pipeline's health: the Firehose stream, the last workflow runs, the crawler and
 * the dead-letter queue's depth. Each check stands alone: one failing call does not hide the rest.
 */
export async function pipelineStatus(clients: PipelineClients, names: PipelineNames, runs = 5): Promise<StatusCheck[]> {
  const checks: Promise<StatusCheck[]>[] = [];
  if (names.deliveryStreamName) {
    checks.push(
      clients.firehose
        .send(new DescribeDeliveryStreamCommand({ DeliveryStreamName: names.deliveryStreamName }))
        .then(({ DeliveryStreamDescription: d }) => [
          {
            component: `firehose ${names.deliveryStreamName}`,
            state: d?.DeliveryStreamStatus ?? 'UNKNOWN',
            healthy: d?.DeliveryStreamStatus === 'ACTIVE',
            detail: `encryption ${d?.DeliveryStreamEncryptionConfiguration?.Status ?? 'unknown'}${d?.FailureDescription ? `; ${d.FailureDescription.Type}: ${d.FailureDescription.Details}` : ''}`,
          },
        ])
        .catch((error) => [failed(`firehose ${names.deliveryStreamName}`, error)]),
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
  if (names.crawlerName) {
    checks.push(
      clients.glue
        .send(new GetCrawlerCommand({ Name: names.crawlerName }))
        .then(({ Crawler: c }) => [
          {
            component: `crawler ${names.crawlerName}`,
            state: `${c?.State ?? 'UNKNOWN'}${c?.LastCrawl?.Status ? ` (last crawl ${c.LastCrawl.Status})` : ''}`,
            healthy: c?.LastCrawl?.Status === undefined || c.LastCrawl.Status === 'SUCCEEDED',
            detail: c?.LastCrawl?.ErrorMessage ?? (c?.LastCrawl?.StartTime ? `last started ${c.LastCrawl.StartTime.toISOString()}` : 'never crawled'),
          },
        ])
        .catch((error) => [failed(`crawler ${names.crawlerName}`, error)]),
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
  return (await Promise.all(checks)).flat();
}
