import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { InvalidAccountEventError, NotificationInProgressError, NotifyResult } from '../../lambdas/notifications/notifier';
import type { EventTarget } from '../events/local-event-bus';

/** What the target runs for each event: the Notifier's `notify(detail)`. */
export interface NotifierLike {
  notify(detail: unknown): Promise<NotifyResult>;
}

export interface LocalNotifierTargetOptions {
  /** The notifier, or its promise: the stack builds it once DynamoDB and the mail server are up; events received before wait for it. */
  readonly notifier: NotifierLike | Promise<NotifierLike>;
  /** Where events given up on are written, one JSON file each (see `notificationDeadLetters` in data-dir.ts). */
  readonly deadLetterDir: string;
  /**
   * Where each event waits, a file each, from `put` until it is settled, as a queue keeps a message
   * until its function succeeds: events a crash left there are delivered by the next `recover()`.
   * @default - in memory only: a crash loses what was not settled
   */
  readonly spoolDir?: string;
  /** Deliveries of one event, the first included, as the queue's `maxReceiveCount`. @default 4 */
  readonly maxAttempts?: number;
  /** The wait before the first retry, doubled for each next one. @default 250 */
  readonly baseDelayMs?: number;
  /** @default 5000 */
  readonly maxDelayMs?: number;
  /**
   * The notifier's lease: while another delivery holds the event's claim (`NotificationInProgressError`),
   * retries do not count as attempts until this long after the first. @default 120_000 (the notifier's default)
   */
  readonly leaseMs?: number;
  readonly log?: (line: string) => void;
  readonly clock?: () => number;
}

/** What the target did so far. */
export interface LocalNotifierStats {
  readonly received: number;
  /** By the notifier's outcome: sent, duplicate, cooldown, opted-out, no-recipient. */
  readonly outcomes: Readonly<Record<NotifyResult['outcome'], number>>;
  readonly retries: number;
  readonly deadLettered: number;
  /** Events not settled yet (being delivered or waiting for a retry). */
  readonly pending: number;
}

/** A dead-letter file's content. */
export interface NotificationDeadLetter {
  readonly failedAt: string;
  readonly attempts: number;
  readonly error: { readonly name: string; readonly message: string };
  /** The envelope as the bus delivered it (parsed), or its text when it was not JSON. */
  readonly envelope: unknown;
}

/** A sleep that `wake()` ends early (on close: the last attempt is made at once). */
class Sleeper {
  private readonly waiting = new Set<() => void>();

  public sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiting.add(done);
    });
  }

  public wake(): void {
    for (const done of [...this.waiting]) done();
  }
}

const errorOf = (error: unknown) => (error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) });

/** What the log says of an event: its kind, tenant and id, read loosely (the notifier validates it). */
function about(detail: unknown): string {
  const fields = typeof detail === 'object' && detail !== null ? (detail as Record<string, unknown>) : {};
  const text = (value: unknown) => (typeof value === 'string' ? value : '?');
  return `${text(fields.kind)} of tenant ${text(fields.tenantId)} (event ${text(fields.eventId)})`;
}

/**
 * The local twin of the notifier's queue and function: the account-events rule's target on the
 * local bus. `put` takes the matched envelopes and returns at once (PutEvents is never held up);
 * each event is then handed to `Notifier.notify(detail)` in the background. A failure is retried
 * with doubling waits, as the queue redelivers a message whose function failed (a
 * `NotificationInProgressError`, another delivery holding the claim, is retried without counting
 * until the lease has passed); an invalid event, or one still failing after `maxAttempts`, is
 * written to the dead-letter folder and logged. With a spool, each event is on disk from `put`
 * until it is settled, and `recover()` delivers what a crash left there (the notifier's claim keeps
 * one mail per event id); `close()` makes every waiting retry at once.
 */
export class LocalNotifierTarget implements EventTarget {
  private readonly tasks = new Set<Promise<void>>();
  private readonly sleeper = new Sleeper();
  private readonly maxAttempts: number;
  private readonly clock: () => number;
  private readonly log: (line: string) => void;
  private closed = false;
  private received = 0;
  private retries = 0;
  private deadLettered = 0;
  private spooled = 0;
  private readonly outcomes: Record<NotifyResult['outcome'], number> = { sent: 0, duplicate: 0, cooldown: 0, 'opted-out': 0, 'no-recipient': 0 };

  constructor(private readonly options: LocalNotifierTargetOptions) {
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.clock = options.clock ?? Date.now;
    this.log = options.log ?? (() => undefined);
    // A notifier that never comes (the mail server did not start) dead-letters every event; the rejection is handled there.
    Promise.resolve(options.notifier).catch(() => undefined);
  }

  /**
   * Takes the envelopes: each is written to the spool (when there is one) and then delivered in the
   * background, after this resolves. Refuses once closed (the bus counts the rule's failure).
   */
  public async put(records: readonly string[]): Promise<void> {
    if (this.closed) throw new Error('The local notifier is closed.');
    const files = await this.spool(records);
    records.forEach((record, index) => { this.enqueue(record, files[index]); });
  }

