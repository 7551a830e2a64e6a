import { AthenaClient, GetQueryExecutionCommand, GetQueryResultsCommand, StartQueryExecutionCommand } from '@aws-sdk/client-athena';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { closingRecordKey, statementKey } from '../../../contracts/billing-statements';
import { STACK_OUTPUTS } from '../../../contracts/stack-outputs';
import { BILLABLE_MONTHS_BEFORE_SQL, BILLED_USAGE_SQL, PRICE_LIST_SQL, UNBILLED_EVENTS_SQL } from '../../../local/billing/month-closing';
import { buildStatements, closingOf, serializeClosing, serializeStatement } from '../../../local/billing/statements';
import { runCli } from '../../../local/cli/usage-tracker';
import { capturingCliContext } from '../../support/cli-context';

const athena = mockClient(AthenaClient);
const s3 = mockClient(S3Client);
const cloudformation = mockClient(CloudFormationClient);

beforeEach(() => {
  for (const mock of [athena, s3, cloudformation]) mock.reset();
  cloudformation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'ApiUsageTracker',
        Outputs: [
          { OutputKey: STACK_OUTPUTS.athenaWorkGroupName, OutputValue: 'usage-wg' },
          { OutputKey: STACK_OUTPUTS.glueDatabaseName, OutputValue: 'api_usage' },
          { OutputKey: STACK_OUTPUTS.lakeBucketName, OutputValue: 'lake-bucket' },
        ],
      } as never,
    ],
  });
});

const BUCKET = 'lake-bucket';
const column = (Name: string, Type: string) => ({ Name, Type });
const row = (...values: string[]) => ({ Data: values.map((VarCharValue) => ({ VarCharValue })) });
const noSuchKey = () => new NoSuchKey({ message: 'The specified key does not exist.', $metadata: { httpStatusCode: 404 } });
const s3Error = (status: number, name: string) => new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });
const body = (text: string) => ({ Body: { transformToString: () => Promise.resolve(text) } as never });

async function usageTracker(argv: readonly string[], now = '2026-11-05T09:00:00Z') {
  const context = Object.assign(capturingCliContext(), { now: () => new Date(now) });
  const code = await runCli(argv, context);
  return { code, out: context.out, err: context.err };
}

/** Athena answering the closing's statements by their text; the UNLOAD has no result rows to read. */
function athenaAnswers(answers: { billableBefore?: string[][]; prices: string[][]; usage: string[][] }) {
  const results: Partial<Record<string, { columns: [string, string][]; rows: string[][] }>> = {
    'q-months': { columns: [['usage_month', 'varchar'], ['events', 'bigint']], rows: answers.billableBefore ?? [] },
    'q-prices': { columns: [['operation', 'varchar'], ['unit_price', 'double'], ['currency', 'varchar']], rows: answers.prices },
    'q-usage': {
      columns: [['tenant_id', 'varchar'], ['usage_month', 'varchar'], ['operation', 'varchar'], ['calls', 'bigint'], ['events', 'bigint'], ['billable_units', 'double']],
      rows: answers.usage,
    },
  };
  athena.on(StartQueryExecutionCommand).callsFake((input: { QueryString: string }) => {
    if (input.QueryString === BILLABLE_MONTHS_BEFORE_SQL) return { QueryExecutionId: 'q-months' };
    if (input.QueryString === PRICE_LIST_SQL) return { QueryExecutionId: 'q-prices' };
    if (input.QueryString === BILLED_USAGE_SQL) return { QueryExecutionId: 'q-usage' };
    if (input.QueryString.startsWith('UNLOAD (')) return { QueryExecutionId: 'q-unload' };
    throw new Error(`unexpected query ${input.QueryString}`);
  });
  athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' }, StatementType: 'DML' } });
  athena.on(GetQueryResultsCommand).callsFake((input: { QueryExecutionId: string }) => {
    const result = results[input.QueryExecutionId];
    if (!result) throw new Error(`no results for ${input.QueryExecutionId}`);
    const header = row(...result.columns.map(([n]) => n));
    return { ResultSet: { ResultSetMetadata: { ColumnInfo: result.columns.map(([n, t]) => column(n, t)) }, Rows: [header, ...result.rows.map((r) => row(...r))] } };
  });
}

