import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AccountSignals, accountEventPattern, resolveAccountSignals } from '../../contracts/account-events';
import { usageEventPattern } from '../../contracts/event-pattern';
import { PRICE_LIST } from '../../contracts/lake-layout';
import { DEFAULT_TOKEN_AUDIENCE, METERED_API_SERVICE, MeteredApiTable } from '../../contracts/metered-api';
import { TIER_NAMES, TierOverrides, resolveTierPolicies } from '../../contracts/tiers';
import { DEFAULT_EVENT_SOURCES } from '../../contracts/usage-event';
import { usageOfGatewayAnswer } from '../../lambdas/access-log/gateway-answers';
import { AccountEventPublisher, AccountEventSink } from '../../lambdas/account-events/account-event-publisher';
import { SignalCounters } from '../../lambdas/account-events/signal-counters';
import type { AccountEventSignals } from '../../lambdas/account-events/signal-detector';
import { accountEventsBuffer } from '../lake/account-events';
import { NotificationStore } from '../../lambdas/notifications/notification-store';
import { Notifier } from '../../lambdas/notifications/notifier';
import { SesMailSender } from '../../lambdas/notifications/ses-mail-sender';
import { MeteredApiDependencies, createDependencies } from '../../lambdas/runtime/dependencies';
import { RuntimeConfig } from '../../lambdas/runtime/runtime-config';
import { createEventBridgeClient } from '../../sdk/eventbridge-client';
import { SdkPutEventsTransport } from '../../sdk/put-events-transport';
import { UsagePublisher } from '../../sdk/usage-publisher';
import { CognitoEmulator, startCognitoEmulator } from '../accounts/cognito-emulator';
import { choosePort } from '../accounts/emulator-process';
import { createDashboardHandler } from '../dashboard/dashboard';
import { DataDirLayout, dataDirLayout } from '../data-dir';
import { createDynaliteServer } from '../dynalite-server';
import { closeGracefully, refuseForeignHost } from '../loopback-server';
import { FirehoseBuffer } from '../events/firehose-buffer';
import { AuditTailer } from '../events/audit-tailer';
import { FixedRule, LocalEventBus } from '../events/local-event-bus';
import { LocalAccessLogSignals, LocalUsageLogSubscription } from '../events/usage-log-subscription';
import { LocalHttpApiGateway, createGatewayServer } from '../http-api-gateway';
import { LocalIamAuthorizer } from '../iam-authorizer';
import { listFiles } from '../lake/lake-files';
// The lake (DuckDB) is loaded when it is opened, after /health answers: see BackgroundLake.
import type * as LakeModule from '../lake/local-lake';
import type { CompactionResult, LocalLake } from '../lake/local-lake';
import { createMeteredApiTables, meteredApiRoutes } from '../metered-api';
import { LocalNotifierStats, LocalNotifierTarget, NotifierLike } from '../notifications/local-notifier-target';
import { LocalMail, SesLocalServer, startSesLocalServer } from '../notifications/ses-local-server';
import { BackgroundLake, LakeState } from './background-lake';
import { acquireStackLock } from './data-dir-lock';
import { DemoTenant, DemoTraffic } from './demo-traffic';
import { StartupPhase, StartupTimeline, nodeBootstrapMs } from './startup-timeline';

/** Who the local operator is, as API Gateway would name an IAM user, and the region its signatures name. */
const LOCAL_OPERATOR_ARN = 'arn:aws:iam::000000000000:user/local-operator';
const LOCAL_IAM_REGION = 'us-east-1';

export interface LocalStackOptions {
  /** Everything the stack keeps: DynamoDB tables, secrets, the admin key, raw/, curated/, errors/. */
  readonly dataDir: string;
  /** 0 picks a free port. */
  readonly apiPort: number;
  readonly eventsPort: number;
  readonly demo: boolean;
  /** Firehose's hints, scaled down for development (AWS: 900 s and 128 MiB). */
  readonly bufferIntervalSeconds: number;
  readonly bufferSizeMiB: number;
  /** How often the ETL (the Glue job's and crawler's twins) runs. */
  readonly etlIntervalSeconds: number;
  /** The rule's source allow-list. */
  readonly sources?: readonly string[];
  readonly busName?: string;
  /** Demo routes: added latency and share of 500s. */
  readonly demoLatencyMs?: number;
  readonly demoErrorRate?: number;
  /**
   * How many days before its envelope's time an event may have happened and still be curated,
   * as the stack's `lateEventWindowDays` context parameter.
   * @default 35
   */
  readonly lateEventWindowDays?: number;
  /**
   * Whether the consumer accounts' Cognito emulator (cognito-local, local/accounts/) runs; without
   * it the account routes answer 503 `accounts-unavailable`, as a deployment without a pool does.
   * @default true
   */
  readonly accounts?: boolean;
  /** The Cognito emulator's port; 0 picks a free one. @default 0 */
  readonly accountsPort?: number;
  /**
   * Tier overrides (rates, bursts, fail modes, quotas), as the stack's `tiers` context parameter,
   * validated by `resolveTierPolicies`. @default the default tiers, without quotas
   */
  readonly tiers?: TierOverrides;
  /**
   * Whether account events are mailed through a local SES server (aws-ses-v2-local, started beside
   * the stack; its web UI lists the mails); without it they are not mailed. @default true
   */
  readonly mail?: boolean;
  /** The local SES server's port; 0 picks a free one. @default 0 */
  readonly mailPort?: number;
  /** Who hears operator kinds (rate-limit spikes, failed authentications). @default [{@link DEFAULT_LOCAL_OPERATOR_EMAIL}] */
  readonly notificationOperators?: readonly string[];
  /** The cooldown per tenant and kind of repeating kinds, as the stack's context parameter. @default 3600 (the notifier's) */
  readonly notificationCooldownSeconds?: number;
  /**
   * Signal thresholds (rate-limit spikes, failed authentications), as the stack's `accountSignals`
   * context parameter (an object or its JSON), checked by `resolveAccountSignals`. @default its defaults
   */
  readonly accountSignals?: Partial<AccountSignals> | string;
  readonly log?: (line: string) => void;
}

