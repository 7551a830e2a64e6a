import { ApiError, NetworkError, RateLimitedError, RequestAbortedError, TimeoutError, UnexpectedResponseError } from './errors';
import { Quota, quotaOf, retryAfterMsOf } from './rate-limit-headers';

/** On a 429: wait for `Retry-After` and try again (up to `maxWaitMs` in all), or throw `RateLimitedError` at once. */
export type RateLimitMode = 'wait' | 'throw';

/** The fetch the client calls: the platform's by default (Node ≥ 20.19, browsers). */
export type FetchFunction = (url: string, init: RequestInit) => Promise<Response>;

/** Time as the client sees it: when it is, and waiting. Replace it to simulate time (tests, replays). */
export interface ApiClientClock {
  now(): number;
  /** Resolves after `ms`; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** How the client behaves, whatever credential it holds. */
export interface ApiClientSettings {
  /** The API's base URL, with its stage path if any (`https://api.example.com`, `http://127.0.0.1:4000`). */
  readonly baseUrl: string | URL;
  /** @default 'wait' - waits for `Retry-After` while the total wait stays within `maxWaitMs`, then throws */
  readonly onRateLimit?: RateLimitMode;
  /** The longest one call waits in all for rate limits to pass, in ms. @default 30000 */
  readonly maxWaitMs?: number;
  /**
   * How long one attempt may take, answer body included, in ms. @default 30000 - HTTP API's
   * maximum integration timeout (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html),
   * after which API Gateway answers itself
   */
  readonly timeoutMs?: number;
  /** How long before its expiry a token is renewed, in ms (at most half its lifetime). @default 60000 */
  readonly tokenRefreshMarginMs?: number;
  /** @default the global fetch, looked up at each call */
  readonly fetch?: FetchFunction;
  /** @default Date.now and setTimeout */
  readonly clock?: ApiClientClock;
  /** Called with the quota of every answer that states one (for a live display). */
  readonly onQuota?: (quota: Quota) => void;
}

export type QueryValue = string | number | boolean;

/** One call's options. */
export interface RequestOptions {
  /** Query parameters; a list repeats the name, `undefined` leaves it out. */
  readonly query?: Readonly<Record<string, QueryValue | readonly QueryValue[] | undefined>>;
  /** Sent as JSON. */
  readonly body?: unknown;
  /** Ends the call, or its wait for a retry, with `RequestAbortedError`. */
  readonly signal?: AbortSignal;
  readonly headers?: Readonly<Record<string, string>>;
  /** This call's rate-limit behaviour. @default the client's `onRateLimit` */
  readonly onRateLimit?: RateLimitMode;
}

/** What one call of the helpers takes: its signal and its rate-limit behaviour. */
export type CallOptions = Pick<RequestOptions, 'signal' | 'onRateLimit'>;

/** An answer, read whole. */
export interface Answer {
  readonly status: number;
  readonly text: string;
  readonly body: unknown;
  readonly headers: Headers;
}

const realClock: ApiClientClock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason as Error);
        return;
      }
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal?.reason as Error);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/**
 * The client's HTTP: one request within the timeout, its answer read whole, the quota it states
 * recorded, its refusal turned into the typed error, and 429s waited out (or thrown) as settled.
 * Knows nothing of credentials: {@link ApiClient} adds them.
 */
export class Transport {
  public readonly clock: ApiClientClock;
  private readonly base: URL;
  private readonly onRateLimit: RateLimitMode;
  private readonly maxWaitMs: number;
  private readonly timeoutMs: number;
  private lastQuota?: Quota;

  constructor(private readonly settings: ApiClientSettings) {
    this.base = baseUrlOf(settings.baseUrl);
    this.clock = settings.clock ?? realClock;
    this.onRateLimit = settings.onRateLimit ?? 'wait';
    this.maxWaitMs = nonNegative('maxWaitMs', settings.maxWaitMs ?? 30_000);
    this.timeoutMs = nonNegative('timeoutMs', settings.timeoutMs ?? 30_000);
  }

  /** The quota of the last answer that stated one; undefined before any. */
  public get quota(): Quota | undefined {
    return this.lastQuota;
  }

