/**
 * Limiter benchmark: the GCRA TokenBucketLimiter against rate-limiter-flexible's DynamoDB store,
 * side by side in one run, against the same dynalite (in its own process): decisions per second on
 * one hot key and over many keys, DynamoDB calls per decision, and over-admission.
 *
 * Throughput is measured in paired, interleaved rounds (ours then theirs, then theirs then ours;
 * BENCH_LIMITER_ROUNDS, at least 6, of BENCH_LIMITER_SECONDS each per contender), and each ratio is
 * taken within a round and reported as min / median / max: one sequential sample per contender
 * let drift in the shared machine decide the ratio (it swung between 0.54 and 1.30 run to run).
 */
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { DynamoDB, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RateLimiterDynamo } from 'rate-limiter-flexible';
import { TierPolicy, resolveTierPolicies } from '../contracts/tiers';
import { CredentialStore } from '../lambdas/credentials/credential-store';
import { TokenBucketLimiter } from '../lambdas/limiter/token-bucket-limiter';
import { createMeteredApiTables } from '../local/metered-api';
import { Spread, fmt, fmtSpread, pairedRounds, printTable } from './support/measure';

const CONCURRENCY = 32;
const SECONDS = Number(process.env.BENCH_LIMITER_SECONDS ?? 2);
const ROUNDS = Math.max(6, Number(process.env.BENCH_LIMITER_ROUNDS ?? 6));
/** The warm-up's length per contender and phase, in seconds (not counted). */
const WARM_UP_SECONDS = 1;
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
  /** Decisions per second over the rounds. */
  hot: Spread;
  many: Spread;
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

/** The hot key of a round (-1: the warm-up): one of its own, so no round inherits another's bucket or window. */
const hotKey = (round: number) => (round < 0 ? 'hot-warm-up' : `hot-${String(round)}`);

