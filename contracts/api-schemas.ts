import * as z from 'zod/mini';
import { createTenantBody, externalIdentityBody, setTierBody, TOKEN_ID_PATTERN } from '../lambdas/admin/admin-request-schemas';
import { NOTIFICATION_SETTINGS, confirmBody, createKeyBody, loginBody, refreshBody, registerBody, rotateKeyBody } from './account-request-schemas';
import { API_KEY_PATTERN } from './metered-api';
import { TENANT_ID_PATTERN } from './tenants';
import { QUOTA_PERIODS, TIER_NAMES } from './tiers';

/**
 * The metered API's requests and answers as zod schemas (zod/mini, as the admin request schemas):
 * the one description the OpenAPI document (contracts/openapi.ts) is generated from, and the types
 * the routes' JSON bodies are checked against. Request bodies are the admin function's own
 * schemas (lambdas/admin/admin-request-schemas.ts), never retyped here.
 */

const wholeNumber = () => z.int();
const nonNegative = () => z.int().check(z.gte(0));
const timestamp = () => z.iso.datetime();

/** Every refusal a route answers itself: `{ error, message, requestId? }` (lambdas/http/responses.ts `errorResult`). */
export const errorBody = z.object({
  error: z.string(),
  message: z.string(),
  requestId: z.optional(z.string()),
});

/**
 * API Gateway's own answers (`{"message":"Forbidden"}`, `Unauthorized`, `Not Found`, `Too Many
 * Requests`, `Request Entity Too Large`, `Internal Server Error`): a credential the authorizer
 * refused, a throttled stage or route, a body over the payload quota, an authorizer that failed.
 */
export const gatewayMessage = z.object({ message: z.string() });

/** What a refusal's body is: the route's `{ error, message }`, or API Gateway's `{ message }`. */
export const refusalBody = z.union([errorBody, gatewayMessage]);

/** POST /v1/auth/token: a Bearer token for the API key (client-credentials style). */
export const tokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: wholeNumber(),
  scope: z.string(),
});

/**
 * GET /v1/usage: the caller's tier, limit, what is left, when it resets, and counts today and this
 * month; and, when the tier has a quota, the quota's period (UTC), its requests, how many the
 * period has admitted (this one included), how many are left and the seconds until it restarts.
 */
export const usageResponse = z.object({
  tenantId: z.optional(z.string()),
  tier: z.enum(TIER_NAMES),
  limit: z.object({ requestsPerMinute: wholeNumber(), burst: wholeNumber() }),
  remaining: nonNegative(),
  resetSeconds: z.number().check(z.gte(0)),
  counts: z.object({ today: nonNegative(), thisMonth: nonNegative() }),
  quota: z.optional(
    z.object({
      period: z.enum(QUOTA_PERIODS),
      limit: wholeNumber(),
      used: nonNegative(),
      remaining: nonNegative(),
      resetSeconds: nonNegative(),
    }),
  ),
});

/** GET /v1/users (demo data). */
export const usersResponse = z.object({ items: z.array(z.object({ id: z.string(), name: z.string(), plan: z.string() })) });

/** GET /v1/products (demo data). */
export const productsResponse = z.object({ items: z.array(z.object({ id: z.string(), name: z.string(), priceCents: wholeNumber() })) });

/** A tenant as the admin API answers it. */
export const tenantResponse = z.object({
  tenantId: z.string().check(z.regex(TENANT_ID_PATTERN)),
  name: z.string(),
  tier: z.enum(TIER_NAMES),
  blocked: z.boolean(),
  createdAt: timestamp(),
  /** The account that registered a self-service tenant. */
  owner: z.optional(z.object({ subject: z.string(), email: z.string() })),
});

export const tenantListResponse = z.object({ items: z.array(tenantResponse) });

/** An API key's record (never its secret). */
export const apiKeyResponse = z.object({
  keyId: z.string(),
  tenantId: z.string(),
  role: z.enum(['tenant', 'admin']),
  status: z.enum(['active', 'blocked', 'revoked']),
  createdAt: timestamp(),
  /** Set on keys made since self-service keys (issue 15): the owner's name for it and its first characters. */
  name: z.optional(z.string()),
  prefix: z.optional(z.string()),
  /** When the key was last used (to the hour), and when a rotated key stops working. */
  lastUsedAt: z.optional(timestamp()),
  expiresAt: z.optional(timestamp()),
});

