/** A usage event that does not match the contract: a programming mistake in the producer. */
export class UsageEventValidationError extends Error {
  /** The offending field, dotted (`attributes.plan`), or `(event)` for the event as a whole. */
  public readonly field: string;

  constructor(field: string, problem: string) {
    super(`Invalid usage event: ${field}: ${problem}`);
    this.name = 'UsageEventValidationError';
    this.field = field;
  }
}

/** Why events were not delivered. */
export type UsagePublishFailureReason =
  /** EventBridge refused the entries for good (for example `MalformedDetail`). */
  | 'rejected'
  /** Retries ran out and there is no spool to keep the events. */
  | 'retries-exhausted'
  /** The in-memory queue was full and there is no spool. */
  | 'overflow'
  /** The spool could not be written (disk full, permissions, size cap). */
  | 'spool-failed';

/** Reported to `onError` when events could not be delivered or kept. */
export class UsagePublishError extends Error {
  public readonly reason: UsagePublishFailureReason;
  /** The events concerned. */
  public readonly eventIds: readonly string[];
  /** EventBridge's error code or the SDK error name, when there is one. */
  public readonly errorCode?: string;

  constructor(reason: UsagePublishFailureReason, eventIds: readonly string[], message: string, errorCode?: string) {
    super(`${eventIds.length} usage event(s) ${message}`);
    this.name = 'UsagePublishError';
    this.reason = reason;
    this.eventIds = eventIds;
    this.errorCode = errorCode;
  }
}
