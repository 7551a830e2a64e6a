import { ADMIN_TOKEN_KEY_ENV, MAX_DEMO_LATENCY_MS, REQUEST_PATH_SDK as CONTRACT_REQUEST_PATH_SDK, TABLE_ENV } from '../../contracts/metered-api';
import { DEFAULT_TIERS, TIER_NAMES, TierName, resolveTiers } from '../../contracts/tiers';
import { DEFAULT_FAIL_MODES, FailMode, TierPolicy } from '../limiter/token-bucket-limiter';
import { externalIssuerProblems } from '../../contracts/external-issuer';
import { ExternalIssuer } from '../tokens/token-service';

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

/** Everything the metered API's handlers need from their environment. */
export interface RuntimeConfig {
  readonly tables: { readonly credentials: string; readonly limiter: string; readonly audit: string };
  readonly tokenIssuer: string;
  readonly tokenAudience: string;
  readonly tenantSecret: SecretLocation;
  readonly adminKey: AdminKeyLocation;
  readonly external?: ExternalIssuer;
  readonly tiers: Readonly<Record<TierName, TierPolicy>>;
  readonly usageBus?: { readonly eventBusName: string; readonly source: string };
  readonly demo: { readonly latencyMs: number; readonly errorRate: number };
}

/** Thrown at start-up when the environment is incomplete: the handler must not half-work. */
export class RuntimeConfigError extends Error {
  constructor(problems: readonly string[]) {
    super(`The metered API is misconfigured: ${problems.join('; ')}.`);
    this.name = 'RuntimeConfigError';
  }
}

/**
 * Reads the environment once. Tier overrides come as `TIERS_JSON`, e.g.
 * `{"free":{"requestsPerMinute":10},"premium":{"failMode":"closed"}}`.
 */
export function readRuntimeConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const problems: string[] = [];
  const required = (name: string) => {
    const value = env[name];
    if (!value) problems.push(`${name} is not set`);
    return value ?? '';
  };
  const secret = (name: 'TENANT_TOKEN_SECRET'): SecretLocation => {
    if (env[`${name}_ARN`]) return { kind: 'secrets-manager', secretId: env[`${name}_ARN`]! };
    if (env[`${name}_FILE`]) return { kind: 'file', path: env[`${name}_FILE`]! };
    problems.push(`${name}_ARN or ${name}_FILE is not set`);
    return { kind: 'file', path: '' };
  };
  const number = (name: string, fallback: number, min: number, max: number) => {
    const value = env[name] === undefined || env[name] === '' ? fallback : Number(env[name]);
    if (!Number.isFinite(value) || value < min || value > max) problems.push(`${name} must be a number from ${min} to ${max}`);
    return value;
  };

  const tables = { credentials: required(TABLE_ENV.credentials), limiter: required(TABLE_ENV.limiter), audit: required(TABLE_ENV.audit) };
  const tokenIssuer = required('TOKEN_ISSUER');
  const tokenAudience = required('TOKEN_AUDIENCE');
  const tenantSecret = secret('TENANT_TOKEN_SECRET');
  let adminKey: AdminKeyLocation = { kind: 'file', path: '' };
  if (env[ADMIN_TOKEN_KEY_ENV.kmsKeyId]) adminKey = { kind: 'kms', keyId: env[ADMIN_TOKEN_KEY_ENV.kmsKeyId]! };
  else if (env[ADMIN_TOKEN_KEY_ENV.file]) adminKey = { kind: 'file', path: env[ADMIN_TOKEN_KEY_ENV.file]! };
  else problems.push(`${ADMIN_TOKEN_KEY_ENV.kmsKeyId} or ${ADMIN_TOKEN_KEY_ENV.file} is not set`);

  let tiers: Record<TierName, TierPolicy> = Object.fromEntries(TIER_NAMES.map((name) => [name, { ...DEFAULT_TIERS[name], failMode: DEFAULT_FAIL_MODES[name] }])) as Record<TierName, TierPolicy>;
  if (env.TIERS_JSON) {
    try {
      const overrides = JSON.parse(env.TIERS_JSON) as Record<string, { requestsPerMinute?: number; burst?: number; failMode?: FailMode }>;
      const limits = resolveTiers(overrides);
      tiers = Object.fromEntries(
        TIER_NAMES.map((name) => {
          const failMode = overrides[name]?.failMode ?? DEFAULT_FAIL_MODES[name];
          if (failMode !== 'open' && failMode !== 'closed') problems.push(`TIERS_JSON: ${name}.failMode must be "open" or "closed"`);
          return [name, { ...limits[name], failMode }];
        }),
      ) as Record<TierName, TierPolicy>;
    } catch (error) {
      problems.push(`TIERS_JSON is not valid: ${(error as Error).message}`);
    }
  }

  let external: ExternalIssuer | undefined;
  if (env.EXTERNAL_ISSUER) {
    const clientIds = (env.EXTERNAL_CLIENT_IDS ?? '').split(',').map((id) => id.trim()).filter(Boolean);
    const jwksUrl = required('EXTERNAL_JWKS_URL');
    const externalProblems = externalIssuerProblems({ issuer: env.EXTERNAL_ISSUER, clientIds, jwksUrl });
    problems.push(...externalProblems.map((problem) => `${problem} (EXTERNAL_ISSUER, EXTERNAL_CLIENT_IDS, EXTERNAL_JWKS_URL)`));
    if (externalProblems.length === 0) {
      external = { issuer: env.EXTERNAL_ISSUER, clientIds, jwks: new URL(jwksUrl), algorithms: (env.EXTERNAL_ALGORITHMS ?? 'RS256').split(',').map((a) => a.trim()) };
    }
  }

  const usageBus = env.USAGE_EVENT_BUS_NAME ? { eventBusName: env.USAGE_EVENT_BUS_NAME, source: env.USAGE_EVENT_SOURCE ?? 'my-applications' } : undefined;
  const demo = { latencyMs: number('DEMO_LATENCY_MS', 0, 0, MAX_DEMO_LATENCY_MS), errorRate: number('DEMO_ERROR_RATE', 0, 0, 1) };

  if (problems.length > 0) throw new RuntimeConfigError(problems);
  return { tables, tokenIssuer, tokenAudience, tenantSecret, adminKey, external, tiers, usageBus, demo };
}
