import { externalIssuerProblems } from '../../contracts/external-issuer';
import { DEFAULT_EXTERNAL_ALGORITHMS, LAMBDA_ENV, jwksUrlOf } from '../../contracts/lambda-environment';
import { MAX_DEMO_LATENCY_MS, REQUEST_PATH_SDK as CONTRACT_REQUEST_PATH_SDK } from '../../contracts/metered-api';
import { TierName, TierOverride, TierPolicy, resolveTierPolicies } from '../../contracts/tiers';
import { DEFAULT_EVENT_SOURCE } from '../../contracts/usage-event-constants';
import type { ExternalIssuer } from '../tokens/token-service';

/** Where a token signing secret is read from. */
export type SecretLocation = { readonly kind: 'secrets-manager'; readonly secretId: string } | { readonly kind: 'file'; readonly path: string };

/** Where the admin token key is: a KMS asymmetric key in AWS, a PEM file locally. */
export type AdminKeyLocation = { readonly kind: 'kms'; readonly keyId: string } | { readonly kind: 'file'; readonly path: string };

/** Timeouts and retries of every AWS SDK call on the request path (DynamoDB, Secrets Manager). */
export interface RequestPathSdkPolicy {
  /** How long opening a connection may take. */
  readonly connectionTimeoutMs: number;
  /** How long one attempt (request and response) may take. */
  readonly requestTimeoutMs: number;
  /** Attempts per call, the first included. */
  readonly maxAttempts: number;
}

/** The request path's SDK policy (timeouts and attempts), from the contracts: {@link CONTRACT_REQUEST_PATH_SDK}. */
export const REQUEST_PATH_SDK: RequestPathSdkPolicy = CONTRACT_REQUEST_PATH_SDK;

/**
 * The client configuration of a request-path SDK client. `requestTimeout` of the Node.js handler
 * only warns unless `throwOnRequestTimeout` is set (@smithy/node-http-handler ≥ 4.4); the object form
 * of `requestHandler` is the SDK's shorthand for a `NodeHttpHandler` with these options.
 * https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/node-configuring-maxsockets.html
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html
 */
export function requestPathClientConfig(policy: RequestPathSdkPolicy = REQUEST_PATH_SDK) {
  return {
    maxAttempts: policy.maxAttempts,
    requestHandler: { connectionTimeout: policy.connectionTimeoutMs, requestTimeout: policy.requestTimeoutMs, throwOnRequestTimeout: true },
  };
}

/** The bus every request is recorded on, and the events' `source`. */
export interface UsageBusConfig {
  readonly eventBusName: string;
  readonly source: string;
}

/** Everything the metered API's handlers need from their environment. */
export interface RuntimeConfig {
  readonly tables: { readonly credentials: string; readonly limiter: string; readonly audit: string };
  readonly tokenIssuer: string;
  readonly tokenAudience: string;
  readonly tenantSecret: SecretLocation;
  readonly adminKey: AdminKeyLocation;
  readonly external?: ExternalIssuer;
  /** The consumer accounts' user pool, if the stack has one: the account routes sign in with it, the authorizer verifies its tokens. */
  readonly accounts?: AccountsPool;
  readonly tiers: Readonly<Record<TierName, TierPolicy>>;
  readonly usageBus?: UsageBusConfig;
  readonly demo: { readonly latencyMs: number; readonly errorRate: number };
  /** Whether the token exchange runs the per-source-IP guard (on unless the environment says `off`). */
  readonly sourceIpGuard?: boolean;
}

/** The consumer accounts' user pool: its id and app client, and its issuer with its keys. */
export interface AccountsPool extends ExternalIssuer {
  readonly userPoolId: string;
  readonly clientId: string;
}