/** A new key: its record and its secret, shown this once. */
export const createdApiKeyResponse = z.object({
  ...apiKeyResponse.shape,
  apiKey: z.string().check(z.regex(API_KEY_PATTERN)),
  note: z.string(),
});

const mappingFields = { issuer: z.string(), tenantId: z.string(), createdAt: timestamp() };

/** An external identity mapped to a tenant: one subject, or one app client, of an issuer. */
export const externalIdentityResponse = z.union([
  z.object({ ...mappingFields, subject: z.string() }),
  z.object({ ...mappingFields, clientId: z.string() }),
]);

export const revokedAdminTokenResponse = z.object({ tokenId: z.string().check(z.regex(TOKEN_ID_PATTERN)), revoked: z.literal(true) });

/** One admin action in the audit log. */
export const auditEntryResponse = z.object({
  at: timestamp(),
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  details: z.optional(z.record(z.string(), z.unknown())),
});

export const auditListResponse = z.object({ items: z.array(auditEntryResponse) });

/** POST /v1/admin/token: an admin token for the IAM principal API Gateway verified. */
export const adminTokenResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: wholeNumber(),
  token_id: z.string().check(z.regex(TOKEN_ID_PATTERN)),
  subject: z.string(),
});

/* Accounts and their keys (issue 15): the request bodies are in contracts/account-request-schemas.ts. */
export { confirmBody, createKeyBody, loginBody, refreshBody, registerBody, rotateKeyBody };

/**
 * POST /v1/auth/register: the same answer whether or not the address already has an account, so
 * that the route tells no one which addresses do.
 */
export const registerResponse = z.object({ status: z.literal('verification-sent'), message: z.string() });

/** POST /v1/auth/confirm. */
export const confirmResponse = z.object({ status: z.literal('confirmed') });

/** POST /v1/auth/login and POST /v1/auth/refresh: the pool's access token (and, on login, a refresh token). */
export const accountTokensResponse = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: wholeNumber(),
  refresh_token: z.optional(z.string()),
});

/** POST /v1/auth/logout: answered alike for any refresh token, valid or not. */
export const logoutResponse = z.object({ status: z.literal('signed-out') });

/** GET /v1/auth/me: who is signed in, and their tenant. */
export const accountResponse = z.object({
  email: z.string(),
  tenantId: z.string().check(z.regex(TENANT_ID_PATTERN)),
  tier: z.enum(TIER_NAMES),
  blocked: z.boolean(),
  createdAt: timestamp(),
});

/** A key of one's own tenant as GET /v1/keys lists it: never its secret. */
export const ownApiKeyResponse = z.object({
  keyId: z.string(),
  name: z.string(),
  /** The key's first characters (`aut_` and 4 more), to recognise it. */
  prefix: z.string(),
  status: z.enum(['active', 'blocked', 'revoked']),
  createdAt: timestamp(),
  /** When it was last used, to the hour; absent if never. */
  lastUsedAt: z.optional(timestamp()),
  /** When a rotated key stops working; absent for a key that was not rotated. */
  expiresAt: z.optional(timestamp()),
});

export const ownApiKeyListResponse = z.object({ items: z.array(ownApiKeyResponse) });

/** POST /v1/keys: a new key of one's own, its secret shown this once. */
export const createdOwnApiKeyResponse = z.object({ ...ownApiKeyResponse.shape, apiKey: z.string().check(z.regex(API_KEY_PATTERN)), note: z.string() });

/** POST /v1/keys/{keyId}/rotate: the new key (secret shown once) and the old one, with when it stops working. */
export const rotatedApiKeyResponse = z.object({ key: createdOwnApiKeyResponse, previous: ownApiKeyResponse });

