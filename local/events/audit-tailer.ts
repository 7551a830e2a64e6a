import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { AccountEventDetail, accountEventDetailSchema } from '../../contracts/account-events';
import { AUDIT_PARTITION_PREFIX } from '../../contracts/metered-api';
import { AccountEventPublishError, AccountEventSink } from '../../lambdas/account-events/account-event-publisher';
import { accountEventOfAudit, auditEntryOfItem } from '../../lambdas/account-events/audit-account-events';
import type { AppendedAuditEntry } from '../../lambdas/admin/audit-log';

export interface AuditTailerOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly sink: AccountEventSink;
  /** Where the cursor and the ids published lately are kept across restarts (JSON, replaced by write-then-rename). */
  readonly stateFile: string;
  /** @default 250 */
  readonly pollIntervalMs?: number;
  /** How far before the cursor each poll reads again, for entries that commit after later ones. @default 10000 */
  readonly lookbackMs?: number;
  readonly clock?: () => number;
  /** Failed polls (a publish that failed, the table unreachable, an unreadable state file). @default console.error */
  readonly onError?: (error: unknown) => void;
}

/** What the state file holds. */
interface TailerState {
  /** The newest entry time (ISO) read so far: every entry up to it minus the lookback was published. */
  readonly cursor: string;
  /** Ids of the entries handled within the lookback, so that reading them again publishes nothing. */
  readonly handled: readonly string[];
}

/** The most entry ids kept: far more than a lookback window holds locally. */
const MAX_HANDLED_IDS = 10_000;
/** The longest wait between polls while they fail. */
const MAX_RETRY_INTERVAL_MS = 30_000;
/** The most months a poll reads (a state file left for longer resumes within the last year). */
const MAX_MONTHS = 13;

const monthOf = (epochMs: number) => new Date(epochMs).toISOString().slice(0, 7);
const entryTime = (id: string) => id.slice(0, id.indexOf('#') === -1 ? id.length : id.indexOf('#'));

/** The audit partitions (`AUDIT#YYYY-MM`) from the month of `fromMs` to the month of `toMs`, oldest first. */
export function auditMonths(fromMs: number, toMs: number): string[] {
  const months: string[] = [];
  const to = new Date(toMs);
  const first = new Date(Math.min(fromMs, toMs));
  for (let i = 0; i < MAX_MONTHS; i++) {
    const month = monthOf(Date.UTC(to.getUTCFullYear(), to.getUTCMonth() - i, 1));
    months.unshift(`${AUDIT_PARTITION_PREFIX}${month}`);
    if (month <= monthOf(first.getTime())) break;
  }
  return months;
}

/**
 * The local stand-in for the audit table's DynamoDB stream (dynalite has no streams): polls the
 * audit partitions for entries after its cursor minus a lookback (an entry stamped earlier may
 * commit after a later one), maps each to its account event as the stream function does
 * (lambdas/account-events/audit-account-events.ts), publishes those it has not handled yet, then
 * moves the cursor and keeps it, with the ids handled within the lookback, in its state file. A
 * restart therefore neither misses entries nor publishes them again; a failed publish leaves the
 * cursor where it was and is retried at the next poll, with the same event ids. Without a state
 * file it starts at its start time minus the lookback.
 */
