import type * as z from 'zod/mini';
import { toJSONSchema } from 'zod/v4/core';
import {
  REQUEST_BODIES,
  RESPONSE_SCHEMAS,
  ResponseSchemaName,
  auditLimitParameter,
  keyIdParameter,
  tenantIdParameter,
  tokenIdParameter,
} from './api-schemas';
import { OPTIONAL_ACCOUNT_EVENT_KINDS } from './account-events';
import { ACCOUNT_TOKEN_VALIDITY, MAX_ROTATION_GRACE_SECONDS } from './accounts';
import { ADMIN_TOKEN_ROUTE, API_KEY_HEADER, BUILT_IN_ROUTES, CredentialSource, PUBLIC_ROUTES, RouteAccess, TOKEN_TTL_SECONDS } from './metered-api';
import { SOURCE_IP_LIMIT } from './source-ip-limits';

/**
 * The OpenAPI 3.1 document of the metered API, generated from the zod schemas of
 * contracts/api-schemas.ts with zod's own `toJSONSchema` (JSON Schema 2020-12, the dialect of
 * OpenAPI 3.1). Its paths are exactly the route table's: BUILT_IN_ROUTES, ADMIN_TOKEN_ROUTE and
 * PUBLIC_ROUTES; a route without an operation below, or an operation without a route, throws.
 */

type Schema = z.ZodMiniType;
type JsonObject = Record<string, unknown>;

/** The refusals a route can answer, by status. */
type RefusalStatus = 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500 | 503;

/** What the reference says of one route. */
interface OperationSpec {
  readonly summary: string;
  readonly tag: 'Tokens' | 'Accounts' | 'Keys' | 'Notifications' | 'Usage' | 'Demo' | 'Admin' | 'Reference';
  readonly pathParameters?: Readonly<Record<string, Schema>>;
  readonly query?: Readonly<Record<string, { readonly schema: Schema; readonly description: string }>>;
  readonly body?: { readonly schema: Schema; readonly name: string };
  readonly success: { readonly status: 200 | 201 | 202; readonly schema: ResponseSchemaName } | { readonly status: 200; readonly content: 'openapi' | 'html' | 'javascript' };
  readonly refusals: readonly RefusalStatus[];
}

/** What API Gateway and the authorizer answer on every route behind the Lambda authorizer. */
const AUTHORIZED: readonly RefusalStatus[] = [401, 403, 429, 500];
const METERED: readonly RefusalStatus[] = [...AUTHORIZED, 503];
/** The unauthenticated account routes: the source IP guard's 429 and 400, and the route's own refusals. */
const GUARDED: readonly RefusalStatus[] = [400, 413, 429, 500];
/** Routes of a signed-in account (its access token). */
const ACCOUNT: readonly RefusalStatus[] = [401, 403, 429, 500];
const tenantPath = { tenantId: tenantIdParameter };
const keyPath = { keyId: keyIdParameter };