/** Thrown at start-up when the environment is incomplete: the handler must not half-work. */
export class RuntimeConfigError extends Error {
  constructor(problems: readonly string[]) {
    super(`The metered API is misconfigured: ${problems.join('; ')}.`);
    this.name = 'RuntimeConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads the environment the stack wrote (`lambdaEnvironment`, contracts/lambda-environment.ts)
 * once, naming every problem at once. Tier overrides come as JSON, e.g.
 * `{"free":{"requestsPerMinute":10},"premium":{"failMode":"closed"}}`.
 */
export function readRuntimeConfig(env: Env = process.env): RuntimeConfig {
  const problems: string[] = [];
  const required = (name: string) => {
    const value = env[name];
    if (!value) problems.push(`${name} is not set`);
    return value ?? '';
  };
  const tables = { credentials: required(LAMBDA_ENV.tables.credentials), limiter: required(LAMBDA_ENV.tables.limiter), audit: required(LAMBDA_ENV.tables.audit) };
  const tokenIssuer = required(LAMBDA_ENV.tokenIssuer);
  const tokenAudience = required(LAMBDA_ENV.tokenAudience);
  const config: RuntimeConfig = {
    tables,
    tokenIssuer,
    tokenAudience,
    tenantSecret: readTenantSecret(env, problems),
    adminKey: readAdminKey(env, problems),
    tiers: readTiers(env, problems),
    external: readExternalIssuer(env, problems),
    accounts: readAccountsPool(env, problems),
    usageBus: readUsageBus(env),
    demo: readDemo(env, problems),
    sourceIpGuard: env[LAMBDA_ENV.sourceIpGuard] !== 'off',
  };
  if (problems.length > 0) throw new RuntimeConfigError(problems);
  return config;
}

/** The usage bus the environment names, if any (the access-log function needs nothing else). */
export function readUsageBus(env: Env = process.env): UsageBusConfig | undefined {
  const eventBusName = env[LAMBDA_ENV.usageEventBusName];
  return eventBusName ? { eventBusName, source: env[LAMBDA_ENV.usageEventSource] ?? DEFAULT_EVENT_SOURCE } : undefined;
}

/** The usage bus, or a {@link RuntimeConfigError}: for functions that must record every request. */
export function requireUsageBus(env: Env = process.env): UsageBusConfig {
  const usageBus = readUsageBus(env);
  if (!usageBus) throw new RuntimeConfigError([`${LAMBDA_ENV.usageEventBusName} is not set: every request must be recorded as a usage event`]);
  return usageBus;
}

function readTenantSecret(env: Env, problems: string[]): SecretLocation {
  const secretId = env[LAMBDA_ENV.tenantTokenSecretArn];
  if (secretId) return { kind: 'secrets-manager', secretId };
  const path = env[LAMBDA_ENV.tenantTokenSecretFile];
  if (path) return { kind: 'file', path };
  problems.push(`${LAMBDA_ENV.tenantTokenSecretArn} or ${LAMBDA_ENV.tenantTokenSecretFile} is not set`);
  return { kind: 'file', path: '' };
}

function readAdminKey(env: Env, problems: string[]): AdminKeyLocation {
  const keyId = env[LAMBDA_ENV.adminTokenKeyId];
  if (keyId) return { kind: 'kms', keyId };
  const path = env[LAMBDA_ENV.adminTokenKeyFile];
  if (path) return { kind: 'file', path };
  problems.push(`${LAMBDA_ENV.adminTokenKeyId} or ${LAMBDA_ENV.adminTokenKeyFile} is not set`);
  return { kind: 'file', path: '' };
}

function readTiers(env: Env, problems: string[]): Readonly<Record<TierName, TierPolicy>> {
  const json = env[LAMBDA_ENV.tiers];
  try {
    return resolveTierPolicies(json ? (JSON.parse(json) as Record<string, TierOverride>) : {});
  } catch (error) {
    problems.push(`${LAMBDA_ENV.tiers} is not valid: ${(error as Error).message}`);
    return resolveTierPolicies();
  }
}

function readExternalIssuer(env: Env, problems: string[]): ExternalIssuer | undefined {
  const issuer = env[LAMBDA_ENV.externalIssuer];
  if (!issuer) return undefined;
  const clientIds = (env[LAMBDA_ENV.externalClientIds] ?? '').split(',').map((id) => id.trim()).filter(Boolean);
  const jwksUrl = env[LAMBDA_ENV.externalJwksUrl];
  if (!jwksUrl) problems.push(`${LAMBDA_ENV.externalJwksUrl} is not set`);
  const externalProblems = externalIssuerProblems({ issuer, clientIds, jwksUrl: jwksUrl ?? '' });
  const names = [LAMBDA_ENV.externalIssuer, LAMBDA_ENV.externalClientIds, LAMBDA_ENV.externalJwksUrl].join(', ');
  problems.push(...externalProblems.map((problem) => `${problem} (${names})`));
  if (externalProblems.length > 0 || !jwksUrl) return undefined;
  const algorithms = env[LAMBDA_ENV.externalAlgorithms]?.split(',').map((a) => a.trim()) ?? [...DEFAULT_EXTERNAL_ALGORITHMS];
  return { issuer, clientIds, jwks: new URL(jwksUrl), algorithms };
}

function readAccountsPool(env: Env, problems: string[]): AccountsPool | undefined {
  const names = [LAMBDA_ENV.accountsUserPoolId, LAMBDA_ENV.accountsClientId, LAMBDA_ENV.accountsIssuer] as const;
  const [userPoolId, clientId, issuer] = names.map((name) => env[name]?.trim() ?? '');
  if (!userPoolId && !clientId && !issuer) return undefined;
  const missing = names.filter((name) => !env[name]?.trim());
  if (missing.length > 0) {
    problems.push(`${missing.join(', ')} not set: the accounts pool needs all of ${names.join(', ')}`);
    return undefined;
  }
  const jwksUrl = jwksUrlOf(issuer);
  const poolProblems = externalIssuerProblems({ issuer, clientIds: [clientId], jwksUrl });
  problems.push(...poolProblems.map((problem) => `${problem} (${LAMBDA_ENV.accountsIssuer})`));
  if (poolProblems.length > 0) return undefined;
  return { userPoolId, clientId, issuer, clientIds: [clientId], jwks: new URL(jwksUrl), algorithms: ['RS256'] };
}

function readDemo(env: Env, problems: string[]): RuntimeConfig['demo'] {
  const number = (name: string, max: number) => {
    const text = env[name];
    const value = text === undefined || text === '' ? 0 : Number(text);
    if (!Number.isFinite(value) || value < 0 || value > max) problems.push(`${name} must be a number from 0 to ${max}`);
    return value;
  };
  return { latencyMs: number(LAMBDA_ENV.demoLatencyMs, MAX_DEMO_LATENCY_MS), errorRate: number(LAMBDA_ENV.demoErrorRate, 1) };
}
