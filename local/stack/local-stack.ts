import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { usageEventPattern } from '../../contracts/event-pattern';
import { PRICE_LIST } from '../../contracts/lake-layout';
import { DEFAULT_TOKEN_AUDIENCE, METERED_API_SERVICE, MeteredApiTable } from '../../contracts/metered-api';
import { TIER_NAMES, resolveTierPolicies } from '../../contracts/tiers';
import { DEFAULT_EVENT_SOURCES } from '../../contracts/usage-event';
import { usageOfGatewayAnswer } from '../../lambdas/access-log/gateway-answers';
import { MeteredApiDependencies, createDependencies } from '../../lambdas/runtime/dependencies';
import { RuntimeConfig } from '../../lambdas/runtime/runtime-config';
import { createEventBridgeClient } from '../../sdk/eventbridge-client';
import { UsagePublisher } from '../../sdk/usage-publisher';
import { createDashboardHandler } from '../dashboard/dashboard';
import { DataDirLayout, dataDirLayout } from '../data-dir';
import { createDynaliteServer } from '../dynalite-server';
import { closeGracefully, refuseForeignHost } from '../loopback-server';
import { FirehoseBuffer } from '../events/firehose-buffer';
import { LocalEventBus } from '../events/local-event-bus';
import { LocalUsageLogSubscription } from '../events/usage-log-subscription';
import { LocalHttpApiGateway } from '../http-api-gateway';
import { LocalIamAuthorizer } from '../iam-authorizer';
import { CompactionBusyError, CompactionResult, LocalLake, listFiles } from '../lake/local-lake';
import { createMeteredApiTables, meteredApiRoutes } from '../metered-api';
import { DemoTenant, DemoTraffic } from './demo-traffic';

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
  readonly log?: (line: string) => void;
}

export interface LocalStack {
  readonly apiUrl: string;
  readonly eventsUrl: string;
  readonly dashboardUrl: string;
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
  readonly lake: LocalLake;
  /** Sends the API's pending usage events to the bus, then writes what the buffer holds to raw/. */
  flush(): Promise<void>;
  /** Runs the ETL now (also what `usage-tracker etl --local` does). */
  runEtl(): Promise<CompactionResult>;
  /** Flushes every buffer to raw/ and stops; nothing accepted is lost. */
  stop(): Promise<void>;
}

