/** One `flush()` waiting for the events recorded before it. */
interface FlushBarrier {
  readonly maxSeq: number;
  remaining: number;
  readonly resolve: () => void;
}

/**
 * The waits of `flush()` calls: each resolves once every event recorded before it (sequence
 * number at most its `maxSeq`) has settled: delivered, spooled or reported as failed.
 */
export class FlushBarriers {
  private barriers: FlushBarrier[] = [];

  /** Whether a flush is waiting (partial batches then go out at once). */
  public get waiting(): boolean {
    return this.barriers.length > 0;
  }

  /** Resolves once `remaining` events with a sequence number up to `maxSeq` have settled. */
  public add(maxSeq: number, remaining: number): Promise<void> {
    return new Promise<void>((resolve) => this.barriers.push({ maxSeq, remaining, resolve }));
  }

  /** An event with this sequence number settled. */
  public settled(seq: number): void {
    if (this.barriers.length === 0) return;
    this.barriers = this.barriers.filter((barrier) => {
      if (seq > barrier.maxSeq) return true;
      if (--barrier.remaining > 0) return true;
      barrier.resolve();
      return false;
    });
  }
}
