import { readFile } from 'node:fs/promises';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BUILT_IN_ROUTES, METERED_API_SERVICE, RouteAccess } from '../../contracts/metered-api';
import { METRICS_NAMESPACE } from '../../contracts/pipeline-metrics';
import { withUsageTracking } from '../../sdk/lambda-wrapper';
import { AccountService } from '../accounts/account-service';
import { CognitoAccountsClient } from '../accounts/cognito-accounts';
import { quotaThresholdRecorder } from '../account-events/account-event-log';
import { AuditLog } from '../admin/audit-log';
import { CredentialStore } from '../credentials/credential-store';
import { OwnedTenants } from '../credentials/owned-tenants';
import { SelfServiceStore } from '../credentials/self-service-store';
import type { AuthorizedEvent, MeteredRouteOptions } from '../http/metered-route';
import type { JsonResult } from '../http/responses';
import { TokenBucketLimiter } from '../limiter/token-bucket-limiter';
import { AdminTokenSigner, KmsAdminTokenSigner, LocalAdminTokenSigner } from '../tokens/admin-token-signer';
import { SecretSource, TokenService } from '../tokens/token-service';
import { UsageLogSink, UsageLogWriter } from '../usage-log/usage-log-writer';
import { AwsJsonClient, KMS, SECRETS_MANAGER } from './aws-json-client';
import { RuntimeConfig, SecretLocation, requestPathClientConfig } from './runtime-config';

/**
 * The parts the metered API's functions are wired from, one factory each, so that a function's
 * entry (lambdas/runtime/<function>-dependencies.ts) builds, and its bundle holds, only what its
 * handler uses: esbuild leaves out every factory, and every module, a function does not call.
 */

/** The request path's DynamoDB client (timeouts and attempts of `requestPathClientConfig`). */
export const requestPathDynamoDb = (): DynamoDBClient => new DynamoDBClient(requestPathClientConfig());

/** Where a function records its answers' usage events: log lines on standard output (see UsageLogWriter). */
export const usageLogWriter = (sink?: UsageLogSink): UsageLogWriter => new UsageLogWriter({ service: METERED_API_SERVICE }, sink);

/** The credential store of the configuration's tables. */
export const credentialStoreOf = (config: RuntimeConfig, dynamodb: DynamoDBClient): CredentialStore =>
  new CredentialStore({ client: dynamodb, credentialsTable: config.tables.credentials, limiterTable: config.tables.limiter, tiers: config.tiers });

/** What the `auth` function needs of the credentials table: an account's own tenant, and its mapping. */
export const ownedTenantsOf = (config: RuntimeConfig, dynamodb: DynamoDBClient): OwnedTenants =>
  new OwnedTenants({ client: dynamodb, credentialsTable: config.tables.credentials, limiterTable: config.tables.limiter });

/** The credential store with what self-service adds (an account's tenant, its keys' listing and rotation): for the `auth` and `account` functions. */
export const selfServiceStoreOf = (config: RuntimeConfig, dynamodb: DynamoDBClient): SelfServiceStore =>
  new SelfServiceStore({ client: dynamodb, credentialsTable: config.tables.credentials, limiterTable: config.tables.limiter, tiers: config.tiers });

/** The functions' logger and metrics. */
export function observability(): { readonly logger: Logger; readonly metrics: Metrics } {
  return {
    logger: new Logger({ serviceName: METERED_API_SERVICE }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: METERED_API_SERVICE }),
  };
}

/**
 * The admin token signer of the configuration: the KMS key (AWS) or a PEM file (local). KMS is
 * called through the project's own AWS JSON client, with the request path's timeouts and attempts.
 */
export function adminTokenSignerOf(config: RuntimeConfig): AdminTokenSigner {
  return config.adminKey.kind === 'kms' ? new KmsAdminTokenSigner(new AwsJsonClient(KMS), config.adminKey.keyId) : new LocalAdminTokenSigner(config.adminKey.path);
}

/**
 * For functions that neither sign nor verify admin tokens (the tenant token route): calling it is
 * a wiring mistake, so it says so rather than reaching for a key the function has no grant on.
 */
export const NO_ADMIN_TOKEN_SIGNER: AdminTokenSigner = {
  signDer: () => Promise.reject(new Error('This function does not sign admin tokens.')),
  publicKey: () => Promise.reject(new Error('This function does not verify admin tokens.')),
};

/**
 * For the function that mints admin tokens only (POST /v1/admin/token): it has no grant on the
 * tenant token secret, so reading it is a wiring mistake, said as such.
 */
export const NO_TENANT_SECRET: SecretSource = () => Promise.reject(new Error('This function does not sign or verify tenant tokens.'));

/**
 * Tenant tokens (signed with `tenantSecret`, e.g. `secretSource(config.tenantSecret)`) and admin
 * tokens (through `adminSigner`) of the configuration.
 */
export function tokenServiceOf(config: RuntimeConfig, adminSigner: AdminTokenSigner, tenantSecret: SecretSource, clock: () => number = Date.now): TokenService {
  return new TokenService({
    issuer: config.tokenIssuer,
    audience: config.tokenAudience,
    tenantSecret,
    adminSigner,
    external: config.external,
    ...(config.accounts ? { accounts: config.accounts } : {}),
    clock,
  });
}

/**
 * The account service of the configuration's user pool, or undefined when it has none (the
 * account routes then answer 503 `accounts-unavailable`). Cognito is reached at `cognitoEndpoint`
 * when given (the local emulator), else where `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER` or the
 * region says (lambdas/accounts/cognito-accounts.ts).
 */
