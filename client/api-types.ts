import type { NotificationSettingsResponse } from '../contracts/api-schemas';

/** What `POST /v1/auth/token` answers (OAuth 2.0 client-credentials style). */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  /** Seconds. */
  readonly expires_in: number;
  readonly scope: string;
}

/** What `GET /v1/usage` answers: the caller's tier, limit, what is left, and counts. */
export interface UsageReport {
  readonly tenantId?: string;
  readonly tier: string;
  readonly limit: { readonly requestsPerMinute: number; readonly burst: number };
  readonly remaining: number;
  readonly resetSeconds: number;
  readonly counts: { readonly today: number; readonly thisMonth: number };
}

/** An item of the demo route `GET /v1/users`. */
export interface DemoUser {
  readonly id: string;
  readonly name: string;
  readonly plan: string;
}

/** An item of the demo route `GET /v1/products`. */
export interface DemoProduct {
  readonly id: string;
  readonly name: string;
  readonly priceCents: number;
}

/** A list answer of the demo routes. */
export interface ItemList<T> {
  readonly items: readonly T[];
}

/** The account, key and notification routes' bodies, as the API's zod schemas (contracts/api-schemas.ts) define them: types only, nothing of zod in the bundle. */
export type {
  AccountResponse,
  AccountTokensResponse,
  ConfirmResponse,
  CreatedOwnApiKeyResponse,
  LogoutResponse,
  NotificationSettingsResponse,
  OwnApiKeyListResponse,
  OwnApiKeyResponse,
  RegisterResponse,
  RotatedApiKeyResponse,
} from '../contracts/api-schemas';

/** A kind of account event a tenant may opt out of being mailed (`GET /v1/notifications`' `optional`). */
export type NotificationKind = NotificationSettingsResponse['optional'][number];