/**
 * PUT /v1/notifications: `{ optOuts }`, the kinds of account event the tenant's contact does not
 * want mailed (an empty list for none). Here rather than in contracts/account-request-schemas.ts:
 * the account route checks the body by hand (`optOutsOf` in lambdas/routes/account-route.ts,
 * naming a wrong kind), since z.array and z.enum would cost its bundle about 1.3 KB;
 * test/accounts/notification-settings.test.ts holds both to the same answers.
 */
export const notificationSettingsBody = z.strictObject({ optOuts: z.array(z.enum(NOTIFICATION_SETTINGS.optional)) });

/**
 * GET and PUT /v1/notifications (issue 16): the kinds of account event the tenant's contact opted
 * out of, the kinds one may opt out of, and those always mailed.
 */
export const notificationSettingsResponse = z.object({
  optOuts: z.array(z.enum(NOTIFICATION_SETTINGS.optional)),
  optional: z.array(z.enum(NOTIFICATION_SETTINGS.optional)),
  critical: z.array(z.enum(NOTIFICATION_SETTINGS.critical)),
});

/** Path parameters of the admin routes. */
export const tenantIdParameter = z.string().check(z.regex(TENANT_ID_PATTERN));
export const keyIdParameter = z.string().check(z.minLength(1));
export const tokenIdParameter = z.string().check(z.regex(TOKEN_ID_PATTERN));

/** GET /v1/admin/audit?limit=: 1 to 500 entries, 50 when not given. */
export const auditLimitParameter = z._default(z.int().check(z.gte(1), z.lte(500)), 50);

/** The request bodies, by the admin function's own schemas. */
export const REQUEST_BODIES = {
  createTenantBody,
  setTierBody,
  externalIdentityBody,
  registerBody,
  confirmBody,
  loginBody,
  refreshBody,
  createKeyBody,
  rotateKeyBody,
  notificationSettingsBody,
} as const;

/** The answers' named schemas: the OpenAPI document's `components.schemas`, by these names. */
export const RESPONSE_SCHEMAS = {
  Error: errorBody,
  GatewayMessage: gatewayMessage,
  Token: tokenResponse,
  Usage: usageResponse,
  Users: usersResponse,
  Products: productsResponse,
  Tenant: tenantResponse,
  TenantList: tenantListResponse,
  ApiKey: apiKeyResponse,
  CreatedApiKey: createdApiKeyResponse,
  ExternalIdentity: externalIdentityResponse,
  RevokedAdminToken: revokedAdminTokenResponse,
  AuditList: auditListResponse,
  AdminToken: adminTokenResponse,
  Registered: registerResponse,
  Confirmed: confirmResponse,
  AccountTokens: accountTokensResponse,
  SignedOut: logoutResponse,
  Account: accountResponse,
  OwnApiKey: ownApiKeyResponse,
  OwnApiKeyList: ownApiKeyListResponse,
  CreatedOwnApiKey: createdOwnApiKeyResponse,
  RotatedApiKey: rotatedApiKeyResponse,
  NotificationSettings: notificationSettingsResponse,
} as const;

export type ResponseSchemaName = keyof typeof RESPONSE_SCHEMAS;

export type TokenResponse = z.infer<typeof tokenResponse>;
export type UsageResponse = z.infer<typeof usageResponse>;
export type UsersResponse = z.infer<typeof usersResponse>;
export type ProductsResponse = z.infer<typeof productsResponse>;
export type AdminTokenResponse = z.infer<typeof adminTokenResponse>;
export type RegisterResponse = z.infer<typeof registerResponse>;
export type ConfirmResponse = z.infer<typeof confirmResponse>;
export type AccountTokensResponse = z.infer<typeof accountTokensResponse>;
export type LogoutResponse = z.infer<typeof logoutResponse>;
export type AccountResponse = z.infer<typeof accountResponse>;
export type OwnApiKeyResponse = z.infer<typeof ownApiKeyResponse>;
export type OwnApiKeyListResponse = z.infer<typeof ownApiKeyListResponse>;
export type CreatedOwnApiKeyResponse = z.infer<typeof createdOwnApiKeyResponse>;
export type RotatedApiKeyResponse = z.infer<typeof rotatedApiKeyResponse>;
export type NotificationSettingsResponse = z.infer<typeof notificationSettingsResponse>;
