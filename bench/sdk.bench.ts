/**
 * Producer SDK benchmark, both into the same loopback PutEvents server running in its own process,
 * side by side in paired, interleaved rounds (A-B, then B-A; BENCH_SDK_ROUNDS, at least 6), every
 * figure min / median / max over the rounds and every ratio taken within a round. The outage
 * phase (memory while the bus hangs) is paired the same way, over BENCH_SDK_OUTAGE_ROUNDS (at least
 * 6) rounds of BENCH_SDK_OUTAGE_SECONDS (at least 24) a side.
 *
 * Two modes, as the SDK is used:
 * - long-running server: requests record and move on; the publisher sends in the background;
 * - Lambda: one event per invocation, and the invocation awaits a flush before it returns (what
 *   `withUsageTracking` does), so no batch can form across invocations.
 *
 * The peers form a ladder, each differing from the one before it in one documented way:
 * - UsagePublisher: validates and queues on the request path; batches of up to 10 go out in the
 *   background through its own signed transport (on a thread of its own in a server, on the event
 *   loop in Lambda), with retries and a spool.
 * - batched peer: the same build and validation of each event, the same batches of up to 10 and the
 *   same 64 requests in flight, sent off the request path, but through the stock AWS SDK client
 *   (`client.send(PutEventsCommand)`) on the event loop. One difference: the transport (it has no
 *   retries or spool either, which can only make it faster).
 * - naive peer: the same stock client and the same event build, but each request sends its own
 *   event and awaits PutEvents before it answers. One difference from the batched peer: the send is
 *   on the request path, one entry per call (64 requests in flight, as 64 concurrent requests).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DEFAULT_EVENT_SOURCE, USAGE_EVENT_DETAIL_TYPE } from '../contracts/usage-event';
import { createEventBridgeClient } from '../sdk/eventbridge-client';
import { buildUsageEventDetail } from '../sdk/usage-event-builder';
import { UsagePublisher } from '../sdk/usage-publisher';
import { PairedResult, collectGarbage, fmtSpread, heapSampler, pairedRounds, percentile, printTable, sleep, yieldToLoop } from './support/measure';
import { PutEventsServerProcess, ServerCounts } from './support/server-handle';

/** Events per round through the publisher and the batched peer (long-running server mode). */
const EVENTS = Number(process.env.BENCH_SDK_EVENTS ?? 50_000);
/** Events per round through the naive peer (each one a PutEvents round trip). */
const NAIVE_EVENTS = Number(process.env.BENCH_SDK_NAIVE_EVENTS ?? 5_000);
/** Invocations per round in Lambda mode (one event each, a flush before returning). */
const INVOCATIONS = Number(process.env.BENCH_SDK_INVOCATIONS ?? 1_000);
const ROUNDS = Math.max(6, Number(process.env.BENCH_SDK_ROUNDS ?? 6));
const NAIVE_CONCURRENCY = 64;
/** Requests in flight at once for the publisher (its default) and the batched peer. */
const MAX_IN_FLIGHT = 64;
// Long enough for the default 10,000-event queue to fill (10 s at 1,000/s) before the half-way
// heap reading, and stay full to the end.
const OUTAGE_SECONDS = Math.max(24, Number(process.env.BENCH_SDK_OUTAGE_SECONDS ?? 24));
/** Paired outage rounds (at least 6): each round is two outages of OUTAGE_SECONDS, so about 50 s. */
const OUTAGE_ROUNDS = Math.max(6, Number(process.env.BENCH_SDK_OUTAGE_ROUNDS ?? 6));
const OUTAGE_RATE = 1000; // events per second during the outage phase

const fields = (i: number) => ({
  service: 'orders',
  tenantId: `tenant-${i % 100}`,
  userId: `user-${i % 5000}`,
  apiKeyId: `key-${i % 300}`,
  operation: 'GET /v1/orders/{id}',
  feature: 'orders.read',
  method: 'GET',
  statusCode: i % 50 === 0 ? 500 : 200,
  latencyMs: (i % 250) + 0.5,
  responseBytes: 1834,
  tier: 'premium',
});

interface Result {
  recordMedianUs: number;
  recordP99Us: number;
  eventsPerSecond: number;
  callsPerEvent: number;
  peakHeapMiB: number;
  delivered: number;
}

