import { performance } from 'node:perf_hooks';

/**
 * What a stop signal (SIGINT, SIGTERM, SIGHUP) means: the first stops cleanly (the flush); one that
 * comes again, later, quits at once. One stop often arrives as several signals: Ctrl-C or a `kill`
 * of the process group reaches every process in it, and npm also forwards what it gets to its child
 * (the process itself, when the script shell execs it). Signals within `stormMs` of the first are
 * that same stop, never "again", so that one SIGTERM to a group does not skip the flush.
 */
export type StopSignalVerdict = 'stop' | 'same-stop' | 'quit';

/** Long enough for npm's forwarding on a busy machine, short enough that a deliberate second Ctrl-C is not lost. */
export const SIGNAL_STORM_MS = 1000;

export class StopSignalPolicy {
  private firstAt?: number;

  constructor(
    private readonly stormMs: number = SIGNAL_STORM_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** What the signal arriving now means. */
  public receive(): StopSignalVerdict {
    const at = this.now();
    if (this.firstAt === undefined) {
      this.firstAt = at;
      return 'stop';
    }
    return at - this.firstAt < this.stormMs ? 'same-stop' : 'quit';
  }
}

/** The signals that stop a command: Ctrl-C, a process manager's or `kill`'s default, and a closed terminal. */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
