import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { AccountEventDetail, AccountSignals, accountEventDetailSchema, accountEventIds, signalWindowStart } from '../../contracts/account-events';
import type { AccountEventSink } from '../../lambdas/account-events/account-event-publisher';
import { SIGNAL_CLAIM_MS, SignalCounters, signalItemKey } from '../../lambdas/account-events/signal-counters';
import { SignalTally, raiseSignals, signalEvent } from '../../lambdas/account-events/signal-detector';
import { anotherClientOf, startDynalite } from '../support/dynalite';

const SIGNALS: AccountSignals = { rateLimitSpike: { count: 10, minutes: 5 }, authFailures: { count: 4, minutes: 5 } };
const AT = Date.parse('2026-11-30T10:02:30Z');

/** A sink that keeps what it is given, and fails its next `failures` publishes. */
function keepingSink(): AccountEventSink & { readonly events: AccountEventDetail[]; failures: number; calls: number } {
  const sink = {
    events: [] as AccountEventDetail[],
    failures: 0,
    calls: 0,
    publish: (events: readonly AccountEventDetail[]) => {
      sink.calls++;
      if (sink.failures > 0) {
        sink.failures--;
        return Promise.reject(new Error('the bus is unreachable'));
      }
      sink.events.push(...events);
      return Promise.resolve();
    },
  };
  return sink;
}

