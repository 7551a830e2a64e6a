import { Authenticator } from '../auth/authenticator';
import type { AuthHandlerDependencies } from '../routes/auth-route';
import { SourceIpGuard } from '../limiter/source-ip-guard';
import type { MeteredApiDependencies } from './dependencies';
import {
  NO_ADMIN_TOKEN_SIGNER,
  NO_TENANT_SECRET,
  RouteWiring,
  accountServiceOf,
  adminTokenSignerOf,
  credentialStoreOf,
  ownedTenantsOf,
  observability,
  requestPathDynamoDb,
  routeWiring,
  secretSource,
  tokenServiceOf,
  usageLogWriter,
} from './lambda-wiring';
import { readRuntimeConfig } from './runtime-config';

/**
 * Each Lambda function's dependencies, built from its environment once per execution environment
 * (at module load): only what the function's handler uses, so that its bundle holds nothing else
 * (the admin routes' function: admin-function-dependencies.ts). The local runtime and the tests
 * wire every function at once instead (`createDependencies`, dependencies.ts).
 */

/** A tenant route function without tokens (`usage`, `demo-users`, `demo-products`): the limiter and usage tracking. */
export function routeFunctionDependencies(): RouteWiring {
  return routeWiring(readRuntimeConfig(), requestPathDynamoDb());
}

/** The `token` function: mints tenant tokens (the tenant secret) behind the source IP guard; it never signs or verifies admin tokens. */
export function tokenFunctionDependencies(): RouteWiring & Pick<MeteredApiDependencies, 'tokens' | 'sourceIpGuard'> {
  const config = readRuntimeConfig();
  const dynamodb = requestPathDynamoDb();
  return {
    ...routeWiring(config, dynamodb),
    tokens: tokenServiceOf(config, NO_ADMIN_TOKEN_SIGNER, secretSource(config.tenantSecret)),
    sourceIpGuard: config.sourceIpGuard === false ? undefined : new SourceIpGuard({ client: dynamodb, tableName: config.tables.limiter }),
  };
}

/**
 * The account routes' function (`auth`): Cognito's public operations (no IAM grant), the tenants
 * its accounts own and their audit entries, behind the source IP guard; no tokens of its own.
 */
export function authFunctionDependencies(): AuthHandlerDependencies {
  const config = readRuntimeConfig();
  const dynamodb = requestPathDynamoDb();
  const { logger, metrics } = observability();
  return {
    accounts: accountServiceOf(config, { dynamodb, store: ownedTenantsOf(config, dynamodb), logger }),
    sourceIpGuard: config.sourceIpGuard === false ? undefined : new SourceIpGuard({ client: dynamodb, tableName: config.tables.limiter }),
    usageLog: usageLogWriter(),
    logger,
    metrics,
  };
}

/** The authorizer: credentials by key, tenant and admin tokens; no limiter, no usage tracking. */
export function authorizerFunctionDependencies(): Pick<MeteredApiDependencies, 'authenticator' | 'logger' | 'metrics'> {
  const config = readRuntimeConfig();
  const store = credentialStoreOf(config, requestPathDynamoDb());
  return { authenticator: new Authenticator(store, tokenServiceOf(config, adminTokenSignerOf(config), secretSource(config.tenantSecret))), ...observability() };
}

/** POST /v1/admin/token: signs admin tokens (KMS) and appends to the audit log; no tenant tokens. */
export function adminTokenFunctionDependencies(): Pick<MeteredApiDependencies, 'usageLog' | 'tokens' | 'dynamodb' | 'config'> {
  const config = readRuntimeConfig();
  return { config, dynamodb: requestPathDynamoDb(), usageLog: usageLogWriter(), tokens: tokenServiceOf(config, adminTokenSignerOf(config), NO_TENANT_SECRET) };
}