export const DEFAULT_BUS_NAME = 'api-usage-tracker';
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

  constructor(private readonly log: (line: string) => void) {}

  public add(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }

  public async run(): Promise<void> {
    for (const step of this.steps.reverse()) {
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

/** DynamoDB: dynalite persisted under the data folder, tables from the stack's definitions. */
async function startDynamoDb({ layout, cleanups }: StartContext): Promise<DynamoDBClient> {
  const dynalite = createDynaliteServer({ path: layout.dynamodb });
  const dynamoPort = await listen(dynalite, 0);
  cleanups.add(() => closeGracefully(dynalite));
  const dynamodb = new DynamoDBClient({ endpoint: `http://127.0.0.1:${dynamoPort}`, region: LOCAL_IAM_REGION, credentials: LOCAL_CREDENTIALS });
  cleanups.add(() => { dynamodb.destroy(); });
  await createMeteredApiTables(dynamodb, TABLES);
  return dynamodb;
}

/** The bus: PutEvents → the stack's rule pattern → Firehose buffer → raw/. */
async function startEventBus({ options, layout, busName, sources, log, cleanups }: StartContext): Promise<{ buffer: FirehoseBuffer; bus: LocalEventBus; eventsUrl: string }> {
  const buffer = new FirehoseBuffer({
    dataDir: layout.root,
    intervalMs: options.bufferIntervalSeconds * 1000,
    sizeBytes: options.bufferSizeMiB * 1024 * 1024,
    onFlush: ({ key, records }) => { log(`firehose: ${records} events -> ${key}`); },
  });
  const { recovered } = await buffer.start();
  if (recovered > 0) log(`firehose: delivered ${recovered} events a previous run had accepted but not written`);
  cleanups.add(() => buffer.stop());
  const bus = new LocalEventBus({ busName, rule: { pattern: usageEventPattern(sources), target: buffer } });
  const eventsUrl = await bus.listen(options.eventsPort);
  cleanups.add(() => bus.close());
  return { buffer, bus, eventsUrl };
}

/**
 * The metered API's own usage events go through the SDK to that bus, as in AWS: the functions
 * write usage lines, which the log subscription hands to the forwarder's code and its publisher.
 */
function startPublisher({ layout, busName, source, log, cleanups }: StartContext, eventsUrl: string): { publisher: UsagePublisher; usageLogs: LocalUsageLogSubscription } {
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
  const usageLogs = new LocalUsageLogSubscription({ publisher, onSkip: (id, reason) => { log(`usage lines: log event ${id} skipped: ${reason}`); } });
  // Stopped before the publisher (cleanups run in reverse): what has gathered goes out with it.
  cleanups.add(() => { usageLogs.close(); });
  return { publisher, usageLogs };
}

async function openLake({ options, layout, cleanups }: StartContext): Promise<LocalLake> {
  const lake = await LocalLake.open(layout.root, { lateEventWindowDays: options.lateEventWindowDays });
  cleanups.add(() => lake.close());
  return lake;
}

/** The API's server, listening (its requests are answered once `serveApi` wires it). */
async function listenApi({ options, cleanups }: StartContext): Promise<{ server: Server; url: string }> {
  const server = createServer();
  const port = await listen(server, options.apiPort);
  cleanups.add(() => closeGracefully(server));
  return { server, url: `http://127.0.0.1:${port}` };
}

/** The Lambda handlers' configuration, as the stack's environment would give it. */
async function runtimeConfig({ options, layout, busName, source }: StartContext, apiUrl: string): Promise<RuntimeConfig> {
  return {
    tables: TABLES,
    tokenIssuer: apiUrl,
    tokenAudience: DEFAULT_TOKEN_AUDIENCE,
    tenantSecret: { kind: 'file', path: await secretFile(layout.tenantTokenSecret) },
    adminKey: { kind: 'file', path: layout.adminTokenKey },
    tiers: resolveTierPolicies(),
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
  readonly lake: LocalLake;
  readonly buffer: FirehoseBuffer;
  readonly bus: LocalEventBus;
}

/**
 * Answers the API's requests: /health, the dashboard, and the metered API's routes behind the
 * local HTTP API gateway, whose access log records the gateway's own answers as usage.
 * /health says "starting" until the returned function marks the stack ready.
 */
function serveApi(server: Server, { deps, iam, publisher, lake, buffer, bus }: ApiParts): () => void {
  const gateway = new LocalHttpApiGateway({
    routes: meteredApiRoutes(deps, [], iam),
    onAccessLog: (record) => {
      const usage = usageOfGatewayAnswer(record);
      if (usage) publisher.record(usage);
    },
  });
  const dashboard = createDashboardHandler(lake);
  let ready = false;
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (refuseForeignHost(req, res)) return;
    if (req.url === '/health' && req.method === 'GET') {
      const healthy = ready && buffer.healthy;
      const body = JSON.stringify({ status: !ready ? 'starting' : healthy ? 'ok' : 'buffer write-ahead log failing', bus: bus.stats(), buffer: buffer.stats() });
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json' });
      res.end(body);
      return;
    }
    if (dashboard(req, res)) return;
    void gateway.handle(req, res);
  });
  return () => { ready = true; };
}

/** A starter price list for billing, written once; edit it (the ETL reads it on every query). */
async function ensureStarterPriceList({ layout }: StartContext, lake: LocalLake): Promise<void> {
  const priceDir = path.join(layout.root, PRICE_LIST.prefix);
  if ((await listFiles(priceDir, '.csv')).length > 0) return;
  await fs.mkdir(priceDir, { recursive: true });
  await fs.writeFile(path.join(priceDir, 'prices.csv'), STARTER_PRICE_LIST);
  await lake.refreshCatalogue();
}

/** The ETL: the Glue job's and crawler's twins on an interval. Returns the ETL, to run it now too. */
function scheduleEtl({ options, log, cleanups }: StartContext, lake: LocalLake): () => Promise<CompactionResult> {
  const runEtl = async () => {
    const result = await lake.compact();
    if (result.files > 0) log(`etl: ${result.files} raw objects -> ${result.rows} rows (${result.duplicates} duplicates dropped, ${result.malformed} malformed) in ${result.seconds.toFixed(1)} s`);
    return result;
  };
  const onError = (error: unknown) => {
    log(error instanceof CompactionBusyError ? `etl skipped: ${error.message}` : `etl failed (retried next interval): ${messageOf(error)}`);
  };
  const etlTimer = setInterval(() => void runEtl().catch(onError), options.etlIntervalSeconds * 1000);
  etlTimer.unref();
  cleanups.add(() => { clearInterval(etlTimer); });
  return runEtl;
}

/** Demo tenants (one per tier, kept across restarts) and their traffic. */
async function startDemo({ layout, busName, source, log, cleanups }: StartContext, store: CredentialStore, apiUrl: string, eventsUrl: string): Promise<DemoTenant[]> {
  const tenants = await demoTenantsOf(layout.demoTenants, store);
  const traffic = new DemoTraffic({ apiUrl, eventsUrl, busName, source, tenants, log });
  traffic.start();
  cleanups.add(() => traffic.stop());
  return tenants;
}

/**
 * The whole system on one machine, with the same code paths as in AWS: dynalite (persisted) for
 * DynamoDB, a PutEvents endpoint matching the stack's own rule pattern into a Firehose-like
 * buffer writing `raw/`, the Glue job's and crawler's twins on DuckDB on an interval, and the
 * metered API's authorizer and handlers behind a local HTTP API with a dashboard.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? (() => undefined);
  const layout = dataDirLayout(path.resolve(options.dataDir));
  await fs.mkdir(layout.root, { recursive: true, mode: 0o700 });
  const sources = options.sources ?? DEFAULT_EVENT_SOURCES;
  const start: StartContext = { options, layout, busName: options.busName ?? DEFAULT_BUS_NAME, sources, source: sources[0], log, cleanups: new Cleanups(log) };
  quietLambdaTelemetry();
  try {
    const dynamodb = await startDynamoDb(start);
    const { buffer, bus, eventsUrl } = await startEventBus(start);
    const { publisher, usageLogs } = startPublisher(start, eventsUrl);
    const lake = await openLake(start);
    const api = await listenApi(start);
    const deps = createDependencies(await runtimeConfig(start, api.url), { dynamodb, usageLog: usageLogs.sink });
    const adminKeyCreated = await ensureAdminKey(layout.adminKey, deps.store);
    const iam = await operatorAuthorizer(layout.operatorCredentials);
    const markReady = serveApi(api.server, { deps, iam, publisher, lake, buffer, bus });
    await ensureStarterPriceList(start, lake);
    const runEtl = scheduleEtl(start, lake);
    const demoTenants = options.demo ? await startDemo(start, deps.store, api.url, eventsUrl) : [];
    markReady();
    let stopping: Promise<void> | undefined;
    return {
      apiUrl: api.url,
      eventsUrl,
      dashboardUrl: `${api.url}/dashboard`,
      busName: start.busName,
      source: start.source,
      dataDir: layout.root,
      adminKeyFile: layout.adminKey,
      operatorCredentialsFile: layout.operatorCredentials,
      adminKeyCreated,
      demoTenants,
      lake,
      flush: async () => {
        await usageLogs.flush();
        await buffer.flush();
      },
      runEtl,
      stop: () => (stopping ??= start.cleanups.run()),
    };
  } catch (error) {
    await start.cleanups.run();
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