const OPERATIONS: Readonly<Record<string, OperationSpec>> = {
  // 400 and 429 also come from the per-source-IP guard of the unauthenticated routes (issue 15, item 3).
  'POST /v1/auth/token': {
    summary: `Exchanges an API key for a Bearer token valid ${TOKEN_TTL_SECONDS} s; at most ${SOURCE_IP_LIMIT.requestsPerMinute} a minute from one source address (429 with Retry-After, then growing bans)`, tag: 'Tokens',
    success: { status: 200, schema: 'Token' },
    refusals: [...METERED, 400],
  },
  'POST /v1/auth/register': {
    summary:
      'Creates an account (email and password) and its free-tier tenant, and emails a code to confirm the address (again, for an address not confirmed yet); answers alike whether or not the address has an account',
    tag: 'Accounts',
    body: { schema: REQUEST_BODIES.registerBody, name: 'RegisterRequest' },
    success: { status: 202, schema: 'Registered' },
    refusals: [...GUARDED, 503],
  },
  'POST /v1/auth/confirm': {
    summary: 'Confirms an address with the code emailed on registration',
    tag: 'Accounts',
    body: { schema: REQUEST_BODIES.confirmBody, name: 'ConfirmRequest' },
    success: { status: 200, schema: 'Confirmed' },
    refusals: [...GUARDED, 503],
  },
  'POST /v1/auth/login': {
    summary: `Signs in: an access token valid ${ACCOUNT_TOKEN_VALIDITY.accessMinutes} minutes and a refresh token; a wrong address or password get the same 401`,
    tag: 'Accounts',
    body: { schema: REQUEST_BODIES.loginBody, name: 'LoginRequest' },
    success: { status: 200, schema: 'AccountTokens' },
    refusals: [...GUARDED, 401, 403, 503],
  },
  'POST /v1/auth/refresh': {
    summary: 'A new access token for a refresh token',
    tag: 'Accounts',
    body: { schema: REQUEST_BODIES.refreshBody, name: 'RefreshRequest' },
    success: { status: 200, schema: 'AccountTokens' },
    refusals: [...GUARDED, 401, 503],
  },
  'POST /v1/auth/logout': {
    summary: `Revokes a refresh token; access tokens minted from it stay valid until they expire (at most ${ACCOUNT_TOKEN_VALIDITY.accessMinutes} minutes)`,
    tag: 'Accounts',
    body: { schema: REQUEST_BODIES.refreshBody, name: 'LogoutRequest' },
    success: { status: 200, schema: 'SignedOut' },
    refusals: [...GUARDED, 503],
  },
  'GET /v1/auth/me': { summary: 'The signed-in account and its tenant', tag: 'Accounts', success: { status: 200, schema: 'Account' }, refusals: ACCOUNT },
  'POST /v1/keys': {
    summary: "Creates an API key of the account's tenant; the key is shown once",
    tag: 'Keys',
    body: { schema: REQUEST_BODIES.createKeyBody, name: 'CreateKeyRequest' },
    success: { status: 201, schema: 'CreatedOwnApiKey' },
    refusals: [...ACCOUNT, 400, 409, 413],
  },
  'GET /v1/keys': { summary: "The account's tenant's keys: prefix, name, status, created and last used", tag: 'Keys', success: { status: 200, schema: 'OwnApiKeyList' }, refusals: ACCOUNT },
  'POST /v1/keys/{keyId}/rotate': {
    summary: `Creates a successor of a key (shown once); the old key keeps working for graceSeconds (at most ${MAX_ROTATION_GRACE_SECONDS})`,
    tag: 'Keys',
    pathParameters: { keyId: keyIdParameter },
    body: { schema: REQUEST_BODIES.rotateKeyBody, name: 'RotateKeyRequest' },
    success: { status: 201, schema: 'RotatedApiKey' },
    refusals: [...ACCOUNT, 400, 404, 409, 413],
  },
  'POST /v1/keys/{keyId}/revoke': { summary: 'Revokes a key of the account\'s tenant for good', tag: 'Keys', pathParameters: { keyId: keyIdParameter }, success: { status: 200, schema: 'OwnApiKey' }, refusals: [...ACCOUNT, 400, 404] },
  'GET /v1/notifications': {
    summary: "The kinds of account event the account's tenant opted out of being mailed, those it may opt out of, and those always mailed",
    tag: 'Notifications',
    success: { status: 200, schema: 'NotificationSettings' },
    refusals: ACCOUNT,
  },
  'PUT /v1/notifications': {
    summary: `Replaces the kinds the account's tenant opts out of (any of ${OPTIONAL_ACCOUNT_EVENT_KINDS.join(', ')}; [] for none); another kind is a 400 naming it`,
    tag: 'Notifications',
    body: { schema: REQUEST_BODIES.notificationSettingsBody, name: 'NotificationSettingsRequest' },
    success: { status: 200, schema: 'NotificationSettings' },
    refusals: [...ACCOUNT, 400, 413],
  },
  'GET /v1/usage': { summary: "The caller's tier, limit, remaining requests, reset and counts", tag: 'Usage', success: { status: 200, schema: 'Usage' }, refusals: METERED },
  'GET /v1/users': { summary: 'Demo users', tag: 'Demo', success: { status: 200, schema: 'Users' }, refusals: METERED },
  'GET /v1/products': { summary: 'Demo products', tag: 'Demo', success: { status: 200, schema: 'Products' }, refusals: METERED },
  'POST /v1/admin/tenants': {
    summary: 'Creates a tenant',
    tag: 'Admin',
    body: { schema: REQUEST_BODIES.createTenantBody, name: 'CreateTenantRequest' },
    success: { status: 201, schema: 'Tenant' },
    refusals: [...AUTHORIZED, 400, 409, 413],
  },
  'GET /v1/admin/tenants': { summary: 'Lists tenants', tag: 'Admin', success: { status: 200, schema: 'TenantList' }, refusals: AUTHORIZED },
  'PUT /v1/admin/tenants/{tenantId}/tier': {
    summary: "Changes a tenant's tier",
    tag: 'Admin',
    pathParameters: tenantPath,
    body: { schema: REQUEST_BODIES.setTierBody, name: 'SetTierRequest' },
    success: { status: 200, schema: 'Tenant' },
    refusals: [...AUTHORIZED, 400, 404, 409, 413],
  },
  'POST /v1/admin/tenants/{tenantId}/block': { summary: 'Blocks a tenant', tag: 'Admin', pathParameters: tenantPath, success: { status: 200, schema: 'Tenant' }, refusals: [...AUTHORIZED, 400, 404] },
  'POST /v1/admin/tenants/{tenantId}/unblock': { summary: 'Unblocks a tenant', tag: 'Admin', pathParameters: tenantPath, success: { status: 200, schema: 'Tenant' }, refusals: [...AUTHORIZED, 400, 404] },
  'POST /v1/admin/tenants/{tenantId}/keys': {
    summary: 'Creates an API key for a tenant; the key is shown once',
    tag: 'Admin',
    pathParameters: tenantPath,
    success: { status: 201, schema: 'CreatedApiKey' },
    refusals: [...AUTHORIZED, 400, 404, 409],
  },
  'POST /v1/admin/keys/{keyId}/revoke': { summary: 'Revokes an API key for good', tag: 'Admin', pathParameters: keyPath, success: { status: 200, schema: 'ApiKey' }, refusals: [...AUTHORIZED, 400, 404] },
  'POST /v1/admin/keys/{keyId}/block': { summary: 'Blocks an API key', tag: 'Admin', pathParameters: keyPath, success: { status: 200, schema: 'ApiKey' }, refusals: [...AUTHORIZED, 400, 404, 409] },
  'POST /v1/admin/keys/{keyId}/unblock': { summary: 'Unblocks an API key', tag: 'Admin', pathParameters: keyPath, success: { status: 200, schema: 'ApiKey' }, refusals: [...AUTHORIZED, 400, 404, 409] },
  'POST /v1/admin/tenants/{tenantId}/external-identities': {
    summary: "Maps an external issuer's subject or app client to a tenant",
    tag: 'Admin',
    pathParameters: tenantPath,
    body: { schema: REQUEST_BODIES.externalIdentityBody, name: 'ExternalIdentityRequest' },
    success: { status: 201, schema: 'ExternalIdentity' },
    refusals: [...AUTHORIZED, 400, 404, 409, 413],
  },
  'POST /v1/admin/tokens/{tokenId}/revoke': {
    summary: 'Revokes an admin token (its jti) until it expires',
    tag: 'Admin',
    pathParameters: { tokenId: tokenIdParameter },
    success: { status: 200, schema: 'RevokedAdminToken' },
    refusals: [...AUTHORIZED, 400],
  },
  'GET /v1/admin/audit': {
    summary: 'The newest audit log entries first',
    tag: 'Admin',
    query: { limit: { schema: auditLimitParameter, description: 'How many entries, 1 to 500.' } },
    success: { status: 200, schema: 'AuditList' },
    refusals: [...AUTHORIZED, 400],
  },
  [ADMIN_TOKEN_ROUTE.routeKey]: {
    summary: 'Mints an admin token for the IAM principal that signed the request (SigV4)',
    tag: 'Admin',
    success: { status: 200, schema: 'AdminToken' },
    refusals: [403, 429, 500],
  },
  'GET /openapi.json': { summary: 'This document', tag: 'Reference', success: { status: 200, content: 'openapi' }, refusals: [429, 500] },
  'GET /docs': { summary: 'The API reference page', tag: 'Reference', success: { status: 200, content: 'html' }, refusals: [429, 500] },
  'GET /sdk': { summary: 'A demo page of the consumer client: sign up, create a key, call routes, watch the quota', tag: 'Reference', success: { status: 200, content: 'html' }, refusals: [429, 500] },
  'GET /sdk.js': { summary: 'The consumer client for pages, as a classic script (global `UsageTrackerClient`)', tag: 'Reference', success: { status: 200, content: 'javascript' }, refusals: [429, 500] },
  'GET /sdk.mjs': { summary: 'The consumer client for pages, as an ES module', tag: 'Reference', success: { status: 200, content: 'javascript' }, refusals: [429, 500] },
};

