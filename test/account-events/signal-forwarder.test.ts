import type { AccountEventDetail, AccountSignals } from '../../contracts/account-events';
import { accountEventIds, signalWindowStart } from '../../contracts/account-events';
import type { AccessLogRecord } from '../../contracts/metered-api';
import { quotaThresholdEvent } from '../../lambdas/account-events/account-event-log';
import { SignalCounters } from '../../lambdas/account-events/signal-counters';
import { UsageLogWriter } from '../../lambdas/usage-log/usage-log-writer';
import { LocalAccessLogSignals, LocalUsageLogSubscription } from '../../local/events/usage-log-subscription';
import type { UsageRecorder } from '../../sdk/request-usage';
import type { UsageEventFields } from '../../sdk/usage-event-builder';
import { startDynalite } from '../support/dynalite';
import { CapturingBus, startCapturingBus } from './support';

const SIGNALS: AccountSignals = { rateLimitSpike: { count: 5, minutes: 5 }, authFailures: { count: 3, minutes: 1 } };

/** A recorder that keeps what it is given. */
function keeping(): UsageRecorder & { readonly recorded: UsageEventFields[] } {
  const recorded: UsageEventFields[] = [];
  return { recorded, record: (fields) => { recorded.push(fields); return fields.eventId ?? ''; }, flush: () => Promise.resolve() };
}

/**
 * Issue 16, signals, locally: the usage-log forwarder's code behind LocalUsageLogSubscription and
 * the access log's behind LocalAccessLogSignals, counting on dynalite and publishing through the
 * real AccountEventPublisher to the real LocalEventBus (its account-event rule's target keeps what it matched).
 */
