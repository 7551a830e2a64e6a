import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { usageEventPattern } from '../../contracts/event-pattern';
import { PRICE_LIST } from '../../contracts/lake-layout';
import { MeteredApiTable } from '../../contracts/metered-api';
import { DEFAULT_TIERS, TIER_NAMES, TierName } from '../../contracts/tiers';
import { DEFAULT_EVENT_SOURCES } from '../../contracts/usage-event';
import { usageOfGatewayAnswer } from '../../lambdas/access-log/gateway-answers';
import { DEFAULT_FAIL_MODES, TierPolicy } from '../../lambdas/limiter/token-bucket-limiter';
import { createDependencies } from '../../lambdas/runtime/dependencies';
import { RuntimeConfig } from '../../lambdas/runtime/runtime-config';
import { createEventBridgeClient } from '../../sdk/eventbridge-client';
import { UsagePublisher } from '../../sdk/usage-publisher';
import { createDashboardHandler } from '../dashboard/dashboard';
import { createDynaliteServer } from '../dynalite-server';
import { closeGracefully, refuseForeignHost } from '../loopback-server';
import { FirehoseBuffer } from '../events/firehose-buffer';
import { LocalEventBus } from '../events/local-event-bus';
import { LocalHttpApiGateway } from '../http-api-gateway';
import { LocalIamAuthorizer } from '../iam-authorizer';
import { CompactionBusyError, CompactionResult, LocalLake, listFiles } from '../lake/local-lake';
import { createMeteredApiTables, meteredApiRoutes } from '../metered-api';
import { DemoTenant, DemoTraffic } from './demo-traffic';

/** Who the local operator is, as API Gateway would name an IAM user, and the region its signatures name. */
export const LOCAL_OPERATOR_ARN = 'arn:aws:iam::000000000000:user/local-operator';
export const LOCAL_IAM_REGION = 'us-east-1';

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