function summarise(durations: Float64Array, events: number, seconds: number, counts: ServerCounts, peakHeapMiB: number): Result {
  durations.sort();
  return {
    recordMedianUs: percentile(durations, 0.5),
    recordP99Us: percentile(durations, 0.99),
    eventsPerSecond: events / seconds,
    callsPerEvent: counts.requests / events,
    peakHeapMiB,
    delivered: counts.accepted,
  };
}

/** What a producer offers the request path: record an event, and flush what it holds. */
interface Producer {
  record(i: number): void;
  queued(): number;
  flush(): Promise<void>;
  close(): Promise<void>;
}

function publisherProducer(sendFrom: 'thread' | 'event-loop'): Producer {
  const usage = new UsagePublisher({ eventBusName: 'usage-bus', source: DEFAULT_EVENT_SOURCE, flushOnExitSignals: false, sendFrom, maxConcurrentRequests: MAX_IN_FLIGHT });
  return {
    record: (i) => { usage.record(fields(i)); },
    queued: () => usage.stats().queued,
    flush: () => usage.flush(),
    close: () => usage.close(),
  };
}

const entryOf = (detail: string) => ({ EventBusName: 'usage-bus', Source: DEFAULT_EVENT_SOURCE, DetailType: USAGE_EVENT_DETAIL_TYPE, Detail: detail });

/**
 * The batched peer: each event built and validated as the publisher does it, queued, and sent in
 * batches of up to 10 with up to MAX_IN_FLIGHT requests in flight, through the stock SDK client.
 */
