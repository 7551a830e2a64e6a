import { CreateTableCommand, DynamoDBClient, KeySchemaElement, ListTablesCommand, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import {
  ADMIN_TOKEN_ROUTE,
  BUILT_IN_ROUTES,
  CredentialSource,
  METERED_API_TABLES,
  MeteredApiTable,
  PUBLIC_ROUTES,
  PublicRoute,
  RouteAccess,
  TableDefinition,
  authorizerConfigOf,
  authorizerNameOf,
} from '../contracts/metered-api';
import { buildOpenApiDocument } from '../contracts/openapi';
import { ROUTE_HANDLERS, createAdminTokenHandler, createApiDocsHandler, createAuthorizerHandler } from '../lambdas/handlers/registry';
import { createAccountHandler } from '../lambdas/routes/account-route';
import { createAuthHandler } from '../lambdas/routes/auth-route';
import type { MeteredApiDependencies } from '../lambdas/runtime/dependencies';
import { GatewayAuthorizer, GatewayRoute } from './http-api-gateway';
import { IamSignedRequest, LocalIamAuthorizer } from './iam-authorizer';

/**
 * Every table name the endpoint has: ListTables answers at most 100 per page and names the last
 * one (`LastEvaluatedTableName`) while more remain
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_ListTables.html).
 */
async function existingTables(client: DynamoDBClient): Promise<Set<string>> {
  const names = new Set<string>();
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    for (const name of page.TableNames ?? []) names.add(name);
    start = page.LastEvaluatedTableName;
  } while (start !== undefined);
  return names;
}

/**
 * Creates the metered API's tables from the same definitions as the stack; existing ones are kept.
 * One ListTables call finds those already there (every start after the first: no CreateTable at
 * all); the missing ones are created side by side. CreateTable on a table that exists fails with
 * ResourceInUseException (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_CreateTable.html),
 * which still means "there", should another process have created it meanwhile.
 */
export async function createMeteredApiTables(client: DynamoDBClient, names: Readonly<Record<MeteredApiTable, string>>): Promise<void> {
  const existing = await existingTables(client);
  const missing = (Object.entries(METERED_API_TABLES) as [MeteredApiTable, TableDefinition][]).filter(([table]) => !existing.has(names[table]));
  await Promise.all(
    missing.map(async ([table, definition]) => {
      try {
        await client.send(new CreateTableCommand(createTableInput(names[table], definition)));
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
      }
    }),
  );
}

function createTableInput(tableName: string, definition: TableDefinition) {
  const keys = (partition: { name: string }, sort?: { name: string }): KeySchemaElement[] => [
    { AttributeName: partition.name, KeyType: 'HASH' },
    ...(sort ? [{ AttributeName: sort.name, KeyType: 'RANGE' as const }] : []),
  ];
  const attributes = new Map<string, 'S' | 'N'>();
  for (const key of [definition.partitionKey, definition.sortKey, ...(definition.globalSecondaryIndexes ?? []).flatMap((i) => [i.partitionKey, i.sortKey])]) {
    if (key) attributes.set(key.name, key.type);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    KeySchema: keys(definition.partitionKey, definition.sortKey),
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    ...(definition.globalSecondaryIndexes?.length
      ? { GlobalSecondaryIndexes: definition.globalSecondaryIndexes.map((index) => ({ IndexName: index.indexName, KeySchema: keys(index.partitionKey, index.sortKey), Projection: { ProjectionType: 'ALL' as const } })) }
      : {}),
  };
}

/**
 * The functions of the public routes, one per handler module as in AWS: the reference (its
 * document built once) and the account routes, behind the per-source-IP guard they compose themselves.
 */
function publicRouteHandlers(deps: MeteredApiDependencies): Record<PublicRoute['handler'], GatewayRoute['handler']> {
  return {
    'api-docs': createApiDocsHandler(deps, buildOpenApiDocument()),
    auth: createAuthHandler(deps),
  };
}

/** A route of your own on the local gateway, as `MeteredHttpApi.addMeteredRoute` adds it in AWS. */
export interface LocalMeteredRoute {
  readonly routeKey: string;
  readonly handler: GatewayRoute['handler'];
  /** @default 'tenant' */
  readonly access?: RouteAccess;
}

/**
 * The built-in routes, the public reference routes and any of your own, with their authorizers,
 * composed exactly as the Lambda entry files compose them: one authorizer per (access, credential source), each with the
 * configuration its alias gives it in AWS and the cache TTL the stack sets.
 */
export function meteredApiRoutes(deps: MeteredApiDependencies, customRoutes: readonly LocalMeteredRoute[] = [], iam?: LocalIamAuthorizer): GatewayRoute[] {
  const authorizers = new Map<string, GatewayAuthorizer>();
  const authorizerOf = (route: { access: RouteAccess; credential: CredentialSource }): GatewayAuthorizer => {
    const name = authorizerNameOf(route);
    let authorizer = authorizers.get(name);
    if (!authorizer) {
      const config = authorizerConfigOf(route);
      authorizer = { name, handler: createAuthorizerHandler(deps, config) as unknown as GatewayAuthorizer['handler'], identitySource: config.credential, cacheTtlSeconds: config.cacheTtlSeconds };
      authorizers.set(name, authorizer);
    }
    return authorizer;
  };
  const publicHandlers = publicRouteHandlers(deps);
  return [
    ...BUILT_IN_ROUTES.map((route) => ({
      routeKey: route.routeKey,
      handler: route.handler === 'account' ? createAccountHandler(deps) : ROUTE_HANDLERS[route.handler](deps),
      authorizer: authorizerOf(route),
    })),
    ...customRoutes.map((route) => ({ routeKey: route.routeKey, handler: route.handler, authorizer: authorizerOf({ access: route.access ?? 'tenant', credential: 'authorization' }) })),
    // The API's reference, the client for pages and the account routes: no authorizer, as in AWS.
    ...PUBLIC_ROUTES.map((route) => ({ routeKey: route.routeKey, handler: publicHandlers[route.handler] })),
    // POST /v1/admin/token exists only where callers can prove an IAM identity, as in AWS.
    ...(iam ? [{ routeKey: ADMIN_TOKEN_ROUTE.routeKey, handler: createAdminTokenHandler(deps) as unknown as GatewayRoute['handler'], iam: (request: IamSignedRequest) => iam.verify(request) }] : []),
  ];
}
