import { GetWorkflowRunCommand, GlueClient, StartWorkflowRunCommand, StopWorkflowRunCommand, WorkflowRun } from '@aws-sdk/client-glue';
import { abortableSleep } from './abortable-sleep';

/** Where a workflow run stands: its status and each job's and crawler's latest state. */
export interface WorkflowProgress {
  readonly runId: string;
  readonly status: string;
  readonly elapsedMs: number;
  /** e.g. `{ 'job usage-lake': 'RUNNING', 'crawler usage-crawler': 'WAITING' }`. */
  readonly steps: Readonly<Record<string, string>>;
}

export interface WorkflowRunOptions {
  readonly workflowName: string;
  readonly pollIntervalMs?: number;
  readonly maxPollIntervalMs?: number;
  readonly onProgress?: (progress: WorkflowProgress) => void;
  /** Aborting stops the run in Glue (StopWorkflowRun) and rejects. */
  readonly signal?: AbortSignal;
  /** Waits between polls (tests pass a fake); by default a timer that Ctrl-C cuts short. */
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface WorkflowOutcome {
  readonly runId: string;
  readonly status: string;
  readonly statistics: NonNullable<WorkflowRun['Statistics']>;
  readonly steps: Readonly<Record<string, string>>;
}

/** A workflow run that did not complete every action: Glue's own messages, verbatim. */
export class WorkflowRunError extends Error {
  constructor(
    public readonly runId: string,
    public readonly status: string,
    public readonly failures: readonly string[],
  ) {
    super(`Glue workflow run ${runId} ${status}${failures.length > 0 ? `: ${failures.join('; ')}` : ''}`);
    this.name = 'WorkflowRunError';
  }
}

/** The latest state of each job and crawler in a run's graph. */
export function workflowSteps(run: WorkflowRun | undefined): Record<string, string> {
  const steps: Record<string, string> = {};
  for (const node of run?.Graph?.Nodes ?? []) {
    if (node.Type === 'JOB') steps[`job ${node.Name}`] = node.JobDetails?.JobRuns?.at(-1)?.JobRunState ?? 'WAITING';
    if (node.Type === 'CRAWLER') steps[`crawler ${node.Name}`] = node.CrawlerDetails?.Crawls?.at(-1)?.State ?? 'WAITING';
  }
  return steps;
}

/** What failed in a run: each failed job run's or crawl's error message. */
function failuresOf(run: WorkflowRun | undefined): string[] {
  const failures: string[] = [];
  if (run?.ErrorMessage) failures.push(run.ErrorMessage);
  for (const node of run?.Graph?.Nodes ?? []) {
    for (const jobRun of node.JobDetails?.JobRuns ?? []) {
      if (jobRun.JobRunState && !['SUCCEEDED', 'RUNNING', 'STARTING', 'WAITING'].includes(jobRun.JobRunState)) {
        failures.push(`job ${node.Name} ${jobRun.JobRunState}${jobRun.ErrorMessage ? `: ${jobRun.ErrorMessage}` : ''}`);
      }
    }
    for (const crawl of node.CrawlerDetails?.Crawls ?? []) {
      if (crawl.State === 'FAILED' || crawl.State === 'CANCELLED') failures.push(`crawler ${node.Name} ${crawl.State}${crawl.ErrorMessage ? `: ${crawl.ErrorMessage}` : ''}`);
    }
  }
  return failures;
}

/**
 * Starts the workflow (job, then crawler) and follows it to the end. A run Glue reports as
 * COMPLETED can still hold failed actions (a failed job never fires the crawler's trigger), so
 * success means every action that ran succeeded.
 */
export async function runGlueWorkflow(client: GlueClient, options: WorkflowRunOptions): Promise<WorkflowOutcome> {
  const { RunId: runId } = await client.send(new StartWorkflowRunCommand({ Name: options.workflowName }));
  if (!runId) throw new Error('Glue did not return a workflow run id.');
  const sleep = options.sleep ?? ((ms: number) => abortableSleep(ms, options.signal));
  const startedAt = Date.now();
  let interval = options.pollIntervalMs ?? 5000;
  for (;;) {
    if (options.signal?.aborted) {
      await client.send(new StopWorkflowRunCommand({ Name: options.workflowName, RunId: runId }));
      throw new WorkflowRunError(runId, 'STOPPED', ['stopped by the user']);
    }
    const { Run: run } = await client.send(new GetWorkflowRunCommand({ Name: options.workflowName, RunId: runId, IncludeGraph: true }));
    const status = run?.Status ?? 'UNKNOWN';
    const steps = workflowSteps(run);
    options.onProgress?.({ runId, status, elapsedMs: Date.now() - startedAt, steps });
    if (status === 'COMPLETED' || status === 'STOPPED' || status === 'ERROR') {
      const statistics = run?.Statistics ?? {};
      const failed = (statistics.FailedActions ?? 0) + (statistics.ErroredActions ?? 0) + (statistics.TimeoutActions ?? 0) + (statistics.StoppedActions ?? 0);
      if (status !== 'COMPLETED' || failed > 0) throw new WorkflowRunError(runId, status === 'COMPLETED' ? 'COMPLETED WITH FAILURES' : status, failuresOf(run));
      return { runId, status, statistics, steps };
    }
    await sleep(interval);
    interval = Math.min(Math.round(interval * 1.5), options.maxPollIntervalMs ?? 30_000);
  }
}
