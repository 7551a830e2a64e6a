import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetWorkflowRunCommand, GlueClient, StartWorkflowRunCommand, StopWorkflowRunCommand } from '@aws-sdk/client-glue';
import { mockClient } from 'aws-sdk-client-mock';
import { loadNamedQueries } from '../../../contracts/named-queries';
import { STACK_OUTPUTS } from '../../../contracts/stack-outputs';
import { AthenaQueryError, athenaStringLiteral, runAthenaQuery } from '../../../local/cli/athena-query';
import { WorkflowRunError, runGlueWorkflow } from '../../../local/cli/glue-workflow';
import { runCli } from '../../../local/cli/usage-tracker';
import { capturingCliContext } from '../../support/cli-context';

const athena = mockClient(AthenaClient);
const glue = mockClient(GlueClient);
const cloudformation = mockClient(CloudFormationClient);

const noSleep = () => Promise.resolve();
const column = (Name: string, Type: string) => ({ Name, Type });
const row = (...values: (string | undefined)[]) => ({ Data: values.map((VarCharValue) => (VarCharValue === undefined ? {} : { VarCharValue })) });

beforeEach(() => {
  for (const mock of [athena, glue, cloudformation]) mock.reset();
});

const context = capturingCliContext;

describe('Athena path: runAthenaQuery', () => {
  it('passes parameters as quoted literals, polls with growing waits while reporting progress, and reads every page', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce({ QueryExecution: { Status: { State: 'QUEUED' }, Statistics: { DataScannedInBytes: 0 } } })
      .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' }, Statistics: { DataScannedInBytes: 1024 } } })
      .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' }, StatementType: 'DML', Statistics: { DataScannedInBytes: 4096 } } });
    const meta = { ColumnInfo: [column('tenant_id', 'varchar'), column('calls', 'bigint'), column('amount', 'double')] };
    athena
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: undefined })
      .resolves({ ResultSet: { ResultSetMetadata: meta, Rows: [row('tenant_id', 'calls', 'amount'), row('t-1', '10', '0.5')] }, NextToken: 'page-2' })
      .on(GetQueryResultsCommand, { QueryExecutionId: 'q-1', NextToken: 'page-2' })
      .resolves({ ResultSet: { ResultSetMetadata: meta, Rows: [row('t-2', '3', undefined)] } });

    const waits: number[] = [];
    const states: string[] = [];
    const result = await runAthenaQuery(new AthenaClient({ region: 'eu-west-1' }), {
      sql: 'SELECT ... WHERE month = ?',
      parameters: ["2026-11", "it's"],
      workGroup: 'wg',
      database: 'api_usage',
      pollIntervalMs: 100,
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
      onProgress: (p) => states.push(`${p.state}:${p.bytesScanned}`),
    });

    expect(athena.commandCalls(StartQueryExecutionCommand)[0].args[0].input).toEqual({
      QueryString: 'SELECT ... WHERE month = ?',
      WorkGroup: 'wg',
      QueryExecutionContext: { Database: 'api_usage', Catalog: 'AwsDataCatalog' },
      ExecutionParameters: ["'2026-11'", "'it''s'"],
    });
    expect(states).toEqual(['QUEUED:0', 'RUNNING:1024', 'SUCCEEDED:4096']);
    expect(waits).toEqual([100, 150]);
    expect(result).toEqual({
      columns: ['tenant_id', 'calls', 'amount'],
      rows: [
        { tenant_id: 't-1', calls: 10, amount: 0.5 },
        { tenant_id: 't-2', calls: 3, amount: null },
      ],
    });
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(2);
  });

  it('keeps the first row of a statement without a header row (DDL)', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-ddl' });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' }, StatementType: 'DDL' } });
    athena.on(GetQueryResultsCommand).resolves({ ResultSet: { ResultSetMetadata: { ColumnInfo: [column('result', 'varchar')] }, Rows: [row('ok')] } });
    const result = await runAthenaQuery(new AthenaClient({ region: 'eu-west-1' }), { sql: 'CREATE VIEW v AS SELECT 1', workGroup: 'wg', database: 'db', sleep: noSleep });
    expect(result.rows).toEqual([{ result: 'ok' }]);
    expect(athena.commandCalls(StartQueryExecutionCommand)[0].args[0].input.ExecutionParameters).toBeUndefined();
  });

  it.each([
    ['FAILED', { State: 'FAILED', StateChangeReason: 'fallback', AthenaError: { ErrorMessage: "COLUMN_NOT_FOUND: line 3:8: Column 'tenant' cannot be resolved" } }, "COLUMN_NOT_FOUND: line 3:8: Column 'tenant' cannot be resolved"],
    ['CANCELLED', { State: 'CANCELLED', StateChangeReason: 'Query exhausted resources at this scale factor' }, 'Query exhausted resources at this scale factor'],
  ])('reports a %s query with Athena’s reason, verbatim', async (state, status, reason) => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-bad' });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: status as never } });
    const run = runAthenaQuery(new AthenaClient({ region: 'eu-west-1' }), { sql: 'SELECT 1', workGroup: 'wg', database: 'db', sleep: noSleep });
    await expect(run).rejects.toBeInstanceOf(AthenaQueryError);
    await expect(run).rejects.toMatchObject({ state, reason, message: `Athena query q-bad ${state}: ${reason}` });
    expect(athena.commandCalls(GetQueryResultsCommand)).toHaveLength(0);
  });

  it('stops the query in Athena when interrupted', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-long' });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'RUNNING' } } });
    athena.on(StopQueryExecutionCommand).resolves({});
    const controller = new AbortController();
    let polls = 0;
    const run = runAthenaQuery(new AthenaClient({ region: 'eu-west-1' }), {
      sql: 'SELECT 1',
      workGroup: 'wg',
      database: 'db',
      signal: controller.signal,
      sleep: () => {
        if (++polls === 2) controller.abort();
        return Promise.resolve();
      },
    });
    await expect(run).rejects.toMatchObject({ state: 'CANCELLED', reason: 'stopped by the user' });
    expect(athena.commandCalls(StopQueryExecutionCommand).map((c) => c.args[0].input)).toEqual([{ QueryExecutionId: 'q-long' }]);
  });

  it('quotes parameters as SQL string literals', () => {
    expect(athenaStringLiteral("O'Brien")).toBe("'O''Brien'");
  });
});

