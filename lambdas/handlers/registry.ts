import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { METERED_API_SERVICE, type AuthorizerConfig } from '../../contracts/metered-api';
import { RESERVED_TENANT_IDS } from '../../contracts/tenants';
import { withUsageTracking } from '../../sdk/lambda-wrapper';
import { AuditLog } from '../admin/audit-log';
import type { JsonResult } from '../http/responses';
import { IamAuthorizedEvent, adminTokenRoute } from '../routes/admin-token-route';
import { meteredRoute } from '../http/metered-route';
import { adminRoute } from '../routes/admin-route';
import { authorizeRequest } from '../routes/authorize-route';
import { demoRoute } from '../routes/demo-route';
import { tokenExchange, tokenRoute } from '../routes/token-route';
import { usageRoute } from '../routes/usage-route';
import type { MeteredApiDependencies } from '../runtime/dependencies';

/**
 * What composing a route function reads: the route table's options, usage tracking and the
 * configuration. Each Lambda entry hands over only what its function uses
 * (lambdas/runtime/lambda-wiring.ts), the local runtime all of {@link MeteredApiDependencies}.
 */
export type RouteDependencies = Pick<MeteredApiDependencies, 'config' | 'routeOptions' | 'track'>;

// How each built-in handler is composed from the domain modules: one function each, so that a
// function's entry imports its own composition and its bundle holds no other route's modules
// (an object of all of them would keep every route in every bundle).

/**
 * The token exchange answers only what the source IP guard admits (lambdas/limiter/source-ip-guard.ts);
 * behind CloudFront there is no guard here, the edge's WAF limits it per viewer address.
 */
export const tokenHandler = (deps: RouteDependencies & Pick<MeteredApiDependencies, 'tokens' | 'sourceIpGuard'>) =>
  deps.track(deps.sourceIpGuard ? tokenExchange(deps.tokens, deps.routeOptions('token'), deps.sourceIpGuard) : meteredRoute(tokenRoute(deps.tokens), deps.routeOptions('token')));
export const usageHandler = (deps: RouteDependencies) => deps.track(meteredRoute(usageRoute(), deps.routeOptions('usage')));
export const demoUsersHandler = (deps: RouteDependencies) => deps.track(meteredRoute(demoRoute('users', deps.config.demo), deps.routeOptions('demo-users')));
export const demoProductsHandler = (deps: RouteDependencies) => deps.track(meteredRoute(demoRoute('products', deps.config.demo), deps.routeOptions('demo-products')));
export const adminHandler = (deps: RouteDependencies & Pick<MeteredApiDependencies, 'admin'>) => deps.track(meteredRoute(adminRoute(deps.admin), deps.routeOptions('admin')));

/**
 * The compositions by the `handler` names of BUILT_IN_ROUTES: the one definition the Lambda entry
 * files (each importing its own) and the local runtime (all of them) use.
 */
export const ROUTE_HANDLERS = {
  token: tokenHandler,
  usage: usageHandler,
  'demo-users': demoUsersHandler,
  'demo-products': demoProductsHandler,
  admin: adminHandler,
} as const;

/**
 * The built-in handlers composed here. The `account` handler (lambdas/routes/account-route.ts
 * `createAccountHandler`) and the `auth` public routes (lambdas/routes/auth-route.ts
 * `createAuthHandler`) are composed where their routes are and never re-exported here: their
 * modules load zod's schemas and locale, which every function importing the registry would carry.
 */
export type RegistryHandler = keyof typeof ROUTE_HANDLERS;

/**
 * POST /v1/admin/token (ADMIN_TOKEN_ROUTE): IAM authorization instead of the Lambda authorizer,
 * so no limiter; recorded as operator traffic like every admin request.
 */
export const createAdminTokenHandler = (deps: Pick<MeteredApiDependencies, 'usageLog' | 'tokens' | 'dynamodb' | 'config'>): ((event: IamAuthorizedEvent, context: unknown) => Promise<JsonResult>) =>
  withUsageTracking(deps.usageLog, adminTokenRoute(deps.tokens, new AuditLog(deps.dynamodb, deps.config.tables.audit)), {
    service: METERED_API_SERVICE,
    resolveCaller: () => ({ tenantId: RESERVED_TENANT_IDS.operator }),
  });

/** GET /openapi.json and GET /docs (PUBLIC_ROUTES): composed where its route is, so that its bundle holds nothing of the other routes. */
export { createApiDocsHandler } from '../routes/api-docs-route';

/** An authorizer, composed for the access and credential source its configuration names. */
export const createAuthorizerHandler = (
  deps: Pick<MeteredApiDependencies, 'authenticator' | 'logger' | 'metrics'>,
  config: AuthorizerConfig,
): ((event: APIGatewayRequestAuthorizerEventV2) => ReturnType<ReturnType<typeof authorizeRequest>>) => authorizeRequest(deps.authenticator, config, deps.logger, deps.metrics);
