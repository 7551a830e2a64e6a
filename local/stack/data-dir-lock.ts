import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import * as path from 'node:path';
import { processAlive } from '../../sdk/process-alive';
import { hasEnded, processStat } from './process-table';

/**
 * One data directory, one stack: the stack's lock file (`state/stack.lock`), created with all its
 * content at once and holding the stack's pid, its start time and host. A second stack on the same
 * directory is refused, naming the directory and the holder, before anything opens it (dynalite
 * would otherwise die on the tables the first one holds). A lock whose process is gone (a crash,
 * a SIGKILL) or whose pid now belongs to another process is taken over.
 *
 * Only the stack takes it: the CLI's `etl --local` and `status --local` work beside a running
 * stack under the lake's own compaction lock (`lake/file-lock.ts`).
 */

/** What the lock file holds. */
export interface StackLockHolder {
  readonly pid: number;
  /** When the holder took the lock (ISO 8601). */
  readonly since: string;
  /** The holder's start time in clock ticks since boot (Linux); absent where the OS does not say. */
  readonly startTicks?: string;
  readonly host: string;
}

/** Gives the lock back (only if this process still holds it); safe to call more than once. */
export type ReleaseStackLock = () => Promise<void>;

export class DataDirInUseError extends Error {
  constructor(
    public readonly dataDir: string,
    public readonly holder: StackLockHolder,
  ) {
    const where = holder.host === hostname() ? `pid ${holder.pid}` : `pid ${holder.pid} on host ${holder.host}`;
    super(
      `the data directory ${dataDir} is in use by another local stack (${where}, running since ${holder.since}). ` +
        `Stop that one first (Ctrl-C in its terminal, or kill ${holder.pid}), or start this one with another --data-dir.`,
    );
    this.name = 'DataDirInUseError';
  }
}

/** How many times a start looks again after a lock vanished or was taken over under it. */
const ATTEMPTS = 5;

/** This process as a lock holder. */
function thisProcess(): StackLockHolder {
  return { pid: process.pid, since: new Date().toISOString(), startTicks: processStat(process.pid)?.startTicks, host: hostname() };
}

/**
 * Whether the holder still runs: on another host nobody can tell (held); on this one, its pid must
 * be alive and, where the start time is known, be the same process rather than a later one given that pid.
 */
export function holderRuns(holder: StackLockHolder): boolean {
  if (holder.host !== hostname()) return true;
  if (!processAlive(holder.pid)) return false;
  if (holder.startTicks === undefined) return true;
  const stat = processStat(holder.pid);
  if (stat === undefined) return true; // no /proc: the pid is alive, which is all there is to know
  return !hasEnded(stat) && stat.startTicks === holder.startTicks;
}

/** Takes the stack's lock on `dataDir`; throws DataDirInUseError while another stack runs on it. */
export async function acquireStackLock(dataDir: string, lockFile: string): Promise<ReleaseStackLock> {
  await fs.mkdir(path.dirname(lockFile), { recursive: true, mode: 0o700 });
  const mine = JSON.stringify(thisProcess());
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (await createWithContent(lockFile, mine)) return releaseIfMine(lockFile, mine);
    const held = await readText(lockFile);
    if (held === undefined) continue; // given back meanwhile
    const holder = parseHolder(held);
    if (holder && holderRuns(holder)) throw new DataDirInUseError(dataDir, holder);
    await takeOverStale(lockFile, held);
  }
  throw new Error(`could not take the lock ${lockFile}: other starts keep taking it. Try again.`);
}

/**
 * Creates the lock file with its whole content, or returns false when it exists: written under a
 * name of its own, then hard-linked into place (which fails if the name exists), so that nobody ever
 * reads a half-written lock. Where hard links are not supported, an O_EXCL create does the same.
 */
async function createWithContent(lockFile: string, text: string): Promise<boolean> {
  const temporary = `${lockFile}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(temporary, text, { mode: 0o600 });
  try {
    await fs.link(temporary, lockFile);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw error;
    return await createExclusive(lockFile, text);
  } finally {
    await fs.unlink(temporary).catch(() => undefined);
  }
}

async function createExclusive(lockFile: string, text: string): Promise<boolean> {
  try {
    await fs.writeFile(lockFile, text, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** The holder a lock file names; undefined when it is not a lock this code wrote (it is then taken over as stale). */
function parseHolder(text: string): StackLockHolder | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<StackLockHolder>;
    if (typeof parsed.pid !== 'number' || !Number.isInteger(parsed.pid) || parsed.pid <= 0) return undefined;
    return { pid: parsed.pid, since: String(parsed.since), startTicks: typeof parsed.startTicks === 'string' ? parsed.startTicks : undefined, host: typeof parsed.host === 'string' ? parsed.host : hostname() };
  } catch {
    return undefined;
  }
}

/**
 * Removes a stale lock, and only that one: it is first renamed aside (one process wins a rename),
 * then compared with what was judged stale; a lock another start took meanwhile is put back.
 */
async function takeOverStale(lockFile: string, staleText: string): Promise<void> {
  const aside = `${lockFile}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await fs.rename(lockFile, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another start moved it first
    throw error;
  }
  try {
    if ((await readText(aside)) !== staleText) await fs.link(aside, lockFile).catch(() => undefined);
  } finally {
    await fs.unlink(aside).catch(() => undefined);
  }
}

function releaseIfMine(lockFile: string, mine: string): ReleaseStackLock {
  return async () => {
    if ((await readText(lockFile).catch(() => undefined)) === mine) await fs.unlink(lockFile).catch(() => undefined);
  };
}
