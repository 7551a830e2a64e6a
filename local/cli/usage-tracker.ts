import { parseArgs, ParseArgsConfig } from 'node:util';
import { NamedQuery, QueryParameterError, describeParameterType, loadNamedQueries, parameterPlaceholder, positionalValues, validateQueryParameters } from '../../contracts/named-queries';
import { DEFAULT_STACK_NAME } from '../../contracts/stack-outputs';
// Each command loads what it needs when it runs (the AWS SDK's clients, DuckDB, the local stack),
// through `load`: a command starts without loading the others'.
import type * as Athena from '@aws-sdk/client-athena';
import type * as CloudFormation from '@aws-sdk/client-cloudformation';
import type * as CloudWatch from '@aws-sdk/client-cloudwatch';
import type * as Firehose from '@aws-sdk/client-firehose';
import type * as Glue from '@aws-sdk/client-glue';
import type * as Sns from '@aws-sdk/client-sns';
import type * as Sqs from '@aws-sdk/client-sqs';
import type * as CredentialProviders from '@aws-sdk/credential-providers';
import type * as Lake from '../lake/local-lake';
import type { LocalLake } from '../lake/local-lake';
import type * as AthenaQuery from './athena-query';
import type * as BillingCommand from './billing-command';
import type * as GlueWorkflow from './glue-workflow';
import type * as LocalCommand from './local-command';
import type * as PipelineStatus from './pipeline-status';
import type * as StackOutputsModule from './stack-outputs';
import type { StackOutputs } from './stack-outputs';
import type { StatusCheck } from '../status-check';
import { OUTPUT_FORMATS, OutputFormat, formatResult } from './output-format';
import { AwsCredentialsProvider, CliContext, RoleToAssume, UsageError, existingDataDir } from './cli-context';
import { runRejectsCommand } from './rejects-command';

export type { CliContext } from './cli-context';

/**
 * The modules a command loads when it runs. `require`, not `import()`: without the CLI bundle,
 * bin/usage-tracker.js compiles TypeScript with tsx's CommonJS hook, which `import()` bypasses;
 * esbuild bundles both alike, and a required module runs only when first required.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- see above */
const load = {
  athena: () => require('@aws-sdk/client-athena') as typeof Athena,
  cloudFormation: () => require('@aws-sdk/client-cloudformation') as typeof CloudFormation,
  cloudWatch: () => require('@aws-sdk/client-cloudwatch') as typeof CloudWatch,
  firehose: () => require('@aws-sdk/client-firehose') as typeof Firehose,
  glue: () => require('@aws-sdk/client-glue') as typeof Glue,
  sns: () => require('@aws-sdk/client-sns') as typeof Sns,
  sqs: () => require('@aws-sdk/client-sqs') as typeof Sqs,
  lake: () => require('../lake/local-lake') as typeof Lake,
  athenaQuery: () => require('./athena-query') as typeof AthenaQuery,
  billingCommand: () => require('./billing-command') as typeof BillingCommand,
  glueWorkflow: () => require('./glue-workflow') as typeof GlueWorkflow,
  localCommand: () => require('./local-command') as typeof LocalCommand,
  pipelineStatus: () => require('./pipeline-status') as typeof PipelineStatus,
  stackOutputs: () => require('./stack-outputs') as typeof StackOutputsModule,
  credentialProviders: () => require('@aws-sdk/credential-providers') as typeof CredentialProviders,
};
/* eslint-enable @typescript-eslint/no-require-imports */

