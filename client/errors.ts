import type { Quota } from './rate-limit-headers';

/** The base of every error the client throws: catch it to catch them all. Keeps the `cause`. */
export class ApiClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ApiClientError';
  }
}

/** What the API answered with a status outside 2xx: the status and its JSON body's `error` and `message`. */
export class ApiError extends ApiClientError {
  /** The HTTP status. */
  public readonly status: number;
  /** The body's `error` code (`key-blocked`, `rate-limited`, …); absent in the gateway's own refusals (`{"message": "Forbidden"}`). */
  public readonly error?: string;
  /** The request id the API named, for support. */
  public readonly requestId?: string;
  /** The parsed JSON body, or the text when it was not JSON. */
  public readonly body: unknown;

  constructor(status: number, body: unknown, method: string, path: string) {
    const fields = isRecord(body) ? body : {};
    const message = typeof fields.message === 'string' ? fields.message : `HTTP ${status}`;
    super(`${method} ${path} answered ${status}${typeof fields.error === 'string' ? ` ${fields.error}` : ''}: ${message}`);
    this.name = 'ApiError';
    this.status = status;
    this.body = body;
    if (typeof fields.error === 'string') this.error = fields.error;
    if (typeof fields.requestId === 'string') this.requestId = fields.requestId;
  }

  /** The body's `message`, as the API wrote it. */
  public get apiMessage(): string | undefined {
    return isRecord(this.body) && typeof this.body.message === 'string' ? this.body.message : undefined;
  }
}

/** A 429: when to try again (`Retry-After`), and the quota the answer's headers described. */
export class RateLimitedError extends ApiError {
  /** How long to wait before the next attempt, in ms (from `Retry-After`; the quota's reset, or 1 s, without it). */
  public readonly retryAfterMs: number;
  /** The quota of the refusal's `RateLimit` and `RateLimit-Policy` headers, when it had them. */
  public readonly quota?: Quota;

  constructor(body: unknown, method: string, path: string, retryAfterMs: number, quota: Quota | undefined) {
    super(429, body, method, path);
    this.name = 'RateLimitedError';
    this.retryAfterMs = retryAfterMs;
    if (quota) this.quota = quota;
  }

  /** The policy that refused (`free`, …). */
  public get policy(): string | undefined {
    return this.quota?.policy;
  }

  /** Requests left in the policy's window (0 when refused). */
  public get remaining(): number | undefined {
    return this.quota?.remaining;
  }
}

/** The request never got an answer: DNS, refused connection, reset, CORS refusal in a browser. */
export class NetworkError extends ApiClientError {
  constructor(method: string, url: string, cause: unknown) {
    super(`${method} ${url} failed before any answer: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'NetworkError';
  }
}

/** No answer within the client's timeout (`timeoutMs`). */
export class TimeoutError extends ApiClientError {
  constructor(
    method: string,
    url: string,
    public readonly timeoutMs: number,
  ) {
    super(`${method} ${url} got no answer within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/** The caller's `AbortSignal` ended the request (or its wait for a retry); `cause` is the signal's reason. */
export class RequestAbortedError extends ApiClientError {
  constructor(method: string, url: string, reason: unknown) {
    super(`${method} ${url} was aborted by the caller`, { cause: reason });
    this.name = 'RequestAbortedError';
  }
}

/** A 2xx answer whose body is not the JSON the route promises. */
export class UnexpectedResponseError extends ApiClientError {
  constructor(
    message: string,
    public readonly status: number,
    public readonly text: string,
  ) {
    super(message);
    this.name = 'UnexpectedResponseError';
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