/** Each refusal: what it means, and whose body it carries (the route's, API Gateway's, or either). */
const REFUSALS: Readonly<Record<RefusalStatus, { readonly description: string; readonly body: 'Error' | 'GatewayMessage' | 'Refusal' }>> = {
  400: { description: 'The request is not valid: its body, a path parameter, the query or its source address; `error` says which (`invalid-body`, `invalid-query`, ...).', body: 'Error' },
  401: {
    description: 'No credential: API Gateway answers `{"message":"Unauthorized"}` without calling the authorizer; or, signing in, a wrong address, password or refresh token (`invalid-credentials`, the same for each).',
    body: 'Refusal',
  },
  403: {
    description: 'The credential is refused (API Gateway: `{"message":"Forbidden"}`), or the key or tenant is blocked or revoked, or the route needs other access (`error` names it).',
    body: 'Refusal',
  },
  404: { description: 'The tenant or key named does not exist.', body: 'Error' },
  409: { description: 'The request clashes with the current state (`tenant-exists`, `key-revoked`, `external-identity-mapped`, `concurrent-change`, `too-many-keys`).', body: 'Error' },
  413: { description: 'The body is over API Gateway\'s 10 MB payload quota: `{"message":"Request Entity Too Large"}`.', body: 'GatewayMessage' },
  429: {
    description:
      "The tenant's rate limit is used up (`rate-limited`, with `Retry-After` and `RateLimit`), or its tier's quota for the day, week or month (`quota-exceeded`, `Retry-After` until the period restarts), or API Gateway throttled the route (`{\"message\":\"Too Many Requests\"}`).",
    body: 'Refusal',
  },
  500: { description: 'The request failed (`internal`, logged with its requestId), or the authorizer failed (API Gateway: `{"message":"Internal Server Error"}`).', body: 'Refusal' },
  503: { description: 'Rate limiting (`limiter-unavailable`) or the account service (`accounts-unavailable`) is temporarily unavailable; retry after `Retry-After` seconds.', body: 'Error' },
};

