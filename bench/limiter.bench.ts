/**
 * Limiter benchmark: the GCRA TokenBucketLimiter against rate-limiter-flexible's DynamoDB store,
 * side by side in one run, against the same dynalite (in its own process): decisions per second on
 * one hot key and over many keys, DynamoDB calls per decision, and over-admission.
 *
 * Throughput is measured in paired, interleaved rounds (ours then theirs, then theirs then ours;
 * BENCH_LIMITER_ROUNDS, at least 6, of BENCH_LIMITER_SECONDS each per contender), and each ratio is
 * taken within a round and reported as min / median / max: one sequential sample per contender
 * let drift in the shared machine decide the ratio (it swung between 0.54 and 1.30 run to run).
 *
 * A last phase counts DynamoDB reads and writes per request through the authorizer (every request a
 * cache miss: the API key looked up by hash) and the limiter, with the tier hint the key record
 * carries (issue 13, item 3) against the same requests without it, in paired rounds as well.
 */
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { DynamoDB, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RateLimiterDynamo } from 'rate-limiter-flexible';
import { TIER_NAMES, TierPolicy, resolveTierPolicies } from '../contracts/tiers';
import { Authenticator } from '../lambdas/auth/authenticator';
import { CredentialStore } from '../lambdas/credentials/credential-store';
import { TokenService } from '../lambdas/tokens/token-service';
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

/** Tenants (one key each) per side and round of the tier-hint phase; tiers cycle free, basic, premium, enterprise. */
const HINT_TENANTS = Number(process.env.BENCH_LIMITER_HINT_TENANTS ?? 40);
/** Requests per tenant in the tier-hint phase: the first decision on a fresh limiter, then steady ones (within every tier's burst). */
const HINT_PASSES = 4;
const READ_COMMANDS = new Set(['GetItemCommand', 'BatchGetItemCommand', 'QueryCommand', 'ScanCommand', 'TransactGetItemsCommand']);
const WRITE_COMMANDS = new Set(['UpdateItemCommand', 'PutItemCommand', 'DeleteItemCommand', 'TransactWriteItemsCommand', 'BatchWriteItemCommand']);

/** A client that counts its reads and writes. */
function readsAndWrites(clientConfig: ClientConfig): { client: DynamoDBClient; reads: () => number; writes: () => number } {
  const client = new DynamoDBClient(clientConfig);
  const counts = { reads: 0, writes: 0 };
  client.middlewareStack.add((next, context) => async (args) => {
    const name = context.commandName ?? '';
    if (READ_COMMANDS.has(name)) counts.reads++;
    if (WRITE_COMMANDS.has(name)) counts.writes++;
    return next(args);
  }, { step: 'initialize', name: 'countReadsAndWrites' });
  return { client, reads: () => counts.reads, writes: () => counts.writes };
}

interface HintFigures {
  readonly requestsPerSecond: number;
  readonly authorizerReads: number;
  readonly firstWrites: number;
  readonly steadyWrites: number;
  readonly limiterReads: number;
  readonly admitted: number;
}

/** The API keys of one side and round of the tier-hint phase. */
const hintKeys = new Map<string, string[]>();

/** Tenants and keys for every side and round of the tier-hint phase (the warm-up's too), written as the admin API writes them. */
async function createHintTenants(setup: DynamoDBClient, rounds: number): Promise<void> {
  const store = new CredentialStore({ client: setup, credentialsTable: TABLES.credentials, limiterTable: TABLES.limiter });
  for (let round = -1; round < rounds; round++) {
    for (const side of ['a', 'b']) {
      const keys: string[] = [];
      for (let i = 0; i < HINT_TENANTS; i++) {
        const tenantId = `hint-${side}-${String(round + 1)}-${String(i)}`;
        await store.createTenant({ tenantId, name: tenantId, tier: TIER_NAMES[i % TIER_NAMES.length] });
        keys.push((await store.createKey(tenantId)).apiKey);
      }
      hintKeys.set(`${side}${String(round)}`, keys);
    }
  }
}