/** The local mail server and the notifier that sends to it, as tests and the banner see them. */
export interface LocalMailbox {
  /** The local SES server: its SES v2 endpoint, and its web UI at `/`. */
  readonly url: string;
  /** Resolves once the server answers; rejects when it did not start. */
  ready(): Promise<void>;
  /** The mails received, oldest first (`GET /store`), once the server answers; `sinceSeconds` keeps those received at or after it. */
  mails(sinceSeconds?: number): Promise<LocalMail[]>;
  /** Resolves once every account event the bus has taken so far is notified or dead-lettered (retries included). */
  settled(): Promise<void>;
  /** What the local notifier did so far. */
  stats(): LocalNotifierStats;
}

export interface LocalStack {
  readonly apiUrl: string;
  readonly eventsUrl: string;
  readonly dashboardUrl: string;
  /**
   * The consumer accounts' user pool in the Cognito emulator: its endpoint (`AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`),
   * ids and issuer; undefined when the stack runs without accounts.
   */
  readonly accounts?: { readonly endpoint: string; readonly userPoolId: string; readonly clientId: string; readonly issuer: string };
  /**
   * The latest confirmation code the emulator "sent" to `email` (also printed in the stack's log),
   * waiting up to `timeoutMs` (default 5000) for one; rejects when none comes or there are no accounts.
   */
  verificationCode(email: string, options?: { timeoutMs?: number }): Promise<string>;
  /** The local SES server and the notifier; undefined when the stack runs without mail (`--no-mail`). */
  readonly mail?: LocalMailbox;
  /**
   * Puts account events on the local bus (source and detail-type of account events), as the stack's
   * own producers do: the AuditTailer, the usage-log forwarder's signals.
   */
  readonly accountEvents: AccountEventSink;
  readonly busName: string;
  readonly source: string;
  readonly dataDir: string;
  readonly adminKeyFile: string;
  /**
   * The local operator's IAM credentials (`AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=…`), whose
   * SigV4 signature POST /v1/admin/token verifies, as IAM authorization does in AWS.
   */
  readonly operatorCredentialsFile: string;
  /** True when this start created the admin credential (first start). */
  readonly adminKeyCreated: boolean;
  readonly demoTenants: readonly DemoTenant[];
  /** Milliseconds from the process's start to the first healthy `/health`. */
  readonly readyMs: number;
  /** When each step of the start ended (ms since the process started); the lake's steps are added when they end. */
  startupPhases(): readonly StartupPhase[];
  /** The lake, once open: it opens in the background after `/health` is healthy. Rejects when it cannot be opened. */
  lake(): Promise<LocalLake>;
  /**
   * Sends the API's pending usage events to the bus (and the forwarders' account events: quota
   * thresholds, signals), then writes what the buffer holds to raw/. `mail.settled()` then waits for their mails.
   */
  flush(): Promise<void>;
  /** Runs the ETL now (also what `usage-tracker etl --local` does), once the lake is open. */
  runEtl(): Promise<CompactionResult>;
  /** Flushes every buffer to raw/ and stops; nothing accepted is lost. */
  stop(): Promise<void>;
}

export const DEFAULT_BUS_NAME = 'api-usage-tracker';
/** Where the local notifier's mails come from, and the operators' address unless given (`.localhost`: never a real domain, RFC 2606). */
export const LOCAL_MAIL_FROM = 'notifications@api-usage-tracker.localhost';
export const DEFAULT_LOCAL_OPERATOR_EMAIL = 'operators@api-usage-tracker.localhost';
/** Per-call prices for the local billing preview: every operation at $0.0004, checkout dearer. */
const STARTER_PRICE_LIST = `${PRICE_LIST.columns.map((c) => c.name).join(',')}\n${PRICE_LIST.defaultOperation},0.0004,USD\nPOST /v1/orders,0.002,USD\nGET /v1/search,0.0008,USD\n`;
const TABLES: Record<MeteredApiTable, string> = { credentials: 'api-usage-credentials', limiter: 'api-usage-limiter', audit: 'api-usage-audit' };

/** A secret file (48 random bytes) created on first start, readable by this user only. */
async function secretFile(file: string): Promise<string> {
  if (!existsSync(file)) {
    await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await fs.writeFile(file, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  return file;
}

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { resolve(); });
  });
  return (server.address() as AddressInfo).port;
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** What a start has started, stopped in reverse order; a failing step is logged and the rest still run. */
class Cleanups {
  private readonly steps: (() => Promise<void> | void)[] = [];
  private readonly firstSteps: (() => Promise<void> | void)[] = [];

  constructor(private readonly log: (line: string) => void) {}

