/** An event the publisher holds in memory: queued, in flight or waiting to retry. */
export interface PendingEvent {
  readonly eventId: string;
  readonly source: string;
  readonly detail: string;
  /** Its size by EventBridge's entry-size rule. */
  readonly size: number;
  /** Its place in the order of recording, for flush barriers. */
  readonly seq: number;
  attempts: number;
  /** The spool file this event was replayed from; removed once all its events settled. */
  readonly origin?: ReplayFile;
}

/** A claimed spool file whose events are being sent again. */
export interface ReplayFile {
  readonly file: string;
  /** Its events in memory that have not settled yet. */
  outstanding: number;
  /** Whether every event of the file has been queued (or put back in the spool). */
  finishedReading: boolean;
}

/** The publisher's counters, shared with the modules that move events for it. */
export interface PublisherCounters {
  recorded: number;
  published: number;
  retried: number;
  failed: number;
  spooled: number;
  dropped: number;
}