/** One side of one round: a fresh authorizer store and limiter (a new container), each key's requests through both. */
async function hintRound(clientConfig: ClientConfig, keys: readonly string[], withHint: boolean): Promise<HintFigures> {
  const auth = readsAndWrites(clientConfig);
  const decide = readsAndWrites(clientConfig);
  const store = new CredentialStore({ client: auth.client, credentialsTable: TABLES.credentials, limiterTable: TABLES.limiter });
  const unusedSigner = { signDer: () => Promise.reject(new Error('no admin tokens here')), publicKey: () => Promise.reject(new Error('no admin tokens here')) };
  const tokens = new TokenService({ issuer: 'bench', audience: 'bench', tenantSecret: () => Promise.resolve(new Uint8Array(32)), adminSigner: unusedSigner });
  const authenticator = new Authenticator(store, tokens);
  const limiter = new TokenBucketLimiter({ client: decide.client, tableName: TABLES.limiter, tiers: resolveTierPolicies() });
  let admitted = 0;
  const pass = async () => {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < keys.length; i = next++) {
          const outcome = await authenticator.authenticate({ authorization: `ApiKey ${keys[i]}` }, 'authorization');
          if (!outcome.ok || outcome.principal.kind !== 'tenant') throw new Error(`bench key refused: ${outcome.ok ? 'admin' : outcome.reason}`);
          const { tenantId, keyId, tier } = outcome.principal;
          if ((await limiter.decide({ tenantId, keyId, tierHint: withHint ? tier : undefined })).outcome === 'admitted') admitted++;
        }
      }),
    );
  };
  const started = process.hrtime.bigint();
  await pass();
  const firstWrites = decide.writes();
  for (let p = 1; p < HINT_PASSES; p++) await pass();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const requests = keys.length * HINT_PASSES;
  const figures = {
    requestsPerSecond: requests / seconds,
    authorizerReads: auth.reads() / requests,
    firstWrites: firstWrites / keys.length,
    steadyWrites: (decide.writes() - firstWrites) / (requests - keys.length),
    limiterReads: decide.reads() / requests,
    admitted: admitted / requests,
  };
  auth.client.destroy();
  decide.client.destroy();
  return figures;
}

/** DynamoDB calls per request through the authorizer and the limiter, with the key record's tier hint (A) and without it (B). */
async function measureTierHints(clientConfig: ClientConfig): Promise<void> {
  const result = await pairedRounds({
    rounds: ROUNDS,
    warmUp: true,
    a: (round) => hintRound(clientConfig, hintKeys.get(`a${String(round)}`) ?? [], true),
    b: (round) => hintRound(clientConfig, hintKeys.get(`b${String(round)}`) ?? [], false),
  });
  const both = (metric: (figures: HintFigures) => number, digits: number) => [fmtSpread(result.spreadOf('a', metric), digits), fmtSpread(result.spreadOf('b', metric), digits)];
  const rows = [
    ['DynamoDB reads per authorizer cache miss (API key)', ...both((f) => f.authorizerReads, 2), '', '≤ 1'],
    ['limiter writes, first decision per tenant on a fresh instance', ...both((f) => f.firstWrites, 2), '', '1 with the hint'],
    ['limiter writes per admitted request, steady state', ...both((f) => f.steadyWrites, 2), '', '1'],
    ['limiter reads per request', ...both((f) => f.limiterReads, 2), '', '0'],
    ['admitted / requests', ...both((f) => f.admitted, 2), '', ''],
    ['requests/s (authorizer + limiter)', ...both((f) => f.requestsPerSecond, 0), `${fmtSpread(result.ratio((f) => f.requestsPerSecond), 2)}×`, ''],
  ];
  console.log(
    `\nTier hints (issue 13, item 3): ${String(HINT_TENANTS)} tenants (tiers cycling free..enterprise, one API key each) per side and round, ${String(HINT_PASSES)} requests each,` +
      ` every request an authorizer cache miss, a fresh limiter per side and round; ${String(result.rounds.length)} paired rounds (A-B, then B-A) after a warm-up.`,
  );
  printTable('DynamoDB calls per request (min / median / max over the rounds)', ['metric', 'A: key record tier hint', 'B: no hint (before)', 'ratio A / B', 'target'], rows);
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
    await createHintTenants(setup, ROUNDS % 2 === 0 ? ROUNDS : ROUNDS + 1);
    await measureTierHints(clientConfig);
    setup.destroy();
  } finally {
    dynalite.stop();
  }
}
