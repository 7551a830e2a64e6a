import { DescribeTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { METERED_API_TABLES } from '../../contracts/metered-api';
import { createMeteredApiTables } from '../../local/metered-api';
import { startEmptyDynalite } from '../support/dynalite';

/** A dynalite in memory, and a client that records the name of every command it sends. */
async function dynaliteWithCallLog() {
  const { client, stop } = await startEmptyDynalite();
  const calls: string[] = [];
  client.middlewareStack.add(
    (next, context) => (args) => {
      calls.push(String(context.commandName));
      return next(args);
    },
    { step: 'initialize', name: 'recordCommand' },
  );
  return { client, calls, stop };
}

describe('createMeteredApiTables on dynalite', () => {
  const names = { credentials: 'c-table', limiter: 'l-table', audit: 'a-table' };

  it('creates every missing table once; a later start (tables there) sends one ListTables and no CreateTable', async () => {
    const { client, calls, stop } = await dynaliteWithCallLog();
    try {
      await createMeteredApiTables(client, names);
      expect(calls.filter((c) => c === 'CreateTableCommand')).toHaveLength(Object.keys(METERED_API_TABLES).length);
      expect((await client.send(new ListTablesCommand({}))).TableNames?.sort()).toEqual(Object.values(names).sort());
      calls.length = 0;
      await createMeteredApiTables(client, names);
      expect(calls).toEqual(['ListTablesCommand']);
    } finally {
      await stop();
    }
  });

  it('creates only the table that is missing, with the key schema of its definition', async () => {
    const { client, calls, stop } = await dynaliteWithCallLog();
    try {
      await createMeteredApiTables(client, { ...names, audit: 'old-audit' });
      calls.length = 0;
      await createMeteredApiTables(client, names);
      expect(calls).toEqual(['ListTablesCommand', 'CreateTableCommand']);
      const audit = (await client.send(new DescribeTableCommand({ TableName: 'a-table' }))).Table;
      const { partitionKey, sortKey } = METERED_API_TABLES.audit;
      expect(audit?.KeySchema?.map((k) => [k.AttributeName, k.KeyType])).toEqual([[partitionKey.name, 'HASH'], [sortKey.name, 'RANGE']]);
    } finally {
      await stop();
    }
  });

  it('pages through ListTables (100 names a page, as DynamoDB answers): a table beyond the first page is found, not created again', async () => {
    const { client, calls, stop } = await dynaliteWithCallLog();
    try {
      // 101 other tables sort before the metered API's: theirs are on the second page.
      for (let i = 0; i < 101; i++) await createMeteredApiTables(client, { credentials: `a${String(i).padStart(3, '0')}`, limiter: 'l-table', audit: 'a-table' });
      await createMeteredApiTables(client, names);
      calls.length = 0;
      await createMeteredApiTables(client, names);
      expect(calls).toEqual(['ListTablesCommand', 'ListTablesCommand']);
    } finally {
      await stop();
    }
  }, 60_000);
});
