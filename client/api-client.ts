import { API_KEY_HEADER, BUILT_IN_ROUTES, PUBLIC_ROUTES } from '../contracts/metered-api';
import type {
  AccountResponse,
  AccountTokensResponse,
  ConfirmResponse,
  CreatedOwnApiKeyResponse,
  DemoProduct,
  DemoUser,
  ItemList,
  NotificationKind,
  NotificationSettingsResponse,
  OwnApiKeyListResponse,
  OwnApiKeyResponse,
  RegisterResponse,
  RotatedApiKeyResponse,
  TokenResponse,
  UsageReport,
} from './api-types';
import { ApiError, RateLimitedError, RequestAbortedError, UnexpectedResponseError, isRecord } from './errors';
import type { Quota } from './rate-limit-headers';
import { TokenGrant, TokenKeeper } from './token-keeper';
import { Answer, ApiClientSettings, CallOptions, RequestOptions, Transport, nonNegative } from './transport';

/** An API key, exchanged for short-lived tokens at `POST /v1/auth/token`. */
export interface ApiKeyCredentials {
  readonly apiKey: string;
}

/**
 * An account's email and password: the client signs in at `POST /v1/auth/login`, renews its
 * access token at `POST /v1/auth/refresh` and signs in again when the refresh token is refused.
 */
export interface PasswordCredentials {
  readonly email: string;
  readonly password: string;
}

/** The client's options: its settings and one credential, an API key or an account's email and password. */
export type ApiClientOptions = ApiClientSettings & (ApiKeyCredentials | PasswordCredentials);

type Credential = { readonly kind: 'api-key'; readonly apiKey: string } | { readonly kind: 'password'; readonly email: string; readonly password: string };

/** The path of a route of the route table the stack and the local API share (so a renamed route fails here, not in a caller). */
function routePath(routeKey: string): string {
  if (![...BUILT_IN_ROUTES, ...PUBLIC_ROUTES].some((route) => route.routeKey === routeKey)) throw new Error(`The API has no route ${routeKey}.`);
  return routeKey.split(' ')[1];
}

const PATHS = {
  token: routePath('POST /v1/auth/token'),
  usage: routePath('GET /v1/usage'),
  users: routePath('GET /v1/users'),
  products: routePath('GET /v1/products'),
  register: routePath('POST /v1/auth/register'),
  confirm: routePath('POST /v1/auth/confirm'),
  login: routePath('POST /v1/auth/login'),
  refresh: routePath('POST /v1/auth/refresh'),
  logout: routePath('POST /v1/auth/logout'),
  me: routePath('GET /v1/auth/me'),
  keys: routePath('GET /v1/keys'),
  notifications: routePath('GET /v1/notifications'),
};
const keyPath = (keyId: string, action: 'rotate' | 'revoke') => routePath(`POST /v1/keys/{keyId}/${action}`).replace('{keyId}', encodeURIComponent(keyId));

/**
 * A client of the metered API for Node (≥ 20.19) and browsers, on `fetch` alone. It exchanges its
 * API key for a token (or signs in with an account's email and password) and renews it before it
 * expires, honours the API's rate limits (waits for `Retry-After`, or throws `RateLimitedError`),
 * keeps the quota of the last answer in `quota`, and throws typed errors: `ApiError` (with the
 * JSON body's `error` and `message`), `RateLimitedError`, `NetworkError`, `TimeoutError`,
 * `RequestAbortedError`.
 *
 * @example
 * const client = new ApiClient({ baseUrl: 'http://127.0.0.1:4000', apiKey: process.env.API_KEY });
 * const { items } = await client.users();
 * console.log(client.quota?.remaining);
 *
 * @example
 * await ApiClient.register(baseUrl, email, password); // a code is emailed
 * await ApiClient.confirm(baseUrl, email, code);
 * const account = new ApiClient({ baseUrl, email, password });
 * const { apiKey } = await account.createKey('ci'); // shown once
 */
export class ApiClient {
  private readonly transport: Transport;
  private readonly credential: Credential;
  private readonly tokens: TokenKeeper;

  constructor(options: ApiClientOptions) {
    this.transport = new Transport(options);
    this.credential = credentialOf(options);
    const refreshMarginMs = nonNegative('tokenRefreshMarginMs', options.tokenRefreshMarginMs ?? 60_000);
    this.tokens = new TokenKeeper((refreshToken) => this.exchange(refreshToken), () => this.transport.clock.now(), refreshMarginMs);
  }

