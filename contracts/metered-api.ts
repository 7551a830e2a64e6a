import { authorizerContextVariable } from './authorizer-context';
import { SOURCE_IP_ATTRIBUTES } from './source-ip-limits';

/**
 * Facts of the metered API shared by the stack, the Lambda handlers and the local runtime: table
 * key schemas, routes, scopes, credential formats.
 */

/** How long a metered API Lambda may run (its timeout), in seconds. */
export const HANDLER_TIMEOUT_SECONDS = 10;

/** The demo routes sleep between `min` and `max` times the configured latency. */
export const DEMO_LATENCY_SPREAD = { min: 0.5, max: 1.5 } as const;

/**
 * The request path's AWS SDK policy: DynamoDB answers in milliseconds, so an attempt that takes
 * 700 ms is a failure to fail fast on, so that the limiter's fallback (a read, then its fail mode)
 * and the route still finish well inside the function timeout.
 */
export const REQUEST_PATH_SDK = { connectionTimeoutMs: 300, requestTimeoutMs: 700, maxAttempts: 2 } as const;

/**
 * The longest a limiter decision can wait on DynamoDB: two calls that can time out (a write, then
 * the read), each at most `maxAttempts` × (connection + request) timeouts, plus one back-off.
 */
export const REQUEST_PATH_WORST_CASE_MS =
  2 * REQUEST_PATH_SDK.maxAttempts * (REQUEST_PATH_SDK.connectionTimeoutMs + REQUEST_PATH_SDK.requestTimeoutMs) + 500;

/** What a demo handler needs beyond its sleep: the limiter at its slowest, then answering and recording the request. */
const HANDLER_HEADROOM_MS = REQUEST_PATH_WORST_CASE_MS + 1_000;

/**
 * The largest `demoLatencyMs` whose slowest request still answers, and is recorded as usage,
 * before the function times out (a timed-out invocation is never recorded).
 */
export const MAX_DEMO_LATENCY_MS = Math.floor((HANDLER_TIMEOUT_SECONDS * 1000 - HANDLER_HEADROOM_MS) / DEMO_LATENCY_SPREAD.max);

/** A DynamoDB key attribute. */
export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

/** A table's keys and indexes, from which both CDK's TableV2 and the local CreateTable are built. */
export interface TableDefinition {
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly globalSecondaryIndexes?: readonly { readonly indexName: string; readonly partitionKey: KeyAttribute; readonly sortKey?: KeyAttribute }[];
  /** A Number attribute of epoch seconds after which DynamoDB deletes the item (TTL, within days). */
  readonly timeToLiveAttribute?: string;
}

/** The credentials table's TTL attribute: entries that only matter until a time, such as revoked admin tokens. */
export const CREDENTIALS_TTL_ATTRIBUTE = 'expiresAt';

export const METERED_API_TABLES = {
  /** Tenants (`TENANT#id`), API keys by hash (`KEYHASH#sha256`) and by id (`KEY#id`), revoked admin tokens (`ADMINTOKEN#jti`). */
  credentials: {
    partitionKey: { name: 'pk', type: 'S' },
    timeToLiveAttribute: CREDENTIALS_TTL_ATTRIBUTE,
    globalSecondaryIndexes: [{ indexName: 'byEntity', partitionKey: { name: 'entity', type: 'S' }, sortKey: { name: 'sk', type: 'S' } }],
  },
  /** One item per tenant: the GCRA theoretical arrival time, tier, blocks and daily/monthly counts. */
  /** Tenants' limiter items, and the source IP guard's `IP#…` items, which expire when idle (their `expiresAt`). */
  limiter: { partitionKey: { name: 'pk', type: 'S' }, timeToLiveAttribute: SOURCE_IP_ATTRIBUTES.expiresAt },
  /** Admin actions by month (`AUDIT#YYYY-MM`), newest last by `sk` = time#id. */
  audit: { partitionKey: { name: 'pk', type: 'S' }, sortKey: { name: 'sk', type: 'S' } },
} as const satisfies Record<string, TableDefinition>;

export type MeteredApiTable = keyof typeof METERED_API_TABLES;

/** The partition key prefix of audit entries (`AUDIT#YYYY-MM`): the only partitions the admin functions may write. */
export const AUDIT_PARTITION_PREFIX = 'AUDIT#';