const PRICES = [
  ['*', '4.0E-4', 'USD'],
  ['POST /v1/orders', '0.0125', 'USD'],
];
const USAGE = [
  ['acme', '2026-10', 'GET /v1/users', '10', '10', '12.5'],
  ['acme', '2026-10', 'POST /v1/orders', '2', '2', '2.0'],
  ['globex', '2026-09', 'POST /v1/orders', '1', '1', '1.0'],
  ['globex', '2026-10', 'GET /v1/users', '3', '3', '3.0'],
];
const CLOSED = (month: string) => ({ Contents: [{ Key: closingRecordKey(month) }] });

describe('usage-tracker billing close against AWS (mocked clients)', () => {
  it('records the billed events with UNLOAD, commits the closing record with If-None-Match, then one statement per tenant', async () => {
    s3.on(GetObjectCommand).rejects(noSuchKey());
    s3.on(ListObjectsV2Command, { Prefix: 'statements/closings/' }).resolves(CLOSED('2026-09'));
    s3.on(PutObjectCommand).resolves({});
    athenaAnswers({ prices: PRICES, usage: USAGE });

    const run = await usageTracker(['billing', 'close', '--month', '2026-10', '--aws', '--region', 'eu-west-1', '--format', 'json']);
    expect({ code: run.code, err: run.code === 0 ? '' : run.err }).toEqual({ code: 0, err: '' });

    const starts = athena.commandCalls(StartQueryExecutionCommand).map((call) => call.args[0].input);
    // A later closing: the months-before check of a first closing does not run.
    expect(starts.map((input) => input.QueryString)).not.toContain(BILLABLE_MONTHS_BEFORE_SQL);
    const unload = starts.find((input) => input.QueryString!.startsWith('UNLOAD'))!;
    const closingId = /closing=([0-9a-f-]{36})\//.exec(unload.QueryString!)![1];
    expect(unload).toEqual({
      QueryString: `UNLOAD (${UNBILLED_EVENTS_SQL}) TO 's3://${BUCKET}/statements/billed_events/month=2026-10/closing=${closingId}/' WITH (format = 'PARQUET', compression = 'SNAPPY')`,
      WorkGroup: 'usage-wg',
      QueryExecutionContext: { Database: 'api_usage', Catalog: 'AwsDataCatalog' },
      ExecutionParameters: [`'${closingId}'`, "'2026-10'"],
    });
    expect(starts.find((input) => input.QueryString === BILLED_USAGE_SQL)!.ExecutionParameters).toEqual(["'2026-10'", `'${closingId}'`]);
    expect(athena.commandCalls(GetQueryResultsCommand).map((call) => call.args[0].input.QueryExecutionId)).not.toContain('q-unload');

    const puts = s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input);
    expect(puts.map((input) => [input.Key, input.IfNoneMatch, input.Bucket])).toEqual([
      [closingRecordKey('2026-10'), '*', BUCKET],
      [statementKey('2026-10', 'acme'), '*', BUCKET],
      [statementKey('2026-10', 'globex'), '*', BUCKET],
    ]);
    const record = JSON.parse(puts[0].Body as string) as Record<string, unknown>;
    // acme: 12.5 × 0.0004 + 2 × 0.0125 = 0.03; globex: 3 × 0.0004 = 0.0012 and, late from September, 0.0125.
    expect(record).toMatchObject({ closing_id: closingId, closed_at: '2026-11-05T09:00:00.000Z', currency: 'USD', statements: 2, calls: 16, billable_units: 18.5, amount: 0.0437, billed_events: 16 });
    const globex = (puts[2].Body as string).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(globex.map((line) => [line.line, line.usage_month, line.calls, line.amount])).toEqual([
      ['usage', '2026-10', 3, 0.0012],
      ['adjustment', '2026-09', 1, 0.0125],
    ]);
    const printed = JSON.parse(run.out) as { outcome: string; statements: { tenant_id: string; total: { amount: number } }[] };
    expect(printed.outcome).toBe('closed');
    expect(printed.statements.map((s) => [s.tenant_id, s.total.amount])).toEqual([
      ['acme', 0.03],
      ['globex', 0.0137],
    ]);
  });

  it('refuses a first closing while an earlier month has billable calls, writing nothing', async () => {
    s3.on(GetObjectCommand).rejects(noSuchKey());
    s3.on(ListObjectsV2Command).resolves({});
    athenaAnswers({ billableBefore: [['2026-09', '42']], prices: PRICES, usage: USAGE });
    const run = await usageTracker(['billing', 'close', '--month', '2026-10', '--stack', 'ApiUsageTracker', '--region', 'eu-west-1']);
    expect(run.code).toBe(1);
    expect(run.err).toContain('usage-tracker: 2026-10 cannot be closed: 2026-09 has 42 billable calls and is not closed: close it first');
    expect(athena.commandCalls(StartQueryExecutionCommand).map((call) => call.args[0].input.QueryString)).toEqual([BILLABLE_MONTHS_BEFORE_SQL]);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('refuses a month out of order before any query runs', async () => {
    s3.on(GetObjectCommand).rejects(noSuchKey());
    s3.on(ListObjectsV2Command).resolves(CLOSED('2026-08'));
    const run = await usageTracker(['billing', 'close', '--month', '2026-10', '--aws', '--region', 'eu-west-1']);
    expect(run.code).toBe(1);
    expect(run.err).toContain('2026-10 cannot be closed: close 2026-09 first: months close in order, one after another (the last closed is 2026-08).');
    expect(athena.calls()).toHaveLength(0);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  describe('a month closed already', () => {
    const context = { month: '2026-10', closingId: 'c-committed', closedAt: '2026-11-02T07:00:00.000Z', currency: 'USD', priceList: [{ operation: '*', unitPrice: 0.0004, currency: 'USD' }] };
    const statements = buildStatements(context, [{ tenantId: 'acme', usageMonth: '2026-10', operation: 'x', calls: 5, billableUnits: 5 }]);
    const record = serializeClosing(closingOf(context, statements));

    it('writes nothing and prints the statements it has', async () => {
      s3.on(GetObjectCommand, { Key: closingRecordKey('2026-10') }).resolves(body(record));
      s3.on(GetObjectCommand, { Key: statementKey('2026-10', 'acme') }).resolves(body(serializeStatement(statements[0])));
      s3.on(ListObjectsV2Command, { Prefix: 'statements/lines/month=2026-10/' }).resolves({ Contents: [{ Key: statementKey('2026-10', 'acme') }] });
      const run = await usageTracker(['billing', 'close', '--month', '2026-10', '--aws', '--region', 'eu-west-1']);
      expect(run.code).toBe(0);
      expect(run.out).toContain('2026-10 was closed already at 2026-11-02T07:00:00.000Z (closing c-committed): 1 statements, 5 calls, 5 units, 0.002 USD; nothing written.');
      expect(run.out).toMatch(/^acme\s+5\s+5\s+0\.002\s+0\s+0\s+USD$/m);
      expect(athena.calls()).toHaveLength(0);
      expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
    });

    it('answers a lost race (412 on the closing record) with the winner\'s statements, after retrying a 409', async () => {
      s3.on(GetObjectCommand, { Key: closingRecordKey('2026-10') }).rejectsOnce(noSuchKey()).resolves(body(record));
      s3.on(GetObjectCommand, { Key: statementKey('2026-10', 'acme') }).resolves(body(serializeStatement(statements[0])));
      s3.on(ListObjectsV2Command, { Prefix: 'statements/closings/' }).resolves(CLOSED('2026-09'));
      s3.on(ListObjectsV2Command, { Prefix: 'statements/lines/month=2026-10/' }).resolves({ Contents: [{ Key: statementKey('2026-10', 'acme') }] });
      s3.on(PutObjectCommand).rejectsOnce(s3Error(409, 'ConditionalRequestConflict')).rejects(s3Error(412, 'PreconditionFailed'));
      athenaAnswers({ prices: PRICES, usage: USAGE });
      const run = await usageTracker(['billing', 'close', '--month', '2026-10', '--aws', '--region', 'eu-west-1', '--format', 'json']);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.out)).toMatchObject({ outcome: 'already-closed', written: 0, closing: { closing_id: 'c-committed' }, statements: [{ tenant_id: 'acme' }] });
      expect(s3.commandCalls(PutObjectCommand).map((call) => call.args[0].input.Key)).toEqual([closingRecordKey('2026-10'), closingRecordKey('2026-10')]);
    });
  });
});

describe('usage-tracker billing statement against AWS (mocked clients)', () => {
  const context = { month: '2026-11', closingId: 'c-nov', closedAt: '2026-12-01T08:00:00.000Z', currency: 'USD', priceList: [{ operation: '*', unitPrice: 0.001, currency: 'USD' }] };
  const statements = buildStatements(context, [
    { tenantId: 'acme', usageMonth: '2026-11', operation: 'x', calls: 7, billableUnits: 7 },
    { tenantId: 'acme', usageMonth: '2026-10', operation: 'x', calls: 2, billableUnits: 2 },
  ]);

  it('reads the statement object and exports it as JSON, with no query', async () => {
    s3.on(GetObjectCommand, { Bucket: 'named-bucket', Key: closingRecordKey('2026-11') }).resolves(body(serializeClosing(closingOf(context, statements))));
    s3.on(GetObjectCommand, { Bucket: 'named-bucket', Key: statementKey('2026-11', 'acme') }).resolves(body(serializeStatement(statements[0])));
    const run = await usageTracker(['billing', 'statement', '--tenant', 'acme', '--month', '2026-11', '--bucket', 'named-bucket', '--region', 'eu-west-1', '--format', 'json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toEqual({
      tenant_id: 'acme',
      month: '2026-11',
      currency: 'USD',
      closed_at: '2026-12-01T08:00:00.000Z',
      closing_id: 'c-nov',
      lines: [
        { line_no: 1, line: 'usage', usage_month: '2026-11', calls: 7, billable_units: 7, amount: 0.007 },
        { line_no: 2, line: 'adjustment', usage_month: '2026-10', calls: 2, billable_units: 2, amount: 0.002 },
      ],
      total: { calls: 9, billable_units: 9, amount: 0.009 },
      price_list: [{ operation: '*', unit_price: 0.001, currency: 'USD' }],
    });
    expect(cloudformation.calls()).toHaveLength(0);
    expect(athena.calls()).toHaveLength(0);
  });

  it('names the tenants of the month when the tenant has no statement (exit 1)', async () => {
    s3.on(GetObjectCommand, { Key: closingRecordKey('2026-11') }).resolves(body(serializeClosing(closingOf(context, statements))));
    s3.on(GetObjectCommand, { Key: statementKey('2026-11', 'initech') }).rejects(noSuchKey());
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: statementKey('2026-11', 'acme') }] });
    const run = await usageTracker(['billing', 'statement', '--tenant', 'initech', '--month', '2026-11', '--aws', '--region', 'eu-west-1']);
    expect(run).toEqual({ code: 1, out: '', err: 'usage-tracker: No statement for tenant "initech" in 2026-11: 2026-11 has statements for acme.\n' });
  });

  it.each([
    [['statement', '--tenant', 'acme', '--month', '2026-13', '--aws']],
    [['close', '--month', 'november', '--aws']],
    [['close', '--month', '2026-11', '--aws', '--local']],
  ])('refuses %j with exit 2 before calling AWS', async (args) => {
    const run = await usageTracker(['billing', ...args]);
    expect(run.code).toBe(2);
    expect([cloudformation.calls(), s3.calls(), athena.calls()].map((calls) => calls.length)).toEqual([0, 0, 0]);
  });
});
