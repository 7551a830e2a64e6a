import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LOCK_POLL_MS, acquireFileLock } from '../../../local/lake/file-lock';

/** Above Linux's largest pid (2^22), so no process has it. */
const GONE_PID = 2 ** 22 + 12345;

const busy = (holder: string) => new Error(`busy: ${holder}`);

/** The holder a lock file names. */
const holderOf = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { pid: number; since: string };

/** Lets real I/O run (fake timers leave setImmediate real) until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  for (let turn = 0; !condition(); turn++) {
    if (turn > 100_000) throw new Error('The condition never held.');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Waits until a waiting acquirer sleeps between two looks at the lock, then lets that sleep end. */
async function nextPoll(): Promise<void> {
  await until(() => jest.getTimerCount() === 1);
  jest.advanceTimersByTime(LOCK_POLL_MS);
}

describe('acquireFileLock: one holder at a time, across processes', () => {
  let file: string;

  beforeEach(() => {
    file = path.join(mkdtempSync(path.join(tmpdir(), 'file-lock-')), 'state', 'work.lock');
  });

  afterEach(() => {
    jest.useRealTimers();
    rmSync(path.dirname(path.dirname(file)), { recursive: true, force: true });
  });

  it('creates the lock file (and its folder) naming this process, and removes it on release', async () => {
    const release = await acquireFileLock(file, 0, busy);
    expect(holderOf(file).pid).toBe(process.pid);
    await release();
    expect(existsSync(file)).toBe(false);
  });

  it('refuses a second holder at once when it may not wait, naming the live holder and since when', async () => {
    const release = await acquireFileLock(file, 0, busy);
    const { since } = holderOf(file);
    await expect(acquireFileLock(file, 0, busy)).rejects.toThrow(`busy: pid ${process.pid}, since ${since}`);
    expect(holderOf(file)).toEqual({ pid: process.pid, since });
    await release();
  });

  it('names the holder "starting" while its lock file holds no pid yet', async () => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, '');
    await expect(acquireFileLock(file, 0, busy)).rejects.toThrow('busy: starting');
  });

  it('takes over the lock of a process that is gone', async () => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ pid: GONE_PID, since: '2026-01-01T00:00:00Z' }));
    const release = await acquireFileLock(file, 0, busy);
    expect(holderOf(file).pid).toBe(process.pid);
    await release();
  });

  it('waits for a live holder, looking again every poll interval, and takes the lock once it is released', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const releaseFirst = await acquireFileLock(file, 10 * LOCK_POLL_MS, busy);
    let acquired = false;
    const second = acquireFileLock(file, 10 * LOCK_POLL_MS, busy).then((release) => {
      acquired = true;
      return release;
    });
    await nextPoll();
    await nextPoll();
    expect(acquired).toBe(false);
    await releaseFirst();
    await nextPoll();
    const releaseSecond = await second;
    expect(acquired).toBe(true);
    expect(holderOf(file).pid).toBe(process.pid);
    await releaseSecond();
  });

  it('gives up when a live holder keeps the lock for the whole wait', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const polls = 3;
    await acquireFileLock(file, 0, busy);
    let outcome: string | undefined;
    const second = acquireFileLock(file, polls * LOCK_POLL_MS, busy).then(
      () => (outcome = 'acquired'),
      (error: unknown) => (outcome = (error as Error).message),
    );
    for (let poll = 0; poll < polls; poll++) {
      expect(outcome).toBeUndefined();
      await nextPoll();
    }
    await second;
    expect(outcome).toMatch(/^busy: pid \d+, since /);
  });
});