  /** Delivers what the spool holds from an earlier run (events taken but not settled when it ended); how many. */
  public async recover(): Promise<number> {
    const dir = this.options.spoolDir;
    if (dir === undefined) return 0;
    const names = (await fs.readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.json')).sort();
    for (const name of names) {
      const file = path.join(dir, name);
      this.enqueue(await fs.readFile(file, 'utf8'), file);
    }
    return names.length;
  }

  private enqueue(record: string, spooled: string | undefined): void {
    this.received++;
    const task = this.deliver(record)
      .catch((error: unknown) => { this.log(`notifications: ${errorOf(error).message}`); })
      .finally(() => (spooled === undefined ? undefined : fs.rm(spooled, { force: true }).catch(() => undefined)));
    this.tasks.add(task);
    void task.finally(() => this.tasks.delete(task));
  }

  /** Writes each record to a spool file of its own (names sort in arrival order); in memory only when that fails (logged). */
  private async spool(records: readonly string[]): Promise<(string | undefined)[]> {
    const dir = this.options.spoolDir;
    if (dir === undefined || records.length === 0) return [];
    const files = records.map(() => path.join(dir, `${String(this.clock()).padStart(15, '0')}-${String(++this.spooled).padStart(9, '0')}-${randomBytes(3).toString('hex')}.json`));
    try {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      await Promise.all(records.map((record, index) => fs.writeFile(files[index], record, { mode: 0o600, flag: 'wx' })));
      return files;
    } catch (error) {
      this.log(`notifications: events kept in memory only (the spool failed: ${errorOf(error).message})`);
      await Promise.all(files.map((file) => fs.rm(file, { force: true }).catch(() => undefined)));
      return [];
    }
  }

  /** Resolves once every event received so far is settled: notified, or dead-lettered (retries included). */
  public async flush(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
  }

  /** Takes no more events; retries still waiting are made at once; resolves when everything is settled. */
  public async close(): Promise<void> {
    this.closed = true;
    this.sleeper.wake();
    await this.flush();
  }

  public stats(): LocalNotifierStats {
    return { received: this.received, outcomes: { ...this.outcomes }, retries: this.retries, deadLettered: this.deadLettered, pending: this.tasks.size };
  }

  private async deliver(record: string): Promise<void> {
    let envelope: unknown;
    try {
      envelope = JSON.parse(record);
    } catch (error) {
      await this.deadLetter(record, 1, error);
      return;
    }
    const detail = typeof envelope === 'object' && envelope !== null ? (envelope as { detail?: unknown }).detail : undefined;
    const firstAt = this.clock();
    let attempts = 0;
    for (;;) {
      try {
        // Inside the try: a notifier that could not be built fails the attempt like any other error.
        const notifier = await this.options.notifier;
        const result = await notifier.notify(detail);
        this.outcomes[result.outcome]++;
        this.log(`mail: ${about(detail)}: ${result.outcome === 'sent' ? `sent to ${result.to.join(', ')}` : `not sent (${result.outcome})`}`);
        return;
      } catch (error) {
        const held = error instanceof NotificationInProgressError && this.clock() - firstAt < (this.options.leaseMs ?? 120_000);
        if (!held) attempts++;
        if (error instanceof InvalidAccountEventError || attempts >= this.maxAttempts || (this.closed && !held)) {
          await this.deadLetter(envelope, Math.max(attempts, 1), error);
          return;
        }
        if (this.closed && held) {
          // Closing while another delivery holds the claim: that one is in this process and settles by itself.
          this.log(`mail: ${about(detail)}: left to the delivery that holds it (stopping)`);
          return;
        }
        this.retries++;
        await this.sleeper.sleep(Math.min(this.options.maxDelayMs ?? 5000, (this.options.baseDelayMs ?? 250) * 2 ** Math.max(0, attempts - 1)));
      }
    }
  }

  private async deadLetter(envelope: unknown, attempts: number, error: unknown): Promise<void> {
    this.deadLettered++;
    const letter: NotificationDeadLetter = { failedAt: new Date(this.clock()).toISOString(), attempts, error: errorOf(error), envelope };
    const detail = typeof envelope === 'object' && envelope !== null ? (envelope as { detail?: unknown }).detail : undefined;
    const eventId = typeof detail === 'object' && detail !== null ? (detail as { eventId?: unknown }).eventId : undefined;
    const name = `${letter.failedAt.replace(/[:.]/g, '-')}-${typeof eventId === 'string' ? eventId.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 128) : 'unreadable'}-${randomBytes(3).toString('hex')}.json`;
    const file = path.join(this.options.deadLetterDir, name);
    try {
      await fs.mkdir(this.options.deadLetterDir, { recursive: true, mode: 0o700 });
      await fs.writeFile(file, `${JSON.stringify(letter, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
      this.log(`mail: ${about(detail)}: dead-lettered after ${attempts} attempt(s) (${letter.error.name}: ${letter.error.message}) -> ${file}`);
    } catch (writeError) {
      this.log(`mail: ${about(detail)}: given up after ${attempts} attempt(s) (${letter.error.message}), and not dead-lettered: ${errorOf(writeError).message}`);
    }
  }
}
