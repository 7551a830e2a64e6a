import { parseArgs } from 'node:util';
import { AccountSignals, resolveAccountSignals } from '../../contracts/account-events';
import { DEFAULT_EVENT_SOURCE } from '../../contracts/usage-event';
import { FIREHOSE_BUFFERING } from '../../contracts/lake-layout';
import { TierOverride, TierOverrides, resolveTierPolicies } from '../../contracts/tiers';
import { DEFAULT_DATA_DIR, dataDirLayout } from '../data-dir';
import { DataDirInUseError } from '../stack/data-dir-lock';
import { DEFAULT_LOCAL_OPERATOR_EMAIL, LocalStack, LocalStackOptions, startLocalStack } from '../stack/local-stack';
import { watchLauncher } from '../stack/parent-watch';
import { CliContext, UsageError, existingDataDir } from './cli-context';

const LOCAL_USAGE = `usage-tracker local [options]     (npm start)

The whole system on this machine: DynamoDB (dynalite), an EventBridge PutEvents endpoint, a
Firehose-like buffer into raw/, the ETL on DuckDB, the metered API and a dashboard.

  --data-dir D          where everything is kept: an existing folder (default ${DEFAULT_DATA_DIR},
                        created on the first start)
  --api-port N          the metered API and the dashboard (default 3000; 0 = any free port)
  --events-port N       the EventBridge endpoint (default 4010; 0 = any free port)
  --demo | --no-demo    simulated services and API consumers of every tier (default --demo)
  --no-accounts         no consumer accounts: the Cognito emulator is not started and the
                        sign-up and sign-in routes answer 503, as a stack deployed with accounts=false
  --accounts-port N     the Cognito emulator (default 0: the port the data folder's pool was made on)
  --buffer-seconds N    Firehose buffer interval hint (default 10; AWS default 900)
  --buffer-mib N        Firehose buffer size hint (default 1; AWS default 128)
  --etl-seconds N       how often raw/ is curated into Parquet (default 15)
  --sources a,b         the rule's event source allow-list (default ${DEFAULT_EVENT_SOURCE})
  --tiers JSON          tier overrides, as the stack's tiers context: rates, bursts, fail modes
                        and quotas, e.g. '{"free":{"quota":{"period":"day","requests":100}}}'
  --no-mail             account events are not mailed: the local SES server is not started
  --mail-port N         the local SES server, whose web UI lists the mails (default 0: any free port)
  --notification-operators a@x,b@y
                        who hears of rate-limit spikes and failed authentications
                        (default ${DEFAULT_LOCAL_OPERATOR_EMAIL})
  --notification-cooldown S
                        seconds between two mails of one kind to one tenant (default 3600)
  --account-signals JSON
                        signal thresholds, as the stack's accountSignals context, e.g.
                        '{"rateLimitSpike":{"count":50,"minutes":5},"authFailures":{"count":20,"minutes":5}}'

Ctrl-C, SIGTERM or SIGHUP (to npm, its process group or node) flushes every buffer to raw/ and
stops; so does the end of the process that started it (npm). A second signal, a second or more
after the first, quits at once; the write-ahead log delivers what it held at the next start.
One stack per data folder: a second start on a folder in use says which process holds it.`;