  /**
   * Runs `attempt` again after each 429 while the client waits (`onRateLimit: 'wait'`, within
   * `maxWaitMs` in all); its other errors, and a 429 past the wait, are thrown.
   */
  public async withRateLimitWaits<T>(method: string, url: string, options: CallOptions, attempt: () => Promise<T>): Promise<T> {
    const mode = options.onRateLimit ?? this.onRateLimit;
    let waitedMs = 0;
    for (;;) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof RateLimitedError) || mode === 'throw' || waitedMs + error.retryAfterMs > this.maxWaitMs) throw error;
        await this.clock.sleep(error.retryAfterMs, options.signal).catch((reason: unknown) => {
          throw new RequestAbortedError(method, url, reason);
        });
        waitedMs += error.retryAfterMs;
      }
    }
  }

  /** A route that takes no credential (account sign-up and sign-in): its JSON answer, 429s waited out as settled. */
  public publicCall<T>(method: string, path: string, body: unknown, options: CallOptions = {}): Promise<T> {
    const url = this.urlOf(path);
    return this.withRateLimitWaits(method, url, options, async () => this.bodyOf(await this.send(method, url, {}, body, options.signal), method, path) as T);
  }

  /** Sends one request and reads its answer whole, within the timeout; records the quota it states. */
  public async send(method: string, url: string, headers: Record<string, string>, body: unknown, signal: AbortSignal | undefined): Promise<Answer> {
    const controller = new AbortController();
    const timeout = new Error('timeout');
    const timer = setTimeout(() => {
      controller.abort(timeout);
    }, this.timeoutMs);
    const onAbort = () => {
      controller.abort(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) throw new RequestAbortedError(method, url, signal.reason);
      const requestHeaders: Record<string, string> = { accept: 'application/json', ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) };
      const init: RequestInit = { method, headers: requestHeaders, signal: controller.signal, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) };
      const fetchFunction = this.settings.fetch ?? ((input, requestInit) => globalThis.fetch(input, requestInit));
      const response = await fetchFunction(url, init);
      const text = await response.text();
      this.noteQuota(response.headers);
      return { status: response.status, text, body: parseJson(text), headers: response.headers };
    } catch (error) {
      if (error instanceof RequestAbortedError) throw error;
      if (signal?.aborted) throw new RequestAbortedError(method, url, signal.reason);
      if (controller.signal.reason === timeout) throw new TimeoutError(method, url, this.timeoutMs);
      throw new NetworkError(method, url, error);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The JSON of a 2xx answer; the typed error of any other. */
  public bodyOf(answer: Answer, method: string, path: string): unknown {
    if (answer.status >= 200 && answer.status < 300) {
      if (answer.text !== '' && answer.body === undefined) {
        throw new UnexpectedResponseError(`${method} ${path} answered ${answer.status} with a body that is not JSON.`, answer.status, answer.text);
      }
      return answer.body;
    }
    const body = answer.body ?? answer.text;
    if (answer.status === 429) {
      const now = this.clock.now();
      const quota = quotaOf(answer.headers, now);
      const retryAfterMs = retryAfterMsOf(answer.headers, now) ?? (quota && quota.resetSeconds > 0 ? quota.resetSeconds * 1000 : 1000);
      throw new RateLimitedError(body, method, path, retryAfterMs, quota);
    }
    throw new ApiError(answer.status, body, method, path);
  }

  /** The URL of `path` below the base URL; `path` starts with one "/" and carries no query or fragment. */
  public urlOf(path: string, query?: RequestOptions['query']): string {
    if (!path.startsWith('/') || path.startsWith('//') || /[?#]/.test(path)) {
      throw new TypeError(`The path must start with one "/" and carry no query or fragment (use the query option); got ${JSON.stringify(path)}.`);
    }
    const url = new URL(this.base.href);
    url.pathname = `${this.base.pathname.replace(/\/+$/, '')}${path}`;
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? (value as readonly QueryValue[]) : [value as QueryValue]) url.searchParams.append(name, String(item));
    }
    return url.href;
  }

  private noteQuota(headers: Headers): void {
    const quota = quotaOf(headers, this.clock.now());
    if (!quota) return;
    this.lastQuota = quota;
    this.settings.onQuota?.(quota);
  }
}

function baseUrlOf(baseUrl: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(baseUrl));
  } catch {
    throw new TypeError(`ApiClient needs a baseUrl that is an absolute http(s) URL; got ${JSON.stringify(String(baseUrl))}.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`ApiClient needs an http or https baseUrl; got ${url.protocol}.`);
  if (url.search || url.hash) throw new TypeError(`ApiClient's baseUrl carries no query or fragment; got ${url.href}.`);
  return url;
}

export function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`ApiClient's ${name} must be a finite number of ms, 0 or more; got ${value}.`);
  return value;
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