describe('Glue path: runGlueWorkflow', () => {
  const graph = (jobState: string, crawlState?: string, jobError?: string) => ({
    Nodes: [
      { Type: 'JOB' as const, Name: 'usage-job', JobDetails: { JobRuns: [{ JobRunState: jobState as never, ErrorMessage: jobError }] } },
      { Type: 'CRAWLER' as const, Name: 'usage-crawler', CrawlerDetails: crawlState ? { Crawls: [{ State: crawlState as never }] } : {} },
    ],
  });

  it('starts the workflow and follows it through the job and the crawler to the end', async () => {
    glue.on(StartWorkflowRunCommand).resolves({ RunId: 'wr-1' });
    glue
      .on(GetWorkflowRunCommand)
      .resolvesOnce({ Run: { Status: 'RUNNING', Graph: graph('RUNNING') } })
      .resolvesOnce({ Run: { Status: 'RUNNING', Graph: graph('SUCCEEDED', 'RUNNING') } })
      .resolves({ Run: { Status: 'COMPLETED', Statistics: { TotalActions: 2, SucceededActions: 2, FailedActions: 0 }, Graph: graph('SUCCEEDED', 'SUCCEEDED') } });
    const seen: string[] = [];
    const outcome = await runGlueWorkflow(new GlueClient({ region: 'eu-west-1' }), {
      workflowName: 'usage-workflow',
      sleep: noSleep,
      onProgress: (p) => seen.push(JSON.stringify(p.steps)),
    });
    expect(glue.commandCalls(StartWorkflowRunCommand)[0].args[0].input).toEqual({ Name: 'usage-workflow' });
    expect(glue.commandCalls(GetWorkflowRunCommand)[0].args[0].input).toEqual({ Name: 'usage-workflow', RunId: 'wr-1', IncludeGraph: true });
    expect(outcome).toMatchObject({ runId: 'wr-1', status: 'COMPLETED', steps: { 'job usage-job': 'SUCCEEDED', 'crawler usage-crawler': 'SUCCEEDED' } });
    expect(seen[0]).toBe(JSON.stringify({ 'job usage-job': 'RUNNING', 'crawler usage-crawler': 'WAITING' }));
  });

  it('fails a run Glue calls COMPLETED when the job failed, with the job’s error verbatim', async () => {
    glue.on(StartWorkflowRunCommand).resolves({ RunId: 'wr-2' });
    glue.on(GetWorkflowRunCommand).resolves({
      Run: { Status: 'COMPLETED', Statistics: { TotalActions: 1, SucceededActions: 0, FailedActions: 1 }, Graph: graph('FAILED', undefined, 'AnalysisException: Path does not exist') },
    });
    const run = runGlueWorkflow(new GlueClient({ region: 'eu-west-1' }), { workflowName: 'usage-workflow', sleep: noSleep });
    await expect(run).rejects.toBeInstanceOf(WorkflowRunError);
    await expect(run).rejects.toThrow('Glue workflow run wr-2 COMPLETED WITH FAILURES: job usage-job FAILED: AnalysisException: Path does not exist');
  });

  it('stops the run in Glue when interrupted', async () => {
    glue.on(StartWorkflowRunCommand).resolves({ RunId: 'wr-3' });
    glue.on(GetWorkflowRunCommand).resolves({ Run: { Status: 'RUNNING', Graph: graph('RUNNING') } });
    glue.on(StopWorkflowRunCommand).resolves({});
    const controller = new AbortController();
    const run = runGlueWorkflow(new GlueClient({ region: 'eu-west-1' }), { workflowName: 'usage-workflow', signal: controller.signal, sleep: () => { controller.abort(); return Promise.resolve(); } });
    await expect(run).rejects.toMatchObject({ status: 'STOPPED' });
    expect(glue.commandCalls(StopWorkflowRunCommand)[0].args[0].input).toEqual({ Name: 'usage-workflow', RunId: 'wr-3' });
  });
});

