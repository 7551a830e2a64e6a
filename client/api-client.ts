import { API_KEY_HEADER, BUILT_IN_ROUTES } from '../contracts/metered-api';
import type { DemoProduct, DemoUser, ItemList, TokenResponse, UsageReport } from './api-types';
import { ApiError, NetworkError, RateLimitedError, RequestAbortedError, TimeoutError, UnexpectedResponseError, isRecord } from './errors';
import { Quota, quotaOf, retryAfterMsOf } from './rate-limit-headers';
import { TokenGrant, TokenKeeper } from './token-keeper';

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

/** An API key, exchanged for short-lived tokens at `POST /v1/auth/token`. */
export interface ApiKeyCredentials {
  readonly apiKey: string;
}

/**
 * The client's options: its settings and one credential. Only API keys today; other credentials
 * (email and password, with accounts) join this union without changing what callers pass now.
 */
export type ApiClientOptions = ApiClientSettings & ApiKeyCredentials;

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

/** An answer, read whole. */
interface Answer {
  readonly status: number;
  readonly text: string;
  readonly body: unknown;
  readonly headers: Headers;
}

const TOKEN_PATH = routePath('token');
const USAGE_PATH = routePath('usage');
const USERS_PATH = routePath('demo-users');
const PRODUCTS_PATH = routePath('demo-products');

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
 * A client of the metered API for Node (≥ 20.19) and browsers, on `fetch` alone. It exchanges its
 * API key for a token and renews it before it expires, honours the API's rate limits (waits for
 * `Retry-After`, or throws `RateLimitedError`), keeps the quota of the last answer in `quota`, and
 * throws typed errors: `ApiError` (with the JSON body's `error` and `message`), `RateLimitedError`,
 * `NetworkError`, `TimeoutError`, `RequestAbortedError`.
 *
 * @example
 * const client = new ApiClient({ baseUrl: 'http://127.0.0.1:4000', apiKey: process.env.API_KEY });
 * const { items } = await client.users();
 * console.log(client.quota?.remaining);
 */
export class ApiClient {
  private readonly base: URL;
  private readonly apiKey: string;
  private readonly tokens: TokenKeeper;
  private readonly clock: ApiClientClock;
  private readonly settings: Required<Pick<ApiClientSettings, 'onRateLimit' | 'maxWaitMs' | 'timeoutMs'>>;
  private lastQuota?: Quota;

  constructor(private readonly options: ApiClientOptions) {
    this.base = baseUrlOf(options.baseUrl);
    if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') throw new TypeError('ApiClient needs an apiKey (a non-empty string).');
    this.apiKey = options.apiKey;
    this.clock = options.clock ?? realClock;
    this.settings = {
      onRateLimit: options.onRateLimit ?? 'wait',
      maxWaitMs: nonNegative('maxWaitMs', options.maxWaitMs ?? 30_000),
      timeoutMs: nonNegative('timeoutMs', options.timeoutMs ?? 30_000),
    };
    this.tokens = new TokenKeeper(() => this.exchangeApiKey(), () => this.clock.now(), nonNegative('tokenRefreshMarginMs', options.tokenRefreshMarginMs ?? 60_000));
  }

  /** The quota of the last answer that stated one (limit, remaining, reset); undefined before any. */
  public get quota(): Quota | undefined {
    return this.lastQuota;
  }

  /** `GET /v1/usage`: your tier, limit, what is left and your counts today and this month. */
  public usage(options: Pick<RequestOptions, 'signal' | 'onRateLimit'> = {}): Promise<UsageReport> {
    return this.request<UsageReport>('GET', USAGE_PATH, options);
  }

  /** `GET /v1/users` (a demo route). */
  public users(options: Pick<RequestOptions, 'signal' | 'onRateLimit'> = {}): Promise<ItemList<DemoUser>> {
    return this.request<ItemList<DemoUser>>('GET', USERS_PATH, options);
  }

  /** `GET /v1/products` (a demo route). */
  public products(options: Pick<RequestOptions, 'signal' | 'onRateLimit'> = {}): Promise<ItemList<DemoProduct>> {
    return this.request<ItemList<DemoProduct>>('GET', PRODUCTS_PATH, options);
  }

  /**
   * Calls a route with a token, and returns its JSON answer (undefined when empty). `path` is
   * below the base URL (`/v1/users`); the token is never sent anywhere else.
   */
  public async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.urlOf(path, options.query);
    const mode = options.onRateLimit ?? this.settings.onRateLimit;
    let waitedMs = 0;
    for (;;) {
      try {
        return (await this.authorizedCall(method, url, path, options)) as T;
      } catch (error) {
        if (!(error instanceof RateLimitedError) || mode === 'throw' || waitedMs + error.retryAfterMs > this.settings.maxWaitMs) throw error;
        await this.clock.sleep(error.retryAfterMs, options.signal).catch((reason: unknown) => {
          throw new RequestAbortedError(method, url, reason);
        });
        waitedMs += error.retryAfterMs;
      }
    }
  }

  /** One call with a token; a cached token the gateway refuses (expired early, say) is renewed once. */
  private async authorizedCall(method: string, url: string, path: string, options: RequestOptions): Promise<unknown> {
    for (let renewed = false; ; renewed = true) {
      const token = await untilAborted(this.tokens.current(), options.signal, () => new RequestAbortedError(method, url, options.signal?.reason));
      // The client's token, whatever the caller's headers say (in any letter case).
      const own = Object.entries(options.headers ?? {}).filter(([name]) => name.toLowerCase() !== 'authorization');
      const headers: Record<string, string> = { ...Object.fromEntries(own), authorization: `Bearer ${token.value}` };
      const answer = await this.send(method, url, headers, options.body, options.signal);
      if (token.fromCache && !renewed && isGatewayRefusal(answer)) {
        this.tokens.discard(token.value);
        continue;
      }
      return this.bodyOf(answer, method, path);
    }
  }

  /** `POST /v1/auth/token` with the API key: the shared exchange, bound by the client's timeout only, not by any one caller's signal. */
  private async exchangeApiKey(): Promise<TokenGrant> {
    const answer = await this.send('POST', this.urlOf(TOKEN_PATH), { [API_KEY_HEADER]: this.apiKey }, undefined, undefined);
    const body = this.bodyOf(answer, 'POST', TOKEN_PATH);
    if (!isRecord(body) || typeof body.access_token !== 'string' || typeof body.expires_in !== 'number' || !(body.expires_in > 0)) {
      throw new UnexpectedResponseError(`POST ${TOKEN_PATH} answered ${answer.status} without an access_token and a positive expires_in.`, answer.status, answer.text);
    }
    const grant = body as unknown as TokenResponse;
    return { accessToken: grant.access_token, expiresInSeconds: grant.expires_in };
  }

  /** Sends one request and reads its answer whole, within the timeout; records the quota it states. */
  private async send(method: string, url: string, headers: Record<string, string>, body: unknown, signal: AbortSignal | undefined): Promise<Answer> {
    const controller = new AbortController();
    const timeout = new Error('timeout');
    const timer = setTimeout(() => {
      controller.abort(timeout);
    }, this.settings.timeoutMs);
    const onAbort = () => {
      controller.abort(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (signal?.aborted) throw new RequestAbortedError(method, url, signal.reason);
      const requestHeaders: Record<string, string> = { accept: 'application/json', ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) };
      const init: RequestInit = { method, headers: requestHeaders, signal: controller.signal, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) };
      const fetchFunction = this.options.fetch ?? ((input, requestInit) => globalThis.fetch(input, requestInit));
      const response = await fetchFunction(url, init);
      const text = await response.text();
      this.noteQuota(response.headers);
      return { status: response.status, text, body: parseJson(text), headers: response.headers };
    } catch (error) {
      if (error instanceof RequestAbortedError) throw error;
      if (signal?.aborted) throw new RequestAbortedError(method, url, signal.reason);
      if (controller.signal.reason === timeout) throw new TimeoutError(method, url, this.settings.timeoutMs);
      throw new NetworkError(method, url, error);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** The JSON of a 2xx answer; the typed error of any other. */
  private bodyOf(answer: Answer, method: string, path: string): unknown {
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

  private noteQuota(headers: Headers): void {
    const quota = quotaOf(headers, this.clock.now());
    if (!quota) return;
    this.lastQuota = quota;
    this.options.onQuota?.(quota);
  }

  private urlOf(path: string, query?: RequestOptions['query']): string {
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
}

/** The path of a built-in route, from the route table the stack and the local API share. */
function routePath(handler: (typeof BUILT_IN_ROUTES)[number]['handler']): string {
  const route = BUILT_IN_ROUTES.find((candidate) => candidate.handler === handler);
  if (!route) throw new Error(`No built-in route has the handler ${handler}.`);
  return route.routeKey.split(' ')[1];
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

function nonNegative(name: string, value: number): number {
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

/**
 * API Gateway's own refusal of a credential (401, or 403 `{"message":"Forbidden"}`, with no
 * `error` code), as opposed to a route's refusal (a blocked key: 403 with `error`).
 */
function isGatewayRefusal(answer: Answer): boolean {
  return answer.status === 401 || (answer.status === 403 && !(isRecord(answer.body) && typeof answer.body.error === 'string'));
}

/** The promise, unless the signal aborts first (the promise goes on for whoever else waits for it). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, abortError: () => Error): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(abortError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on as it came
        reject(error);
      },
    );
  });
}