/** The attributes of an audit entry: the only ones the admin functions may write to the audit table. */
export const AUDIT_ENTRY_ATTRIBUTES = ['pk', 'sk', 'at', 'actor', 'action', 'target', 'details'] as const;

/** Scopes carried in the authorizer context and in tokens. */
export const SCOPES = {
  /** Call metered routes. */
  call: 'api:call',
  /** Read one's own usage. */
  usage: 'usage:read',
  /** Administer tenants and keys. Only admin credentials carry it. */
  admin: 'admin',
  /** Manage one's own tenant's keys and read one's account: only a signed-in account's token carries it, never a key's. */
  account: 'account:manage',
} as const;

export const TENANT_SCOPES: readonly string[] = [SCOPES.call, SCOPES.usage];

/** What a signed-in account's access token may do: what its tenant's keys may, and manage them. */
export const ACCOUNT_SCOPES: readonly string[] = [...TENANT_SCOPES, SCOPES.account];

/** API keys: a recognisable prefix, then 32 random bytes in base64url. */
export const API_KEY_PREFIX = 'aut_';
export const API_KEY_PATTERN = /^aut_[A-Za-z0-9_-]{43}$/;

/** The header carrying an API key for the token exchange. */
export const API_KEY_HEADER = 'x-api-key';

/** How an authorizer finds the credential: its identity source, which is also its cache key. */
export type CredentialSource = 'authorization' | 'x-api-key';

export const IDENTITY_SOURCES: Readonly<Record<CredentialSource, string>> = {
  authorization: '$request.header.Authorization',
  'x-api-key': `$request.header.${API_KEY_HEADER}`,
};

/**
 * What a route needs from the caller: a tenant's credential (a key, a token, an account), an
 * admin's, or a signed-in account's access token (its own keys, `GET /v1/auth/me`).
 */
export type RouteAccess = 'tenant' | 'admin' | 'account';

/** A built-in route: its key, the handler module under `lambdas/handlers/`, and who may call it. */
export interface BuiltInRoute {
  readonly routeKey: string;
  readonly handler: 'token' | 'usage' | 'demo-users' | 'demo-products' | 'admin' | 'account';
  readonly access: RouteAccess;
  readonly credential: CredentialSource;
  /** Whether the route consumes the caller's rate limit. */
  readonly metered: boolean;
}

export const BUILT_IN_ROUTES: readonly BuiltInRoute[] = [
  { routeKey: 'POST /v1/auth/token', handler: 'token', access: 'tenant', credential: 'x-api-key', metered: true },
  { routeKey: 'GET /v1/usage', handler: 'usage', access: 'tenant', credential: 'authorization', metered: true },
  { routeKey: 'GET /v1/users', handler: 'demo-users', access: 'tenant', credential: 'authorization', metered: true },
  { routeKey: 'GET /v1/products', handler: 'demo-products', access: 'tenant', credential: 'authorization', metered: true },
  { routeKey: 'POST /v1/admin/tenants', handler: 'admin', access: 'admin', credential: 'authorization', metered: false },
  { routeKey: 'GET /v1/admin/tenants', handler: 'admin', access: 'admin', credential: 'authorization', metered: false },
  { routeKey: 'PUT /v1/admin/tenants/{tenantId}/tier', handler: 'admin', access: 'admin', credential: 'authorization', metered: false },
  { routeKey: 'POST /v1/admin/tenants/{tenantId}/block', handler: 'admin', access: 'admin', credential: 'authorization', metered: false },
  { routeKey: 'POST /v1/admin/tenants/{tenantId}/unblock', handler: 'admin', access: 'admin', credential: 'authorization', metered: false },
  { routeKey: 'POST /v1/admin/tenants/{tenantId}/keys', handler: 'admin', access: 'admin', credential: 'authorization', metered: false },
  { routeKey: 'POST /v1/admin/keys/{keyId}/revoke', handler: 'admin', access: 'admin', credential: 'authorization', metered: false },
  { routeKey: 'POST /v1/admin/keys/{keyId}/block', handler: 'admin', access: 'admin', credential: 'authorization', metered: false },
  { routeKey: 'POST /v1/admin/keys/{keyId}/unblock', handler: 'admin', access: 'admin', credential: 'authorization', metered: false },
  { routeKey: 'POST /v1/admin/tenants/{tenantId}/external-identities', handler: 'admin', access: 'admin', credential: 'authorization', metered: false },
  { routeKey: 'POST /v1/admin/tokens/{tokenId}/revoke', handler: 'admin', access: 'admin', credential: 'authorization', metered: false },
  { routeKey: 'GET /v1/admin/audit', handler: 'admin', access: 'admin', credential: 'authorization', metered: false },
  // A signed-in account's own tenant (issue 15): its user and its keys (lambdas/accounts/).
  { routeKey: 'GET /v1/auth/me', handler: 'account', access: 'account', credential: 'authorization', metered: false },
  { routeKey: 'POST /v1/keys', handler: 'account', access: 'account', credential: 'authorization', metered: false },
  { routeKey: 'GET /v1/keys', handler: 'account', access: 'account', credential: 'authorization', metered: false },
  { routeKey: 'POST /v1/keys/{keyId}/rotate', handler: 'account', access: 'account', credential: 'authorization', metered: false },
  { routeKey: 'POST /v1/keys/{keyId}/revoke', handler: 'account', access: 'account', credential: 'authorization', metered: false },
  // Its tenant's notification settings (issue 16): the kinds of account event its contact opted out of.
  { routeKey: 'GET /v1/notifications', handler: 'account', access: 'account', credential: 'authorization', metered: false },
  { routeKey: 'PUT /v1/notifications', handler: 'account', access: 'account', credential: 'authorization', metered: false },
];

