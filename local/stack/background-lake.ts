import type { LocalLake } from '../lake/local-lake';

/** The lake as a running stack has it: still opening, open, or failed to open (and why). */
export type LakeState = { readonly state: 'opening' } | { readonly state: 'ready'; readonly lake: LocalLake } | { readonly state: 'failed'; readonly message: string };

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * The local lake of a running stack, opened once the API answers rather than before: loading
 * DuckDB and registering the catalogue (whose views list every curated file) is the slowest step
 * of a start and the metered API, the bus and the buffer do not need it. Until it is open, what
 * needs it says so (`state`) or waits for it (`lake()`); nothing hangs on it.
 */
export class BackgroundLake {
  private current: LakeState = { state: 'opening' };
  private opening?: Promise<LocalLake>;
  private closed = false;

  /** `open` opens the lake; `onOpen` runs once it is open, unless the stack is stopping by then. */
  constructor(
    private readonly open: () => Promise<LocalLake>,
    private readonly onOpen: (lake: LocalLake) => void,
  ) {}

  /** Starts opening the lake (once); its failure is kept as the state, never thrown here. */
  public start(): void {
    if (this.opening || this.closed) return;
    this.opening = this.open();
    this.opening.then(
      (lake) => {
        this.current = { state: 'ready', lake };
        if (!this.closed) this.onOpen(lake);
      },
      (error: unknown) => { this.current = { state: 'failed', message: messageOf(error) }; },
    );
  }

  public get state(): LakeState {
    return this.current;
  }

  /** The state, for something that needs the lake now (the dashboard's data): starts opening it if that had not begun. */
  public demand(): LakeState {
    this.start();
    return this.current;
  }

  /** The lake once open (opening it now if it was not yet asked for); rejects when it cannot be opened. */
  public lake(): Promise<LocalLake> {
    this.start();
    return this.opening ?? Promise.reject(new Error('The stack has stopped: the lake is closed.'));
  }

  /** Closes the lake, after its opening has finished if it is still under way. */
  public async close(): Promise<void> {
    this.closed = true;
    const lake = await this.opening?.catch(() => undefined);
    await lake?.close();
  }
}