/** The metered API's tables, and enterprise tenants: the hot keys, `tight` and the many keys. */
async function createTenants(setup: DynamoDBClient, keys: readonly string[]): Promise<void> {
  await createMeteredApiTables(setup, TABLES);
  const store = new CredentialStore({ client: setup, credentialsTable: TABLES.credentials, limiterTable: TABLES.limiter });
  const hot = [-1, ...Array.from({ length: ROUNDS }, (_, round) => round)].map(hotKey);
  for (const tenantId of [...hot, 'tight', ...keys]) await store.createTenant({ tenantId, name: tenantId, tier: 'enterprise' });
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

/**
 * Decisions per second on one hot key and over many keys, in paired interleaved rounds per phase,
 * and DynamoDB calls per decision. Each contender is made once per phase and reused over its rounds.
 */
async function measureThroughput(
  makers: readonly [() => Made | Promise<Made>, () => Made | Promise<Made>],
  keys: readonly string[],
): Promise<{ measured: Record<string, Measured>; hotRatio: Spread; manyRatio: Spread; names: [string, string] }> {
  const phase = async (keysOf: (round: number) => readonly string[]) => {
    const [a, b] = [await makers[0](), await makers[1]()];
    const side = (made: Made) => async (round: number) => {
      const seconds = round < 0 ? WARM_UP_SECONDS : SECONDS;
      return { calls: made.calls(), ...(await run(made.contender, keysOf(round), seconds)) };
    };
    const result = await pairedRounds({ rounds: ROUNDS, warmUp: true, a: side(a), b: side(b) });
    // Calls per decision over the counted rounds: each counter's growth from the first counted round on.
    const callsOf = (made: Made, figures: readonly { calls: number; decisions: number }[]) => {
      const decisions = figures.reduce((sum, f) => sum + f.decisions, 0);
      return { calls: made.calls() - Math.min(...figures.map((f) => f.calls)), decisions };
    };
    return { a, b, result, callsA: callsOf(a, result.a), callsB: callsOf(b, result.b) };
  };
  const hot = await phase((round) => [hotKey(round)]);
  const many = await phase(() => keys);
  const perSecond = (figure: { perSecond: number }) => figure.perSecond;
  const entry = (side: 'a' | 'b'): Measured => {
    const [h, m] = [hot, many];
    const calls = side === 'a' ? [h.callsA, m.callsA] : [h.callsB, m.callsB];
    return {
      hot: h.result.spreadOf(side, perSecond),
      many: m.result.spreadOf(side, perSecond),
      callsPerDecision: (calls[0].calls + calls[1].calls) / (calls[0].decisions + calls[1].decisions),
      overAdmitted: 0,
      admitted: 0,
      maximum: 0,
    };
  };
  const names: [string, string] = [hot.a.contender.name, hot.b.contender.name];
  return {
    measured: { [names[0]]: entry('a'), [names[1]]: entry('b') },
    hotRatio: hot.result.ratio(perSecond),
    manyRatio: many.result.ratio(perSecond),
    names,
  };
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

function printResults(throughput: Awaited<ReturnType<typeof measureThroughput>>): void {
  const { measured, hotRatio, manyRatio, names } = throughput;
  const [a, b] = [measured[names[0]], measured[names[1]]];
  const hotOverMany = (m: Measured) => m.hot.median / m.many.median;
  const rows = [
    ['decisions/s, one hot key', fmtSpread(a.hot, 0), fmtSpread(b.hot, 0), `${fmtSpread(hotRatio, 2)}×`, ''],
    ['decisions/s, 1,000 keys', fmtSpread(a.many, 0), fmtSpread(b.many, 0), `${fmtSpread(manyRatio, 2)}×`, ''],
    ['hot-key / many-key throughput (medians)', fmt(hotOverMany(a), 2), fmt(hotOverMany(b), 2), '', `≥ 0.5 ${hotOverMany(a) >= 0.5 ? 'met' : 'MISSED'}`],
    ['DynamoDB calls per decision', fmt(a.callsPerDecision, 2), fmt(b.callsPerDecision, 2), '', `≤ 2 ${a.callsPerDecision <= 2 ? 'met' : 'MISSED'}`],
    ['admitted / allowed (tight policy)', `${String(a.admitted)} / ${String(a.maximum)}`, `${String(b.admitted)} / ${String(b.maximum)}`, '', ''],
    ['over-admission', String(a.overAdmitted), String(b.overAdmitted), '', `0 ${a.overAdmitted === 0 ? 'met' : 'MISSED'}`],
  ];
  console.log(
    `Limiter benchmark: ${String(CONCURRENCY)} concurrent deciders, dynalite in a child process; throughput in ${String(ROUNDS)} paired rounds (A-B, then B-A) of ${String(SECONDS)} s per contender and phase, after a ${String(WARM_UP_SECONDS)} s warm-up each`,
  );
  printTable('Decisions (min / median / max over the rounds; ratio ours / theirs taken within each round)', ['metric', names[0], names[1], 'ratio', 'target'], rows);
  console.log(`\nOver-admission phase: 120/min with burst 20 on one key for ${String(OVER)} s (GCRA allows burst + one per 0.5 s; rate-limiter-flexible's fixed window allows 20 per window).`);
}

export async function limiterBenchmark(): Promise<void> {
  const dynalite = await startDynalite();
  const clientConfig: ClientConfig = { endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' }, maxAttempts: 1 };
  try {
    const setup = new DynamoDBClient(clientConfig);
    const keys = Array.from({ length: MANY_KEYS }, (_, i) => `tenant-${i}`);
    await createTenants(setup, keys);
    const theirs = theirsOn(clientConfig);
    const throughput = await measureThroughput([() => ours(clientConfig, LOOSE), () => theirs(LOOSE.requestsPerMinute, 60)], keys);
    await measureOverAdmission(clientConfig, theirs, throughput.measured);
    printResults(throughput);
    setup.destroy();
  } finally {
    dynalite.stop();
  }
}