/** Issue 16: signal counters in the limiter table (dynalite), and the raise of their events. */
describe('SignalCounters and raiseSignals (dynalite)', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let now = AT;
  const counters = (client = dynamo.client) => new SignalCounters({ client, tableName: dynamo.tables.limiter, clock: () => now });
  const stored = async (key: string) =>
    (await dynamo.client.send(new GetItemCommand({ TableName: dynamo.tables.limiter, Key: { pk: { S: key } }, ConsistentRead: true }))).Item ?? {};
  const tallyOf = (kind: 'rate-limit-spike' | 'auth-failures', subject: string, n: number, at = AT) => {
    const tally = new SignalTally(SIGNALS);
    for (let i = 0; i < n; i++) tally.count(kind, subject, at);
    return tally;
  };

  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(() => dynamo.stop());
  beforeEach(() => {
    now = AT;
  });

  it('counts with one UpdateItem ADD per subject and window, with the TTL a few windows on (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html)', async () => {
    // Prepare
    const window = signalWindowStart(AT, 5);
    // Act
    const first = await counters().add('rate-limit-spike', 'ttl-tenant', window, 3, SIGNALS.rateLimitSpike);
    const second = await counters().add('rate-limit-spike', 'ttl-tenant', window, 4, SIGNALS.rateLimitSpike);
    // Assess
    expect([first.count, second.count]).toEqual([3, 7]);
    expect([first.mustRaise, second.mustRaise, second.crossed]).toEqual([false, false, false]);
    const item = await stored(signalItemKey('rate-limit-spike', 'ttl-tenant', window));
    expect(item.pk.S).toBe(`SIGNAL#rate-limit-spike#ttl-tenant#${String(window)}`);
    expect(item.signalCount.N).toBe('7');
    expect(Number(item.expiresAt.N)).toBe((window + 4 * 5) * 60);
    expect(item.raisedAt).toBeUndefined();
  });

  it('raises exactly one event when 8 clients add concurrently across the threshold, and marks it raised', async () => {
    // Prepare: 8 clients of the same dynalite, each adding 2 at once: 16 > 10.
    const clients = await Promise.all(Array.from({ length: 8 }, () => anotherClientOf(dynamo.client)));
    const sink = keepingSink();
    // Act
    const raised = await Promise.all(clients.map((client) => raiseSignals(tallyOf('rate-limit-spike', 'concurrent', 2), { sink, counters: counters(client), signals: SIGNALS })));
    // Assess
    const window = signalWindowStart(AT, 5);
    expect(raised.flat().map((event) => event.eventId)).toEqual([accountEventIds.ofSpike('concurrent', window)]);
    expect(sink.calls).toBe(1);
    expect(sink.events).toHaveLength(1);
    expect(accountEventDetailSchema.parse(sink.events[0])).toMatchObject({ kind: 'rate-limit-spike', tenantId: 'concurrent', data: { windowMinutes: 5 } });
    expect(sink.events[0].data.count).toBeGreaterThan(10);
    const item = await stored(signalItemKey('rate-limit-spike', 'concurrent', window));
    expect(item.signalCount.N).toBe('16');
    expect(item.raisedAt.N).toBe(String(AT));
    // A later add in the same window raises nothing more.
    await expect(raiseSignals(tallyOf('rate-limit-spike', 'concurrent', 5), { sink, counters: counters(), signals: SIGNALS })).resolves.toEqual([]);
    await expect(counters().add('rate-limit-spike', 'concurrent', window, 1, SIGNALS.rateLimitSpike)).resolves.toEqual({ count: 22, crossed: false, raised: true, mustRaise: false });
    expect(sink.events).toHaveLength(1);
    clients.forEach((client) => { client.destroy(); });
  });

  it('throws when the publish fails, and the retried batch raises the same event id (its counts added again: over, never under)', async () => {
    // Prepare
    const sink = keepingSink();
    sink.failures = 1;
    const batch = tallyOf('auth-failures', '203.0.113.9', 5);
    // Act
    await expect(raiseSignals(batch.copy(), { sink, counters: counters(), signals: SIGNALS })).rejects.toThrow(/unreachable/);
    const retried = await raiseSignals(batch.copy(), { sink, counters: counters(), signals: SIGNALS });
    // Assess
    const window = signalWindowStart(AT, 5);
    expect(retried.map((event) => event.eventId)).toEqual([accountEventIds.ofAuthFailures('203.0.113.9', window)]);
    expect(sink.events).toEqual([
      { schemaVersion: '1', eventId: `auth-failures.203.0.113.9.${String(window)}`, kind: 'auth-failures', tenantId: 'anonymous', occurredAt: new Date(window * 60_000).toISOString(), data: { sourceIp: '203.0.113.9', count: 10, windowMinutes: 5 } },
    ]);
    expect((await stored(signalItemKey('auth-failures', '203.0.113.9', window))).signalCount.N).toBe('10');
  });

  it('lets a claim lapse: a forwarder that stopped between claim and publish does not block the raise past the claim', async () => {
    // Prepare: one add over the threshold whose claim is taken and never published nor released.
    const window = signalWindowStart(AT, 5);
    const store = counters();
    await store.add('rate-limit-spike', 'stopped', window, 11, SIGNALS.rateLimitSpike);
    expect(await store.claim('rate-limit-spike', 'stopped', window)).toBe(true);
    const sink = keepingSink();
    // Act: within the claim nothing is raised; after it, the next batch raises.
    const during = await raiseSignals(tallyOf('rate-limit-spike', 'stopped', 1), { sink, counters: store, signals: SIGNALS });
    now += SIGNAL_CLAIM_MS + 1;
    const after = await raiseSignals(tallyOf('rate-limit-spike', 'stopped', 1), { sink, counters: store, signals: SIGNALS });
    // Assess
    expect(during).toEqual([]);
    expect(after.map((event) => event.data.count)).toEqual([13]);
  });

  it('counts windows apart: the same subject in the next window starts again', async () => {
    const sink = keepingSink();
    const signals = { sink, counters: counters(), signals: SIGNALS };
    await raiseSignals(tallyOf('auth-failures', '2001:0db8:0000:0001::/64', 3, AT), signals);
    await raiseSignals(tallyOf('auth-failures', '2001:0db8:0000:0001::/64', 3, AT + 5 * 60_000), signals);
    expect(sink.events).toEqual([]);
    await raiseSignals(tallyOf('auth-failures', '2001:0db8:0000:0001::/64', 2, AT + 5 * 60_000), signals);
    expect(sink.events.map((event) => [event.eventId, event.data.count])).toEqual([[`auth-failures.2001:0db8:0000:0001::-64.${String(signalWindowStart(AT, 5) + 5)}`, 5]]);
    expect(() => accountEventDetailSchema.parse(sink.events[0])).not.toThrow();
  });

  it('builds events the contract accepts for both kinds', () => {
    for (const event of [signalEvent('rate-limit-spike', 'acme', 29_000_000, 51, SIGNALS.rateLimitSpike), signalEvent('auth-failures', '198.51.100.7', 29_000_000, 21, SIGNALS.authFailures)]) {
      expect(accountEventDetailSchema.safeParse(event).success).toBe(true);
    }
  });
});