const LOCAL_OPTIONS = {
  'data-dir': { type: 'string' },
  'api-port': { type: 'string' },
  'events-port': { type: 'string' },
  demo: { type: 'boolean' },
  'no-demo': { type: 'boolean' },
  'no-accounts': { type: 'boolean' },
  'accounts-port': { type: 'string' },
  'buffer-seconds': { type: 'string' },
  'buffer-mib': { type: 'string' },
  'etl-seconds': { type: 'string' },
  sources: { type: 'string' },
  tiers: { type: 'string' },
  'no-mail': { type: 'boolean' },
  'mail-port': { type: 'string' },
  'notification-operators': { type: 'string' },
  'notification-cooldown': { type: 'string' },
  'account-signals': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type LocalValues = ReturnType<typeof parseLocalArgs>;

/** Firehose's own limits on its buffering hints. */
const FIREHOSE_MAX_BUFFER_MIB = FIREHOSE_BUFFERING.maxSizeMiB;
const FIREHOSE_MAX_BUFFER_SECONDS = FIREHOSE_BUFFERING.maxIntervalSeconds;

function positiveNumber(name: string, value: string | undefined, fallback: number, { allowZero = false } = {}): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new UsageError(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number; got "${value}".`);
  return n;
}

function port(name: string, value: string | undefined, fallback: number): number {
  const n = positiveNumber(name, value, fallback, { allowZero: true });
  if (!Number.isInteger(n) || n > 65535) throw new UsageError(`--${name} must be a port number from 0 to 65535; got "${value ?? ''}".`);
  return n;
}

/**
 * The data folder: the default one is created on the first start; a folder given with
 * `--data-dir` must exist, so that a mistyped path does not start an empty lake beside the real one.
 */
function dataDir(value: string | undefined): string {
  if (value === undefined) return DEFAULT_DATA_DIR;
  return existingDataDir({ 'data-dir': value }, `Create it first to start a new lake there, or leave --data-dir out to use ${DEFAULT_DATA_DIR} (created on the first start).`);
}

function parseLocalArgs(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: LOCAL_OPTIONS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
}

/** The Firehose buffer's hints, within Firehose's own limits. */
function bufferHints(values: LocalValues): { bufferIntervalSeconds: number; bufferSizeMiB: number } {
  const bufferSizeMiB = positiveNumber('buffer-mib', values['buffer-mib'], 1);
  if (bufferSizeMiB > FIREHOSE_MAX_BUFFER_MIB) throw new UsageError(`--buffer-mib must be at most ${FIREHOSE_MAX_BUFFER_MIB} (Firehose's limit); got ${bufferSizeMiB}.`);
  const bufferIntervalSeconds = positiveNumber('buffer-seconds', values['buffer-seconds'], 10);
  if (bufferIntervalSeconds > FIREHOSE_MAX_BUFFER_SECONDS) {
    throw new UsageError(`--buffer-seconds must be at most ${FIREHOSE_MAX_BUFFER_SECONDS} (Firehose's limit); got ${bufferIntervalSeconds}.`);
  }
  return { bufferIntervalSeconds, bufferSizeMiB };
}

/** `--tiers`: JSON tier overrides, checked as the stack checks its `tiers` context. */
function tierOverrides(json: string): TierOverrides {
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new UsageError(`--tiers must be JSON, e.g. '{"free":{"requestsPerMinute":10}}'; got ${JSON.stringify(json)}.`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError('--tiers must be a JSON object of tier names.');
  try {
    resolveTierPolicies(parsed as Record<string, TierOverride>);
  } catch (error) {
    throw new UsageError(`--tiers: ${(error as Error).message}`);
  }
  return parsed;
}

/** A simple check of an address: something@domain, no spaces or commas; SES checks the rest. */
const EMAIL = /^[^\s@,]+@[^\s@,]+\.[^\s@,]+$/;

/** The notifications' options: mail on or off, its port, the operators, the cooldown, the signal thresholds. */
function notificationOptions(values: LocalValues): Pick<LocalStackOptions, 'mail' | 'mailPort' | 'notificationOperators' | 'notificationCooldownSeconds' | 'accountSignals'> {
  if (values['no-mail'] && values['mail-port'] !== undefined) throw new UsageError('--mail-port and --no-mail cannot both be given.');
  const operators = values['notification-operators']?.split(',').map((address) => address.trim()).filter(Boolean);
  if (operators?.length === 0) throw new UsageError('--notification-operators needs at least one address, e.g. ops@example.com,oncall@example.com.');
  const invalid = operators?.find((address) => !EMAIL.test(address));
  if (invalid !== undefined) throw new UsageError(`--notification-operators: "${invalid}" is not an email address.`);
  let signals: AccountSignals | undefined;
  try {
    signals = values['account-signals'] === undefined ? undefined : resolveAccountSignals(values['account-signals']);
  } catch (error) {
    throw new UsageError(`--account-signals: ${(error as Error).message}`);
  }
  const cooldown = values['notification-cooldown'];
  return {
    mail: !values['no-mail'],
    mailPort: port('mail-port', values['mail-port'], 0),
    ...(operators ? { notificationOperators: operators } : {}),
    ...(cooldown === undefined ? {} : { notificationCooldownSeconds: positiveNumber('notification-cooldown', cooldown, 3600, { allowZero: true }) }),
    ...(signals ? { accountSignals: signals } : {}),
  };
}

/** The stack's options from the command line, every one checked before anything starts. */
function localStackOptions(values: LocalValues, context: CliContext): LocalStackOptions {
  if (values.demo && values['no-demo']) throw new UsageError('--demo and --no-demo cannot both be given.');
  const { bufferIntervalSeconds, bufferSizeMiB } = bufferHints(values);
  const tiers = values.tiers === undefined ? {} : { tiers: tierOverrides(values.tiers) };
  return {
    dataDir: dataDir(values['data-dir']),
    apiPort: port('api-port', values['api-port'], 3000),
    eventsPort: port('events-port', values['events-port'], 4010),
    demo: !values['no-demo'],
    accounts: !values['no-accounts'],
    accountsPort: port('accounts-port', values['accounts-port'], 0),
    bufferIntervalSeconds,
    bufferSizeMiB,
    etlIntervalSeconds: positiveNumber('etl-seconds', values['etl-seconds'], 15),
    ...tiers,
    ...notificationOptions(values),
    sources: values.sources
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    log: (line: string) => { context.stderr(`${new Date().toISOString().slice(11, 19)} ${line}\n`); },
  };
}

/** Starts the stack; undefined (with the reason on stderr) when a port is taken or another stack holds the data folder. */
async function startOrExplain(options: LocalStackOptions, context: CliContext): Promise<LocalStack | undefined> {
  try {
    return await startLocalStack(options);
  } catch (error) {
    if (error instanceof DataDirInUseError) {
      context.stderr(`usage-tracker: ${error.message}\n`);
      return undefined;
    }
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    context.stderr(`usage-tracker: a port is already in use (${(error as Error).message}). Is another "npm start" running? Pick others with --api-port, --events-port and --mail-port.\n`);
    return undefined;
  }
}

/**
 * How long a stop may take: the flush of a full buffer takes well under a second; a stop that has
 * not ended by then (a disk that does not answer) exits anyway, and the write-ahead log delivers
 * what the buffer held at the next start. With the CLI's exit grace, under the 10 s a process
 * manager usually allows before SIGKILL.
 */
const STOP_DEADLINE_MS = 8000;

/** Stops the stack within STOP_DEADLINE_MS; the exit code. */
async function stopWithin(stack: LocalStack, context: CliContext): Promise<number> {
  context.stderr('flushing buffers to raw/ ...\n');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => { resolve('late'); }, STOP_DEADLINE_MS);
    timer.unref();
  });
  const outcome = await Promise.race([stack.stop().then(() => 'stopped' as const), late]);
  clearTimeout(timer);
  if (outcome === 'late') {
    context.stderr(`did not stop within ${STOP_DEADLINE_MS / 1000} s; exiting (the write-ahead log delivers what was not written at the next start).\n`);
    return 1;
  }
  context.stderr('stopped; the next start carries on from here.\n');
  return 0;
}

