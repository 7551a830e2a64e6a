import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AccountEventDetail, AccountSignals, SignalThreshold, accountEventIds, resolveAccountSignals, signalWindowStart } from '../../contracts/account-events';
import { LAMBDA_ENV } from '../../contracts/lambda-environment';
import { RESERVED_TENANT_IDS } from '../../contracts/tenants';
import { publisherTransport } from '../../sdk/put-events-transport';
import { AccountEventPublisher, AccountEventSink } from './account-event-publisher';
import { SignalCounters, SignalKind } from './signal-counters';

/** What a forwarder needs to count signals and raise their events (both forwarders, in AWS and locally). */
export interface AccountEventSignals {
  /** Where raised events go: the usage bus. */
  readonly sink: AccountEventSink;
  readonly counters: SignalCounters;
  /** The thresholds (`resolveAccountSignals` of the `ACCOUNT_SIGNALS_JSON` environment). */
  readonly signals: AccountSignals;
}

interface TallyEntry {
  readonly kind: SignalKind;
  readonly subject: string;
  readonly windowStart: number;
  count: number;
}

/**
 * A batch's signals, counted in memory per kind, subject and window, so that a delivery makes one
 * counter update per subject and window however many of its log events are 429s or refusals.
 */
export class SignalTally {
  private readonly entries = new Map<string, TallyEntry>();

  constructor(private readonly signals: AccountSignals) {}

  /** Counts one signal of `kind` for `subject` (a tenant id, or a source key) at `epochMs`. */
  public count(kind: SignalKind, subject: string, epochMs: number): void {
    const windowStart = signalWindowStart(Number.isFinite(epochMs) ? epochMs : Date.now(), thresholdOf(this.signals, kind).minutes);
    const key = `${kind}#${subject}#${String(windowStart)}`;
    const entry = this.entries.get(key);
    if (entry) entry.count++;
    else this.entries.set(key, { kind, subject, windowStart, count: 1 });
  }

  public get size(): number {
    return this.entries.size;
  }

  /** Another tally with the same counts (for a delivery retried with its own counts). */
  public copy(): SignalTally {
    const copy = new SignalTally(this.signals);
    for (const [key, entry] of this.entries) copy.entries.set(key, { ...entry });
    return copy;
  }

  /** The counts gathered, and an empty tally. */
  public drain(): TallyEntry[] {
    const entries = [...this.entries.values()];
    this.entries.clear();
    return entries;
  }
}

function thresholdOf(signals: AccountSignals, kind: SignalKind): SignalThreshold {
  return kind === 'rate-limit-spike' ? signals.rateLimitSpike : signals.authFailures;
}

/**
 * The event of a window whose count went over its threshold: a rate-limit spike names the tenant;
 * failed authentications name no tenant (`anonymous`) and carry the source (an IPv4 address or an
 * IPv6 /64, as the source IP guard keys it). The id is the window's, the same on every raise.
 */
export function signalEvent(kind: SignalKind, subject: string, windowStart: number, count: number, threshold: SignalThreshold): AccountEventDetail {
  const common = { schemaVersion: '1', occurredAt: new Date(windowStart * 60_000).toISOString() } as const;
  if (kind === 'rate-limit-spike') {
    return { ...common, eventId: accountEventIds.ofSpike(subject, windowStart), kind, tenantId: subject, data: { count, windowMinutes: threshold.minutes } };
  }
  const data = { sourceIp: subject, count, windowMinutes: threshold.minutes };
  return { ...common, eventId: accountEventIds.ofAuthFailures(subject, windowStart), kind, tenantId: RESERVED_TENANT_IDS.anonymous, data };
}

/**
 * Adds a batch's counts to the counters (one UpdateItem per subject and window) and raises the
 * event of every window that is over its threshold and not yet raised: claimed by one writer,
 * published, then marked. Throws when the publish fails (after giving the claims up), so that the
 * delivery is retried: its counts are then added again (over, never under) and the same event ids
 * raised. Returns the events it put on the bus.
 */
export async function raiseSignals(tally: SignalTally, signals: AccountEventSignals): Promise<AccountEventDetail[]> {
  const entries = tally.drain();
  const due = await Promise.all(
    entries.map(async (entry) => {
      const threshold = thresholdOf(signals.signals, entry.kind);
      const counted = await signals.counters.add(entry.kind, entry.subject, entry.windowStart, entry.count, threshold);
      if (!counted.mustRaise || !(await signals.counters.claim(entry.kind, entry.subject, entry.windowStart))) return undefined;
      return { entry, event: signalEvent(entry.kind, entry.subject, entry.windowStart, counted.count, threshold) };
    }),
  );
  const raising = due.filter((item) => item !== undefined);
  if (raising.length === 0) return [];
  try {
    await signals.sink.publish(raising.map(({ event }) => event));
  } catch (error) {
    await Promise.all(raising.map(({ entry }) => signals.counters.release(entry.kind, entry.subject, entry.windowStart)));
    throw error;
  }
  await Promise.all(raising.map(({ entry }) => signals.counters.markRaised(entry.kind, entry.subject, entry.windowStart)));
  return raising.map(({ event }) => event);
}

/**
 * The forwarders' account events from their environment: PutEvents to the usage bus
 * (`USAGE_EVENT_BUS_NAME`, signed with the function's own credentials, on its event loop), the
 * counters in the limiter table (`LIMITER_TABLE`) and the thresholds (`ACCOUNT_SIGNALS_JSON`,
 * defaults when unset). Throws naming what is missing, so that a forwarder never half-counts.
 */
export function accountEventSignalsFromEnvironment(env: NodeJS.ProcessEnv = process.env): AccountEventSignals {
  const eventBusName = env[LAMBDA_ENV.usageEventBusName];
  const tableName = env[LAMBDA_ENV.tables.limiter];
  if (!eventBusName || !tableName) throw new Error(`${LAMBDA_ENV.usageEventBusName} and ${LAMBDA_ENV.tables.limiter} must be set: the forwarder raises account events from counters in the limiter table.`);
  return {
    sink: new AccountEventPublisher({ transport: publisherTransport(undefined, 'event-loop', 2), eventBusName }),
    counters: new SignalCounters({ client: new DynamoDBClient({}), tableName }),
    signals: resolveAccountSignals(env[LAMBDA_ENV.accountSignals]),
  };
}