export class AuditTailer {
  private readonly documents: DynamoDBDocumentClient;
  private readonly clock: () => number;
  private readonly lookbackMs: number;
  private readonly startedAt: number;
  private state?: { cursor: string; handled: Map<string, true> };
  private queue: Promise<unknown> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: AuditTailerOptions) {
    this.documents = DynamoDBDocumentClient.from(options.client);
    this.clock = options.clock ?? Date.now;
    this.lookbackMs = options.lookbackMs ?? 10_000;
    this.startedAt = this.clock();
  }

  /**
   * Polls every `pollIntervalMs` until {@link close}; failures go to `onError`, and while polls keep
   * failing the interval doubles, up to {@link MAX_RETRY_INTERVAL_MS} (a bus that is down is not
   * hammered, nor the log flooded).
   */
  public start(): void {
    if (this.timer || this.closed) return;
    const interval = this.options.pollIntervalMs ?? 250;
    let failures = 0;
    const tick = (): void => {
      this.pollOnce()
        .then(() => { failures = 0; })
        .catch((error: unknown) => {
          failures++;
          (this.options.onError ?? console.error)(error);
        })
        .finally(() => {
          if (!this.closed) this.timer = setTimeout(tick, Math.min(interval * 2 ** failures, Math.max(interval, MAX_RETRY_INTERVAL_MS))).unref();
        });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  /** One poll (after any in flight): the number of events published. Rejects if the publish or the table failed; the cursor stays. */
  public pollOnce(): Promise<number> {
    const poll = this.queue.then(() => this.poll());
    this.queue = poll.catch(() => undefined);
    return poll;
  }

  /** Stops polling, and waits for a poll in flight. */
  public async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.queue;
  }

  private async poll(): Promise<number> {
    const state = await this.loadedState();
    const now = this.clock();
    const from = new Date(Date.parse(state.cursor) - this.lookbackMs).toISOString();
    const entries = (await this.entriesAfter(from, now)).filter((entry) => !state.handled.has(entry.id));
    if (entries.length === 0) return 0;
    const events = this.eventsOf(entries);
    try {
      if (events.length > 0) await this.options.sink.publish(events.map(({ event }) => event));
    } catch (error) {
      // Events the publisher did deliver need not go again; the cursor stays, so the rest are read again.
      if (error instanceof AccountEventPublishError) this.markDelivered(entries, events, new Set(error.undelivered.map(({ eventId }) => eventId)));
      await this.save();
      throw error;
    }
    for (const entry of entries) state.handled.set(entry.id, true);
    // Ids are `<ISO time>#<random>` (AuditLog); one that is not would leave the cursor where it is.
    const times = entries.map((entry) => entryTime(entry.id)).filter((time) => !Number.isNaN(Date.parse(time)));
    const newest = times.reduce((latest, time) => (time > latest ? time : latest), state.cursor);
    state.cursor = newest;
    this.prune(new Date(Date.parse(newest) - this.lookbackMs).toISOString());
    await this.save();
    return events.length;
  }

  /** The mapped events of entries, each valid by the contract; entries that raise none (or whose event the contract refuses) are handled by skipping them. */
  private eventsOf(entries: readonly AppendedAuditEntry[]): { id: string; event: AccountEventDetail }[] {
    const events: { id: string; event: AccountEventDetail }[] = [];
    for (const entry of entries) {
      const event = accountEventOfAudit(entry);
      if (!event) continue;
      if (!accountEventDetailSchema.safeParse(event).success) {
        (this.options.onError ?? console.error)(new Error(`Audit entry ${entry.id} (${entry.action}) makes an account event the contract refuses; skipped.`));
        continue;
      }
      events.push({ id: entry.id, event });
    }
    return events;
  }

  private markDelivered(entries: readonly AppendedAuditEntry[], events: readonly { id: string; event: AccountEventDetail }[], undelivered: ReadonlySet<string>): void {
    const handled = this.state?.handled;
    if (!handled) return;
    const eventIds = new Map(events.map(({ id, event }) => [id, event.eventId]));
    for (const entry of entries) {
      const eventId = eventIds.get(entry.id);
      if (eventId === undefined || !undelivered.has(eventId)) handled.set(entry.id, true);
    }
  }

  /** Entries with `sk` after `from`, oldest first, over every month from `from`'s to now's. */
  private async entriesAfter(from: string, now: number): Promise<AppendedAuditEntry[]> {
    const entries: AppendedAuditEntry[] = [];
    for (const pk of auditMonths(Date.parse(from), now)) {
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await this.documents.send(new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: 'pk = :pk AND sk > :from',
          ExpressionAttributeValues: { ':pk': pk, ':from': from },
          ConsistentRead: true,
          ExclusiveStartKey: startKey,
        }));
        for (const item of page.Items ?? []) {
          const entry = auditEntryOfItem(item);
          if (entry) entries.push(entry);
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    }
    return entries;
  }

  /** Forgets ids older than the window the next poll reads, and beyond the bound. */
  private prune(from: string): void {
    const handled = this.state?.handled;
    if (!handled) return;
    for (const id of handled.keys()) if (entryTime(id) <= from) handled.delete(id);
    for (const id of handled.keys()) {
      if (handled.size <= MAX_HANDLED_IDS) break;
      handled.delete(id);
    }
  }

  private async loadedState(): Promise<{ cursor: string; handled: Map<string, true> }> {
    if (this.state) return this.state;
    const fresh = { cursor: new Date(this.startedAt).toISOString(), handled: new Map<string, true>() };
    let text: string;
    try {
      text = await readFile(this.options.stateFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') (this.options.onError ?? console.error)(error);
      // Kept at once: a restart resumes from this start even if nothing was published meanwhile.
      this.state = fresh;
      await this.save();
      return fresh;
    }
    const parsed = parseState(text);
    if (!parsed) {
      (this.options.onError ?? console.error)(new Error(`The audit tailer's state file ${this.options.stateFile} is not readable; starting at the start time minus the lookback.`));
      return (this.state = fresh);
    }
    return (this.state = { cursor: parsed.cursor, handled: new Map(parsed.handled.map((id) => [id, true])) });
  }

  private async save(): Promise<void> {
    if (!this.state) return;
    const state: TailerState = { cursor: this.state.cursor, handled: [...this.state.handled.keys()] };
    await mkdir(path.dirname(this.options.stateFile), { recursive: true });
    const temporary = `${this.options.stateFile}.${String(process.pid)}.tmp`;
    await writeFile(temporary, `${JSON.stringify(state)}\n`, { mode: 0o600 });
    await rename(temporary, this.options.stateFile);
  }
}

/** A state file's content, if it is one. */
function parseState(text: string): TailerState | undefined {
  try {
    const value = JSON.parse(text) as Partial<TailerState>;
    if (typeof value.cursor !== 'string' || Number.isNaN(Date.parse(value.cursor)) || !Array.isArray(value.handled)) return undefined;
    return { cursor: value.cursor, handled: value.handled.filter((id): id is string => typeof id === 'string') };
  } catch {
    return undefined;
  }
}
