import { processAlive } from '../../sdk/process-alive';
import { hasEnded, processEnvironmentHas, processName, processStat } from './process-table';

/**
 * A stack stops when what started it has gone. `npm start` runs `sh -c "node …"`: npm → sh → node.
 * A SIGTERM to npm ends npm and sh but never reaches node, and a SIGKILL to npm leaves sh waiting on
 * node; either way nobody would stop it, and it would hold its ports and its data directory. So the
 * stack watches its parent and, when npm ran it (its environment has npm's `npm_lifecycle_event`),
 * each process above up to npm itself: the first whose own environment lacks that variable.
 * A process started some other way (`node bin/usage-tracker.js local`, a supervisor) watches its parent only.
 */

/** A process the stack watches: its pid and, where known, its start time (a later process given the same pid is not it). */
export interface WatchedProcess {
  readonly pid: number;
  readonly startTicks?: string;
  readonly name?: string;
}

/** Never more than this many processes above (nested npm scripts). */
const MAX_DEPTH = 6;

/** The processes whose end stops this one: the parent, then up to npm when npm ran it. */
export function launcherProcesses(env: NodeJS.ProcessEnv = process.env): WatchedProcess[] {
  const chain: WatchedProcess[] = [];
  let pid = process.ppid;
  for (let depth = 0; depth < MAX_DEPTH && pid > 1; depth++) {
    const stat = processStat(pid);
    chain.push({ pid, startTicks: stat?.startTicks, name: processName(pid) });
    if (env.npm_lifecycle_event === undefined || stat === undefined || !processEnvironmentHas(pid, 'npm_lifecycle_event')) break;
    pid = stat.ppid;
  }
  return chain;
}

/** Whether a watched process still runs: the same process (start time), not ended; `kill(pid, 0)` where there is no `/proc`. */
function stillRuns(watched: WatchedProcess): boolean {
  if (watched.startTicks === undefined) return processAlive(watched.pid);
  const stat = processStat(watched.pid);
  return !hasEnded(stat) && stat?.startTicks === watched.startTicks;
}

export interface ParentWatchOptions {
  /**
   * How often to look: one look reads a few small `/proc` files.
   * @default 1000
   */
  readonly intervalMs?: number;
  /** @default launcherProcesses() */
  readonly watched?: readonly WatchedProcess[];
}

/**
 * Calls `onGone` (once) with a description of what has gone when the parent has (this process was
 * reparented) or any watched process has ended. Its timer never keeps the process alive. Returns how to stop watching.
 */
export function watchLauncher(onGone: (description: string) => void, options: ParentWatchOptions = {}): () => void {
  const watched = options.watched ?? launcherProcesses();
  const parent = watched.at(0)?.pid ?? process.ppid;
  const timer = setInterval(() => {
    const gone = process.ppid !== parent ? watched.at(0) ?? { pid: parent } : watched.find((p) => !stillRuns(p));
    if (gone === undefined) return;
    clearInterval(timer);
    onGone(`the process that started this one has ended (pid ${gone.pid}${gone.name === undefined ? '' : `, ${gone.name}`})`);
  }, options.intervalMs ?? 1000);
  timer.unref();
  return () => { clearInterval(timer); };
}
