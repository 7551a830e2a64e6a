/** Per-entry PutEvents error codes worth retrying: the service's own transient failures. */
export const RETRYABLE_ENTRY_ERROR_CODES: ReadonlySet<string> = new Set([
  'InternalFailure',
  'InternalException',
  'ThrottlingException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
]);

/**
 * Whole-call errors that mean the request itself is wrong, so sending it again cannot help.
 * Anything else (network, 5xx, throttling, credentials, a missing bus) is retried and, if it
 * persists, spooled: an operator can fix those, and the events must survive until they do.
 */
export const FATAL_CALL_ERROR_NAMES: ReadonlySet<string> = new Set([
  'ValidationException',
  'SerializationException',
  'InvalidParameterValueException',
]);

/** Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
export interface BackoffOptions {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Source of randomness in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** The delay before retry number `attempt` (1 for the first retry): uniform in [0, min(max, base·2^(attempt-1))). */
export function fullJitterDelay(attempt: number, options: BackoffOptions): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor((options.random ?? Math.random)() * ceiling);
}

export const isRetryableEntryError = (errorCode: string): boolean => RETRYABLE_ENTRY_ERROR_CODES.has(errorCode);

/** The name of an error thrown by the SDK or the network stack, for reports. */
export function errorName(error: unknown): string {
  if (error && typeof error === 'object') {
    const named = error as { name?: unknown; code?: unknown };
    if (typeof named.code === 'string' && named.code !== '') return named.code;
    if (typeof named.name === 'string' && named.name !== '') return named.name;
  }
  return 'UnknownError';
}

/** Whether a failed PutEvents call may succeed if sent again. */
export function isRetryableCallError(error: unknown): boolean {
  const name = error && typeof error === 'object' ? (error as { name?: unknown }).name : undefined;
  return !(typeof name === 'string' && FATAL_CALL_ERROR_NAMES.has(name));
}
