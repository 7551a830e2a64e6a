import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { processAlive } from '../../sdk/process-alive';

/**
 * An exclusive lock file between processes on one machine: created with O_EXCL, holding the
 * owner's pid. A lock whose process is gone (a crash) is taken over.
 */

/** What a lock file holds. */
interface LockHolder {
  readonly pid?: number;
  readonly since?: string;
}

/** Gives the lock back. */
export type ReleaseLock = () => Promise<void>;

/** How often a waiting process looks at the lock again. */
export const LOCK_POLL_MS = 200;

/**
 * Takes the lock file, waiting up to `waitMs` for a live holder to give it back. When the time is
 * up, throws the error `busy` makes of the holder's description (`pid …, since …`, or `starting`
 * while the holder is still writing the file).
 */
export async function acquireFileLock(file: string, waitMs: number, busy: (holder: string) => Error): Promise<ReleaseLock> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
    if (await createLockFile(file)) return () => removeLockFile(file);
    const holder = await readHolder(file);
    if (holder.pid !== undefined && !processAlive(holder.pid)) {
      await removeLockFile(file);
      continue;
    }
    if (Date.now() >= deadline) throw busy(describeHolder(holder));
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

/** Creates the lock file with this process as its holder; false when it exists already. */
async function createLockFile(file: string): Promise<boolean> {
  try {
    await fs.writeFile(file, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }), { flag: 'wx', mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  }
}

/** The holder a lock file names; nobody while it is being written or removed (look again). */
async function readHolder(file: string): Promise<LockHolder> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as LockHolder;
  } catch {
    return {};
  }
}

async function removeLockFile(file: string): Promise<void> {
  await fs.unlink(file).catch(() => undefined);
}

function describeHolder(holder: LockHolder): string {
  return holder.pid ? `pid ${holder.pid}, since ${String(holder.since)}` : 'starting';
}
