import type { AccountSignals } from './account-events';
import type { MeteredApiTable } from './metered-api';
import { METRICS_NAMESPACE } from './pipeline-metrics';
import type { TierOverride, TierName } from './tiers';

/**
 * The metered API functions' environment: every variable's name, and the one function that
 * writes it ({@link lambdaEnvironment}, called by the stack). The functions read it with
 * `readRuntimeConfig` (lambdas/runtime/runtime-config.ts), by these same names.
 */
export const LAMBDA_ENV = {
  /** The tables, by {@link MeteredApiTable}. */
  tables: {
    credentials: 'CREDENTIALS_TABLE',
    limiter: 'LIMITER_TABLE',
    audit: 'AUDIT_TABLE',
  },
  /** `iss` and `aud` of the tokens the API mints and accepts. */
  tokenIssuer: 'TOKEN_ISSUER',
  tokenAudience: 'TOKEN_AUDIENCE',
  /** The tenant token signing secret: a Secrets Manager secret (AWS) or a file (local). */
  tenantTokenSecretArn: 'TENANT_TOKEN_SECRET_ARN',
  tenantTokenSecretFile: 'TENANT_TOKEN_SECRET_FILE',
  /** The admin token key: a KMS key id (AWS) or a PEM file (local). */
  adminTokenKeyId: 'ADMIN_TOKEN_KEY_ID',
  adminTokenKeyFile: 'ADMIN_TOKEN_KEY_FILE',
  /** Tier overrides as JSON, e.g. `{"free":{"requestsPerMinute":10},"premium":{"failMode":"closed"}}`. */
  tiers: 'TIERS_JSON',
  /** Where every request is recorded as a usage event, and the events' `source`. */
  usageEventBusName: 'USAGE_EVENT_BUS_NAME',
  usageEventSource: 'USAGE_EVENT_SOURCE',
  /** Added latency (ms) and error rate (0-1) of the demo routes. */
  demoLatencyMs: 'DEMO_LATENCY_MS',
  demoErrorRate: 'DEMO_ERROR_RATE',
  /** An external token issuer: its `iss`, app clients (comma-separated), https JWKS URL and algorithms (comma-separated). */
  externalIssuer: 'EXTERNAL_ISSUER',
  externalClientIds: 'EXTERNAL_CLIENT_IDS',
  externalJwksUrl: 'EXTERNAL_JWKS_URL',
  externalAlgorithms: 'EXTERNAL_ALGORITHMS',
  /**
   * The consumer accounts' user pool (issue 15): its id, the app client the account routes sign
   * in with, and its issuer (`https://cognito-idp.<region>.amazonaws.com/<poolId>` in AWS), whose
   * `/.well-known/jwks.json` verifies account tokens. Locally the issuer is the emulator's.
   */
  accountsUserPoolId: 'ACCOUNTS_USER_POOL_ID',
  accountsClientId: 'ACCOUNTS_CLIENT_ID',
  accountsIssuer: 'ACCOUNTS_ISSUER',
  /** `off` when the API sits behind CloudFront: the token exchange's per-source-IP guard is then left to the edge. */
  sourceIpGuard: 'SOURCE_IP_GUARD',
  /**
   * Account events (issue 16): the signal thresholds as JSON (`resolveAccountSignals` of
   * contracts/account-events.ts), read by the forwarders that count 429s and failed authentications.
   */
  accountSignals: 'ACCOUNT_SIGNALS_JSON',
  /**
   * The notifier (issue 16): the verified SES identity it sends from, the operators' addresses
   * (comma-separated), the usage page linked from mails (`{tenantId}` is replaced), and the
   * cooldown per tenant and kind in seconds.
   */
  notificationsFrom: 'NOTIFICATIONS_FROM',
  notificationOperators: 'NOTIFICATION_OPERATORS',
  notificationUsageUrl: 'NOTIFICATION_USAGE_URL',
  notificationCooldownSeconds: 'NOTIFICATION_COOLDOWN_SECONDS',
  /** Node.js options (source maps) and the Powertools metrics namespace. */
  nodeOptions: 'NODE_OPTIONS',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
} as const satisfies { readonly tables: Readonly<Record<MeteredApiTable, string>> } & Readonly<Record<string, unknown>>;

/** The notifier's cooldowns the stack and the function accept (`notificationCooldownSeconds`): a minute to a day. */
export const NOTIFICATION_COOLDOWN_RANGE = { min: 60, max: 86_400 } as const;

/** What the notifier function's environment says (lib/account-notifications.ts writes it, lambdas/runtime/notifier-dependencies.ts reads it). */
export interface NotifierEnvironmentSettings {
  readonly credentialsTable: string;
  /** The verified SES identity's address mails are sent from. */
  readonly from: string;
  readonly operators: readonly string[];
  /** The usage link of the mails, `{tenantId}` replaced by the function. */
  readonly usageUrl: string;
  readonly cooldownSeconds: number;
}

