import { GetItemCommand, PutItemCommand, TransactionCanceledException, TransactWriteItemsCommand, TransactWriteItemsCommandInput } from '@aws-sdk/client-dynamodb';
import { startDynalite } from '../support/dynalite';

type Dynamo = Awaited<ReturnType<typeof startDynalite>>;
type Transaction = TransactWriteItemsCommandInput['TransactItems'];

// The semantics these tests hold the local engine to are DynamoDB's:
// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
describe('Function: addTransactWriteItems (TransactWriteItems on dynalite)', () => {
  let dynamo: Dynamo;
  beforeEach(async () => {
    dynamo = await startDynalite();
  });
  afterEach(() => dynamo.stop());

  const item = async (table: string, pk: string) => (await dynamo.client.send(new GetItemCommand({ TableName: table, Key: { pk: { S: pk } }, ConsistentRead: true }))).Item;
  const transact = (TransactItems: Transaction) => dynamo.client.send(new TransactWriteItemsCommand({ TransactItems }));
  const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as Error & { CancellationReasons?: { Code?: string; Item?: unknown }[] });

  it('writes every action across tables when every condition holds', async () => {
    // Prepare
    await dynamo.client.send(new PutItemCommand({ TableName: dynamo.tables.limiter, Item: { pk: { S: 'TENANT#a' }, tier: { S: 'free' } } }));
    await dynamo.client.send(new PutItemCommand({ TableName: dynamo.tables.credentials, Item: { pk: { S: 'TENANT#a' }, name: { S: 'A' } } }));
    // Act
    await transact([
      { ConditionCheck: { TableName: dynamo.tables.credentials, Key: { pk: { S: 'TENANT#a' } }, ConditionExpression: 'attribute_exists(pk)' } },
      { Update: { TableName: dynamo.tables.limiter, Key: { pk: { S: 'TENANT#a' } }, UpdateExpression: 'SET tier = :t', ConditionExpression: 'tier = :f', ExpressionAttributeValues: { ':t': { S: 'basic' }, ':f': { S: 'free' } } } },
      { Put: { TableName: dynamo.tables.audit, Item: { pk: { S: 'AUDIT#2026-11' }, sk: { S: 'x' } }, ConditionExpression: 'attribute_not_exists(pk)' } },
    ]);
    // Assess
    expect((await item(dynamo.tables.limiter, 'TENANT#a'))?.tier).toEqual({ S: 'basic' });
    expect(await dynamo.client.send(new GetItemCommand({ TableName: dynamo.tables.audit, Key: { pk: { S: 'AUDIT#2026-11' }, sk: { S: 'x' } } }))).toHaveProperty('Item.sk', { S: 'x' });
    expect(await item(dynamo.tables.credentials, 'TENANT#a')).toEqual({ pk: { S: 'TENANT#a' }, name: { S: 'A' } });
  });

  it('writes nothing when one condition fails, and names the action that failed with its item when asked', async () => {
    // Prepare
    await dynamo.client.send(new PutItemCommand({ TableName: dynamo.tables.limiter, Item: { pk: { S: 'TENANT#a' }, tier: { S: 'premium' } } }));
    // Act
    const error = await failure(
      transact([
        { Put: { TableName: dynamo.tables.credentials, Item: { pk: { S: 'TENANT#new' } } } },
        { Update: { TableName: dynamo.tables.limiter, Key: { pk: { S: 'TENANT#a' } }, UpdateExpression: 'SET tier = :t', ConditionExpression: 'tier = :f', ExpressionAttributeValues: { ':t': { S: 'basic' }, ':f': { S: 'free' } }, ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } },
      ]),
    );
    // Assess
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect(error?.CancellationReasons?.map((reason) => reason.Code)).toEqual(['None', 'ConditionalCheckFailed']);
    expect(error?.CancellationReasons?.[1].Item).toEqual({ pk: { S: 'TENANT#a' }, tier: { S: 'premium' } });
    expect(await item(dynamo.tables.credentials, 'TENANT#new')).toBeUndefined();
    expect((await item(dynamo.tables.limiter, 'TENANT#a'))?.tier).toEqual({ S: 'premium' });
  });

  it('undoes the writes before a write that fails after every condition held', async () => {
    // Prepare: the second action makes its item larger than DynamoDB's 400 KB.
    await dynamo.client.send(new PutItemCommand({ TableName: dynamo.tables.limiter, Item: { pk: { S: 'TENANT#a' }, tier: { S: 'free' } } }));
    // Act
    const error = await failure(
      transact([
        { Update: { TableName: dynamo.tables.limiter, Key: { pk: { S: 'TENANT#a' } }, UpdateExpression: 'SET tier = :t', ExpressionAttributeValues: { ':t': { S: 'basic' } } } },
        { Put: { TableName: dynamo.tables.credentials, Item: { pk: { S: 'TENANT#b' } } } },
        { Update: { TableName: dynamo.tables.credentials, Key: { pk: { S: 'TENANT#c' } }, UpdateExpression: 'SET big = :b', ExpressionAttributeValues: { ':b': { S: 'x'.repeat(410 * 1024) } } } },
      ]),
    );
    // Assess
    expect(error?.name).toBe('ValidationException');
    expect((await item(dynamo.tables.limiter, 'TENANT#a'))?.tier).toEqual({ S: 'free' });
    expect(await item(dynamo.tables.credentials, 'TENANT#b')).toBeUndefined();
    expect(await item(dynamo.tables.credentials, 'TENANT#c')).toBeUndefined();
  });

  it('refuses two actions on one item, and an empty transaction, as DynamoDB does', async () => {
    // Act
    const twice = await failure(
      transact([
        { Put: { TableName: dynamo.tables.credentials, Item: { pk: { S: 'TENANT#a' } } } },
        { ConditionCheck: { TableName: dynamo.tables.credentials, Key: { pk: { S: 'TENANT#a' } }, ConditionExpression: 'attribute_not_exists(pk)' } },
      ]),
    );
    const empty = await failure(transact([]));
    // Assess
    expect(twice?.name).toBe('ValidationException');
    expect(twice?.message).toMatch(/multiple operations on one item/);
    expect(empty?.name).toBe('ValidationException');
    expect(await item(dynamo.tables.credentials, 'TENANT#a')).toBeUndefined();
  });

  it('runs concurrent transactions one at a time: of 20 compare-and-sets on two items, exactly one wins and both items agree', async () => {
    // Prepare
    for (const pk of ['A', 'B']) await dynamo.client.send(new PutItemCommand({ TableName: dynamo.tables.limiter, Item: { pk: { S: pk }, v: { N: '0' } } }));
    const compareAndSet = (value: number) =>
      transact(
        ['A', 'B'].map((pk) => ({
          Update: { TableName: dynamo.tables.limiter, Key: { pk: { S: pk } }, UpdateExpression: 'SET v = :new', ConditionExpression: 'v = :old', ExpressionAttributeValues: { ':new': { N: String(value) }, ':old': { N: '0' } } },
        })),
      );
    // Act
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => compareAndSet(i + 1)));
    // Assess
    const winners = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [i + 1] : []));
    expect(winners).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.status === 'rejected').every((outcome) => (outcome).reason instanceof TransactionCanceledException)).toBe(true);
    expect((await item(dynamo.tables.limiter, 'A'))?.v).toEqual({ N: String(winners[0]) });
    expect((await item(dynamo.tables.limiter, 'B'))?.v).toEqual({ N: String(winners[0]) });
  });
});
