import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RouteAccess } from '../../contracts/metered-api';
import type { AccountService } from '../accounts/account-service';
import { AdminService } from '../admin/admin-service';
import { AuditLog } from '../admin/audit-log';
import { Authenticator } from '../auth/authenticator';
import { SelfServiceStore } from '../credentials/self-service-store';
import { AuthorizedEvent, MeteredRouteOptions, RouteLogic, meteredRoute } from '../http/metered-route';
import { JsonResult } from '../http/responses';
import { SourceIpGuard, SourceIpPolicy } from '../limiter/source-ip-guard';
import { TokenBucketLimiter } from '../limiter/token-bucket-limiter';
import { TokenService } from '../tokens/token-service';
import { accountServiceOf, adminTokenSignerOf, routeWiring, secretSource } from './lambda-wiring';
import { UsageLogSink, UsageLogWriter } from '../usage-log/usage-log-writer';
import { RuntimeConfig, readRuntimeConfig, requestPathClientConfig } from './runtime-config';

/** The domain modules wired for one process: created once, reused by every invocation. */
export interface MeteredApiDependencies {
  readonly config: RuntimeConfig;
  readonly dynamodb: DynamoDBClient;
  /** The credential store, with what self-service adds (the local runtime serves every route). */
  readonly store: SelfServiceStore;
  readonly limiter: TokenBucketLimiter;
  /** Per-source-IP limits and bans of the routes a caller reaches without a token (the token exchange); none behind CloudFront. */
  readonly sourceIpGuard: SourceIpGuard | undefined;
  readonly tokens: TokenService;
  readonly authenticator: Authenticator;
  readonly admin: AdminService;
  /** Self-service accounts (the `auth` routes) in the configuration's user pool; undefined without one (they answer 503 `accounts-unavailable`). */
  readonly accounts: AccountService | undefined;
  /**
   * Where every answer's usage event goes: one log line, which the log subscription's forwarder
   * puts on the bus. Nothing on the request path waits for EventBridge.
   */
  readonly usageLog: UsageLogWriter;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The route options of a built-in handler, from the route table. */
  routeOptions(handler: string): MeteredRouteOptions;
  /** A route of your own, with the limiter and usage tracking of the built-in ones. */
  customRoute(logic: RouteLogic, access?: RouteAccess): (event: AuthorizedEvent, context: unknown) => Promise<JsonResult>;
  /** Records every answer of a route as a usage event: a log line written before the invocation returns. */
  track(route: (event: AuthorizedEvent) => Promise<JsonResult>): (event: AuthorizedEvent, context: unknown) => Promise<JsonResult>;
}

export interface DependencyOverrides {
  readonly dynamodb?: DynamoDBClient;
  /**
   * Where the usage lines are written (the local runtime hands them to its log subscription).
   * @default standard output, which Lambda delivers to the function's log group
   */
  readonly usageLog?: UsageLogSink;
  readonly clock?: () => number;
  /** The token exchange's per-source-IP limits and bans (tests that exchange many tokens from one address raise them). */
  readonly sourceIpPolicy?: Partial<SourceIpPolicy>;
  /** Where the account routes reach Cognito (the local emulator's endpoint). @default - AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, else the region's */
  readonly cognitoEndpoint?: string;
}

/** Builds the dependencies from a configuration (tests and the local runtime pass their own clients). */
export function createDependencies(config: RuntimeConfig, overrides: DependencyOverrides = {}): MeteredApiDependencies {
  const dynamodb = overrides.dynamodb ?? new DynamoDBClient(requestPathClientConfig());
  const clock = overrides.clock ?? Date.now;
  const store = new SelfServiceStore({ client: dynamodb, credentialsTable: config.tables.credentials, limiterTable: config.tables.limiter, tiers: config.tiers, clock });
  const tokens = new TokenService({
    issuer: config.tokenIssuer,
    audience: config.tokenAudience,
    tenantSecret: secretSource(config.tenantSecret),
    adminSigner: adminTokenSignerOf(config),
    external: config.external,
    ...(config.accounts ? { accounts: config.accounts } : {}),
    clock,
  });
  // The route wiring every route function uses; admin routes read the calling key's status from the store.
  const wiring = routeWiring(config, dynamodb, store, { clock, ...(overrides.usageLog ? { usageLogSink: overrides.usageLog } : {}) });
  const deps: MeteredApiDependencies = {
    config,
    dynamodb,
    store,
    limiter: wiring.limiter,
    sourceIpGuard:
      config.sourceIpGuard === false
        ? undefined
        : new SourceIpGuard({ client: dynamodb, tableName: config.tables.limiter, clock, ...(overrides.sourceIpPolicy ? { policy: overrides.sourceIpPolicy } : {}) }),
    tokens,
    authenticator: new Authenticator(store, tokens, clock),
    admin: new AdminService(store, new AuditLog(dynamodb, config.tables.audit, clock)),
    accounts: accountServiceOf(config, { dynamodb, store, logger: wiring.logger, clock, ...(overrides.cognitoEndpoint ? { cognitoEndpoint: overrides.cognitoEndpoint } : {}) }),
    usageLog: wiring.usageLog,
    logger: wiring.logger,
    metrics: wiring.metrics,
    routeOptions: (handler) => wiring.routeOptions(handler),
    track: (route) => wiring.track(route),
    customRoute: (logic, access = 'tenant') => wiring.track(meteredRoute(logic, wiring.optionsFor(access, access === 'tenant'))),
  };
  return deps;
}

let fromEnvironment: MeteredApiDependencies | undefined;

/** The dependencies of a Lambda, from its environment, read once per execution environment. */
export function runtimeDependencies(): MeteredApiDependencies {
  fromEnvironment ??= createDependencies(readRuntimeConfig());
  return fromEnvironment;
}