const RATE_LIMIT_HEADERS = {
  'RateLimit-Policy': {
    description: 'The tier\'s policies as an IETF RateLimit-Policy list: `"<tier>";q=<burst>;w=60`, and `"<tier>-quota";q=<requests>;w=<period seconds>` when the tier has a quota.',
    schema: { type: 'string' },
  },
  RateLimit: { description: 'What is left of each policy: `"<tier>";r=<remaining>;t=<seconds to reset>` (and the quota\'s item).', schema: { type: 'string' } },
  'X-RateLimit-Limit': { description: 'Requests per minute of the tier.', schema: { type: 'integer' } },
  'X-RateLimit-Remaining': { description: 'Requests left now.', schema: { type: 'integer' } },
  'X-RateLimit-Reset': { description: 'Seconds until the bucket is full again.', schema: { type: 'integer' } },
} as const;
const RETRY_AFTER = { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } } as const;

/** The security schemes, by the credential sources the authorizers read (IDENTITY_SOURCES). */
const SECURITY_SCHEMES = {
  BearerToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: `\`Authorization: Bearer <token>\`: a token from POST /v1/auth/token (valid ${TOKEN_TTL_SECONDS} s), an admin token, or an accepted external issuer's access token.` },
  ApiKeyAuthorization: { type: 'http', scheme: 'ApiKey', description: '`Authorization: ApiKey <key>`: an API key (`aut_...`) sent directly.' },
  ApiKeyHeader: { type: 'apiKey', in: 'header', name: API_KEY_HEADER, description: 'An API key, exchanged for a Bearer token.' },
  AccountToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: `\`Authorization: Bearer <access_token>\`: a signed-in account's access token from POST /v1/auth/login or /v1/auth/refresh (valid ${ACCOUNT_TOKEN_VALIDITY.accessMinutes} minutes).`,
  },
  // IAM authorization: API Gateway's documented scheme for SigV4
  // (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-authtype.html).
  AwsSigV4: { type: 'apiKey', in: 'header', name: 'Authorization', 'x-amazon-apigateway-authtype': 'awsSigv4', description: 'A SigV4-signed request of an IAM principal allowed execute-api:Invoke on the route.' },
} as const;