describe('usage-tracker CLI against AWS (mocked clients)', () => {
  const outputs = [
    { OutputKey: STACK_OUTPUTS.athenaWorkGroupName, OutputValue: 'usage-wg' },
    { OutputKey: STACK_OUTPUTS.glueDatabaseName, OutputValue: 'api_usage' },
    { OutputKey: STACK_OUTPUTS.glueWorkflowName, OutputValue: 'usage-workflow' },
  ];

  it('runs a named query in Athena with names from the stack outputs and prints JSON rows', async () => {
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'ApiUsageTracker', Outputs: outputs } as never] });
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-cli' });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' }, StatementType: 'DML' } });
    athena.on(GetQueryResultsCommand).resolves({
      ResultSet: { ResultSetMetadata: { ColumnInfo: [column('tenant_id', 'varchar'), column('calls', 'bigint')] }, Rows: [row('tenant_id', 'calls'), row('t-1', '42')] },
    });
    const c = context();
    const code = await runCli(['query', 'billing_by_tenant', '--aws', '--region', 'eu-west-1', '--param', 'month=2026-11', '--format', 'json'], c);
    expect(c.err).toContain('SUCCEEDED');
    expect(code).toBe(0);
    expect(JSON.parse(c.out)).toEqual([{ tenant_id: 't-1', calls: 42 }]);
    const start = athena.commandCalls(StartQueryExecutionCommand)[0].args[0].input;
    expect(start).toMatchObject({ WorkGroup: 'usage-wg', QueryExecutionContext: { Database: 'api_usage' }, ExecutionParameters: ["'2026-11'"] });
    expect(start.QueryString).toBe(loadNamedQueries().find((q) => q.name === 'billing_by_tenant')!.sql);
  });

  it('shows Athena’s error verbatim and exits 1', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-fail' });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'FAILED', AthenaError: { ErrorMessage: 'TABLE_NOT_FOUND: Table awsdatacatalog.api_usage.usage_events does not exist' } } } });
    const c = context();
    const code = await runCli(['query', 'feature_usage', '--workgroup', 'wg', '--database', 'api_usage', '--region', 'eu-west-1', '--param', 'end_date=2026-11-30', '--param', 'start_date=2026-11-01'], c);
    expect(code).toBe(1);
    expect(c.err).toContain('Athena query q-fail FAILED: TABLE_NOT_FOUND: Table awsdatacatalog.api_usage.usage_events does not exist');
    expect(c.out).toBe('');
    // Execution parameters in the order of the SQL's placeholders, whatever the order given.
    expect(athena.commandCalls(StartQueryExecutionCommand)[0].args[0].input.ExecutionParameters).toEqual(["'2026-11-01'", "'2026-11-30'"]);
  });

  it('starts the Glue workflow named by the stack and follows it', async () => {
    cloudformation.on(DescribeStacksCommand).resolves({ Stacks: [{ StackName: 'ApiUsageTracker', Outputs: outputs } as never] });
    glue.on(StartWorkflowRunCommand).resolves({ RunId: 'wr-cli' });
    glue.on(GetWorkflowRunCommand).resolves({ Run: { Status: 'COMPLETED', Statistics: { TotalActions: 2, SucceededActions: 2 } } });
    const c = context();
    expect(await runCli(['etl', '--stack', 'ApiUsageTracker', '--region', 'eu-west-1'], c)).toBe(0);
    expect(glue.commandCalls(StartWorkflowRunCommand)[0].args[0].input).toEqual({ Name: 'usage-workflow' });
    expect(c.out).toContain('Workflow run wr-cli completed: 2/2 actions succeeded.');
  });

  it.each([
    [['query'], /Which query\? One of: .*billing_by_tenant/],
    [['query', 'nope'], /No named query "nope"/],
    [['query', 'billing_by_tenant', '--param', 'month=2026-11', '--format', 'xml'], /--format must be one of table, csv, json/],
    [['query', 'billing_by_tenant', '--param', 'mnth=2026-11'], /^usage-tracker: --param mnth is not a parameter of billing_by_tenant; it takes month=YYYY-MM\.\nbilling_by_tenant needs --param month=YYYY-MM/],
    [['query', 'billing_by_tenant', '--param', 'month=2026-11', '--local', '--workgroup', 'wg'], /--local cannot be combined/],
    [['query', 'billing_by_tenant', '--bogus'], /Unknown option '--bogus'/],
    [['frobnicate'], /Unknown command "frobnicate"/],
    [['query', 'traffic_summary', '--aws', '--param', 'window=forever'], /--param window=forever: window must be one of last_hour, last_24h, last_30d, all; got "forever"/],
    [['query', 'billing_by_tenant', '--aws', '--param', 'month=2026-13'], /^usage-tracker: --param month=2026-13: month must be a month as YYYY-MM \(01-12\); got "2026-13"\.$/m],
    [['query', 'billing_by_tenant', '--aws', '--param', 'month=2026-1'], /--param month=2026-1: month must be a month as YYYY-MM \(01-12\); got "2026-1"/],
    [['query', 'billing_by_tenant', '--aws', '--param', 'month=2026-11', '--param', 'month=2026-12'], /--param month is given 2 times \("2026-11", "2026-12"\); give it once, as a month as YYYY-MM \(01-12\)/],
    [['query', 'billing_by_tenant', '--aws'], /billing_by_tenant needs --param month=YYYY-MM: Billing month of event time \(UTC\), e\.g\. 2026-11 \[a month as YYYY-MM \(01-12\)\]\.$/m],
    [['query', 'billing_by_tenant', '--aws', '--param', 'month'], /--param takes name=value; got "month"/],
    [
      ['query', 'error_rates', '--workgroup', 'wg', '--database', 'db', '--param', 'start_date=2026-11-1', '--param', 'end_date=2026-11-31'],
      /--param start_date=2026-11-1: start_date must be a date as YYYY-MM-DD \(a real calendar date\); got "2026-11-1"\.\n--param end_date=2026-11-31: end_date must be a date as YYYY-MM-DD \(a real calendar date\); got "2026-11-31"/,
    ],
    [['query', 'trending_features', '--aws', '--param', 'as_of=2026-11-14', '--param', 'window=all'], /--param window is not a parameter of trending_features; it takes as_of=YYYY-MM-DD/],
    [['status', '--data-dir', 'x', '--stack', 'S'], /not both/],
  ])('refuses %j with a message and exit code 2', async (argv, message) => {
    const c = context();
    expect(await runCli(argv, c)).toBe(2);
    expect(c.err).toMatch(message);
    // Refused before anything runs: no stack lookup, no Athena query.
    expect(athena.calls()).toHaveLength(0);
    expect(cloudformation.calls()).toHaveLength(0);
  });
});