/**
 * The route that mints admin tokens: IAM authorization (SigV4), not the Lambda authorizer, so the
 * caller's IAM principal is proven by API Gateway. Its handler module is `admin-token`.
 */
export const ADMIN_TOKEN_ROUTE = { routeKey: 'POST /v1/admin/token', handler: 'admin-token' } as const;

/**
 * A route anyone may call: no authorizer, no tenant limiter (API Gateway's route throttle bounds
 * it). `guarded` routes answer only what the per-source-IP guard admits
 * (lambdas/limiter/source-ip-guard.ts), before they look at the request.
 */
export interface PublicRoute {
  readonly routeKey: string;
  readonly handler: 'api-docs' | 'auth';
  readonly guarded: boolean;
}

/**
 * The API's reference, served without authentication: the OpenAPI 3.1 document and the page that
 * renders it (handler module `api-docs`; contracts/openapi.ts builds the document), the consumer
 * client for pages and its demo page; and the account routes a caller reaches before it has a
 * credential (handler module `auth`, lambdas/accounts/), behind the source IP guard.
 */
export const PUBLIC_ROUTES: readonly PublicRoute[] = [
  { routeKey: 'GET /openapi.json', handler: 'api-docs', guarded: false },
  { routeKey: 'GET /docs', handler: 'api-docs', guarded: false },
  { routeKey: 'GET /sdk', handler: 'api-docs', guarded: false },
  { routeKey: 'GET /sdk.js', handler: 'api-docs', guarded: false },
  { routeKey: 'GET /sdk.mjs', handler: 'api-docs', guarded: false },
  { routeKey: 'POST /v1/auth/register', handler: 'auth', guarded: true },
  { routeKey: 'POST /v1/auth/confirm', handler: 'auth', guarded: true },
  { routeKey: 'POST /v1/auth/login', handler: 'auth', guarded: true },
  { routeKey: 'POST /v1/auth/refresh', handler: 'auth', guarded: true },
  { routeKey: 'POST /v1/auth/logout', handler: 'auth', guarded: true },
];

/** The `service` of usage events the metered API emits. */
export const METERED_API_SERVICE = 'metered-api';

/** `aud` of the tokens the API mints, unless a deployment names another. */
export const DEFAULT_TOKEN_AUDIENCE = 'api-usage-tracker';

/** Token lifetime: short, since a revoked key's tokens stay valid until they expire. */
export const TOKEN_TTL_SECONDS = 900;

/**
 * How far past `exp` (and before `nbf`) a token is still accepted, for clock skew between the
 * minting and the verifying process.
 */
export const TOKEN_CLOCK_TOLERANCE_SECONDS = 5;

/**
 * How long API Gateway caches an authorizer's answer, per access. An HTTP API caches a Lambda
 * authorizer's answer per identity source value for `AuthorizerResultTtlInSeconds`, 0 turning
 * caching off (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html#http-api-lambda-authorizer.caching,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-apigatewayv2-authorizer.html).
 *
 * - admin: 0, so a revoked or blocked admin credential, and any refusal, act on the very next request.
 * - tenant: no longer than the token clock tolerance. The authorizer allows a token only if it is
 *   still valid when the cached answer expires (see `Authenticator.authenticate`), so no token is
 *   accepted after `exp` + {@link TOKEN_CLOCK_TOLERANCE_SECONDS}; blocks and revocations of tenant
 *   credentials act at once anyway (the limiter checks them on every request).
 */