const USAGE = `usage-tracker <command> [options]

Every command that reads data runs on the local lake (--local, the default: the data folder
"npm start" writes, --data-dir D) or in AWS (--aws, or any AWS name: --stack, --region, ...);
naming both is a usage error.

Commands
  queries                               List the named queries and their parameters.
  query <name> [--param k=v]...         Run a named query; each parameter once, in its type's form
                                        (YYYY-MM, YYYY-MM-DD, ...: see "queries").
        [--format table|csv|json]       (table: fractions rounded for reading; csv and json: exact)
        [--local [--data-dir D]]        ... on the local lake (DuckDB; the default), or
        [--aws | --stack S] [--region R]    ... in Athena (names default to the stack's outputs,
        [--workgroup W --database DB]       or are given).
  etl [--local [--data-dir D]]          The local lake (the default): compact raw/ to curated Parquet
                                        and refresh the catalogue.
  etl --aws [--workflow W | --stack S]  AWS: start the Glue workflow and follow it to the end.
      [--region R]
  status [--local [--data-dir D]]       Health, one line per part; exit code 1 when any is unhealthy.
         [--format table|csv|json]      The local lake (the default): pending raw objects, curated rows,
                                        rejects, the last ETL run.
  status --aws [--stack S]              The deployed pipeline (--stack or --region alone selects it too):
         [--region R]                   Firehose, data freshness, DLQ, workflow runs, job, crawler, table,
         [--format table|csv|json]      views, alarm subscription.
         [--role-arn ARN]               Read with the credentials of this IAM role (STS AssumeRole, session
                                        usage-tracker-status), e.g. another account's CDK lookup role
                                        arn:aws:iam::<account>:role/cdk-hnb659fds-lookup-role-<account>-<region>.
  rejects --start YYYY-MM-DD            Records the curation refused between two days it ran (UTC),
          --end YYYY-MM-DD              by reason and producing service (named query rejected_records;
          [--format ...] [--local ... | --aws ...]   the options of "query").
  billing close --month YYYY-MM         Close a month: one immutable statement per tenant under statements/,
          [--format table|csv|json]     late events of closed months as adjustment lines. Again for a closed
          [--local [--data-dir D]]      month: writes nothing, prints its statements. Locally the ETL runs first.
          [--aws | --stack S] [--region R] [--workgroup W --database DB --bucket B]
  billing statement --tenant T          One tenant's statement of a closed month: lines, total, prices.
          --month YYYY-MM [--format table|csv|json] [--local ... | --aws ...]
  local [options]                       The whole system on this machine (see usage-tracker local --help).

Exit codes: 0 success, 1 the query or run failed, 2 bad usage, 130 interrupted.`;

