const EXIT_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** What the publisher does when the process is about to end. */
export interface ExitActions {
  /** The event loop is about to empty: send what is still in memory. */
  readonly beforeExit: () => void;
  /** Flush and close, on SIGTERM or SIGINT. */
  readonly close: () => Promise<void>;
}

/**
 * The process hooks of a publisher: a flush before the event loop empties and, when asked, a
 * flush and close on SIGTERM and SIGINT, after which the signal takes its default course.
 */
export class ExitHooks {
  private readonly signalHandlers = new Map<NodeJS.Signals, () => void>();
  private readonly beforeExit: () => void;

  constructor(actions: ExitActions, onSignals: boolean) {
    this.beforeExit = actions.beforeExit;
    process.on('beforeExit', this.beforeExit);
    if (onSignals) for (const signal of EXIT_SIGNALS) this.onSignal(signal, actions.close);
  }

  /** Removes every hook. */
  public remove(): void {
    process.off('beforeExit', this.beforeExit);
    for (const [signal, handler] of this.signalHandlers) process.off(signal, handler);
    this.signalHandlers.clear();
  }

  private onSignal(signal: NodeJS.Signals, close: () => Promise<void>): void {
    const handler = () => {
      void close().finally(() => {
        // Nobody else handles the signal: let it end the process as it would have.
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      });
    };
    this.signalHandlers.set(signal, handler);
    process.once(signal, handler);
  }
}
