/**
 * Limiter benchmark: the GCRA TokenBucketLimiter against rate-limiter-flexible's DynamoDB store,
 * side by side in one run, against the same dynalite (in its own process): decisions per second on
 * one hot key and over many keys, DynamoDB calls per decision, and over-admission.
 */
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { DynamoDB, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RateLimiterDynamo } from 'rate-limiter-flexible';
import { TierPolicy, resolveTierPolicies } from '../contracts/tiers';
import { CredentialStore } from '../lambdas/credentials/credential-store';
import { TokenBucketLimiter } from '../lambdas/limiter/token-bucket-limiter';
import { createMeteredApiTables } from '../local/metered-api';
import { fmt, printTable } from './support/measure';

const CONCURRENCY = 32;
const SECONDS = Number(process.env.BENCH_LIMITER_SECONDS ?? 5);
const MANY_KEYS = 1000;

/** A decision function, under the name the results print. */
interface Contender {
  readonly name: string;
  decide(key: string): Promise<boolean>;
}

async function startDynalite(): Promise<{ endpoint: string; stop: () => void }> {
  const child = fork(path.join(__dirname, 'support', 'dynalite-process.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => { resolve(m.port); }));
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => { child.disconnect(); } };
}

/** Counts the requests a client sends. */
function counted<T extends DynamoDBClient>(client: T): { client: T; calls: () => number } {
  let calls = 0;
  client.middlewareStack.add((next) => async (args) => {
    calls++;
    return next(args);
  }, { step: 'initialize', name: 'countCalls' });
  return { client, calls: () => calls };
}

async function run(contender: Contender, keys: readonly string[], seconds: number): Promise<{ decisions: number; admitted: number; perSecond: number }> {
  let decisions = 0;
  let admitted = 0;
  let next = 0;
  const until = Date.now() + seconds * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < until) {
        const key = keys[next++ % keys.length];
        if (await contender.decide(key)) admitted++;
        decisions++;
      }
    }),
  );
  return { decisions, admitted, perSecond: decisions / ((Date.now() - started) / 1000) };
}

/** What a contender measured: throughput, DynamoDB calls, and admissions under the tight policy. */
interface Measured {
  hot: number;
  many: number;
  callsPerDecision: number;
  overAdmitted: number;
  admitted: number;
  maximum: number;
}

/** A contender made for one phase, and the DynamoDB calls it has made since. */
interface Made {
  readonly contender: Contender;
  readonly calls: () => number;
}

type ClientConfig = { readonly endpoint: string; readonly region: string; readonly credentials: { accessKeyId: string; secretAccessKey: string }; readonly maxAttempts: number };

const TABLES = { credentials: 'credentials', limiter: 'limiter', audit: 'audit' };
// Throughput phases: a generous policy so that most decisions admit; over-admission phase: a tight one.
const LOOSE: TierPolicy = { requestsPerMinute: 60_000, burst: 1000, failMode: 'closed' };
const TIGHT: TierPolicy = { requestsPerMinute: 120, burst: 20, failMode: 'closed' };
/** The over-admission phase's length, in seconds. */
const OVER = 10;

/** The metered API's tables, and enterprise tenants: `hot`, `tight` and the many keys. */
async function createTenants(setup: DynamoDBClient, keys: readonly string[]): Promise<void> {
  await createMeteredApiTables(setup, TABLES);
  const store = new CredentialStore({ client: setup, credentialsTable: TABLES.credentials, limiterTable: TABLES.limiter });
  for (const tenantId of ['hot', 'tight', ...keys]) await store.createTenant({ tenantId, name: tenantId, tier: 'enterprise' });
}

/** Ours: the GCRA limiter, with the enterprise tier set to the policy under test. */
function ours(clientConfig: ClientConfig, policy: TierPolicy): Made {
  const { client, calls } = counted(new DynamoDBClient(clientConfig));
  const limiter = new TokenBucketLimiter({ client, tableName: TABLES.limiter, tiers: resolveTierPolicies({ enterprise: policy }) });
  return { contender: { name: 'TokenBucketLimiter (GCRA)', decide: async (key: string) => (await limiter.decide({ tenantId: key, tierHint: 'enterprise' })).outcome === 'admitted' }, calls };
}

/** Theirs: rate-limiter-flexible's DynamoDB store, each on a table of its own. */
function theirsOn(clientConfig: ClientConfig): (points: number, durationSeconds: number) => Promise<Made> {
  let rlfTable = 0;
  return async (points, durationSeconds) => {
    const { client, calls } = counted(new DynamoDB(clientConfig));
    const limiter = await new Promise<RateLimiterDynamo>((resolve, reject) => {
      const created: RateLimiterDynamo = new RateLimiterDynamo(
        // ttlSet: dynalite has no UpdateTimeToLive; expiry is by its own condition anyway.
        { storeClient: client, tableName: `rlf-${++rlfTable}`, ttlSet: true, points, duration: durationSeconds, dynamoTableOpts: { readCapacityUnits: 25, writeCapacityUnits: 25 } },
        (error?: Error) => {
          if (error) reject(error);
          else resolve(created);
        },
      );
    });
    const baseline = calls();
    const decide = async (key: string) => {
      try {
        await limiter.consume(key);
        return true;
      } catch (rejection) {
        if (rejection instanceof Error) throw rejection;
        return false;
      }
    };
    return { contender: { name: 'rate-limiter-flexible DynamoDB', decide }, calls: () => calls() - baseline };
  };
}