/**
 * What is running where, and how to use it: the banner `npm start` prints once it is ready. Its
 * "ready in" is the time from the process's start to the first healthy `/health` (what a user
 * waits for, loading the code included); the lake opens in the background after.
 */
function banner(stack: LocalStack, options: LocalStackOptions): string {
  const lines = [
    `api-usage-tracker is running locally (ready in ${(stack.readyMs / 1000).toFixed(2)} s), data in ${stack.dataDir}`,
    '',
    `  Metered API      ${stack.apiUrl}          (health: ${stack.apiUrl}/health)`,
    `  Dashboard        ${stack.dashboardUrl}`,
    `  API reference    ${stack.apiUrl}/docs          (OpenAPI: ${stack.apiUrl}/openapi.json)`,
    `  Client for pages ${stack.apiUrl}/sdk.js        (ES module: ${stack.apiUrl}/sdk.mjs; demo page: ${stack.apiUrl}/sdk)`,
    ...(stack.accounts
      ? [`  Accounts         ${stack.accounts.endpoint}          (Cognito emulator, pool ${stack.accounts.userPoolId}; sign up at ${stack.apiUrl}/sdk, codes print below)`]
      : ['  Accounts         off (--no-accounts): sign-up and sign-in answer 503']),
    `  EventBridge      ${stack.eventsUrl}          (bus "${stack.busName}", source "${stack.source}")`,
    stack.mail
      ? `  Mail             ${stack.mail.url}/          (local SES server: the notifications' mails; dead letters in ${dataDirLayout(stack.dataDir).notificationDeadLetters})`
      : '  Mail             off (--no-mail): account events are not mailed',
    `  Admin API key    in ${stack.adminKeyFile}${stack.adminKeyCreated ? ' (created now)' : ''}`,
    `  Admin token      env $(cat ${stack.operatorCredentialsFile}) npx tsx scripts/mint-admin-token.ts --api-url ${stack.apiUrl} --region us-east-1`,
    '',
    'Point a service at it:',
    `  AWS_ENDPOINT_URL_EVENTBRIDGE=${stack.eventsUrl} USAGE_EVENT_BUS_NAME=${stack.busName}`,
    `Query it:  npm run usage-tracker -- query billing_by_tenant --param month=${new Date().toISOString().slice(0, 7)} --data-dir ${options.dataDir}`,
    `Buffer ${options.bufferIntervalSeconds} s / ${options.bufferSizeMiB} MiB, ETL every ${options.etlIntervalSeconds} s.${options.demo ? '' : ' No demo traffic (--no-demo).'}`,
  ];
  const firstTenant = stack.demoTenants.at(0);
  if (firstTenant !== undefined) {
    lines.push('', 'Demo tenants (one per tier; their traffic is running):');
    for (const tenant of stack.demoTenants) lines.push(`  ${tenant.tier.padEnd(10)} ${tenant.tenantId.padEnd(16)} ${tenant.apiKey}`);
    lines.push(`  try: curl -H "Authorization: ApiKey ${firstTenant.apiKey}" ${stack.apiUrl}/v1/usage`);
  }
  return `${lines.join('\n')}\n\nCtrl-C to stop.\n`;
}

/** Resolves when the signal aborts (Ctrl-C or SIGTERM), at once if it has already. */
function aborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) { resolve(); return; }
    signal.addEventListener('abort', () => { resolve(); }, { once: true });
  });
}

/**
 * `usage-tracker local`: starts the stack, prints its endpoints, runs until a stop signal (see
 * main.ts) or until the process that started it ends (see parent-watch.ts), then flushes and stops.
 */
export async function runLocalCommand(argv: readonly string[], context: CliContext): Promise<number> {
  const values = parseLocalArgs(argv);
  if (values.help) {
    context.stdout(`${LOCAL_USAGE}\n`);
    return 0;
  }
  const options = localStackOptions(values, context);
  const launcherGone = new AbortController();
  const stopWatching = watchLauncher((description) => {
    context.stderr(`\n${description}: stopping.\n`);
    launcherGone.abort();
  });
  try {
    const stack = await startOrExplain(options, context);
    if (!stack) return 1;
    context.stdout(banner(stack, options));
    await aborted(AbortSignal.any([context.signal, launcherGone.signal]));
    return await stopWithin(stack, context);
  } finally {
    stopWatching();
  }
}