export function accountServiceOf(
  config: RuntimeConfig,
  parts: { readonly dynamodb: DynamoDBClient; readonly store: Pick<OwnedTenants, 'createOwnedTenant' | 'findExternalTenant'>; readonly logger: Logger; readonly clock?: () => number; readonly cognitoEndpoint?: string },
): AccountService | undefined {
  if (!config.accounts) return undefined;
  const cognito = new CognitoAccountsClient({ clientId: config.accounts.clientId, ...(parts.cognitoEndpoint ? { endpoint: parts.cognitoEndpoint } : {}) });
  const audit = new AuditLog(parts.dynamodb, config.tables.audit, parts.clock);
  return new AccountService({ cognito, store: parts.store, audit, pool: { issuer: config.accounts.issuer }, logger: parts.logger });
}

/**
 * Where the tenant token secret is read from: Secrets Manager (AWS) or a file (local). Secrets
 * Manager's `GetSecretValue` (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html)
 * goes through the project's own AWS JSON client, with the request path's timeouts and attempts.
 */
export function secretSource(location: SecretLocation): SecretSource {
  if (location.kind === 'file') return async () => new Uint8Array(Buffer.from((await readFile(location.path, 'utf8')).trim(), 'utf8'));
  return async () => {
    const client = new AwsJsonClient(SECRETS_MANAGER);
    try {
      const { SecretString } = await client.call<{ SecretString?: string }>('GetSecretValue', { SecretId: location.secretId });
      if (!SecretString) throw new Error(`Secret ${location.secretId} has no string value.`);
      return new Uint8Array(Buffer.from(SecretString, 'utf8'));
    } finally {
      client.destroy();
    }
  };
}

/** What a metered route function needs beyond its own logic: the limiter, usage tracking, the route table's options. */
export interface RouteWiring {
  readonly config: RuntimeConfig;
  /** The limiter of metered routes; absent where no route is metered ({@link unmeteredRouteWiring}). */
  readonly limiter?: TokenBucketLimiter;
  readonly usageLog: UsageLogWriter;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The route options of a built-in handler, from the route table. */
  routeOptions(handler: string): MeteredRouteOptions;
  /** The options of a route with this access: metered routes go through the limiter. */
  optionsFor(access: RouteAccess, metered: boolean): MeteredRouteOptions;
  /** Records every answer of a route as a usage event. */
  track(route: (event: AuthorizedEvent) => Promise<JsonResult>): (event: AuthorizedEvent, context: unknown) => Promise<JsonResult>;
}

/**
 * The wiring of a built-in route function (as `createDependencies` wires it). Tenant routes are
 * metered: the limiter checks blocks and revocations on every request. Admin routes are not, so
 * they read the admin key's status from `store` on every request instead.
 */
export function routeWiring(
  config: RuntimeConfig,
  dynamodb: DynamoDBClient,
  store?: CredentialStore,
  options: { readonly clock?: () => number; readonly usageLogSink?: UsageLogSink } = {},
): RouteWiring & { readonly limiter: TokenBucketLimiter } {
  const limiter = new TokenBucketLimiter({ client: dynamodb, tableName: config.tables.limiter, tiers: config.tiers, ...(options.clock ? { clock: options.clock } : {}) });
  // An admitted request that reaches a quota threshold writes its account event beside its usage line.
  const metered = (usageLog: UsageLogWriter) => ({ limiter, quotaThresholds: quotaThresholdRecorder(usageLog, options.clock) });
  return { ...wiringWith(config, metered, store, options), limiter };
}

/**
 * The wiring of a function whose routes are all unmetered (the account and admin routes): no
 * limiter, so that its bundle holds none (issue 13's bound on bundle sizes). Admin routes read the
 * calling key's status from `store` instead.
 */
export function unmeteredRouteWiring(config: RuntimeConfig, options: { readonly store?: CredentialStore; readonly usageLogSink?: UsageLogSink } = {}): RouteWiring {
  return wiringWith(config, undefined, options.store, options);
}

function wiringWith(
  config: RuntimeConfig,
  meteredOptions: ((usageLog: UsageLogWriter) => Pick<MeteredRouteOptions, 'limiter' | 'quotaThresholds'>) | undefined,
  store: CredentialStore | undefined,
  options: { readonly usageLogSink?: UsageLogSink },
): RouteWiring {
  const usageLog = usageLogWriter(options.usageLogSink);
  const meteredWith = meteredOptions?.(usageLog) ?? {};
  const { limiter } = meteredWith;
  const { logger, metrics } = observability();
  const optionsFor = (access: RouteAccess, metered: boolean): MeteredRouteOptions => ({
    access,
    metered,
    ...meteredWith,
    logger,
    metrics,
    ...(access === 'admin' && store ? { keyStatus: (keyId: string) => store.keyStatus(keyId) } : {}),
  });
  return {
    config,
    limiter,
    usageLog,
    logger,
    metrics,
    optionsFor,
    routeOptions(handler) {
      const route = BUILT_IN_ROUTES.find((r) => r.handler === handler);
      if (!route) throw new Error(`No built-in route uses handler "${handler}".`);
      if (route.access === 'admin' && !store) throw new Error(`Handler "${handler}" serves admin routes: wire it with the credential store.`);
      return optionsFor(route.access, route.metered);
    },
    track: (route) => withUsageTracking(usageLog, route, { service: METERED_API_SERVICE }),
  };
}
