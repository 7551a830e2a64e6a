import { CreateTableCommand, DynamoDBClient, KeySchemaElement, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import {
  AUTHORIZER_CACHE_TTL_SECONDS,
  BUILT_IN_ROUTES,
  METERED_API_TABLES,
  MeteredApiTable,
  TableDefinition,
  authorizerNameOf,
} from '../contracts/metered-api';
import { ROUTE_HANDLERS, createAuthorizerHandler } from '../lambdas/handlers/registry';
import type { MeteredApiDependencies } from '../lambdas/runtime/dependencies';
import { GatewayAuthorizer, GatewayRoute } from './http-api-gateway';

/** Creates the metered API's tables from the same definitions as the stack (existing ones are kept). */
export async function createMeteredApiTables(client: DynamoDBClient, names: Readonly<Record<MeteredApiTable, string>>): Promise<void> {
  for (const [table, definition] of Object.entries(METERED_API_TABLES) as [MeteredApiTable, TableDefinition][]) {
    try {
      await client.send(new CreateTableCommand(createTableInput(names[table], definition)));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  }
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

/** The built-in routes with their authorizers, composed exactly as the Lambda entry files compose them. */
export function meteredApiRoutes(deps: MeteredApiDependencies): GatewayRoute[] {
  const authorizerHandler = createAuthorizerHandler(deps) as unknown as GatewayAuthorizer['handler'];
  const authorizers = new Map<string, GatewayAuthorizer>();
  return BUILT_IN_ROUTES.map((route) => {
    const name = authorizerNameOf(route);
    if (!authorizers.has(name)) authorizers.set(name, { name, handler: authorizerHandler, identitySource: route.credential, cacheTtlSeconds: AUTHORIZER_CACHE_TTL_SECONDS });
    return { routeKey: route.routeKey, handler: ROUTE_HANDLERS[route.handler](deps) as unknown as GatewayRoute['handler'], authorizer: authorizers.get(name) };
  });
}
