import type { MeteredApiDependencies } from './dependencies';
import { RouteWiring, requestPathDynamoDb, selfServiceStoreOf, unmeteredRouteWiring } from './lambda-wiring';
import { readRuntimeConfig } from './runtime-config';

/**
 * The account routes' function (GET /v1/auth/me, /v1/keys): the route wiring, the credential
 * store and the DynamoDB client its audit log writes with. A module of its own, as the admin
 * function's: no token service, no source IP guard, no admin service, and (its routes being
 * unmetered) no limiter in its bundle.
 */
export function accountFunctionDependencies(): RouteWiring & Pick<MeteredApiDependencies, 'store' | 'dynamodb'> {
  const config = readRuntimeConfig();
  const dynamodb = requestPathDynamoDb();
  return { ...unmeteredRouteWiring(config), store: selfServiceStoreOf(config, dynamodb), dynamodb };
}
