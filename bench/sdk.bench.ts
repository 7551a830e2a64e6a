/**
 * Producer SDK benchmark: the UsagePublisher against the naive approach (one awaited PutEvents
 * per request), side by side in one run, both into the same loopback PutEvents server running in
 * its own process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DEFAULT_EVENT_SOURCE, USAGE_EVENT_DETAIL_TYPE } from '../contracts/usage-event';
import { createEventBridgeClient } from '../sdk/eventbridge-client';
import { buildUsageEventDetail } from '../sdk/usage-event-builder';
import { UsagePublisher } from '../sdk/usage-publisher';
import { collectGarbage, fmt, heapSampler, percentile, printTable, sleep, yieldToLoop } from './support/measure';
import { PutEventsServerProcess, ServerCounts } from './support/server-handle';

const EVENTS = Number(process.env.BENCH_SDK_EVENTS ?? 200_000);
const NAIVE_EVENTS = Number(process.env.BENCH_SDK_NAIVE_EVENTS ?? 20_000);
const NAIVE_CONCURRENCY = 64;
// Long enough for the default 10,000-event queue to fill (10 s at 1,000/s) and stay full.
const OUTAGE_SECONDS = Number(process.env.BENCH_SDK_OUTAGE_SECONDS ?? 40);
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

async function runPublisher(server: PutEventsServerProcess, events: number): Promise<Result> {
  await server.command('reset');
  collectGarbage();
  const usage = new UsagePublisher({ eventBusName: 'usage-bus', source: DEFAULT_EVENT_SOURCE, flushOnExitSignals: false });
  const durations = new Float64Array(events);
  const heap = heapSampler();
  const started = process.hrtime.bigint();
  for (let i = 0; i < events; i++) {
    const t0 = process.hrtime.bigint();
    usage.record(fields(i));
    durations[i] = Number(process.hrtime.bigint() - t0) / 1000;
    // A server yields to the event loop between requests; so does this loop, every 100 events,
    // and it slows down (as a saturated server would) rather than overflow the default queue.
    if (i % 100 === 99) {
      await yieldToLoop();
      while (usage.stats().queued > 8_000) await sleep(1);
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
        await client.send(new PutEventsCommand({ Entries: [{ EventBusName: 'usage-bus', Source: DEFAULT_EVENT_SOURCE, DetailType: USAGE_EVENT_DETAIL_TYPE, Detail: JSON.stringify(detail) }] }));
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

export async function sdkBenchmark(): Promise<void> {
  const server = await PutEventsServerProcess.start();
  process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = server.url;
  try {
    console.log(`SDK benchmark: ${EVENTS.toLocaleString()} events through UsagePublisher, ${NAIVE_EVENTS.toLocaleString()} the naive way (${NAIVE_CONCURRENCY} concurrent requests), loopback PutEvents server in a child process`);
    await runPublisher(server, 20_000); // warm-up: JIT, sockets
    const publisher = await runPublisher(server, EVENTS);
    await runNaive(server, 2_000); // warm-up
    const naive = await runNaive(server, NAIVE_EVENTS);
    printTable('Throughput and cost per request', ['metric', 'UsagePublisher', 'naive (await PutEvents)', 'ratio', 'target'], [
      ['request-path cost, median (µs)', fmt(publisher.recordMedianUs, 2), fmt(naive.recordMedianUs, 0), `${fmt(naive.recordMedianUs / publisher.recordMedianUs, 0)}× less`, ''],
      ['request-path cost, p99 (µs)', fmt(publisher.recordP99Us, 2), fmt(naive.recordP99Us, 0), `${fmt(naive.recordP99Us / publisher.recordP99Us, 0)}× less`, `≤ 20 ${publisher.recordP99Us <= 20 ? 'met' : 'MISSED'}`],
      ['events/s end to end', fmt(publisher.eventsPerSecond, 0), fmt(naive.eventsPerSecond, 0), `${fmt(publisher.eventsPerSecond / naive.eventsPerSecond, 1)}×`, `≥ 50,000 ${publisher.eventsPerSecond >= 50_000 ? 'met' : 'MISSED'}`],
      ['PutEvents calls per event', fmt(publisher.callsPerEvent, 3), fmt(naive.callsPerEvent, 3), `${fmt(naive.callsPerEvent / publisher.callsPerEvent, 1)}× fewer`, `≤ 0.11 ${publisher.callsPerEvent <= 0.11 ? 'met' : 'MISSED'}`],
      ['peak heap (MiB)', fmt(publisher.peakHeapMiB), fmt(naive.peakHeapMiB), '', ''],
      ['events delivered', `${publisher.delivered}/${EVENTS}`, `${naive.delivered}/${NAIVE_EVENTS}`, '', ''],
    ]);

    console.log(`\nOutage: the bus hangs (accepts, never answers) for ${OUTAGE_SECONDS} s while requests arrive at ${OUTAGE_RATE}/s`);
    const publisherOutage = await runOutage(server, 'publisher');
    const naiveOutage = await runOutage(server, 'naive');
    printTable('Memory during an outage', ['metric', 'UsagePublisher (spool)', 'naive (await PutEvents)', 'target'], [
      ['heap before (MiB)', fmt(publisherOutage.heapBeforeMiB), fmt(naiveOutage.heapBeforeMiB), ''],
      ['peak heap during outage (MiB)', fmt(publisherOutage.heapPeakMiB), fmt(naiveOutage.heapPeakMiB), ''],
      ['live heap at ¼ ½ ¾ end (MiB)', publisherOutage.liveHeapMiB.map((v) => fmt(v)).join(' '), naiveOutage.liveHeapMiB.map((v) => fmt(v)).join(' '), ''],
      [
        'live heap growth, ½ → end (MiB)',
        fmt(publisherOutage.liveHeapMiB[3] - publisherOutage.liveHeapMiB[1]),
        fmt(naiveOutage.liveHeapMiB[3] - naiveOutage.liveHeapMiB[1]),
        `bounded ${publisherOutage.liveHeapMiB[3] - publisherOutage.liveHeapMiB[1] < 2 ? 'met' : 'MISSED'}`,
      ],
      ['events recorded', String(publisherOutage.recorded), String(naiveOutage.recorded), ''],
      ['events lost', String(publisherOutage.lost), String(naiveOutage.lost), 'publisher 0'],
    ]);
  } finally {
    server.stop();
  }
}
