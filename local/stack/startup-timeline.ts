import { performance } from 'node:perf_hooks';

/** One step of a start: its name and when it ended, in milliseconds since the process started. */
export interface StartupPhase {
  readonly phase: string;
  readonly atMs: number;
}

/**
 * When each step of `npm start` ended, on the process's own clock: `performance.now()` counts from
 * the process's start (its time origin), so the figures include loading the code, not only what
 * the stack does once loaded. `/health` reports them, and the banner's "ready in" is the time of
 * the `healthy` step.
 */
export class StartupTimeline {
  private readonly marks: StartupPhase[] = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Records that a step ended now; returns the time. */
  public mark(phase: string): number {
    const atMs = Math.round(this.now());
    this.marks.push({ phase, atMs });
    return atMs;
  }

  /** Records a step that ended at a known time (ms since the process started). */
  public record(phase: string, atMs: number): void {
    this.marks.push({ phase, atMs: Math.round(atMs) });
  }

  /** The time of a step, if it has ended. */
  public at(phase: string): number | undefined {
    return this.marks.find((mark) => mark.phase === phase)?.atMs;
  }

  /** The steps that have ended, in the order they did. */
  public get phases(): readonly StartupPhase[] {
    return [...this.marks];
  }
}

/** When Node had finished its own start-up, before any of this project's code ran (ms since the process started). */
export function nodeBootstrapMs(): number {
  return Math.round(performance.nodeTiming.bootstrapComplete);
}
