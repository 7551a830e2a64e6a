import { AdminService } from '../admin/admin-service';
import { AuditLog } from '../admin/audit-log';
import type { MeteredApiDependencies } from './dependencies';
import { RouteWiring, credentialStoreOf, requestPathDynamoDb, unmeteredRouteWiring } from './lambda-wiring';
import { readRuntimeConfig } from './runtime-config';

/**
 * The admin routes' function: the route wiring with the credential store (the admin key's status
 * is read on every request) and the admin service. A module of its own: the admin service's input
 * validation stays out of every other function's bundle, and (its routes being unmetered) the
 * limiter out of its own.
 */
export function adminFunctionDependencies(): RouteWiring & Pick<MeteredApiDependencies, 'admin'> {
  const config = readRuntimeConfig();
  const dynamodb = requestPathDynamoDb();
  const store = credentialStoreOf(config, dynamodb);
  return { ...unmeteredRouteWiring(config, { store }), admin: new AdminService(store, new AuditLog(dynamodb, config.tables.audit)) };
}
