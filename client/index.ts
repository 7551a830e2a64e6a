/**
 * The metered API's consumer client, for Node (≥ 20.19) and browsers: `fetch`, `AbortController`
 * and nothing of Node. The browser bundle (`bin/build-client.js`) exposes the same exports, as an
 * ES module and as the global `UsageTrackerClient`.
 */
export { ApiClient } from './api-client';
export type { ApiClientOptions, ApiKeyCredentials, PasswordCredentials } from './api-client';
export type { ApiClientClock, ApiClientSettings, CallOptions, FetchFunction, QueryValue, RateLimitMode, RequestOptions } from './transport';
export type {
  AccountResponse,
  AccountTokensResponse,
  ConfirmResponse,
  CreatedOwnApiKeyResponse,
  DemoProduct,
  DemoUser,
  ItemList,
  LogoutResponse,
  NotificationKind,
  NotificationSettingsResponse,
  OwnApiKeyListResponse,
  OwnApiKeyResponse,
  RegisterResponse,
  RotatedApiKeyResponse,
  TokenResponse,
  UsageReport,
} from './api-types';
export { ApiClientError, ApiError, NetworkError, RateLimitedError, RequestAbortedError, TimeoutError, UnexpectedResponseError } from './errors';
export { quotaOf, retryAfterMsOf } from './rate-limit-headers';
export type { HeaderReader, Quota } from './rate-limit-headers';