/** Decisions per second on one hot key and over many keys, and DynamoDB calls per decision. */
async function measureThroughput(makers: readonly (() => Made | Promise<Made>)[], keys: readonly string[]): Promise<Record<string, Measured>> {
  const measured: Record<string, Measured> = {};
  for (const make of makers) {
    const warm = await make();
    await run(warm.contender, ['warm-up'], 1);
    const a = await make();
    const hot = await run(a.contender, ['hot'], SECONDS);
    const b = await make();
    const many = await run(b.contender, keys, SECONDS);
    const callsPerDecision = (a.calls() + b.calls()) / (hot.decisions + many.decisions);
    measured[a.contender.name] = { hot: hot.perSecond, many: many.perSecond, callsPerDecision, overAdmitted: 0, admitted: 0, maximum: 0 };
  }
  return measured;
}

/** Over-admission: one key, the tight policy, everything concurrent, for OVER seconds. */
async function measureOverAdmission(clientConfig: ClientConfig, theirs: ReturnType<typeof theirsOn>, measured: Record<string, Measured>): Promise<void> {
  {
    const { contender } = ours(clientConfig, TIGHT);
    const started = Date.now();
    const result = await run(contender, ['tight'], OVER);
    const elapsed = (Date.now() - started) / 1000;
    const maximum = TIGHT.burst + Math.floor((elapsed * TIGHT.requestsPerMinute) / 60);
    Object.assign(measured[contender.name], { admitted: result.admitted, maximum, overAdmitted: Math.max(0, result.admitted - maximum) });
  }
  {
    // The same promise: at most `burst` (20) per window, here a 10 s window: 20 + 0 refills.
    const { contender } = await theirs(TIGHT.burst, OVER);
    const result = await run(contender, ['tight'], OVER - 0.5);
    const maximum = TIGHT.burst;
    Object.assign(measured[contender.name], { admitted: result.admitted, maximum, overAdmitted: Math.max(0, result.admitted - maximum) });
  }
}

function printResults(measured: Record<string, Measured>): void {
  const [a, b] = Object.entries(measured);
  const rows = [
    ['decisions/s, one hot key', fmt(a[1].hot, 0), fmt(b[1].hot, 0), `${fmt(a[1].hot / b[1].hot, 2)}×`, ''],
    ['decisions/s, 1,000 keys', fmt(a[1].many, 0), fmt(b[1].many, 0), `${fmt(a[1].many / b[1].many, 2)}×`, ''],
    ['hot-key / many-key throughput', fmt(a[1].hot / a[1].many, 2), fmt(b[1].hot / b[1].many, 2), '', `≥ 0.5 ${a[1].hot / a[1].many >= 0.5 ? 'met' : 'MISSED'}`],
    ['DynamoDB calls per decision', fmt(a[1].callsPerDecision, 2), fmt(b[1].callsPerDecision, 2), '', `≤ 2 ${a[1].callsPerDecision <= 2 ? 'met' : 'MISSED'}`],
    ['admitted / allowed (tight policy)', `${a[1].admitted} / ${a[1].maximum}`, `${b[1].admitted} / ${b[1].maximum}`, '', ''],
    ['over-admission', String(a[1].overAdmitted), String(b[1].overAdmitted), '', `0 ${a[1].overAdmitted === 0 ? 'met' : 'MISSED'}`],
  ];
  console.log(`Limiter benchmark: ${CONCURRENCY} concurrent deciders for ${SECONDS} s per phase, dynalite in a child process`);
  printTable('Decisions', ['metric', a[0], b[0], 'ratio', 'target'], rows);
  console.log(`\nOver-admission phase: 120/min with burst 20 on one key for ${OVER} s (GCRA allows burst + one per 0.5 s; rate-limiter-flexible's fixed window allows 20 per window).`);
}

export async function limiterBenchmark(): Promise<void> {
  const dynalite = await startDynalite();
  const clientConfig: ClientConfig = { endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' }, maxAttempts: 1 };
  try {
    const setup = new DynamoDBClient(clientConfig);
    const keys = Array.from({ length: MANY_KEYS }, (_, i) => `tenant-${i}`);
    await createTenants(setup, keys);
    const theirs = theirsOn(clientConfig);
    const measured = await measureThroughput([() => ours(clientConfig, LOOSE), () => theirs(LOOSE.requestsPerMinute, 60)], keys);
    await measureOverAdmission(clientConfig, theirs, measured);
    printResults(measured);
    setup.destroy();
  } finally {
    dynalite.stop();
  }
}
