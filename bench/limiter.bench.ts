/**
 * Limiter benchmark: the GCRA TokenBucketLimiter against rate-limiter-flexible's DynamoDB store,
 * side by side in one run, against the same dynalite (in its own process): decisions per second on
 * one hot key and over many keys, DynamoDB calls per decision, and over-admission.
 */
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { DynamoDB, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RateLimiterDynamo } from 'rate-limiter-flexible';
import { DEFAULT_TIERS, TIER_NAMES, TierName } from '../contracts/tiers';
import { CredentialStore } from '../lambdas/credentials/credential-store';
import { DEFAULT_FAIL_MODES, TierPolicy, TokenBucketLimiter } from '../lambdas/limiter/token-bucket-limiter';
import { createMeteredApiTables } from '../local/metered-api';
import { fmt, printTable } from './support/measure';

const CONCURRENCY = 32;
const SECONDS = Number(process.env.BENCH_LIMITER_SECONDS ?? 5);
const MANY_KEYS = 1000;

/** A decision function and a way to read how many DynamoDB calls it made. */
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

export async function limiterBenchmark(): Promise<void> {
  const dynalite = await startDynalite();
  const clientConfig = { endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' }, maxAttempts: 1 };
  try {
    const tables = { credentials: 'credentials', limiter: 'limiter', audit: 'audit' };
    const setup = new DynamoDBClient(clientConfig);
    await createMeteredApiTables(setup, tables);
    const store = new CredentialStore({ client: setup, credentialsTable: tables.credentials, limiterTable: tables.limiter });
    // Throughput phases: a generous policy so that most decisions admit; over-admission phase: a tight one.
    const loose: TierPolicy = { requestsPerMinute: 60_000, burst: 1000, failMode: 'closed' };
    const tight: TierPolicy = { requestsPerMinute: 120, burst: 20, failMode: 'closed' };
    const tiersWith = (enterprise: TierPolicy) =>
      ({ ...Object.fromEntries(TIER_NAMES.map((n) => [n, { ...DEFAULT_TIERS[n], failMode: DEFAULT_FAIL_MODES[n] }])), enterprise }) as Record<TierName, TierPolicy>;
    const keys = Array.from({ length: MANY_KEYS }, (_, i) => `tenant-${i}`);
    for (const tenantId of ['hot', 'tight', ...keys]) await store.createTenant({ tenantId, name: tenantId, tier: 'enterprise' });

    const ours = (policy: TierPolicy) => {
      const { client, calls } = counted(new DynamoDBClient(clientConfig));
      const limiter = new TokenBucketLimiter({ client, tableName: tables.limiter, tiers: tiersWith(policy) });
      return { contender: { name: 'TokenBucketLimiter (GCRA)', decide: async (key: string) => (await limiter.decide({ tenantId: key, tierHint: 'enterprise' })).outcome === 'admitted' }, calls };
    };
    let rlfTable = 0;
    const theirs = async (points: number, durationSeconds: number) => {
      const { client, calls } = counted(new DynamoDB(clientConfig));
      const limiter = await new Promise<RateLimiterDynamo>((resolve, reject) => {
        const created: RateLimiterDynamo = new RateLimiterDynamo(
          // ttlSet: dynalite has no UpdateTimeToLive; expiry is by its own condition anyway.
          { storeClient: client, tableName: `rlf-${++rlfTable}`, ttlSet: true, points, duration: durationSeconds, dynamoTableOpts: { readCapacityUnits: 25, writeCapacityUnits: 25 } },
          (error?: Error) => { error ? reject(error) : resolve(created); },
        );
      });
      const baseline = calls();
      return {
        contender: {
          name: 'rate-limiter-flexible DynamoDB',
          decide: async (key: string) => {
            try {
              await limiter.consume(key);
              return true;
            } catch (rejection) {
              if (rejection instanceof Error) throw rejection;
              return false;
            }
          },
        },
        calls: () => calls() - baseline,
      };
    };

    const rows: string[][] = [];
    const measured: Record<string, { hot: number; many: number; callsPerDecision: number; overAdmitted: number; admitted: number; maximum: number }> = {};
    for (const make of [() => ours(loose), () => theirs(loose.requestsPerMinute, 60)]) {
      const warm = await make();
      await run(warm.contender, ['warm-up'], 1);
      const a = await make();
      const hot = await run(a.contender, ['hot'], SECONDS);
      const b = await make();
      const many = await run(b.contender, keys, SECONDS);
      const callsPerDecision = (a.calls() + b.calls()) / (hot.decisions + many.decisions);
      measured[a.contender.name] = { hot: hot.perSecond, many: many.perSecond, callsPerDecision, overAdmitted: 0, admitted: 0, maximum: 0 };
    }
    // Over-admission: one key, a tight policy, everything concurrent, for OVER seconds.
    const OVER = 10;
    {
      const { contender } = ours(tight);
      const started = Date.now();
      const result = await run(contender, ['tight'], OVER);
      const elapsed = (Date.now() - started) / 1000;
      const maximum = tight.burst + Math.floor((elapsed * tight.requestsPerMinute) / 60);
      Object.assign(measured[contender.name], { admitted: result.admitted, maximum, overAdmitted: Math.max(0, result.admitted - maximum) });
    }
    {
      // The same promise: at most `burst` (20) per window, here a 10 s window: 20 + 0 refills.
      const { contender } = await theirs(tight.burst, OVER);
      const result = await run(contender, ['tight'], OVER - 0.5);
      const maximum = tight.burst;
      Object.assign(measured[contender.name], { admitted: result.admitted, maximum, overAdmitted: Math.max(0, result.admitted - maximum) });
    }

    const [a, b] = Object.entries(measured);
    rows.push(
      ['decisions/s, one hot key', fmt(a[1].hot, 0), fmt(b[1].hot, 0), `${fmt(a[1].hot / b[1].hot, 2)}×`, ''],
      ['decisions/s, 1,000 keys', fmt(a[1].many, 0), fmt(b[1].many, 0), `${fmt(a[1].many / b[1].many, 2)}×`, ''],
      ['hot-key / many-key throughput', fmt(a[1].hot / a[1].many, 2), fmt(b[1].hot / b[1].many, 2), '', `≥ 0.5 ${a[1].hot / a[1].many >= 0.5 ? 'met' : 'MISSED'}`],
      ['DynamoDB calls per decision', fmt(a[1].callsPerDecision, 2), fmt(b[1].callsPerDecision, 2), '', `≤ 2 ${a[1].callsPerDecision <= 2 ? 'met' : 'MISSED'}`],
      ['admitted / allowed (tight policy)', `${a[1].admitted} / ${a[1].maximum}`, `${b[1].admitted} / ${b[1].maximum}`, '', ''],
      ['over-admission', String(a[1].overAdmitted), String(b[1].overAdmitted), '', `0 ${a[1].overAdmitted === 0 ? 'met' : 'MISSED'}`],
    );
    console.log(`Limiter benchmark: ${CONCURRENCY} concurrent deciders for ${SECONDS} s per phase, dynalite in a child process`);
    printTable('Decisions', ['metric', a[0], b[0], 'ratio', 'target'], rows);
    console.log(`\nOver-admission phase: 120/min with burst 20 on one key for ${OVER} s (GCRA allows burst + one per 0.5 s; rate-limiter-flexible's fixed window allows 20 per window).`);
    setup.destroy();
  } finally {
    dynalite.stop();
  }
}
