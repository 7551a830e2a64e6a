import { MAX_DEMO_LATENCY_MS, TABLE_ENV } from '../../contracts/metered-api';
import { DEFAULT_TIERS, TIER_NAMES, TierName, resolveTiers } from '../../contracts/tiers';
import { DEFAULT_FAIL_MODES, FailMode, TierPolicy } from '../limiter/token-bucket-limiter';
import { ExternalIssuer } from '../tokens/token-service';

/** Where a token signing secret is read from. */
export type SecretLocation = { readonly kind: 'secrets-manager'; readonly secretId: string } | { readonly kind: 'file'; readonly path: string };

/** Everything the metered API's handlers need from their environment. */
export interface RuntimeConfig {
  readonly tables: { readonly credentials: string; readonly limiter: string; readonly audit: string };
  readonly tokenIssuer: string;
  readonly tokenAudience: string;
  readonly tenantSecret: SecretLocation;
  readonly adminSecret: SecretLocation;
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
  const secret = (name: 'TENANT_TOKEN_SECRET' | 'ADMIN_TOKEN_SECRET'): SecretLocation => {
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
  const adminSecret = secret('ADMIN_TOKEN_SECRET');

  let tiers: Record<TierName, TierPolicy> = Object.fromEntries(TIER_NAMES.map((name) => [name, { ...DEFAULT_TIERS[name], failMode: DEFAULT_FAIL_MODES[name] }])) as Record<TierName, TierPolicy>;
  if (env.TIERS_JSON) {
    try {
      const overrides = JSON.parse(env.TIERS_JSON) as Record<string, { requestsPerMinute?: number; burst?: number; failMode?: FailMode }>;
      const limits = resolveTiers(overrides as never);
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

  const external: ExternalIssuer | undefined = env.EXTERNAL_ISSUER
    ? {
        issuer: env.EXTERNAL_ISSUER,
        audience: required('EXTERNAL_AUDIENCE'),
        jwks: new URL(required('EXTERNAL_JWKS_URL') || 'https://invalid.example'),
        algorithms: (env.EXTERNAL_ALGORITHMS ?? 'RS256').split(',').map((a) => a.trim()),
        tenantClaim: env.EXTERNAL_TENANT_CLAIM ?? 'tenant_id',
      }
    : undefined;

  const usageBus = env.USAGE_EVENT_BUS_NAME ? { eventBusName: env.USAGE_EVENT_BUS_NAME, source: env.USAGE_EVENT_SOURCE ?? 'my-applications' } : undefined;
  const demo = { latencyMs: number('DEMO_LATENCY_MS', 0, 0, MAX_DEMO_LATENCY_MS), errorRate: number('DEMO_ERROR_RATE', 0, 0, 1) };

  if (problems.length > 0) throw new RuntimeConfigError(problems);
  return { tables, tokenIssuer, tokenAudience, tenantSecret, adminSecret, external, tiers, usageBus, demo };
}