/** The notifier function's environment variables: only what it reads, none of the API's secrets or keys. */
export function notifierEnvironment(settings: NotifierEnvironmentSettings): Record<string, string> {
  return {
    [LAMBDA_ENV.tables.credentials]: settings.credentialsTable,
    [LAMBDA_ENV.notificationsFrom]: settings.from,
    [LAMBDA_ENV.notificationOperators]: settings.operators.join(','),
    [LAMBDA_ENV.notificationUsageUrl]: settings.usageUrl,
    [LAMBDA_ENV.notificationCooldownSeconds]: String(settings.cooldownSeconds),
    [LAMBDA_ENV.metricsNamespace]: METRICS_NAMESPACE,
  };
}

/** The variable that carries the signal thresholds to the functions that count 429s and failed authentications (the two forwarders). */
export function accountSignalsEnvironment(signals: AccountSignals): Record<string, string> {
  return { [LAMBDA_ENV.accountSignals]: JSON.stringify(signals) };
}

/** The algorithms of external tokens unless configured. */
export const DEFAULT_EXTERNAL_ALGORITHMS: readonly string[] = ['RS256'];

/** What the functions' environment says, as the stack knows it (values may be CDK tokens). */
export interface LambdaEnvironmentSettings {
  readonly tables: Readonly<Record<MeteredApiTable, string>>;
  readonly tokenIssuer: string;
  readonly tokenAudience: string;
  /** The ARN of the tenant token signing secret. */
  readonly tenantTokenSecretArn: string;
  /** The id or ARN of the admin token KMS key. */
  readonly adminTokenKeyId: string;
  /** The tier overrides, as `tierOverridesOf` (contracts/tiers.ts) validated them. */
  readonly tiers: Readonly<Record<TierName, TierOverride>>;
  readonly usageBus: { readonly eventBusName: string; readonly source: string };
  readonly demo: { readonly latencyMs: number; readonly errorRate: number };
  readonly external?: { readonly issuer: string; readonly clientIds: readonly string[]; readonly jwksUrl: string; readonly algorithms?: readonly string[] };
  /** The consumer accounts' user pool (issue 15), when the stack has one. */
  readonly accounts?: AccountsPoolSettings;
  /**
   * Whether Node maps stack traces through the bundles' source maps (`NODE_OPTIONS=--enable-source-maps`).
   * Off unless asked: it slows every cold start, and every `error.stack`, for readable traces.
   */
  readonly sourceMapsAtRuntime?: boolean;
  /**
   * Whether the token exchange runs the per-source-IP guard (lambdas/limiter/source-ip-guard.ts).
   * Off behind CloudFront, where API Gateway's `sourceIp` is the CloudFront host, not the viewer.
   */
  readonly sourceIpGuard: boolean;
}

/** The consumer accounts' user pool as the functions see it. */
export interface AccountsPoolSettings {
  readonly userPoolId: string;
  readonly clientId: string;
  /** `iss` of its tokens; its keys are at `<issuer>/.well-known/jwks.json`. */
  readonly issuer: string;
}

/** Where an issuer's signing keys are: Cognito's JWKS URL (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html). */
export const jwksUrlOf = (issuer: string): string => `${issuer}/.well-known/jwks.json`;

/** The functions' environment variables for these settings. */
export function lambdaEnvironment(settings: LambdaEnvironmentSettings): Record<string, string> {
  const { external, accounts } = settings;
  return {
    [LAMBDA_ENV.tables.credentials]: settings.tables.credentials,
    [LAMBDA_ENV.tables.limiter]: settings.tables.limiter,
    [LAMBDA_ENV.tables.audit]: settings.tables.audit,
    [LAMBDA_ENV.tokenIssuer]: settings.tokenIssuer,
    [LAMBDA_ENV.tokenAudience]: settings.tokenAudience,
    [LAMBDA_ENV.tenantTokenSecretArn]: settings.tenantTokenSecretArn,
    [LAMBDA_ENV.adminTokenKeyId]: settings.adminTokenKeyId,
    [LAMBDA_ENV.tiers]: JSON.stringify(settings.tiers),
    [LAMBDA_ENV.usageEventBusName]: settings.usageBus.eventBusName,
    [LAMBDA_ENV.usageEventSource]: settings.usageBus.source,
    [LAMBDA_ENV.demoLatencyMs]: String(settings.demo.latencyMs),
    [LAMBDA_ENV.demoErrorRate]: String(settings.demo.errorRate),
    [LAMBDA_ENV.sourceIpGuard]: settings.sourceIpGuard ? 'on' : 'off',
    ...(settings.sourceMapsAtRuntime ? { [LAMBDA_ENV.nodeOptions]: '--enable-source-maps' } : {}),
    [LAMBDA_ENV.metricsNamespace]: METRICS_NAMESPACE,
    ...(external
      ? {
          [LAMBDA_ENV.externalIssuer]: external.issuer,
          [LAMBDA_ENV.externalClientIds]: external.clientIds.join(','),
          [LAMBDA_ENV.externalJwksUrl]: external.jwksUrl,
          [LAMBDA_ENV.externalAlgorithms]: (external.algorithms ?? DEFAULT_EXTERNAL_ALGORITHMS).join(','),
        }
      : {}),
    ...(accounts
      ? { [LAMBDA_ENV.accountsUserPoolId]: accounts.userPoolId, [LAMBDA_ENV.accountsClientId]: accounts.clientId, [LAMBDA_ENV.accountsIssuer]: accounts.issuer }
      : {}),
  };
}