const SECURITY_OF: Readonly<Record<CredentialSource, readonly JsonObject[]>> = {
  authorization: [{ BearerToken: [] }, { ApiKeyAuthorization: [] }],
  'x-api-key': [{ ApiKeyHeader: [] }],
};

/** A zod schema as JSON Schema 2020-12, without `$schema` (the document's dialect applies). */
export function jsonSchemaOf(schema: Schema, io: 'input' | 'output'): JsonObject {
  const generated = toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'throw' }) as JsonObject;
  return Object.fromEntries(Object.entries(generated).filter(([key]) => key !== '$schema'));
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (schema: JsonObject) => ({ 'application/json': { schema } });

/** The security of a route behind the Lambda authorizer: an account's routes take its access token only. */
const securityOf = (route: { readonly access: RouteAccess; readonly credential: CredentialSource }): readonly JsonObject[] =>
  route.access === 'account' ? [{ AccountToken: [] }] : SECURITY_OF[route.credential];

/** Every route of the API, with the security its authorizer (or none) gives it. */
function routeTable(): { routeKey: string; security: readonly JsonObject[]; metered: boolean }[] {
  return [
    ...BUILT_IN_ROUTES.map((route) => ({ routeKey: route.routeKey, security: securityOf(route), metered: route.metered })),
    { routeKey: ADMIN_TOKEN_ROUTE.routeKey, security: [{ AwsSigV4: [] }], metered: false },
    ...PUBLIC_ROUTES.map((route) => ({ routeKey: route.routeKey, security: [], metered: false })),
  ];
}

function successResponse(spec: OperationSpec, metered: boolean): [string, JsonObject] {
  const { success } = spec;
  const headers = metered ? { headers: RATE_LIMIT_HEADERS } : {};
  if ('schema' in success) return [String(success.status), { description: spec.summary, ...headers, content: jsonContent(ref(success.schema)) }];
  const content =
    success.content === 'html'
      ? { 'text/html': { schema: { type: 'string' } } }
      : success.content === 'javascript'
        ? { 'text/javascript': { schema: { type: 'string' } } }
        : jsonContent({ type: 'object', description: 'An OpenAPI 3.1 document.', required: ['openapi', 'info', 'paths'] });
  return ['200', { description: spec.summary, content }];
}

