import type { APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { meteredRoute } from '../http/metered-route';
import { adminRoute } from '../routes/admin-route';
import { authorizeRequest } from '../routes/authorize-route';
import { demoRoute } from '../routes/demo-route';
import { tokenRoute } from '../routes/token-route';
import { usageRoute } from '../routes/usage-route';
import type { MeteredApiDependencies } from '../runtime/dependencies';

/**
 * How each built-in handler is composed from the domain modules: the one definition the Lambda
 * entry files and the local runtime both use. Keys are the `handler` names of BUILT_IN_ROUTES.
 */
export const ROUTE_HANDLERS = {
  token: (deps: MeteredApiDependencies) => deps.track(meteredRoute(tokenRoute(deps.tokens), deps.routeOptions('token'))),
  usage: (deps: MeteredApiDependencies) => deps.track(meteredRoute(usageRoute(), deps.routeOptions('usage'))),
  'demo-users': (deps: MeteredApiDependencies) => deps.track(meteredRoute(demoRoute('users', deps.config.demo), deps.routeOptions('demo-users'))),
  'demo-products': (deps: MeteredApiDependencies) => deps.track(meteredRoute(demoRoute('products', deps.config.demo), deps.routeOptions('demo-products'))),
  admin: (deps: MeteredApiDependencies) => deps.track(meteredRoute(adminRoute(deps.admin), deps.routeOptions('admin'))),
} as const;

export type RouteHandlerName = keyof typeof ROUTE_HANDLERS;

export const createAuthorizerHandler = (deps: MeteredApiDependencies): ((event: APIGatewayRequestAuthorizerEventV2) => ReturnType<ReturnType<typeof authorizeRequest>>) =>
  authorizeRequest(deps.authenticator, deps.logger, deps.metrics);