/**
 * The whole system on one machine, with the same code paths as in AWS: dynalite (persisted) for
 * DynamoDB, a PutEvents endpoint matching the stack's own rule pattern into a Firehose-like
 * buffer writing `raw/`, the Glue job's and crawler's twins on DuckDB on an interval, and the
 * metered API's authorizer and handlers behind a local HTTP API with a dashboard.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const log = options.log ?? (() => undefined);
  const dataDir = path.resolve(options.dataDir);
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  const sources = options.sources ?? DEFAULT_EVENT_SOURCES;
  const busName = options.busName ?? DEFAULT_BUS_NAME;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch((error: Error) => { log(`stopping: ${error.message}`); });
  };

  // The handlers' Powertools logger and metrics write for CloudWatch; on a console, only warnings
  // and errors are worth a line, and metrics (EMF documents) none. Set these to see them.
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

  try {
    // DynamoDB: dynalite persisted under the data folder, tables from the stack's definitions.
    const dynalite = createDynaliteServer({ path: path.join(dataDir, 'dynamodb') });
    const dynamoPort = await listen(dynalite, 0);
    cleanups.push(() => closeGracefully(dynalite));
    const dynamodb = new DynamoDBClient({ endpoint: `http://127.0.0.1:${dynamoPort}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    cleanups.push(async () => { dynamodb.destroy(); });
    await createMeteredApiTables(dynamodb, TABLES);

    // The bus: PutEvents → the stack's rule pattern → Firehose buffer → raw/.
    const buffer = new FirehoseBuffer({
      dataDir,
      intervalMs: options.bufferIntervalSeconds * 1000,
      sizeBytes: options.bufferSizeMiB * 1024 * 1024,
      onFlush: ({ key, records }) => { log(`firehose: ${records} events -> ${key}`); },
    });
    const { recovered } = await buffer.start();
    if (recovered > 0) log(`firehose: delivered ${recovered} events a previous run had accepted but not written`);
    cleanups.push(() => buffer.stop());
    const bus = new LocalEventBus({ busName, rule: { pattern: usageEventPattern(sources) as never, target: buffer } });
    const eventsUrl = await bus.listen(options.eventsPort);
    cleanups.push(() => bus.close());

    // The metered API's own usage events go through the SDK to that bus, as in AWS.
    const publisher = new UsagePublisher({
      eventBusName: busName,
      source: sources[0],
      client: createEventBridgeClient({ endpoint: eventsUrl, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }),
      spoolDir: path.join(dataDir, 'state', 'metered-api-spool'),
      flushOnExitSignals: false,
      sendFrom: 'event-loop',
      defaults: { service: 'metered-api' },
      onError: (error) => { log(`usage events: ${error.message}`); },
    });
    cleanups.push(() => publisher.close());

    const lake = await LocalLake.open(dataDir, { lateEventWindowDays: options.lateEventWindowDays });
    cleanups.push(() => lake.close());
    const apiServer = createServer();
    const apiPort = await listen(apiServer, options.apiPort);
    cleanups.push(() => closeGracefully(apiServer));
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const tiers = Object.fromEntries(TIER_NAMES.map((tier) => [tier, { ...DEFAULT_TIERS[tier], failMode: DEFAULT_FAIL_MODES[tier] }])) as Record<TierName, TierPolicy>;
    const config: RuntimeConfig = {
      tables: TABLES,
      tokenIssuer: apiUrl,
      tokenAudience: 'api-usage-tracker',
      tenantSecret: { kind: 'file', path: await secretFile(path.join(dataDir, 'secrets', 'tenant-token-secret')) },
      adminKey: { kind: 'file', path: path.join(dataDir, 'secrets', 'admin-token-key.pem') },
      tiers,
      usageBus: { eventBusName: busName, source: sources[0] },
      demo: { latencyMs: options.demoLatencyMs ?? (options.demo ? 20 : 0), errorRate: options.demoErrorRate ?? (options.demo ? 0.02 : 0) },
    };
    const deps = createDependencies(config, { dynamodb, publisher });

    // The admin credential: created once, kept in a file only this user can read.
    const adminKeyFile = path.join(dataDir, 'admin-key');
    const adminKeyCreated = !existsSync(adminKeyFile);
    if (adminKeyCreated) {
      const { apiKey } = await deps.store.createKey('operators', 'admin');
      await fs.writeFile(adminKeyFile, `${apiKey}\n`, { mode: 0o600, flag: 'wx' });
    }

    // The local operator's IAM identity: created once, kept in a file only this user can read.
    const operatorCredentialsFile = path.join(dataDir, 'operator-credentials');
    if (!existsSync(operatorCredentialsFile)) {
      const credentials = `AWS_ACCESS_KEY_ID=AKIALOCAL${randomBytes(6).toString('hex').toUpperCase()}\nAWS_SECRET_ACCESS_KEY=${randomBytes(30).toString('base64url')}\n`;
      await fs.writeFile(operatorCredentialsFile, credentials, { mode: 0o600, flag: 'wx' });
    }
    const operator = Object.fromEntries((await fs.readFile(operatorCredentialsFile, 'utf8')).trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
    const iam = new LocalIamAuthorizer([{ accessKeyId: operator.AWS_ACCESS_KEY_ID, secretAccessKey: operator.AWS_SECRET_ACCESS_KEY, arn: LOCAL_OPERATOR_ARN }], LOCAL_IAM_REGION);

    const gateway = new LocalHttpApiGateway({
      routes: meteredApiRoutes(deps, [], iam),
      onAccessLog: (record) => {
        const usage = usageOfGatewayAnswer(record);
        if (usage) publisher.record(usage);
      },
    });
    const dashboard = createDashboardHandler(lake);
    let ready = false;
    apiServer.on('request', (req, res) => {
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

    // A starter price list for billing, written once; edit it (the ETL reads it on every query).
    const priceDir = path.join(dataDir, PRICE_LIST.prefix);
    if ((await listFiles(priceDir, '.csv')).length === 0) {
      await fs.mkdir(priceDir, { recursive: true });
      await fs.writeFile(path.join(priceDir, 'prices.csv'), STARTER_PRICE_LIST);
      await lake.refreshCatalogue();
    }

    // The ETL: the Glue job's and crawler's twins on an interval.
    const runEtl = async () => {
      const result = await lake.compact();
      if (result.files > 0) log(`etl: ${result.files} raw objects -> ${result.rows} rows (${result.duplicates} duplicates dropped, ${result.malformed} malformed) in ${result.seconds.toFixed(1)} s`);
      return result;
    };
    const etlTimer = setInterval(
      () =>
        void runEtl().catch((error: Error) => { log(error instanceof CompactionBusyError ? `etl skipped: ${error.message}` : `etl failed (retried next interval): ${error.message}`); },
        ),
      options.etlIntervalSeconds * 1000,
    );
    etlTimer.unref();
    cleanups.push(async () => { clearInterval(etlTimer); });

    // Demo tenants (one per tier, kept across restarts) and traffic.
    let demoTenants: DemoTenant[] = [];
    if (options.demo) {
      demoTenants = await demoTenantsOf(dataDir, deps.store);
      const traffic = new DemoTraffic({ apiUrl, eventsUrl, busName, source: sources[0], tenants: demoTenants, log });
      traffic.start();
      cleanups.push(() => traffic.stop());
    }
    ready = true;

    let stopping: Promise<void> | undefined;
    return {
      apiUrl,
      eventsUrl,
      dashboardUrl: `${apiUrl}/dashboard`,
      busName,
      source: sources[0],
      dataDir,
      adminKeyFile,
      operatorCredentialsFile,
      adminKeyCreated,
      demoTenants,
      lake,
      flush: async () => {
        await publisher.flush();
        await buffer.flush();
      },
      runEtl,
      stop: () => (stopping ??= cleanup()),
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** One tenant and key per tier, created on the first demo start and kept (0600) for the next. */
async function demoTenantsOf(dataDir: string, store: ReturnType<typeof createDependencies>['store']): Promise<DemoTenant[]> {
  const file = path.join(dataDir, 'demo-tenants.json');
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