describe('Signals through the local forwarders (dynalite, the real LocalEventBus)', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let bus: CapturingBus;
  let before = 0;
  const counters = () => new SignalCounters({ client: dynamo.client, tableName: dynamo.tables.limiter });
  const published = (): AccountEventDetail[] => bus.details().slice(before);

  beforeAll(async () => {
    [dynamo, bus] = await Promise.all([startDynalite(), startCapturingBus()]);
  });
  beforeEach(() => {
    before = bus.details().length;
  });
  afterAll(async () => {
    await Promise.all([dynamo.stop(), bus.stop()]);
  });

  it('puts account-event lines on the bus with their own ids, forwards the usage lines, and raises one spike for 429s over the threshold', async () => {
    // Prepare: a route's lines: 8 429s of one tenant, 2 of another, a 200, and a quota-80 line.
    const usage = keeping();
    const subscription = new LocalUsageLogSubscription({ publisher: usage, intervalMs: 60_000, accountEvents: { sink: bus.sink, counters: counters(), signals: SIGNALS } });
    const writer = new UsageLogWriter({ service: 'metered-api' }, subscription.sink);
    const at = Date.now();
    for (let i = 0; i < 8; i++) writer.record({ tenantId: 'spiky', operation: 'GET /v1/users', method: 'GET', statusCode: 429, latencyMs: 1, occurredAt: new Date(at) });
    for (let i = 0; i < 2; i++) writer.record({ tenantId: 'calm', operation: 'GET /v1/users', method: 'GET', statusCode: 429, latencyMs: 1, occurredAt: new Date(at) });
    writer.record({ tenantId: 'spiky', operation: 'GET /v1/users', method: 'GET', statusCode: 200, latencyMs: 1 });
    const quota = quotaThresholdEvent({ period: 'day', limit: 10, used: 8, resetSeconds: 3600, windowSeconds: 86_400 }, { tenantId: 'spiky', tier: 'basic' }, at);
    if (!quota) throw new Error('no quota event');
    writer.recordAccountEvent(quota);
    // Act
    const result = subscription.deliver();
    await subscription.flush();
    // Assess
    expect(result).toEqual({ forwarded: 11, skipped: 0, accountEvents: 1 });
    expect(usage.recorded).toHaveLength(11);
    expect(published().map((detail) => detail.eventId).sort()).toEqual([accountEventIds.ofSpike('spiky', signalWindowStart(at, 5)), quota.eventId].sort());
    expect(published().find((detail) => detail.kind === 'rate-limit-spike')).toMatchObject({ tenantId: 'spiky', data: { count: 8, windowMinutes: 5 } });
    expect(bus.envelopes().slice(before).every((envelope) => envelope.source === 'api-usage-tracker.accounts' && envelope['detail-type'] === 'api-account-event')).toBe(true);
    subscription.close();
  });

  it('skips an account-event line the contract refuses, naming why, and puts nothing on the bus for it', async () => {
    const skipped: string[] = [];
    const subscription = new LocalUsageLogSubscription({
      publisher: keeping(), intervalMs: 60_000, accountEvents: { sink: bus.sink, counters: counters(), signals: SIGNALS }, onSkip: (_id, reason) => skipped.push(reason),
    });
    subscription.put('{"accountEventLog":"api-account-event/1","detail":{"schemaVersion":"1","eventId":"x","kind":"quota-80"}}');
    await subscription.flush();
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatch(/^account event refused by the contract: .*eventId/);
    expect(published()).toEqual([]);
    subscription.close();
  });

  it('retries a delivery whose account events could not be published, as Lambda retries the forwarder: the same id arrives', async () => {
    // Prepare: the bus is unreachable for the first attempt.
    bus.failingNext(1);
    const failures: Error[] = [];
    const subscription = new LocalUsageLogSubscription({
      publisher: keeping(), intervalMs: 60_000, retryDelaysMs: [10, 10], onAccountEventFailure: (error) => failures.push(error),
      accountEvents: { sink: bus.sink, counters: counters(), signals: SIGNALS },
    });
    const writer = new UsageLogWriter({ service: 'metered-api' }, subscription.sink);
    const at = Date.parse('2026-11-30T10:00:00Z');
    for (let i = 0; i < 6; i++) writer.record({ tenantId: 'retried', operation: 'GET /v1/users', method: 'GET', statusCode: 429, latencyMs: 1, occurredAt: new Date(at) });
    // Act
    await subscription.flush();
    // Assess: one event, with the window's id; the retry added the counts again (12: over, never under).
    expect(failures).toEqual([]);
    expect(published().map((detail) => [detail.eventId, detail.data.count])).toEqual([[accountEventIds.ofSpike('retried', signalWindowStart(at, 5)), 12]]);
    subscription.close();
  });

  it('counts the local gateway\'s 401s and 403s per source (IPv6 by its /64) and raises one auth-failures event', async () => {
    // Prepare: four refusals from hosts of one /64, one from elsewhere, and a 403 a route answered (an integration: not counted).
    const signals = new LocalAccessLogSignals({ intervalMs: 60_000, accountEvents: { sink: bus.sink, counters: counters(), signals: SIGNALS } });
    const at = Date.parse('2026-11-30T10:00:30Z');
    const record = (status: number, sourceIp: string, integrationStatus = '-'): AccessLogRecord => ({ requestId: `r-${sourceIp}`, requestTimeEpoch: at, status, integrationStatus, sourceIp });
    // Act
    for (const host of ['1', '2', 'a:b', 'ffff']) signals.put(record(host === '2' ? 401 : 403, `2001:db8:0:1::${host}`));
    signals.put(record(403, '198.51.100.7'));
    signals.put(record(403, '2001:db8:0:1::9', '403'));
    await signals.flush();
    // Assess
    const window = signalWindowStart(at, 1);
    expect(published()).toEqual([
      {
        schemaVersion: '1', eventId: accountEventIds.ofAuthFailures('2001:0db8:0000:0001::/64', window), kind: 'auth-failures', tenantId: 'anonymous',
        occurredAt: new Date(window * 60_000).toISOString(), data: { sourceIp: '2001:0db8:0000:0001::/64', count: 4, windowMinutes: 1 },
      },
    ]);
    signals.close();
  });
});
