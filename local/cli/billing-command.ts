import { parseArgs } from 'node:util';
import { AthenaClient } from '@aws-sdk/client-athena';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { BILLING_MONTH_FORM, isBillingMonth } from '../../contracts/billing-statements';
import { DEFAULT_STACK_NAME } from '../../contracts/stack-outputs';
import { BillingLedger, CloseMonthResult, closeMonth, readStatement } from '../billing/month-closing';
import { MonthClosing, Statement, roundAmount, statementLineFields } from '../billing/statements';
import { LocalStatementObjects, localBillingLedger } from '../lake/billing-statements';
import { LocalLake } from '../lake/local-lake';
import { athenaBillingLedger, S3StatementObjects } from './athena-billing';
import { OUTPUT_FORMATS, OutputFormat, formatResult } from './output-format';
import { StackOutputs, readStackOutputs } from './stack-outputs';
import { CliContext, UsageError, existingDataDir } from './cli-context';
import { ENGINE_OPTIONS } from './engine-options';

/**
 * `usage-tracker billing close|statement`: the CLI adapter of month closing. It checks the
 * arguments before any engine runs (exit 2), picks the local lake or AWS, calls the domain
 * module (local/billing/) and prints; the domain's refusals and absences exit 1.
 */

const OPTIONS = {
  month: { type: 'string' },
  tenant: { type: 'string' },
  ...ENGINE_OPTIONS,
  bucket: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parse>['values'];

/** Longest tenant id a usage event carries (contracts/usage-event.ts). */
const MAX_TENANT_ID_LENGTH = 128;

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

function month(values: Values): string {
  if (values.month === undefined) throw new UsageError(`billing needs --month ${BILLING_MONTH_FORM}.`);
  if (!isBillingMonth(values.month)) throw new UsageError(`--month must be ${BILLING_MONTH_FORM}; got "${values.month}".`);
  return values.month;
}

function tenant(values: Values): string {
  const id = values.tenant;
  if (id === undefined) throw new UsageError('billing statement needs --tenant T, the tenant id as usage events carry it.');
  // eslint-disable-next-line no-control-regex
  if (id.length === 0 || id.length > MAX_TENANT_ID_LENGTH || /[\u0000-\u001f\u007f]/.test(id)) {
    throw new UsageError(`--tenant must be 1-${MAX_TENANT_ID_LENGTH} characters without control characters, as a usage event's tenantId; got ${JSON.stringify(id)}.`);
  }
  return id;
}

function format(values: Values): OutputFormat {
  const value = (values.format ?? 'table') as OutputFormat;
  if (!OUTPUT_FORMATS.includes(value)) throw new UsageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}; got "${values.format}".`);
  return value;
}

const AWS_OPTIONS = ['stack', 'region', 'workgroup', 'database', 'bucket'] as const;

/** Local unless `--aws` or an AWS name is given; both at once is a mistake. */
function wantsAws(values: Values): boolean {
  const aws = values.aws === true || AWS_OPTIONS.some((name) => values[name] !== undefined);
  if (aws && (values.local === true || values['data-dir'] !== undefined)) {
    throw new UsageError(`billing runs on the local lake (--local, --data-dir) or in AWS (--aws, ${AWS_OPTIONS.map((o) => `--${o}`).join(', ')}), not both.`);
  }
  return aws;
}

type AwsName = 'workGroup' | 'database' | 'bucket';

/** The AWS names a command needs, from the options or else the deployed stack's outputs. */
async function awsNames<K extends AwsName>(values: Values, needed: readonly K[]): Promise<Record<K, string>> {
  const given = { workGroup: values.workgroup, database: values.database, bucket: values.bucket };
  let outputs: StackOutputs = {};
  if (needed.some((name) => given[name] === undefined)) {
    const client = new CloudFormationClient({ region: values.region });
    try {
      outputs = await readStackOutputs(client, values.stack ?? DEFAULT_STACK_NAME);
    } finally {
      client.destroy();
    }
  }
  const names = { workGroup: given.workGroup ?? outputs.athenaWorkGroupName, database: given.database ?? outputs.glueDatabaseName, bucket: given.bucket ?? outputs.lakeBucketName };
  const found: Partial<Record<AwsName, string>> = {};
  const missing: AwsName[] = [];
  for (const name of needed) {
    const value = names[name];
    if (value === undefined) missing.push(name);
    else found[name] = value;
  }
  if (missing.length > 0) {
    const flags = { workGroup: '--workgroup', database: '--database', bucket: '--bucket' };
    throw new UsageError(`billing in AWS needs ${missing.map((name) => flags[name]).join(', ')} (or a deployed stack whose outputs name them).`);
  }
  return found as Record<K, string>;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function commandClose(values: Values, context: CliContext): Promise<number> {
  const closing = month(values);
  const output = format(values);
  const now = context.now?.() ?? new Date();
  const onStep = (step: string) => { context.stderr(`${step} ...\n`); };
  let result: CloseMonthResult;
  if (!wantsAws(values)) {
    const lake = await LocalLake.open(existingDataDir(values));
    try {
      // The Glue job's twin first, so that every raw object is curated and billed.
      context.stderr(`curating ${lake.dataDir}/raw ...\n`);
      const etl = await lake.compact(now, { waitForLockMs: 120_000 });
      if (etl.files > 0) context.stderr(`curated ${etl.rows} new rows from ${etl.files} raw objects (${etl.duplicates} duplicates dropped, ${etl.malformed} rejected).\n`);
      result = await closeMonth(localBillingLedger(lake), { month: closing, now, onStep });
    } finally {
      await lake.close();
    }
  } else {
    const names = await awsNames(values, ['workGroup', 'database', 'bucket']);
    const athena = new AthenaClient({ region: values.region });
    const s3 = new S3Client({ region: values.region });
    try {
      const ledger: BillingLedger = athenaBillingLedger(
        { athena, s3 },
        {
          workGroup: names.workGroup,
          database: names.database,
          bucket: names.bucket,
          signal: context.signal,
          onProgress: (p) => {
            // One rewritten line per query on a terminal; otherwise a line when each query ends.
            if (context.interactive) context.stderr(`\r\x1b[2Kathena ${p.queryExecutionId}: ${p.state}, ${seconds(p.elapsedMs)}`);
            else if (p.state === 'SUCCEEDED') context.stderr(`athena ${p.queryExecutionId}: SUCCEEDED in ${seconds(p.elapsedMs)}\n`);
          },
        },
      );
      result = await closeMonth(ledger, { month: closing, now, onStep: (step) => { onStep(context.interactive ? `\n${step}` : step); } });
    } finally {
      athena.destroy();
      s3.destroy();
    }
  }
  const headline = closeHeadline(result);
  if (output === 'json') {
    context.stderr(`${headline}\n`);
    context.stdout(`${JSON.stringify({ outcome: result.outcome, written: result.written, closing: closingDocument(result.closing), statements: result.statements.map(statementDocument) }, null, 2)}\n`);
  } else {
    (output === 'table' ? context.stdout : context.stderr)(`${headline}\n`);
    context.stdout(formatResult(statementSummaries(result.statements), output));
  }
  return 0;
}

async function commandStatement(values: Values, context: CliContext): Promise<number> {
  const statementMonth = month(values);
  const tenantId = tenant(values);
  const output = format(values);
  let found;
  if (!wantsAws(values)) {
    found = await readStatement(new LocalStatementObjects(existingDataDir(values)), statementMonth, tenantId);
  } else {
    const { bucket } = await awsNames(values, ['bucket']);
    const s3 = new S3Client({ region: values.region });
    try {
      found = await readStatement(new S3StatementObjects(s3, bucket), statementMonth, tenantId);
    } finally {
      s3.destroy();
    }
  }
  const { statement } = found;
  if (output === 'json') {
    context.stdout(`${JSON.stringify(statementDocument(statement), null, 2)}\n`);
  } else if (output === 'csv') {
    context.stdout(formatResult(statementLines(statement), 'csv'));
  } else {
    context.stdout(`Statement of ${statement.tenantId} for ${statement.month}, in ${statement.currency}: closed ${statement.closedAt} (closing ${statement.closingId})\n\n`);
    const lines = statementLines(statement);
    const columns = ['line_no', 'line', 'usage_month', 'calls', 'billable_units', 'amount'];
    const total = { line_no: null, line: 'total', usage_month: '', calls: statement.total.calls, billable_units: statement.total.billableUnits, amount: statement.total.amount };
    context.stdout(formatResult({ columns, rows: [...lines.rows, total] }, 'table'));
    context.stdout(`\nPrices used (per unit): ${statement.priceList.map((p) => `${p.operation} ${p.unitPrice} ${p.currency}`).join('; ')}\n`);
  }
  return 0;
}

function closeHeadline(result: CloseMonthResult): string {
  const { closing } = result;
  const totals = `${closing.statements} statements, ${closing.calls} calls, ${closing.billableUnits} units, ${closing.amount} ${closing.currency}`;
  if (result.outcome === 'closed') return `Closed ${closing.month} at ${closing.closedAt} (closing ${closing.closingId}): ${totals}; wrote ${result.written} statements.`;
  const completed = result.written > 0 ? `completed ${result.written} statements a stopped closing had not written` : 'nothing written';
  return `${closing.month} was closed already at ${closing.closedAt} (closing ${closing.closingId}): ${totals}; ${completed}.`;
}

function statementSummaries(statements: readonly Statement[]) {
  const columns = ['tenant_id', 'calls', 'billable_units', 'amount', 'adjustment_lines', 'adjustment_amount', 'currency'];
  const rows = statements.map((s) => {
    const adjustments = s.lines.filter((line) => line.kind === 'adjustment');
    return {
      tenant_id: s.tenantId,
      calls: s.total.calls,
      billable_units: s.total.billableUnits,
      amount: s.total.amount,
      adjustment_lines: adjustments.length,
      adjustment_amount: roundAmount(adjustments.reduce((sum, line) => sum + line.amount, 0)),
      currency: s.currency,
    };
  });
  return { columns, rows };
}

function statementLines(statement: Statement) {
  const columns = ['tenant_id', 'month', 'line_no', 'line', 'usage_month', 'calls', 'billable_units', 'amount', 'currency', 'closed_at', 'closing_id'];
  const rows = statement.lines.map((line, index) => ({
    tenant_id: statement.tenantId,
    month: statement.month,
    ...statementLineFields(line, index),
    currency: statement.currency,
    closed_at: statement.closedAt,
    closing_id: statement.closingId,
  }));
  return { columns, rows };
}

const priceListDocument = (closing: Pick<MonthClosing, 'priceList'>) => closing.priceList.map((p) => ({ operation: p.operation, unit_price: p.unitPrice, currency: p.currency }));

function statementDocument(statement: Statement) {
  return {
    tenant_id: statement.tenantId,
    month: statement.month,
    currency: statement.currency,
    closed_at: statement.closedAt,
    closing_id: statement.closingId,
    lines: statement.lines.map(statementLineFields),
    total: { calls: statement.total.calls, billable_units: statement.total.billableUnits, amount: statement.total.amount },
    price_list: priceListDocument(statement),
  };
}

function closingDocument(closing: MonthClosing) {
  return {
    month: closing.month,
    closing_id: closing.closingId,
    closed_at: closing.closedAt,
    currency: closing.currency,
    statements: closing.statements,
    calls: closing.calls,
    billable_units: closing.billableUnits,
    amount: closing.amount,
    billed_events: closing.billedEvents,
    price_list: priceListDocument(closing),
  };
}

/** `usage-tracker billing <close|statement> ...`; resolves to the exit code. */
export async function runBillingCommand(argv: readonly string[], context: CliContext): Promise<number> {
  const { values, positionals } = parse(argv);
  const subcommand = positionals.at(0);
  const extra = positionals.slice(1);
  if (extra.length > 0) throw new UsageError(`billing ${subcommand ?? ''} takes options only; got ${extra.join(' ')}.`);
  switch (subcommand) {
    case 'close':
      if (values.tenant !== undefined) throw new UsageError('billing close closes the month for every tenant; --tenant belongs to billing statement.');
      return commandClose(values, context);
    case 'statement':
      return commandStatement(values, context);
    default:
      throw new UsageError(subcommand === undefined ? 'billing needs a subcommand: close or statement.' : `Unknown billing subcommand "${subcommand}": close or statement.`);
  }
}
