import { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { MeteredApiTable } from '../../contracts/metered-api';
import { createDynaliteServer } from '../../local/dynalite-server';
import { createMeteredApiTables } from '../../local/metered-api';

/** An in-memory dynalite on a loopback port, without tables, and a client of it. */
export async function startEmptyDynalite(): Promise<{ client: DynamoDBClient; stop: () => Promise<void> }> {
  const server = createDynaliteServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => { resolve(); }));
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  return {
    client,
    stop: async () => {
      client.destroy();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}

/** An in-memory dynalite on a loopback port, with the metered API's tables. */
export async function startDynalite(): Promise<{ client: DynamoDBClient; tables: Record<MeteredApiTable, string>; stop: () => Promise<void> }> {
  const { client, stop } = await startEmptyDynalite();
  const tables = { credentials: 'credentials', limiter: 'limiter', audit: 'audit' };
  await createMeteredApiTables(client, tables);
  return { client, tables, stop };
}

/** Another client of the same dynalite as `client`, with one attempt per request (so a test can wrap its commands). */
export async function anotherClientOf(client: DynamoDBClient): Promise<DynamoDBClient> {
  const endpoint = await client.config.endpoint!();
  return new DynamoDBClient({
    endpoint: `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}${endpoint.path}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
}