const COMMON_OPTIONS = {
  local: { type: 'boolean' },
  aws: { type: 'boolean' },
  'data-dir': { type: 'string' },
  stack: { type: 'string' },
  region: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

function parse<O extends ParseArgsConfig['options']>(argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

/**
 * Local (the default, or `--local`, or `--data-dir`) unless `--aws` or an AWS name is given; both
 * at once is a mistake: a `--data-dir` beside `--aws` would otherwise be ignored without a word.
 */
function wantsAws(values: Record<string, unknown>, awsOptions: readonly string[]): boolean {
  const aws = values.aws === true || awsOptions.some((name) => values[name] !== undefined);
  const local = values.local === true ? '--local' : values['data-dir'] !== undefined ? '--data-dir' : undefined;
  if (aws && local) throw new UsageError(`${local} cannot be combined with ${['--aws', ...awsOptions.map((o) => `--${o}`)].join('/')}: the local lake or AWS, not both.`);
  return aws;
}

function findQuery(name: string | undefined): NamedQuery {
  const queries = loadNamedQueries();
  if (!name) throw new UsageError(`Which query? One of: ${queries.map((q) => q.name).join(', ')}.`);
  const query = queries.find((q) => q.name === name);
  if (!query) throw new UsageError(`No named query "${name}". Known: ${queries.map((q) => q.name).join(', ')}.`);
  return query;
}

/**
 * `--param k=v` pairs, checked against the query's typed parameters before any engine runs:
 * a malformed, missing, unknown or repeated parameter is a usage error.
 */
function queryParameters(query: NamedQuery, pairs: readonly string[]): Record<string, string> {
  const given = pairs.map((pair): [string, string] => {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param takes name=value; got "${pair}".`);
    return [pair.slice(0, eq), pair.slice(eq + 1)];
  });
  try {
    return validateQueryParameters(query, given, { prefix: '--param ' });
  } catch (error) {
    // One line per problem: a typo is both an unknown and a missing parameter.
    if (error instanceof QueryParameterError) throw new UsageError(error.problems.map((p) => `${p.message}.`).join('\n'), { cause: error });
    throw error;
  }
}

/** Progress on stderr: one rewritten line on a terminal, a line per change otherwise. */
function progressPrinter(context: CliContext): { update: (line: string) => void; done: () => void } {
  let last = '';
  return {
    update: (line) => {
      if (context.interactive) context.stderr(`\r\x1b[2K${line}`);
      else if (line.replace(/[\d.]+\s?s\b.*$/, '') !== last.replace(/[\d.]+\s?s\b.*$/, '')) context.stderr(`${line}\n`);
      last = line;
    },
    done: () => {
      if (context.interactive && last) context.stderr('\n');
    },
  };
}

/** Runs work that reports progress; the progress line is closed however the work ends. */
async function withProgress<T>(context: CliContext, work: (update: (line: string) => void) => Promise<T>): Promise<T> {
  const progress = progressPrinter(context);
  try {
    return await work(progress.update);
  } finally {
    progress.done();
  }
}

/** Opens the local lake of `--data-dir` (which must exist) for one command. */
async function withLocalLake<T>(values: { 'data-dir'?: string }, use: (lake: LocalLake) => Promise<T>): Promise<T> {
  const lake = await load.lake().LocalLake.open(existingDataDir(values));
  try {
    return await use(lake);
  } finally {
    await lake.close();
  }
}

function outputFormat(value: string | undefined): OutputFormat {
  const format = (value ?? 'table') as OutputFormat;
  if (!OUTPUT_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}; got "${value}".`);
  return format;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const megabytes = (bytes: number) => `${(bytes / 1_048_576).toFixed(2)} MiB`;

/** What every AWS client of a command is created with: the region, and the credentials of an assumed role if one is given. */
interface AwsAccess {
  readonly region?: string;
  readonly credentials?: AwsCredentialsProvider;
}

/**
 * An IAM role ARN, with an optional path; role names are at most 64 of `[A-Za-z0-9+=,.@_-]`:
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html
 */
const ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/([\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;

/** The session name of `--role-arn`: what CloudTrail shows in the target account for the status check's reads. */
export const STATUS_ROLE_SESSION_NAME = 'usage-tracker-status';

/**
 * The region and credentials of a command's AWS clients. With `--role-arn` the role is checked
 * before any call (a usage error otherwise) and assumed when the first client needs credentials.
 */
function awsAccess(values: { region?: string; 'role-arn'?: string }, context: CliContext): AwsAccess {
  const roleArn = values['role-arn'];
  if (roleArn === undefined) return { region: values.region };
  if (!ROLE_ARN.test(roleArn)) throw new UsageError(`--role-arn must be an IAM role ARN such as arn:aws:iam::123456789012:role/cdk-hnb659fds-lookup-role-123456789012-eu-west-1; got "${roleArn}".`);
  const assume = context.assumeRole ?? assumedRoleCredentials;
  return { region: values.region, credentials: assume({ roleArn, sessionName: STATUS_ROLE_SESSION_NAME, region: values.region }) };
}

/**
 * The SDK's `fromTemporaryCredentials`: STS AssumeRole with the caller's own credentials (in a
 * pipeline's CodeBuild step, its role), called when a client first needs credentials and again
 * before they expire (https://docs.aws.amazon.com/AWSJavaScriptSDK/v3/latest/Package/-aws-sdk-credential-providers/).
 */
export function assumedRoleCredentials(role: RoleToAssume): AwsCredentialsProvider {
  return load.credentialProviders().fromTemporaryCredentials({
    params: { RoleArn: role.roleArn, RoleSessionName: role.sessionName },
    ...(role.region ? { clientConfig: { region: role.region } } : {}),
  });
}

async function stackOutputsFor(values: { stack?: string; region?: string }, needed: boolean, access: AwsAccess = { region: values.region }): Promise<StackOutputs> {
  if (!needed) return {};
  const { CloudFormationClient } = load.cloudFormation();
  const client = new CloudFormationClient(access);
  try {
    return await load.stackOutputs().readStackOutputs(client, values.stack ?? DEFAULT_STACK_NAME);
  } finally {
    client.destroy();
  }
}

function commandQueries(context: CliContext): number {
  for (const query of loadNamedQueries()) {
    const parameters = query.parameters.map((p) => ` --param ${p.name}=${parameterPlaceholder(p.type)}`).join('');
    context.stdout(`${query.name}${query.isView ? ' (view)' : ''}${parameters}\n    ${query.description}\n`);
    for (const p of query.parameters) context.stdout(`    ${p.name}: ${p.description} [${describeParameterType(p.type)}]\n`);
  }
  return 0;
}

async function commandQuery(argv: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parse(argv, {
    param: { type: 'string', multiple: true },
    format: { type: 'string' },
    workgroup: { type: 'string' },
    database: { type: 'string' },
  });
  if (positionals.length > 1) throw new UsageError(`query takes one query name; got ${positionals.join(' ')}.`);
  const query = findQuery(positionals[0]);
  const parameters = queryParameters(query, values.param ?? []);
  const format = outputFormat(values.format);

  if (!wantsAws(values, ['workgroup', 'database', 'stack', 'region'])) {
    return withLocalLake(values, async (lake) => {
      const started = Date.now();
      const result = await lake.runNamedQuery(query.name, parameters);
      context.stdout(formatResult(result, format));
      context.stderr(`local lake ${lake.dataDir}: ${result.rows.length} rows in ${seconds(Date.now() - started)}\n`);
      return 0;
    });
  }

  const outputs = await stackOutputsFor(values, values.workgroup === undefined || values.database === undefined);
  const workGroup = values.workgroup ?? outputs.athenaWorkGroupName;
  const database = values.database ?? outputs.glueDatabaseName;
  if (!workGroup || !database) throw new UsageError('Athena needs --workgroup and --database (or a deployed stack whose outputs name them).');
  const [{ AthenaClient }, { runAthenaQuery }] = [load.athena(), load.athenaQuery()];
  const client = new AthenaClient({ region: values.region });
  try {
    const result = await withProgress(context, (update) =>
      runAthenaQuery(client, {
        sql: query.sql,
        parameters: positionalValues(query, parameters),
        workGroup,
        database,
        signal: context.signal,
        onProgress: (p) => { update(`athena ${p.queryExecutionId}: ${p.state}, ${megabytes(p.bytesScanned)} scanned, ${seconds(p.elapsedMs)}`); },
      }),
    );
    context.stdout(formatResult(result, format));
    return 0;
  } finally {
    client.destroy();
  }
}

async function commandEtl(argv: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parse(argv, { workflow: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`etl takes no arguments; got ${positionals.join(' ')}.`);
  if (!wantsAws(values, ['workflow', 'stack', 'region'])) {
    return withLocalLake(values, async (lake) => {
      context.stderr(`compacting ${lake.dataDir}/raw ...\n`);
      // `npm start`'s own ETL may be running: wait for it rather than fail.
      const result = await lake.compact(new Date(), { waitForLockMs: 120_000 });
      context.stdout(
        result.files === 0
          ? 'No new raw objects since the last run.\n'
          : `Read ${result.files} raw objects (${result.lines} lines): wrote ${result.rows} rows to ${result.partitions.length} day partitions, dropped ${result.duplicates} duplicates, rejected ${result.malformed} malformed lines${result.malformed > 0 ? ' (see errors/glue/)' : ''}, in ${result.seconds.toFixed(1)} s.\n`,
      );
      return 0;
    });
  }
  const workflowName = values.workflow ?? (await stackOutputsFor(values, true)).glueWorkflowName;
  if (!workflowName) throw new UsageError('etl in AWS needs --workflow (or a deployed stack whose outputs name it).');
  const [{ GlueClient }, { runGlueWorkflow }] = [load.glue(), load.glueWorkflow()];
  const client = new GlueClient({ region: values.region });
  try {
    const outcome = await withProgress(context, (update) =>
      runGlueWorkflow(client, {
        workflowName,
        signal: context.signal,
        onProgress: (p) => { update(`workflow ${workflowName} run ${p.runId}: ${p.status}; ${Object.entries(p.steps).map(([step, state]) => `${step} ${state}`).join(', ')}; ${seconds(p.elapsedMs)}`); },
      }),
    );
    context.stdout(`Workflow run ${outcome.runId} completed: ${outcome.statistics.SucceededActions ?? 0}/${outcome.statistics.TotalActions ?? 0} actions succeeded.\n`);
    return 0;
  } finally {
    client.destroy();
  }
}

/** The deployed pipeline's health, one line per step, named by the stack's outputs. */
async function awsPipelineStatus(values: { stack?: string; region?: string }, access: AwsAccess): Promise<StatusCheck[]> {
  const outputs = await stackOutputsFor(values, true, access);
  const [{ FirehoseClient }, { GlueClient }, { SQSClient }, { CloudWatchClient }, { SNSClient }] = [load.firehose(), load.glue(), load.sqs(), load.cloudWatch(), load.sns()];
  const clients = {
    firehose: new FirehoseClient(access),
    glue: new GlueClient(access),
    sqs: new SQSClient(access),
    cloudwatch: new CloudWatchClient(access),
    sns: new SNSClient(access),
  };
  const threshold = outputs.dataFreshnessThresholdSeconds === undefined ? undefined : Number(outputs.dataFreshnessThresholdSeconds);
  try {
    return await load.pipelineStatus().pipelineStatus(clients, {
      deliveryStreamName: outputs.deliveryStreamName,
      dataFreshnessThresholdSeconds: threshold !== undefined && Number.isFinite(threshold) ? threshold : undefined,
      deadLetterQueueUrl: outputs.deadLetterQueueUrl,
      workflowName: outputs.glueWorkflowName,
      jobName: outputs.glueJobName,
      crawlerName: outputs.glueCrawlerName,
      databaseName: outputs.glueDatabaseName,
      tableName: outputs.glueTableName,
      viewNames: loadNamedQueries()
        .filter((query) => query.isView)
        .map((query) => query.name),
      alarmTopicArn: outputs.alarmTopicArn,
    });
  } finally {
    Object.values(clients).forEach((client) => { client.destroy(); });
  }
}

/**
 * `status`: the local lake by default, as every command; the deployed pipeline with --aws, --stack,
 * --region or --role-arn (another account's, through a role it trusts this one to assume).
 */
async function commandStatus(argv: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parse(argv, { format: { type: 'string' }, 'role-arn': { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`status takes no arguments; got ${positionals.join(' ')}.`);
  const format = outputFormat(values.format);
  const checks = wantsAws(values, ['stack', 'region', 'role-arn'])
    ? await awsPipelineStatus(values, awsAccess(values, context))
    : await withLocalLake(values, (lake) => lake.status());
  context.stdout(formatResult({ columns: ['component', 'state', 'healthy', 'detail'], rows: checks.map((c) => ({ ...c })) }, format));
  return checks.every((c) => c.healthy) ? 0 : 1;
}

/** The message of whatever was thrown: an error's own, or the thrown value as text. */
function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs one command; a UsageError or a failed run is the caller's to print. */
function runCommand(command: string, rest: readonly string[], context: CliContext): number | Promise<number> {
  switch (command) {
    case 'queries':
      return commandQueries(context);
    case 'query':
      return commandQuery(rest, context);
    case 'etl':
      return commandEtl(rest, context);
    case 'status':
      return commandStatus(rest, context);
    case 'rejects':
      return runRejectsCommand(rest, (args) => commandQuery(args, context));
    case 'billing':
      return load.billingCommand().runBillingCommand(rest, context);
    case 'local':
      // The local stack is most of what the CLI would load.
      return load.localCommand().runLocalCommand(rest, context);
    default:
      throw new UsageError(`Unknown command "${command}".`);
  }
}

/** Runs the CLI; resolves to the process exit code. */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  const command = argv.at(0);
  const rest = argv.slice(1);
  try {
    if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
      context.stdout(`${USAGE}\n`);
      return command === undefined ? 2 : 0;
    }
    if ((rest.includes('--help') || rest.includes('-h')) && command !== 'local') {
      context.stdout(`${USAGE}\n`);
      return 0;
    }
    return await runCommand(command, rest, context);
  } catch (error) {
    if (error instanceof UsageError) {
      context.stderr(`usage-tracker: ${error.message}\nRun "usage-tracker --help" for the commands and options.\n`);
      return 2;
    }
    // By name: the classes are in modules only the AWS commands load.
    if (error instanceof Error && (error.name === 'AthenaQueryError' || error.name === 'WorkflowRunError')) {
      context.stderr(`usage-tracker: ${error.message}\n`);
      return context.signal.aborted ? 130 : 1;
    }
    context.stderr(`usage-tracker: ${messageOf(error)}\n`);
    return context.signal.aborted && command !== 'local' ? 130 : 1;
  }
}