  /** A step to run on stop, before those added earlier; `stopFirst` ones run before all others. */
  public add(step: () => Promise<void> | void, { stopFirst = false } = {}): void {
    (stopFirst ? this.firstSteps : this.steps).push(step);
  }

  public async run(): Promise<void> {
    const steps = [...this.firstSteps.splice(0).reverse(), ...this.steps.splice(0).reverse()];
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        this.log(`stopping: ${messageOf(error)}`);
      }
    }
  }
}

/** What every step of a start shares. */
interface StartContext {
  readonly options: LocalStackOptions;
  readonly layout: DataDirLayout;
  readonly busName: string;
  readonly sources: readonly string[];
  /** The source the API's own usage events and the demo traffic use: the allow-list's first. */
  readonly source: string;
  readonly log: (line: string) => void;
  readonly cleanups: Cleanups;
  readonly timeline: StartupTimeline;
  /** The signal thresholds (`options.accountSignals` on the defaults). */
  readonly signals: AccountSignals;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * The handlers' Powertools logger and metrics write for CloudWatch; on a console, only warnings
 * and errors are worth a line, and metrics (EMF documents) none. Set these to see them.
 */
function quietLambdaTelemetry(): void {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
}

/** DynamoDB: dynalite persisted under the data folder, tables from the stack's definitions (only those missing are created). */
async function startDynamoDb({ layout, cleanups, timeline }: StartContext): Promise<DynamoDBClient> {
  const dynalite = createDynaliteServer({ path: layout.dynamodb });
  const dynamoPort = await listen(dynalite, 0);
  cleanups.add(() => closeGracefully(dynalite));
  const dynamodb = new DynamoDBClient({ endpoint: `http://127.0.0.1:${dynamoPort}`, region: LOCAL_IAM_REGION, credentials: LOCAL_CREDENTIALS });
  cleanups.add(() => { dynamodb.destroy(); });
  timeline.mark('dynalite listening');
  await createMeteredApiTables(dynamodb, TABLES);
  timeline.mark('dynamodb tables');
  return dynamodb;
}

/**
 * Consumer accounts: the Cognito emulator in a process of its own, its data in `<dataDir>/cognito`,
 * with the stack's user pool; each confirmation code it "sends" is a line of the stack's log. Once
 * the folder has a pool, the stack does not wait for the emulator to answer (`early`): its process
 * starts beside the rest, and `/health` says `accounts: starting` until it answers.
 */
async function startAccounts({ options, layout, log, cleanups, timeline }: StartContext): Promise<CognitoEmulator | undefined> {
  if (options.accounts === false) return undefined;
  const emulator = await startCognitoEmulator({ dir: layout.cognito, port: options.accountsPort ?? 0, log, early: true });
  cleanups.add(() => emulator.stop());
  void emulator.ready.then(() => { timeline.mark('cognito emulator'); }, () => undefined);
  return emulator;
}

/** What `/health` says of the local SES server. */
type MailState = 'starting' | 'running' | { readonly failed: string };

/** The local SES server: its URL is known at once; its process is started once the stack is healthy (`launch`). */
interface MailServer {
  readonly url: string;
  readonly server: Promise<SesLocalServer>;
  state(): MailState;
  /** Starts its process (once; again does nothing). */
  launch(): void;
}

/**
 * Mail: the local SES server (aws-ses-v2-local) in a process of its own on loopback. Forking it and
 * its loading Express take CPU the rest of the start needs, and it takes about 0.4 s to listen:
 * its port is chosen now (so its URL is known), its process is started once `/health` is healthy
 * (`launch`). The notifier waits for it before its first mail, and `/health` says `mail: starting`
 * until it answers. A port asked for must be free.
 */
async function startMail({ options, log, cleanups, timeline }: StartContext): Promise<MailServer | undefined> {
  if (options.mail === false) return undefined;
  const host = '127.0.0.1';
  const asked = options.mailPort ?? 0;
  const port = await choosePort(host, asked);
  if (asked > 0 && port !== asked) throw Object.assign(new Error(`The mail port ${asked} is in use (--mail-port).`), { code: 'EADDRINUSE' });
  let state: MailState = 'starting';
  let launched = false;
  let stopping = false;
  const started = deferred<SesLocalServer>();
  started.promise.then(
    () => {
      state = 'running';
      timeline.mark('mail server');
    },
    (error: unknown) => {
      state = { failed: messageOf(error) };
      if (!stopping) log(`mail: the local SES server did not start: ${messageOf(error)}`);
    },
  );
  cleanups.add(async () => {
    stopping = true;
    if (!launched) started.reject(new Error('The stack stopped before the local SES server started.'));
    await (await started.promise.catch(() => undefined))?.stop();
  });
  const launch = () => {
    if (launched || stopping) return;
    launched = true;
    started.resolve(startSesLocalServer({ host, port }));
  };
  return { url: `http://${host}:${port}`, server: started.promise, state: () => state, launch };
}

/** A promise settled from outside: the notifier, built once DynamoDB and the mail server are up, for a target the bus has from its start. */
interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T | Promise<T>): void;
  reject(reason: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve: (value: T | Promise<T>) => void = () => undefined;
  let reject: (reason: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Its users handle a rejection; none may be left unhandled when nothing uses it (a stack without mail).
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** How long a local delivery's claim shields an event (the notifier's lease): longer than a send may take (10 s), short enough for a retry after a crash. */
const LOCAL_NOTIFIER_LEASE_SECONDS = 30;

/** The account-events rule's target: the local notifier (the queue and function in AWS), unless the stack runs without mail. */
function notifierTarget({ options, layout, log }: StartContext, notifier: Promise<NotifierLike>): LocalNotifierTarget | undefined {
  if (options.mail === false) return undefined;
  const leaseMs = (LOCAL_NOTIFIER_LEASE_SECONDS + 1) * 1000;
  return new LocalNotifierTarget({ notifier, deadLetterDir: layout.notificationDeadLetters, spoolDir: layout.notificationSpool, leaseMs, log });
}

/** The stack's fixed rules besides the usage rule, as in AWS: account events (`accountEventPattern()`) to the notifier (and, added by startEventBus, to the lake). */
function fixedRules(target: LocalNotifierTarget | undefined): FixedRule[] {
  const rules: FixedRule[] = [];
  if (target) rules.push({ name: 'account-events-notifier', pattern: accountEventPattern(), target });
  return rules;
}

/** The notifier on the stack's DynamoDB, sending to the local SES server once it answers. */
function localNotifier({ options }: StartContext, dynamodb: DynamoDBClient, deps: MeteredApiDependencies, mail: MailServer, usageUrl: string): Promise<Notifier> {
  const notifier = new Notifier({
    tenants: deps.store,
    store: new NotificationStore({ client: dynamodb, credentialsTable: TABLES.credentials }),
    sender: new SesMailSender({ from: LOCAL_MAIL_FROM, region: LOCAL_IAM_REGION, endpoint: new URL(mail.url), credentials: () => Promise.resolve(LOCAL_CREDENTIALS) }),
    operators: options.notificationOperators ?? [DEFAULT_LOCAL_OPERATOR_EMAIL],
    templates: { usageUrl },
    cooldownSeconds: options.notificationCooldownSeconds,
    leaseSeconds: LOCAL_NOTIFIER_LEASE_SECONDS,
  });
  return mail.server.then(() => notifier);
}

/** Account events from the stack's own producers, put on the local bus through the SDK as in AWS. */
function startAccountEventPublisher({ busName, cleanups }: StartContext, eventsUrl: string): AccountEventPublisher {
  const client = createEventBridgeClient({ endpoint: eventsUrl, region: LOCAL_IAM_REGION, credentials: LOCAL_CREDENTIALS });
  cleanups.add(() => { client.destroy(); });
  return new AccountEventPublisher({ transport: new SdkPutEventsTransport(client), eventBusName: busName });
}

/** The bus: PutEvents → the stack's rule pattern → Firehose buffer → raw/; its fixed rules (account events) to their targets. */
interface EventBusParts {
  readonly buffer: FirehoseBuffer;
  /** The account events' own buffer to the lake. */
  readonly accountLake: FirehoseBuffer;
  readonly bus: LocalEventBus;
  readonly eventsUrl: string;
}

async function startEventBus({ options, layout, busName, sources, log, cleanups, timeline }: StartContext, rules: readonly FixedRule[]): Promise<EventBusParts> {
  const buffer = new FirehoseBuffer({
    dataDir: layout.root,
    intervalMs: options.bufferIntervalSeconds * 1000,
    sizeBytes: options.bufferSizeMiB * 1024 * 1024,
    onFlush: ({ key, records }) => { log(`firehose: ${records} events -> ${key}`); },
  });
  const { recovered } = await buffer.start();
  if (recovered > 0) log(`firehose: delivered ${recovered} events a previous run had accepted but not written`);
  cleanups.add(() => buffer.stop());
  // Account events' own stream to the lake (`account-events/`), with the development buffer hints.
  const accountLake = await accountEventsBuffer({ dataDir: layout.root, log, intervalMs: options.bufferIntervalSeconds * 1000, sizeBytes: options.bufferSizeMiB * 1024 * 1024 });
  cleanups.add(() => accountLake.stop());
  const bus = new LocalEventBus({
    busName,
    rule: { pattern: usageEventPattern(sources), target: buffer },
    rules: [...rules, { name: 'account-events-lake', pattern: accountEventPattern(), target: accountLake.target }],
    onRuleError: (rule, error, records) => { log(`bus: rule ${rule} did not take ${records} events: ${messageOf(error)}`); },
    dataDir: layout.root,
  });
  const eventsUrl = await bus.listen(options.eventsPort);
  cleanups.add(() => bus.close());
  timeline.mark('event bus');
  return { buffer, accountLake: accountLake.target, bus, eventsUrl };
}

/**
 * The metered API's own usage events go through the SDK to that bus, as in AWS: the functions
 * write usage lines, which the log subscription hands to the forwarder's code and its publisher.
 */
function startPublisher(
  { layout, busName, source, log, cleanups }: StartContext,
  eventsUrl: string,
  accountEvents: AccountEventSignals,
): { publisher: UsagePublisher; usageLogs: LocalUsageLogSubscription; accessSignals: LocalAccessLogSignals } {
  const publisher = new UsagePublisher({
    eventBusName: busName,
    source,
    client: createEventBridgeClient({ endpoint: eventsUrl, region: LOCAL_IAM_REGION, credentials: LOCAL_CREDENTIALS }),
    spoolDir: layout.meteredApiSpool,
    flushOnExitSignals: false,
    sendFrom: 'event-loop',
    defaults: { service: METERED_API_SERVICE },
    onError: (error) => { log(`usage events: ${error.message}`); },
  });
  cleanups.add(() => publisher.close());
  const onAccountEventFailure = (error: Error) => { log(`account events: not put on the bus after every retry: ${error.message}`); };
  // The forwarders' own code: quota-threshold lines to the bus, 429s and refusals counted into the signal counters.
  const usageLogs = new LocalUsageLogSubscription({ publisher, accountEvents, onAccountEventFailure, onSkip: (id, reason) => { log(`usage lines: log event ${id} skipped: ${reason}`); } });
  const accessSignals = new LocalAccessLogSignals({ accountEvents, onAccountEventFailure });
  // Stopped before the publisher (cleanups run in reverse): what has gathered goes out with it, and their account events before the bus stops.
  cleanups.add(async () => {
    usageLogs.close();
    accessSignals.close();
    await Promise.all([usageLogs.flush(), accessSignals.flush()]);
  });
  return { publisher, usageLogs, accessSignals };
}

/** What answers the API server's requests: "starting" until `serveApi` wires the stack in. */
type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Every request before the stack is wired: 503 with a JSON body, never left waiting. */
const answerStarting: RequestHandler = (_req, res) => {
  sendJson(res, 503, { status: 'starting', error: 'starting', message: 'The local stack is starting; try again in a moment.' }, { 'retry-after': '1' });
};

/**
 * The API's server, listening from its first moment with a handler: until the stack is wired
 * (`setHandler`), every request gets 503 "starting" rather than waiting on a server with no listener.
 */
async function listenApi({ options, cleanups }: StartContext): Promise<{ server: Server; url: string; setHandler: (handler: RequestHandler) => void }> {
  let handler = answerStarting;
  // API Gateway's quotas and JSON refusals, even for what Node's parser refuses (431 and the like).
  const server = createGatewayServer((req, res) => {
    if (!refuseForeignHost(req, res)) handler(req, res);
  });
  const port = await listen(server, options.apiPort);
  cleanups.add(() => closeGracefully(server));
  return { server, url: `http://127.0.0.1:${port}`, setHandler: (next) => { handler = next; } };
}

/** The Lambda handlers' configuration, as the stack's environment would give it. */
async function runtimeConfig({ options, layout, busName, source }: StartContext, apiUrl: string, accounts: CognitoEmulator | undefined): Promise<RuntimeConfig> {
  return {
    ...(accounts ? { accounts: accounts.pool } : {}),
    tables: TABLES,
    tokenIssuer: apiUrl,
    tokenAudience: DEFAULT_TOKEN_AUDIENCE,
    tenantSecret: { kind: 'file', path: await secretFile(layout.tenantTokenSecret) },
    adminKey: { kind: 'file', path: layout.adminTokenKey },
    tiers: resolveTierPolicies(options.tiers),
    usageBus: { eventBusName: busName, source },
    demo: { latencyMs: options.demoLatencyMs ?? (options.demo ? 20 : 0), errorRate: options.demoErrorRate ?? (options.demo ? 0.02 : 0) },
  };
}

/** The admin credential: created once, kept in a file only this user can read. True when created now. */
async function ensureAdminKey(file: string, store: CredentialStore): Promise<boolean> {
  if (existsSync(file)) return false;
  const { apiKey } = await store.createKey('operators', 'admin');
  await fs.writeFile(file, `${apiKey}\n`, { mode: 0o600, flag: 'wx' });
  return true;
}

/** The local operator's IAM identity: created once, kept in a file only this user can read. */
async function operatorAuthorizer(file: string): Promise<LocalIamAuthorizer> {
  if (!existsSync(file)) {
    const credentials = `AWS_ACCESS_KEY_ID=AKIALOCAL${randomBytes(6).toString('hex').toUpperCase()}\nAWS_SECRET_ACCESS_KEY=${randomBytes(30).toString('base64url')}\n`;
    await fs.writeFile(file, credentials, { mode: 0o600, flag: 'wx' });
  }
  const lines = (await fs.readFile(file, 'utf8')).trim().split('\n');
  const operator = Object.fromEntries(lines.map((line) => line.split('=', 2) as [string, string])) as Partial<Record<string, string>>;
  const principal = { accessKeyId: operator.AWS_ACCESS_KEY_ID ?? '', secretAccessKey: operator.AWS_SECRET_ACCESS_KEY ?? '', arn: LOCAL_OPERATOR_ARN };
  return new LocalIamAuthorizer([principal], LOCAL_IAM_REGION);
}

interface ApiParts {
  readonly deps: MeteredApiDependencies;
  readonly iam: LocalIamAuthorizer;
  readonly publisher: UsagePublisher;
  /** The access log's 401s and 403s, counted per source into the signal counters. */
  readonly accessSignals: LocalAccessLogSignals;
  readonly lake: BackgroundLake;
  readonly buffer: FirehoseBuffer;
  readonly bus: LocalEventBus;
  readonly accounts: CognitoEmulator | undefined;
  readonly mail: MailServer | undefined;
  /** The local notifier (the account-events rule's target), when there is mail. */
  readonly notifier: LocalNotifierTarget | undefined;
  readonly timeline: StartupTimeline;
}

/** What `/health` says of the mail server: "off", "starting", "running", or why it failed. */
function mailHealth(mail: MailServer | undefined): string {
  const state = mail?.state() ?? 'off';
  return typeof state === 'string' ? state : `failed: ${state.failed}`;
}

/** What `/health` says of the lake: "ready", "opening", or why it failed to open. */
function lakeHealth(state: LakeState): string {
  return state.state === 'failed' ? `failed: ${state.message}` : state.state;
}

/**
 * `/health`: 200 once the API, the bus and the buffer serve (the lake opens after, and is reported
 * as it is: "opening" is healthy, a lake that failed to open is not); 503 with the reason otherwise.
 */
function health({ buffer, bus, lake, accounts, mail, notifier, timeline }: ApiParts): { status: number; body: Record<string, unknown> } {
  const lakeState = lake.state;
  const accountsState = accounts === undefined ? 'off' : accounts.state();
  const mailState = mailHealth(mail);
  const problem = !buffer.healthy
    ? 'buffer write-ahead log failing'
    : lakeState.state === 'failed'
      ? `lake failed to open: ${lakeState.message}`
      : accountsState === 'failed' || accountsState === 'exited'
        ? `the Cognito emulator ${accountsState === 'failed' ? 'failed to start' : 'exited'} (see ${accounts?.logFile ?? ''})`
        : mailState.startsWith('failed')
          ? `the local SES server ${mailState}`
          : undefined;
  const startup = { readyMs: timeline.at('healthy'), phases: timeline.phases };
  const notifications = notifier?.stats();
  const body = { status: problem ?? 'ok', lake: lakeHealth(lakeState), accounts: accountsState, mail: mailState, notifications, bus: bus.stats(), buffer: buffer.stats(), startup };
  return { status: problem ? 503 : 200, body };
}

/**
 * Answers the API's requests: /health, the dashboard, and the metered API's routes behind the
 * local HTTP API gateway, whose access log records the gateway's own answers as usage.
 */
function serveApi(parts: ApiParts): RequestHandler {
  const gateway = new LocalHttpApiGateway({
    routes: meteredApiRoutes(parts.deps, [], parts.iam),
    onAccessLog: (record) => {
      const usage = usageOfGatewayAnswer(record);
      if (usage) parts.publisher.record(usage);
      parts.accessSignals.put(record);
    },
  });
  const dashboard = createDashboardHandler(() => parts.lake.demand(), { tiers: parts.deps.config.tiers });
  return (req, res) => {
    if (req.url === '/health' && req.method === 'GET') {
      const { status, body } = health(parts);
      sendJson(res, status, body);
      return;
    }
    if (dashboard(req, res)) return;
    const { accounts } = parts;
    if (accounts?.state() === 'starting' && mayNeedAccounts(req)) {
      void accounts.ready.catch(() => undefined).then(() => gateway.handle(req, res));
      return;
    }
    void gateway.handle(req, res);
  };
}

/**
 * Whether a request may reach the Cognito emulator: the account routes, and any Bearer token (an
 * account's is verified with the pool's keys, which the emulator serves). In the moment after
 * `/health` turns healthy while the emulator is still starting (a few hundred ms), these wait for
 * it rather than fail; nothing else does.
 */
function mayNeedAccounts(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  return url.startsWith('/v1/auth/') || url.startsWith('/v1/keys') || /^bearer\s/i.test(req.headers.authorization ?? '');
}

/** A starter price list for billing, written once (before the lake opens, so its catalogue has it); edit it (the ETL reads it on every query). */
async function ensureStarterPriceList({ layout }: StartContext): Promise<void> {
  const priceDir = path.join(layout.root, PRICE_LIST.prefix);
  if ((await listFiles(priceDir, '.csv')).length > 0) return;
  await fs.mkdir(priceDir, { recursive: true });
  await fs.writeFile(path.join(priceDir, 'prices.csv'), STARTER_PRICE_LIST);
}

/** The lake's module, loaded when the lake is opened: DuckDB's native engine is not loaded before /health answers. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use; `require` for tsx's CommonJS hook (see cli/usage-tracker.ts)
const lakeModule = () => require('../lake/local-lake') as typeof LakeModule;

/** The ETL: the Glue job's and crawler's twins on an interval, from when the lake is open. */
function scheduleEtl({ options, log, cleanups }: StartContext, lake: LocalLake): void {
  const { CompactionBusyError } = lakeModule();
  const onError = (error: unknown) => {
    log(error instanceof CompactionBusyError ? `etl skipped: ${error.message}` : `etl failed (retried next interval): ${messageOf(error)}`);
  };
  const etlTimer = setInterval(() => void runEtlOn(lake, log).catch(onError), options.etlIntervalSeconds * 1000);
  etlTimer.unref();
  cleanups.add(() => { clearInterval(etlTimer); });
}

async function runEtlOn(lake: LocalLake, log: (line: string) => void): Promise<CompactionResult> {
  const result = await lake.compact();
  if (result.files > 0) log(`etl: ${result.files} raw objects -> ${result.rows} rows (${result.duplicates} duplicates dropped, ${result.malformed} malformed) in ${result.seconds.toFixed(1)} s`);
  return result;
}

/**
 * The lake, set up to open in the background (`start()`), closed on stop after whatever uses it:
 * the price list is written first, the ETL is scheduled once it is open.
 */
function backgroundLake(start: StartContext): BackgroundLake {
  const { options, layout, cleanups, timeline } = start;
  const lake = new BackgroundLake(
    async () => {
      await ensureStarterPriceList(start);
      const opened = await lakeModule().LocalLake.open(layout.root, { lateEventWindowDays: options.lateEventWindowDays });
      timeline.mark('lake open');
      return opened;
    },
    (opened) => { scheduleEtl(start, opened); },
  );
  cleanups.add(() => lake.close());
  return lake;
}

/**
 * How long after `/health` turns healthy the lake starts opening. Loading DuckDB's native library
 * holds the event loop for 100-200 ms; the requests of the first moment (a readiness check that
 * polls `/health`, the demo's first calls) are answered first. Anything that needs the lake
 * sooner (the dashboard's data, `runEtl`) opens it at once.
 */
const LAKE_OPEN_DELAY_MS = 100;

/** The mail server's process, started once the first `/health` poll of the moment has been answered. */
function launchMailSoon(mail: MailServer | undefined, cleanups: Cleanups): void {
  if (!mail) return;
  const immediate = setImmediate(() => { mail.launch(); });
  cleanups.add(() => { clearImmediate(immediate); });
}

function openLakeSoon(lake: BackgroundLake, cleanups: Cleanups): void {
  const timer = setTimeout(() => { lake.start(); }, LAKE_OPEN_DELAY_MS);
  cleanups.add(() => { clearTimeout(timer); });
}

/** Demo tenants (one per tier, kept across restarts) and their traffic. */
async function startDemo({ layout, busName, source, log, cleanups }: StartContext, store: CredentialStore, apiUrl: string, eventsUrl: string): Promise<DemoTenant[]> {
  const tenants = await demoTenantsOf(layout.demoTenants, store);
  const traffic = new DemoTraffic({ apiUrl, eventsUrl, busName, source, tenants, log });
  traffic.start();
  cleanups.add(() => traffic.stop());
  return tenants;
}

/** The context of one start: the data folder made and locked for this stack, the timeline begun. */
async function startContext(options: LocalStackOptions): Promise<StartContext> {
  const timeline = new StartupTimeline();
  // Node's own start-up, then loading this project's code (the CLI and the stack's modules).
  timeline.record('node ready', nodeBootstrapMs());
  timeline.mark('code loaded');
  const log = options.log ?? (() => undefined);
  // Checked before anything starts: a bad override is the caller's error, not a half-started stack.
  const signals = resolveAccountSignals(options.accountSignals);
  const layout = dataDirLayout(path.resolve(options.dataDir));
  await fs.mkdir(layout.root, { recursive: true, mode: 0o700 });
  // Before anything opens the folder (dynalite's tables): a second stack on it is refused here (DataDirInUseError).
  const cleanups = new Cleanups(log);
  cleanups.add(await acquireStackLock(layout.root, layout.stackLock)); // added first: given back last
  const sources = options.sources ?? DEFAULT_EVENT_SOURCES;
  return { options, layout, busName: options.busName ?? DEFAULT_BUS_NAME, sources, source: sources[0], log, cleanups, timeline, signals };
}

/** Runs start steps side by side; once all have ended (so that cleanups cover whatever did start), the first failure is thrown. */
async function allStarted<T extends readonly unknown[]>(steps: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(steps);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * The audit table's stream, locally (dynalite has no streams): the AuditTailer polls the audit
 * partitions and publishes each new entry's account event, with the same mapping and ids as the
 * stream function in AWS; its cursor is kept in the data folder.
 */
function startAuditTailer({ layout, log, cleanups }: StartContext, dynamodb: DynamoDBClient, sink: AccountEventSink): void {
  const tailer = new AuditTailer({
    client: dynamodb,
    tableName: TABLES.audit,
    sink,
    stateFile: layout.auditTailerState,
    onError: (error) => { log(`account events: audit entries not published yet (retried): ${messageOf(error)}`); },
  });
  tailer.start();
  cleanups.add(() => tailer.close());
}

/** What a start has running, for the stack object it resolves with. */
interface Running {
  readonly start: StartContext;
  readonly api: { readonly url: string };
  readonly eventsUrl: string;
  readonly accounts: CognitoEmulator | undefined;
  readonly mail: MailServer | undefined;
  readonly target: LocalNotifierTarget | undefined;
  readonly accountEvents: AccountEventSink;
  readonly usageLogs: LocalUsageLogSubscription;
  readonly accessSignals: LocalAccessLogSignals;
  readonly buffer: FirehoseBuffer;
  readonly accountLake: FirehoseBuffer;
  readonly lake: BackgroundLake;
  readonly adminKeyCreated: boolean;
  readonly demoTenants: readonly DemoTenant[];
  readonly readyMs: number;
}

/** The mail server and the notifier, as tests see them. */
function mailboxOf(mail: MailServer, target: LocalNotifierTarget): LocalMailbox {
  return {
    url: mail.url,
    ready: async () => { await mail.server; },
    mails: async (sinceSeconds) => (await mail.server).mails(sinceSeconds),
    settled: () => target.flush(),
    stats: () => target.stats(),
  };
}

function stackOf(running: Running): LocalStack {
  const { start, api, accounts, mail, target, lake } = running;
  const { layout, timeline, cleanups } = start;
  let stopping: Promise<void> | undefined;
  return {
    apiUrl: api.url,
    eventsUrl: running.eventsUrl,
    dashboardUrl: `${api.url}/dashboard`,
    ...(accounts ? { accounts: { endpoint: accounts.endpoint, userPoolId: accounts.userPoolId, clientId: accounts.clientId, issuer: accounts.issuer } } : {}),
    verificationCode: (email, codeOptions) => accounts?.verificationCode(email, codeOptions) ?? Promise.reject(new Error('The local stack runs without accounts.')),
    ...(mail && target ? { mail: mailboxOf(mail, target) } : {}),
    accountEvents: running.accountEvents,
    busName: start.busName,
    source: start.source,
    dataDir: layout.root,
    adminKeyFile: layout.adminKey,
    operatorCredentialsFile: layout.operatorCredentials,
    adminKeyCreated: running.adminKeyCreated,
    demoTenants: running.demoTenants,
    readyMs: running.readyMs,
    startupPhases: () => timeline.phases,
    lake: () => lake.lake(),
    flush: async () => {
      await Promise.all([running.usageLogs.flush(), running.accessSignals.flush()]);
      await Promise.all([running.buffer.flush(), running.accountLake.flush()]);
    },
    runEtl: async () => runEtlOn(await lake.lake(), start.log),
    stop: () => (stopping ??= cleanups.run()),
  };
}

/**
 * The whole system on one machine, with the same code paths as in AWS: dynalite (persisted) for
 * DynamoDB, a PutEvents endpoint matching the stack's own rule pattern into a Firehose-like
 * buffer writing `raw/`, the Glue job's and crawler's twins on DuckDB on an interval, and the
 * metered API's authorizer and handlers behind a local HTTP API with a dashboard. Account events
 * (from the audit log, through the AuditTailer, and the usage-log forwarder's signals) go by the
 * bus's account-events rule to the notifier, which mails them through a local SES server.
 *
 * Resolves once `/health` answers healthy: the servers, dynalite, the bus and the mail server start
 * side by side (the mail server is not waited for); the lake (DuckDB and its catalogue) opens
 * after, in the background (see BackgroundLake).
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const start = await startContext(options);
  const { layout, cleanups, timeline } = start;
  quietLambdaTelemetry();
  const notifier = deferred<NotifierLike>();
  const target = notifierTarget(start, notifier.promise);
  try {
    const [api, dynamodb, { buffer, accountLake, bus, eventsUrl }, accounts, mail] = await allStarted([
      listenApi(start), startDynamoDb(start), startEventBus(start, fixedRules(target)), startAccounts(start), startMail(start),
    ] as const);
    // On stop, after the producers (added below) and before DynamoDB and the mail server: the bus takes no more events, then the notifier settles those it took.
    cleanups.add(async () => {
      await bus.close();
      notifier.reject(new Error('The stack stopped before its notifier was ready.'));
      await target?.close();
    });
    const recovered = (await target?.recover()) ?? 0;
    if (recovered > 0) start.log(`mail: delivering ${recovered} account events a previous run had taken but not mailed`);
    const accountEvents = startAccountEventPublisher(start, eventsUrl);
    const signals: AccountEventSignals = { sink: accountEvents, counters: new SignalCounters({ client: dynamodb, tableName: TABLES.limiter }), signals: start.signals };
    const { publisher, usageLogs, accessSignals } = startPublisher(start, eventsUrl, signals);
    const lake = backgroundLake(start);
    const cognito = accounts ? { cognitoEndpoint: accounts.endpoint } : {};
    const deps = createDependencies(await runtimeConfig(start, api.url, accounts), { dynamodb, usageLog: usageLogs.sink, ...cognito });
    if (mail) notifier.resolve(localNotifier(start, dynamodb, deps, mail, `${api.url}/dashboard?tenant={tenantId}`));
    startAuditTailer(start, dynamodb, accountEvents);
    const [adminKeyCreated, iam] = await Promise.all([ensureAdminKey(layout.adminKey, deps.store), operatorAuthorizer(layout.operatorCredentials)]);
    api.setHandler(serveApi({ deps, iam, publisher, accessSignals, lake, buffer, bus, accounts, mail, notifier: target, timeline }));
    // Stopped first: no request is taken once the rest begins to stop.
    cleanups.add(() => closeGracefully(api.server), { stopFirst: true });
    const readyMs = timeline.mark('healthy');
    launchMailSoon(mail, cleanups);
    openLakeSoon(lake, cleanups);
    const demoTenants = options.demo ? await startDemo(start, deps.store, api.url, eventsUrl) : [];
    if (options.demo) timeline.mark('demo traffic');
    return stackOf({ start, api, eventsUrl, accounts, mail, target, accountEvents, usageLogs, accessSignals, buffer, accountLake, lake, adminKeyCreated, demoTenants, readyMs });
  } catch (error) {
    notifier.reject(error);
    await cleanups.run();
    throw error;
  }
}

type CredentialStore = MeteredApiDependencies['store'];

/** One tenant and key per tier, created on the first demo start and kept (0600) for the next. */
async function demoTenantsOf(file: string, store: CredentialStore): Promise<DemoTenant[]> {
  if (existsSync(file)) return JSON.parse(await fs.readFile(file, 'utf8')) as DemoTenant[];
  const tenants: DemoTenant[] = [];
  for (const tier of TIER_NAMES) {
    const tenantId = `demo-${tier}`;
    if (!(await store.getTenant(tenantId))) await store.createTenant({ tenantId, name: `Demo ${tier} customer`, tier });
    const { apiKey } = await store.createKey(tenantId);
    tenants.push({ tier, tenantId, apiKey });
  }
  await fs.writeFile(file, JSON.stringify(tenants, null, 2), { mode: 0o600 });
  return tenants;
}