function refusalResponse(status: RefusalStatus): [string, JsonObject] {
  const refusal = REFUSALS[status];
  const headers = status === 429 ? { headers: { 'Retry-After': RETRY_AFTER, ...RATE_LIMIT_HEADERS } } : status === 503 ? { headers: { 'Retry-After': RETRY_AFTER } } : {};
  return [String(status), { description: refusal.description, ...headers, content: jsonContent(ref(refusal.body)) }];
}

function parametersOf(spec: OperationSpec): JsonObject[] {
  const path = Object.entries(spec.pathParameters ?? {}).map(([name, schema]) => ({ name, in: 'path', required: true, schema: jsonSchemaOf(schema, 'input') }));
  const query = Object.entries(spec.query ?? {}).map(([name, { schema, description }]) => ({ name, in: 'query', required: false, description, schema: jsonSchemaOf(schema, 'input') }));
  return [...path, ...query];
}

/** `GET /v1/admin/tenants/{tenantId}/tier` → `getV1AdminTenantsTenantIdTier`. */
function operationIdOf(routeKey: string): string {
  const [method, path] = routeKey.split(' ');
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return method.toLowerCase() + words.map((word) => word[0].toUpperCase() + word.slice(1)).join('');
}

function operationOf(route: { routeKey: string; security: readonly JsonObject[]; metered: boolean }, spec: OperationSpec): JsonObject {
  const parameters = parametersOf(spec);
  return {
    operationId: operationIdOf(route.routeKey),
    summary: spec.summary,
    tags: [spec.tag],
    security: route.security,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(spec.body ? { requestBody: { required: true, content: jsonContent(ref(spec.body.name)) } } : {}),
    responses: Object.fromEntries([successResponse(spec, route.metered), ...spec.refusals.map(refusalResponse)]),
  };
}

/** The named schemas: every answer (output) and request body (input), and the refusal union. */
function componentSchemas(): JsonObject {
  const responses = Object.entries(RESPONSE_SCHEMAS).map(([name, schema]) => [name, jsonSchemaOf(schema, 'output')] as const);
  const bodies = Object.values(OPERATIONS).flatMap((spec) => (spec.body ? [[spec.body.name, jsonSchemaOf(spec.body.schema, 'input')] as const] : []));
  return Object.fromEntries([...responses, ...bodies, ['Refusal', { oneOf: [ref('Error'), ref('GatewayMessage')] }]]);
}

/** The OpenAPI 3.1 document of the API; throws when the route table and the operations disagree. */
export function buildOpenApiDocument(): JsonObject {
  const routes = routeTable();
  const missing = routes.filter((route) => !Object.hasOwn(OPERATIONS, route.routeKey)).map((route) => route.routeKey);
  const extra = Object.keys(OPERATIONS).filter((key) => !routes.some((route) => route.routeKey === key));
  if (missing.length > 0 || extra.length > 0) {
    throw new Error(`contracts/openapi.ts: routes without an operation: ${missing.join(', ') || 'none'}; operations without a route: ${extra.join(', ') || 'none'}.`);
  }
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const route of routes) {
    const [method, path] = route.routeKey.split(' ');
    paths[path] = { ...paths[path], [method.toLowerCase()]: operationOf(route, OPERATIONS[route.routeKey]) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Metered API',
      version: '1.0.0',
      description: 'Rate limited per tenant tier; every call is tracked. Metered routes answer with RateLimit headers, and 429 with Retry-After.',
    },
    tags: [{ name: 'Accounts' }, { name: 'Keys' }, { name: 'Notifications' }, { name: 'Tokens' }, { name: 'Usage' }, { name: 'Demo' }, { name: 'Admin' }, { name: 'Reference' }],
    paths,
    components: { schemas: componentSchemas(), securitySchemes: SECURITY_SCHEMES },
  };
}

/** The `METHOD path` of every operation of a document. */
export function operationsOf(document: JsonObject): string[] {
  const paths = document.paths as Record<string, Record<string, unknown>>;
  return Object.entries(paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
}
