/**
 * Usage tracking benchmark: a metered route (GET /v1/products) through the local HTTP API gateway,
 * authorizer, limiter (dynalite, its own process) and handler, with today's awaited design (each
 * invocation awaits its PutEvents, as `withUsageTracking(publisher)` did) beside usage log lines
 * (the handler writes one line; the log subscription's forwarder batches them onto the bus).
 * Paired, interleaved rounds (A-B, then B-A); p50 and p99 per round, min/median/max over rounds.
 * The bus is a loopback PutEvents server in its own process; `BENCH_TRACKING_BUS_MS` (default 0
 * and 20) adds that round trip to every PutEvents, as a regional EventBridge endpoint would.
 * Each delay runs with 16 concurrent callers, which keep both cores busy (so latency there is mostly
 * queueing), and with one caller, whose p50 shows what the awaited round trip adds to a request
 * (`BENCH_TRACKING_CONCURRENCY`, default "16,1"; one caller makes `BENCH_TRACKING_SINGLE_REQUESTS`,
 * default 200, requests per side and round).
 */
import { fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { resolveTierPolicies } from '../contracts/tiers';
import { meteredRoute } from '../lambdas/http/metered-route';
import { demoRoute } from '../lambdas/routes/demo-route';
import { MeteredApiDependencies, createDependencies } from '../lambdas/runtime/dependencies';
import { RuntimeConfig } from '../lambdas/runtime/runtime-config';
import { LocalUsageLogSubscription } from '../local/events/usage-log-subscription';
import { GatewayRoute, LocalHttpApiGateway } from '../local/http-api-gateway';
import { createMeteredApiTables, meteredApiRoutes } from '../local/metered-api';
import { createEventBridgeClient } from '../sdk/eventbridge-client';
import { withUsageTracking } from '../sdk/lambda-wrapper';
import { UsagePublisher } from '../sdk/usage-publisher';
import { fmtSpread, pairedRounds, percentile, printTable, sleep } from './support/measure';
import { PutEventsServerProcess } from './support/server-handle';

const CONCURRENCIES = (process.env.BENCH_TRACKING_CONCURRENCY ?? '16,1').split(',').map(Number);
const CONCURRENCY = Math.max(...CONCURRENCIES);
const REQUESTS = Number(process.env.BENCH_TRACKING_REQUESTS ?? 800);
const SINGLE_CALLER_REQUESTS = Number(process.env.BENCH_TRACKING_SINGLE_REQUESTS ?? 200);
/** Requests per side and round for a number of concurrent callers. */
const requestsFor = (callers: number): number => (callers === 1 ? SINGLE_CALLER_REQUESTS : REQUESTS);
const ROUNDS = Number(process.env.BENCH_TRACKING_ROUNDS ?? 6);
const BUS_DELAYS_MS = (process.env.BENCH_TRACKING_BUS_MS ?? '0,20').split(',').map(Number);
const ROUTE = '/v1/products';
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

async function startDynalite(): Promise<{ endpoint: string; stop: () => void }> {
  const child = fork(path.join(__dirname, 'support', 'dynalite-process.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => { resolve(m.port); }));
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => { child.disconnect(); } };
}

/** An EventBridge client to the loopback bus that counts its PutEvents and adds `delayMs` to each. */
function busClient(url: string, delayMs: number): { client: EventBridgeClient; calls: () => number } {
  const client = createEventBridgeClient({ endpoint: url, region: 'us-east-1', credentials: CREDENTIALS, maxAttempts: 1 });
  let calls = 0;
  client.middlewareStack.add((next) => async (args) => {
    calls++;
    if (delayMs > 0) await sleep(delayMs);
    return next(args);
  }, { step: 'finalizeRequest', name: 'benchBusRoundTrip' });
  return { client, calls: () => calls };
}

/** What one side measured in one round. */
interface Figures {
  readonly p50: number;
  readonly p99: number;
  readonly putEventsPerRequest: number;
  /** Usage events the bus accepted per request answered (1 when nothing is lost). */
  readonly deliveredPerRequest: number;
  readonly non200: number;
}

interface Side {
  readonly url: string;
  readonly calls: () => number;
  /** Everything recorded so far reaches the bus (off the timed path). */
  readonly settle: () => Promise<void>;
}

/** `requests` GETs of the route, one worker per key at a time over keep-alive connections, one tenant per worker. */
async function load(url: string, keys: readonly string[], agent: Agent, requests: number): Promise<{ latencies: Float64Array; non200: number }> {
  const latencies = new Float64Array(requests);
  let next = 0;
  let non200 = 0;
  const once = (apiKey: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${url}${ROUTE}`, { agent, headers: { authorization: `ApiKey ${apiKey}` } }, (res) => {
        res.resume();
        res.on('end', () => { resolve(res.statusCode ?? 0); });
      });
      req.on('error', reject);
      req.end();
    });
  await Promise.all(
    keys.map(async (apiKey) => {
      while (next < requests) {
        const i = next++;
        const started = performance.now();
        const status = await once(apiKey);
        latencies[i] = performance.now() - started;
        if (status !== 200) non200++;
      }
    }),
  );
  return { latencies: latencies.sort(), non200 };
}

async function measure(side: Side, keys: readonly string[], agent: Agent, bus: PutEventsServerProcess): Promise<Figures> {
  const requests = requestsFor(keys.length);
  await side.settle();
  await bus.command('reset');
  const callsBefore = side.calls();
  const { latencies, non200 } = await load(side.url, keys, agent, requests);
  await side.settle();
  const { accepted } = await bus.command('stats');
  return {
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    putEventsPerRequest: (side.calls() - callsBefore) / requests,
    deliveredPerRequest: accepted / requests,
    non200,
  };
}

/** The metered API's configuration for the bench: limits no run reaches, no demo latency. */
function benchConfig(dir: string): RuntimeConfig {
  writeFileSync(path.join(dir, 'tenant-secret'), 'bench-tenant-secret-0123456789abcdef0123456789abcdef', { mode: 0o600 });
  return {
    tables: { credentials: 'bench-credentials', limiter: 'bench-limiter', audit: 'bench-audit' },
    tokenIssuer: 'https://bench.invalid',
    tokenAudience: 'api-usage-tracker',
    tenantSecret: { kind: 'file', path: path.join(dir, 'tenant-secret') },
    adminKey: { kind: 'file', path: path.join(dir, 'admin-key.pem') },
    tiers: resolveTierPolicies({ enterprise: { requestsPerMinute: 100_000_000, burst: 100_000_000 } }),
    demo: { latencyMs: 0, errorRate: 0 },
  };
}

/** The gateway of one side: the built-in routes, GET /v1/products replaced when `products` is given. */
async function gatewayOf(deps: MeteredApiDependencies, products?: GatewayRoute['handler']): Promise<{ gateway: LocalHttpApiGateway; url: string }> {
  const routes = meteredApiRoutes(deps).map((route) => (products && route.routeKey === `GET ${ROUTE}` ? { ...route, handler: products } : route));
  const gateway = new LocalHttpApiGateway({ routes });
  return { gateway, url: await gateway.listen(0) };
}

async function scenario(
  { delayMs, callers }: { readonly delayMs: number; readonly callers: number },
  dynamodb: DynamoDBClient,
  bus: PutEventsServerProcess,
  keysOf: (deps: MeteredApiDependencies) => Promise<string[]>,
): Promise<void> {
  const config = benchConfig(mkdtempSync(path.join(tmpdir(), 'tracking-bench-')));
  const publisherOf = (client: EventBridgeClient) =>
    new UsagePublisher({ eventBusName: 'bench', source: 'my-applications', client, flushOnExitSignals: false, sendFrom: 'event-loop', defaults: { service: 'metered-api' } });
  // B: usage lines → the log subscription → the forwarder's code → a long-running publisher.
  const busB = busClient(bus.url, delayMs);
  const publisherB = publisherOf(busB.client);
  const subscription = new LocalUsageLogSubscription({ publisher: publisherB });
  const deps = createDependencies(config, { dynamodb, usageLog: subscription.sink });
  const sideB = await gatewayOf(deps);
  // A: today's design, each invocation awaiting its PutEvents.
  const busA = busClient(bus.url, delayMs);
  const publisherA = publisherOf(busA.client);
  const awaited = withUsageTracking(publisherA, meteredRoute(demoRoute('products', config.demo), deps.routeOptions('demo-products')), { service: 'metered-api' });
  const sideA = await gatewayOf(deps, awaited);
  const keys = (await keysOf(deps)).slice(0, callers);
  const agent = new Agent({ keepAlive: true, maxSockets: callers });
  const result = await pairedRounds<Figures>({
    rounds: ROUNDS,
    a: () => measure({ url: sideA.url, calls: busA.calls, settle: () => publisherA.flush() }, keys, agent, bus),
    b: () => measure({ url: sideB.url, calls: busB.calls, settle: () => subscription.flush() }, keys, agent, bus),
  });
  agent.destroy();
  const row = (name: string, side: 'a' | 'b') => [
    name,
    fmtSpread(result.spreadOf(side, (f) => f.p50), 2),
    fmtSpread(result.spreadOf(side, (f) => f.p99), 2),
    fmtSpread(result.spreadOf(side, (f) => f.putEventsPerRequest), 3),
    fmtSpread(result.spreadOf(side, (f) => f.deliveredPerRequest), 3),
    String(result[side].reduce((sum, f) => sum + f.non200, 0)),
  ];
  printTable(
    `GET ${ROUTE} through the local gateway, ${String(callers)} concurrent, ${String(requestsFor(callers))} requests per side and round, PutEvents round trip +${delayMs} ms (${result.rounds.length} paired rounds, min / median / max)`,
    ['design', 'p50 ms', 'p99 ms', 'PutEvents / request', 'events on bus / request', 'non-200'],
    [row('A: awaited PutEvents (today)', 'a'), row('B: usage log line + forwarder', 'b')],
  );
  console.log(`  p50 A/B per round: ${fmtSpread(result.ratio((f) => f.p50), 2)}; p99 A/B: ${fmtSpread(result.ratio((f) => f.p99), 2)}`);
  subscription.close();
  await Promise.all([publisherA.close(), publisherB.close(), sideA.gateway.close(), sideB.gateway.close()]);
}

export async function trackingBenchmark(): Promise<void> {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'WARN';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const dynalite = await startDynalite();
  const bus = await PutEventsServerProcess.start();
  const dynamodb = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  try {
    await createMeteredApiTables(dynamodb, { credentials: 'bench-credentials', limiter: 'bench-limiter', audit: 'bench-audit' });
    let keys: string[] | undefined;
    const keysOf = async (deps: MeteredApiDependencies) => {
      keys ??= await Promise.all(
        Array.from({ length: CONCURRENCY }, async (_, i) => {
          const tenantId = `bench-${i}`;
          await deps.store.createTenant({ tenantId, name: tenantId, tier: 'enterprise' });
          return (await deps.store.createKey(tenantId)).apiKey;
        }),
      );
      return keys;
    };
    for (const callers of CONCURRENCIES) {
      for (const delayMs of BUS_DELAYS_MS) await scenario({ delayMs, callers }, dynamodb, bus, keysOf);
    }
    console.log("  (B's PutEvents are sent by its publisher after the answers, batched by 10)");
  } finally {
    dynamodb.destroy();
    bus.stop();
    dynalite.stop();
  }
}