  /** `POST /v1/auth/register`: creates an account (and its tenant, on the free tier) and emails a code. The same answer whether the address is taken or not. */
  public static register(baseUrl: string | URL, email: string, password: string, settings: Omit<ApiClientSettings, 'baseUrl'> = {}): Promise<RegisterResponse> {
    return new Transport({ ...settings, baseUrl }).publicCall<RegisterResponse>('POST', PATHS.register, { email, password });
  }

  /** `POST /v1/auth/confirm`: confirms the account with the code emailed at registration. */
  public static confirm(baseUrl: string | URL, email: string, code: string, settings: Omit<ApiClientSettings, 'baseUrl'> = {}): Promise<ConfirmResponse> {
    return new Transport({ ...settings, baseUrl }).publicCall<ConfirmResponse>('POST', PATHS.confirm, { email, code });
  }

  /** The quota of the last answer that stated one (limit, remaining, reset); undefined before any. */
  public get quota(): Quota | undefined {
    return this.transport.quota;
  }

  /** `GET /v1/usage`: your tier, limit, what is left and your counts today and this month. */
  public usage(options: CallOptions = {}): Promise<UsageReport> {
    return this.request<UsageReport>('GET', PATHS.usage, options);
  }

  /** `GET /v1/users` (a demo route). */
  public users(options: CallOptions = {}): Promise<ItemList<DemoUser>> {
    return this.request<ItemList<DemoUser>>('GET', PATHS.users, options);
  }

  /** `GET /v1/products` (a demo route). */
  public products(options: CallOptions = {}): Promise<ItemList<DemoProduct>> {
    return this.request<ItemList<DemoProduct>>('GET', PATHS.products, options);
  }

  /** `GET /v1/auth/me` (account sign-in only): the account's email, tenant and tier. */
  public me(options: CallOptions = {}): Promise<AccountResponse> {
    return this.request<AccountResponse>('GET', PATHS.me, options);
  }

  /** `POST /v1/keys` (account sign-in only): a new API key of the account's tenant; `apiKey` is shown this once. */
  public createKey(name: string, options: CallOptions = {}): Promise<CreatedOwnApiKeyResponse> {
    return this.request<CreatedOwnApiKeyResponse>('POST', PATHS.keys, { ...options, body: { name } });
  }

  /** `GET /v1/keys` (account sign-in only): the tenant's keys, with prefix, name, created and last used (never the keys themselves). */
  public async listKeys(options: CallOptions = {}): Promise<readonly OwnApiKeyResponse[]> {
    return (await this.request<OwnApiKeyListResponse>('GET', PATHS.keys, options)).items;
  }

  /** `POST /v1/keys/{keyId}/rotate` (account sign-in only): a new key; the old one stays valid `graceSeconds` (at most 86400). */
  public rotateKey(keyId: string, graceSeconds: number, options: CallOptions = {}): Promise<RotatedApiKeyResponse> {
    return this.request<RotatedApiKeyResponse>('POST', keyPath(keyId, 'rotate'), { ...options, body: { graceSeconds } });
  }

  /** `POST /v1/keys/{keyId}/revoke` (account sign-in only): the key stops working at once. */
  public revokeKey(keyId: string, options: CallOptions = {}): Promise<OwnApiKeyResponse> {
    return this.request<OwnApiKeyResponse>('POST', keyPath(keyId, 'revoke'), options);
  }

  /**
   * `GET /v1/notifications` (account sign-in only): the kinds of account event the tenant's contact
   * opted out of being mailed (`optOuts`), those one may opt out of (`optional`) and those always mailed (`critical`).
   */
  public notificationSettings(options: CallOptions = {}): Promise<NotificationSettingsResponse> {
    return this.request<NotificationSettingsResponse>('GET', PATHS.notifications, options);
  }

  /**
   * `PUT /v1/notifications` (account sign-in only): opts out of exactly these kinds (any of `optional`;
   * `[]` to be mailed every kind again); another kind is refused (`ApiError` 400 naming it).
   */
  public setNotificationOptOuts(kinds: readonly NotificationKind[], options: CallOptions = {}): Promise<NotificationSettingsResponse> {
    return this.request<NotificationSettingsResponse>('PUT', PATHS.notifications, { ...options, body: { optOuts: [...kinds] } });
  }