function batchedProducer(): Producer {
  const client = createEventBridgeClient({ maxAttempts: 3 });
  const queue: string[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const pump = (partial: boolean) => {
    while (inFlight.size < MAX_IN_FLIGHT && (queue.length >= 10 || (partial && queue.length > 0))) {
      const batch = queue.splice(0, 10);
      const request: Promise<unknown> = client
        .send(new PutEventsCommand({ Entries: batch.map(entryOf) }))
        .catch(() => undefined)
        .finally(() => {
          inFlight.delete(request);
          pump(false);
        });
      inFlight.add(request);
    }
  };
  const timer = setInterval(() => { pump(true); }, 1000);
  const flush = async () => {
    pump(true);
    while (inFlight.size > 0 || queue.length > 0) {
      await Promise.race(inFlight);
      pump(true);
    }
  };
  return {
    record: (i) => {
      queue.push(JSON.stringify(buildUsageEventDetail(fields(i))));
      pump(false);
    },
    queued: () => queue.length,
    flush,
    close: async () => {
      clearInterval(timer);
      await flush();
      client.destroy();
    },
  };
}

async function runProducer(server: PutEventsServerProcess, events: number, make: () => Producer): Promise<Result> {
  await server.command('reset');
  collectGarbage();
  const usage = make();
  const durations = new Float64Array(events);
  const heap = heapSampler();
  const started = process.hrtime.bigint();
  for (let i = 0; i < events; i++) {
    const t0 = process.hrtime.bigint();
    usage.record(i);
    durations[i] = Number(process.hrtime.bigint() - t0) / 1000;
    // A server yields to the event loop between requests; so does this loop, every 100 events,
    // and it slows down (as a saturated server would) rather than overflow the default queue.
    if (i % 100 === 99) {
      await yieldToLoop();
      while (usage.queued() > 8_000) await sleep(1);
    }
  }
  await usage.close();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const peakHeapMiB = heap.stop();
  const counts = await server.command('stats');
  return summarise(durations, events, seconds, counts, peakHeapMiB);
}

async function runNaive(server: PutEventsServerProcess, events: number): Promise<Result> {
  await server.command('reset');
  collectGarbage();
  // What a service without the SDK does: build the event, await PutEvents inside the request.
  const client = createEventBridgeClient({ maxAttempts: 3 });
  const durations = new Float64Array(events);
  const heap = heapSampler();
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: NAIVE_CONCURRENCY }, async () => {
      while (next < events) {
        const i = next++;
        const t0 = process.hrtime.bigint();
        const detail = buildUsageEventDetail(fields(i));
        await client.send(new PutEventsCommand({ Entries: [entryOf(JSON.stringify(detail))] }));
        durations[i] = Number(process.hrtime.bigint() - t0) / 1000;
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const peakHeapMiB = heap.stop();
  const counts = await server.command('stats');
  client.destroy();
  return summarise(durations, events, seconds, counts, peakHeapMiB);
}

/** What Lambda mode measured: the time each invocation spends recording and flushing. */
interface LambdaResult {
  invocationMedianMs: number;
  invocationP99Ms: number;
  callsPerEvent: number;
  delivered: number;
}

/**
 * Lambda mode: sequential invocations (a Lambda instance serves one at a time), each recording one
 * event and awaiting the flush before it returns; the producer lives across invocations, as in a
 * warm instance. `send` is what an invocation does for its event.
 */
async function runLambda(server: PutEventsServerProcess, invocations: number, send: (i: number) => Promise<void>): Promise<LambdaResult> {
  await server.command('reset');
  collectGarbage();
  const durations = new Float64Array(invocations);
  for (let i = 0; i < invocations; i++) {
    const t0 = process.hrtime.bigint();
    await send(i);
    durations[i] = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  durations.sort();
  const counts = await server.command('stats');
  return { invocationMedianMs: percentile(durations, 0.5), invocationP99Ms: percentile(durations, 0.99), callsPerEvent: counts.requests / invocations, delivered: counts.accepted };
}

/** A producer's invocation in Lambda mode: record, then await its flush. */
const flushPerInvocation = (producer: Producer) => async (i: number) => {
  producer.record(i);
  await producer.flush();
};

interface OutageResult {
  heapBeforeMiB: number;
  heapPeakMiB: number;
  /** Live heap (after a full GC) at 1/4, 1/2, 3/4 and the end of the outage. */
  liveHeapMiB: number[];
  recorded: number;
  lost: number;
}

/** A bus that accepts connections and never answers, for OUTAGE_SECONDS, at OUTAGE_RATE events/s. */
async function runOutage(server: PutEventsServerProcess, kind: 'publisher' | 'naive'): Promise<OutageResult> {
  await server.command('reset');
  collectGarbage();
  const spoolDir = mkdtempSync(path.join(tmpdir(), 'bench-spool-'));
  const usage = kind === 'publisher' ? new UsagePublisher({ eventBusName: 'usage-bus', source: DEFAULT_EVENT_SOURCE, spoolDir, flushOnExitSignals: false }) : undefined;
  const client = usage ? undefined : createEventBridgeClient({ maxAttempts: 3 });
  let recorded = 0;
  let naiveFailed = 0;
  const naiveInFlight = new Set<Promise<unknown>>();
  const record = (i: number) => {
    recorded++;
    if (usage) {
      usage.record(fields(i));
      return;
    }
    if (!client) return;
    const detail = JSON.stringify(buildUsageEventDetail(fields(i)));
    const request = client
      .send(new PutEventsCommand({ Entries: [{ EventBusName: 'usage-bus', Source: DEFAULT_EVENT_SOURCE, DetailType: USAGE_EVENT_DETAIL_TYPE, Detail: detail }] }))
      .catch(() => naiveFailed++)
      .finally(() => naiveInFlight.delete(request));
    naiveInFlight.add(request);
  };
  const heapBeforeMiB = process.memoryUsage().heapUsed / 1024 ** 2;
  await server.command('blackhole');
  const heap = heapSampler(100);
  const liveHeapMiB: number[] = [];
  const started = Date.now();
  let i = 0;
  for (let quarter = 1; quarter <= 4; quarter++) {
    while (Date.now() - started < (OUTAGE_SECONDS * 1000 * quarter) / 4) {
      const due = Math.floor(((Date.now() - started) / 1000) * OUTAGE_RATE);
      while (i < due) record(i++);
      await sleep(10);
    }
    collectGarbage();
    liveHeapMiB.push(process.memoryUsage().heapUsed / 1024 ** 2);
  }
  const heapPeakMiB = heap.stop();
  await server.command('up');
  if (usage) {
    await sleep(200);
    record(i); // a delivery after recovery starts the spool replay
    const deadline = Date.now() + 120_000;
    while ((await server.command('stats')).accepted < recorded && Date.now() < deadline) await sleep(250);
    await usage.close();
  } else {
    await Promise.all([...naiveInFlight]);
    client?.destroy();
  }
  rmSync(spoolDir, { recursive: true, force: true });
  const counts = await server.command('stats');
  return { heapBeforeMiB, heapPeakMiB, liveHeapMiB, recorded, lost: kind === 'publisher' ? recorded - counts.accepted : naiveFailed };
}

const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
/** Events sent but not accepted by the server, over the rounds. */
const lost = (results: readonly Result[], perRound: number) => results.reduce((n, r) => n + Math.max(0, perRound - r.delivered), 0);

/** Server mode: the publisher against each peer, min / median / max over the rounds, ratios within each round. */
function printServerMode(batched: PairedResult<Result>, naive: PairedResult<Result>): void {
  const rows: string[][] = [];
  for (const [peer, result] of [['batched peer (stock SDK client)', batched], ['naive peer (await PutEvents)', naive]] as const) {
    const cost = (m: (r: Result) => number, digits: number) => [fmtSpread(result.spreadOf('a', m), digits), fmtSpread(result.spreadOf('b', m), digits)];
    const p99 = result.spreadOf('a', (r) => r.recordP99Us);
    const rate = result.spreadOf('a', (r) => r.eventsPerSecond);
    const calls = result.spreadOf('a', (r) => r.callsPerEvent);
    rows.push(
      [`against the ${peer}`, '', '', '', ''],
      ['  request-path cost, median (µs)', ...cost((r) => r.recordMedianUs, 2), `${fmtSpread(result.ratio((r) => 1 / r.recordMedianUs), 1)}× less`, ''],
      ['  request-path cost, p99 (µs)', ...cost((r) => r.recordP99Us, 2), `${fmtSpread(result.ratio((r) => 1 / r.recordP99Us), 1)}× less`, `≤ 20 ${met(p99.median <= 20)}`],
      ['  events/s end to end', ...cost((r) => r.eventsPerSecond, 0), `${fmtSpread(result.ratio((r) => r.eventsPerSecond), 2)}×`, `≥ 50,000 ${met(rate.median >= 50_000)}`],
      ['  PutEvents calls per event', ...cost((r) => r.callsPerEvent, 3), '', `≤ 0.11 ${met(calls.max <= 0.11)}`],
      ['  peak heap (MiB)', ...cost((r) => r.peakHeapMiB, 1), '', ''],
      ['  events lost (all rounds)', String(lost(result.a, EVENTS)), String(lost(result.b, result === naive ? NAIVE_EVENTS : EVENTS)), '', ''],
    );
  }
  printTable('Long-running server: UsagePublisher (A) against each peer (B); min / median / max over the rounds', ['metric', 'UsagePublisher', 'peer', 'A against B, per round', 'target'], rows);
}

/** Lambda mode: the time an invocation spends on usage (record + flush), and PutEvents calls per event. */
function printLambdaMode(batched: PairedResult<LambdaResult>, naive: PairedResult<LambdaResult>): void {
  const rows: string[][] = [];
  for (const [peer, result] of [['batched peer (stock SDK client)', batched], ['naive peer (await PutEvents)', naive]] as const) {
    const cost = (m: (r: LambdaResult) => number, digits: number) => [fmtSpread(result.spreadOf('a', m), digits), fmtSpread(result.spreadOf('b', m), digits)];
    rows.push(
      [`against the ${peer}`, '', '', ''],
      ['  usage time per invocation, median (ms)', ...cost((r) => r.invocationMedianMs, 3), `${fmtSpread(result.ratio((r) => r.invocationMedianMs), 2)}×`],
      ['  usage time per invocation, p99 (ms)', ...cost((r) => r.invocationP99Ms, 3), `${fmtSpread(result.ratio((r) => r.invocationP99Ms), 2)}×`],
      ['  PutEvents calls per event', ...cost((r) => r.callsPerEvent, 2), ''],
    );
  }
  printTable(
    'Lambda mode (one event per invocation, flushed before it returns): UsagePublisher (A) against each peer (B); min / median / max over the rounds',
    ['metric', 'UsagePublisher', 'peer', 'A / B, per round'],
    rows,
  );
  console.log('In Lambda mode no batch forms across invocations: every producer makes one PutEvents call per event, and the invocation waits for its round trip.');
}

/** Memory during an outage: the publisher (A) against the naive peer (B), min / median / max over paired rounds. */
function printOutage(outage: PairedResult<OutageResult>): void {
  const both = (m: (r: OutageResult) => number, digits = 1) => [fmtSpread(outage.spreadOf('a', m), digits), fmtSpread(outage.spreadOf('b', m), digits)];
  const growth = (r: OutageResult) => r.liveHeapMiB[3] - r.liveHeapMiB[1];
  const quarter = (q: number) => (r: OutageResult) => r.liveHeapMiB[q];
  const total = (side: 'a' | 'b', m: (r: OutageResult) => number) => String(outage[side].reduce((n, r) => n + m(r), 0));
  printTable(
    `Memory during an outage: UsagePublisher (A, spool) against the naive peer (B, await PutEvents); ${String(outage.rounds.length)} paired rounds, min / median / max`,
    ['metric', 'UsagePublisher', 'naive', 'B / A, per round', 'target'],
    [
      ['heap before (MiB)', ...both((r) => r.heapBeforeMiB), '', ''],
      ['peak heap during outage (MiB)', ...both((r) => r.heapPeakMiB), `${fmtSpread(outage.ratio((r) => 1 / r.heapPeakMiB), 2)}×`, ''],
      ...[0, 1, 2, 3].map((q) => [`live heap at ${['¼', '½', '¾', 'the end'][q]} (MiB)`, ...both(quarter(q)), '', '']),
      ['live heap growth, ½ → end (MiB)', ...both(growth), '', `bounded (< 2 MiB every round) ${met(outage.spreadOf('a', growth).max < 2)}`],
      ['events recorded (all rounds)', total('a', (r) => r.recorded), total('b', (r) => r.recorded), '', ''],
      ['events lost (all rounds)', total('a', (r) => r.lost), total('b', (r) => r.lost), '', `publisher 0 ${met(outage.a.every((r) => r.lost === 0))}`],
    ],
  );
}

export async function sdkBenchmark(): Promise<void> {
  const server = await PutEventsServerProcess.start();
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = server.url;
  try {
    console.log(
      `SDK benchmark: loopback PutEvents server in a child process; ${String(ROUNDS)} paired rounds (A-B, then B-A) per pair after a warm-up; server mode ${EVENTS.toLocaleString()} events per round (naive ${NAIVE_EVENTS.toLocaleString()}, ${String(NAIVE_CONCURRENCY)} concurrent requests), Lambda mode ${INVOCATIONS.toLocaleString()} invocations per round`,
    );
    const publisherRun = () => runProducer(server, EVENTS, () => publisherProducer('thread'));
    const againstBatched = await pairedRounds({ rounds: ROUNDS, a: publisherRun, b: () => runProducer(server, EVENTS, batchedProducer) });
    const againstNaive = await pairedRounds({ rounds: ROUNDS, a: publisherRun, b: () => runNaive(server, NAIVE_EVENTS) });
    printServerMode(againstBatched, againstNaive);

    // Lambda mode: each side keeps one producer across its rounds, as a warm instance does.
    const lambdaPublisher = publisherProducer('event-loop');
    const lambdaBatched = batchedProducer();
    const naiveClient = createEventBridgeClient({ maxAttempts: 3 });
    const naiveSend = async (i: number) => {
      await naiveClient.send(new PutEventsCommand({ Entries: [entryOf(JSON.stringify(buildUsageEventDetail(fields(i))))] }));
    };
    const publisherLambda = () => runLambda(server, INVOCATIONS, flushPerInvocation(lambdaPublisher));
    const lambdaVsBatched = await pairedRounds({ rounds: ROUNDS, a: publisherLambda, b: () => runLambda(server, INVOCATIONS, flushPerInvocation(lambdaBatched)) });
    const lambdaVsNaive = await pairedRounds({ rounds: ROUNDS, a: publisherLambda, b: () => runLambda(server, INVOCATIONS, naiveSend) });
    await lambdaPublisher.close();
    await lambdaBatched.close();
    naiveClient.destroy();
    printLambdaMode(lambdaVsBatched, lambdaVsNaive);

    console.log(`\nOutage: the bus hangs (accepts, never answers) for ${String(OUTAGE_SECONDS)} s while requests arrive at ${String(OUTAGE_RATE)}/s; ${String(OUTAGE_ROUNDS)} paired rounds`);
    printOutage(await pairedRounds({ rounds: OUTAGE_ROUNDS, warmUp: false, a: () => runOutage(server, 'publisher'), b: () => runOutage(server, 'naive') }));
  } finally {
    server.stop();
  }
}