export const AUTHORIZER_CACHE_TTL_BY_ACCESS: Readonly<Record<RouteAccess, number>> = { tenant: TOKEN_CLOCK_TOLERANCE_SECONDS, admin: 0, account: TOKEN_CLOCK_TOLERANCE_SECONDS };

/** The longest any authorizer answer is cached: how long a credential may outlive its revocation at the gateway. */
export const AUTHORIZER_CACHE_TTL_SECONDS = Math.max(...Object.values(AUTHORIZER_CACHE_TTL_BY_ACCESS));

/**
 * The HTTP API's access log record (JSON, one per request): field name → `$context` variable.
 * The stage writes it, the access-log processor reads it, the local gateway produces the same.
 */
export const ACCESS_LOG_FORMAT = {
  requestId: '$context.requestId',
  requestTimeEpoch: '$context.requestTimeEpoch',
  routeKey: '$context.routeKey',
  httpMethod: '$context.httpMethod',
  status: '$context.status',
  integrationStatus: '$context.integrationStatus',
  responseLatency: '$context.responseLatency',
  responseLength: '$context.responseLength',
  tenantId: authorizerContextVariable('tenantId'),
  apiKeyId: authorizerContextVariable('apiKeyId'),
  sourceIp: '$context.identity.sourceIp',
} as const;

export type AccessLogRecord = { readonly [K in keyof typeof ACCESS_LOG_FORMAT]?: string | number | null };

/**
 * The authorizer a route is attached to. Routes share an authorizer only when they share access
 * and credential source: API Gateway caches an authorizer's answer per credential, whatever the
 * route, so admin routes get an authorizer (and cache) of their own.
 */
export function authorizerNameOf(route: { readonly access: RouteAccess; readonly credential: CredentialSource }): string {
  return `${route.access}-${route.credential}`;
}

/** What one authorizer decides with: set by the stack for that authorizer, read by its function. */
export interface AuthorizerConfig {
  readonly access: RouteAccess;
  readonly credential: CredentialSource;
  /** How long API Gateway caches its answers; an allow must hold that long. */
  readonly cacheTtlSeconds: number;
}

/** The configuration of the authorizer for routes of this access and credential source. */
export function authorizerConfigOf(route: { readonly access: RouteAccess; readonly credential: CredentialSource }): AuthorizerConfig {
  return { access: route.access, credential: route.credential, cacheTtlSeconds: AUTHORIZER_CACHE_TTL_BY_ACCESS[route.access] };
}

const AUTHORIZERS: readonly AuthorizerConfig[] = [
  ...(['tenant', 'admin'] as const).flatMap((access) => (['authorization', 'x-api-key'] as const).map((credential) => authorizerConfigOf({ access, credential }))),
  // An account's access token comes as a Bearer token only.
  authorizerConfigOf({ access: 'account', credential: 'authorization' }),
];

/**
 * The configuration of the authorizer a Lambda function was invoked as. Each authorizer invokes
 * the authorizer function through an alias named after it ({@link authorizerNameOf}), so the
 * qualifier of the invoked ARN — set by the stack in the authorizer's URI, which no request can
 * change — says which access to grant; a route's access never comes from a lookup of the request's
 * route (routes added with `addMeteredRoute` are in no table). Throws, naming what it got, when
 * the function was invoked without such an alias: the authorizer then answers nothing (a 500), so
 * a misconfiguration refuses every caller rather than admitting any.
 */
export function authorizerConfigOfInvokedArn(invokedFunctionArn: string | undefined): AuthorizerConfig {
  // arn:aws:lambda:<region>:<account>:function:<name>:<qualifier>
  const qualifier = invokedFunctionArn?.split(':')[7];
  const config = AUTHORIZERS.find((candidate) => authorizerNameOf(candidate) === qualifier);
  if (!config) {
    throw new Error(
      `The authorizer function must be invoked through an alias naming its authorizer (${AUTHORIZERS.map(authorizerNameOf).join(', ')}); it was invoked as ${JSON.stringify(invokedFunctionArn)}.`,
    );
  }
  return config;
}