  /**
   * Forgets the client's tokens; an account's refresh token is revoked at `POST /v1/auth/logout`
   * (its access token lives on until it expires, at most 15 minutes). A later call signs in again.
   */
  public async logout(options: CallOptions = {}): Promise<void> {
    const refreshToken = this.tokens.clear();
    if (this.credential.kind !== 'password' || refreshToken === undefined) return;
    await this.transport.publicCall('POST', PATHS.logout, { refresh_token: refreshToken }, options);
  }

  /**
   * Calls a route with a token, and returns its JSON answer (undefined when empty). `path` is
   * below the base URL (`/v1/users`); the token is never sent anywhere else.
   */
  public async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.transport.urlOf(path, options.query);
    return (await this.transport.withRateLimitWaits(method, url, options, () => this.authorizedCall(method, url, path, options))) as T;
  }

  /** One call with a token; a cached token the gateway refuses (expired early, say) is renewed once. */
  private async authorizedCall(method: string, url: string, path: string, options: RequestOptions): Promise<unknown> {
    for (let renewed = false; ; renewed = true) {
      const token = await untilAborted(this.tokens.current(), options.signal, () => new RequestAbortedError(method, url, options.signal?.reason));
      // The client's token, whatever the caller's headers say (in any letter case).
      const own = Object.entries(options.headers ?? {}).filter(([name]) => name.toLowerCase() !== 'authorization');
      const headers: Record<string, string> = { ...Object.fromEntries(own), authorization: `Bearer ${token.value}` };
      const answer = await this.transport.send(method, url, headers, options.body, options.signal);
      if (token.fromCache && !renewed && isGatewayRefusal(answer)) {
        this.tokens.discard(token.value);
        continue;
      }
      return this.transport.bodyOf(answer, method, path);
    }
  }

  /** A new access token: the shared exchange, bound by the client's timeout only, not by any one caller's signal. */
  private async exchange(refreshToken: string | undefined): Promise<TokenGrant> {
    const credential = this.credential;
    if (credential.kind === 'api-key') return this.grantOf('POST', PATHS.token, { [API_KEY_HEADER]: credential.apiKey }, undefined);
    if (refreshToken !== undefined) {
      try {
        return await this.grantOf('POST', PATHS.refresh, {}, { refresh_token: refreshToken });
      } catch (error) {
        // A refresh token refused (expired, revoked): sign in again. A 429, a 5xx or no answer is not a refusal of the token.
        if (!(error instanceof ApiError) || error instanceof RateLimitedError || error.status >= 500) throw error;
      }
    }
    return this.grantOf('POST', PATHS.login, {}, { email: credential.email, password: credential.password });
  }

  /** One exchange of credentials for a token (`POST /v1/auth/token`, `/login`, `/refresh`), its answer checked. */
  private async grantOf(method: string, path: string, headers: Record<string, string>, body: unknown): Promise<TokenGrant> {
    const answer = await this.transport.send(method, this.transport.urlOf(path), headers, body, undefined);
    const grant = this.transport.bodyOf(answer, method, path);
    if (!isRecord(grant) || typeof grant.access_token !== 'string' || typeof grant.expires_in !== 'number' || !(grant.expires_in > 0)) {
      throw new UnexpectedResponseError(`${method} ${path} answered ${answer.status} without an access_token and a positive expires_in.`, answer.status, answer.text);
    }
    const tokens = grant as unknown as TokenResponse | AccountTokensResponse;
    const refreshToken = 'refresh_token' in tokens && typeof tokens.refresh_token === 'string' ? tokens.refresh_token : undefined;
    return { accessToken: tokens.access_token, expiresInSeconds: tokens.expires_in, ...(refreshToken !== undefined ? { refreshToken } : {}) };
  }
}

function credentialOf(options: ApiClientOptions): Credential {
  const given = options as Partial<ApiKeyCredentials & PasswordCredentials>;
  const filled = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';
  if (given.apiKey !== undefined && (given.email !== undefined || given.password !== undefined)) throw new TypeError('ApiClient takes an apiKey or an email and password, not both.');
  if (filled(given.apiKey)) return { kind: 'api-key', apiKey: given.apiKey };
  if (filled(given.email) && typeof given.password === 'string' && given.password !== '') return { kind: 'password', email: given.email.trim(), password: given.password };
  throw new TypeError('ApiClient needs an apiKey, or an email and a password (non-empty strings).');
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
