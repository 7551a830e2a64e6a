import { ConditionalCheckFailedException, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { startDynalite } from '../support/dynalite';

describe('Function: createDynaliteServer', () => {
  it('returns the old item of a failed condition when asked, as DynamoDB does', async () => {
    const dynamo = await startDynalite();
    try {
      // Prepare
      await dynamo.client.send(new PutItemCommand({ TableName: dynamo.tables.limiter, Item: { pk: { S: 'TENANT#a' }, tat: { N: '5' } } }));
      const update = (returnOld: boolean) =>
        dynamo.client.send(
          new UpdateItemCommand({
            TableName: dynamo.tables.limiter,
            Key: { pk: { S: 'TENANT#a' } },
            UpdateExpression: 'SET tat = :x',
            ConditionExpression: 'tat > :x',
            ExpressionAttributeValues: { ':x': { N: '10' } },
            ...(returnOld ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const } : {}),
          }),
        );
      // Act
      const asked = await update(true).catch((error: unknown) => error);
      const notAsked = await update(false).catch((error: unknown) => error);
      // Assess
      expect(asked).toBeInstanceOf(ConditionalCheckFailedException);
      expect(notAsked).toBeInstanceOf(ConditionalCheckFailedException);
      expect((asked as ConditionalCheckFailedException).Item).toEqual({ pk: { S: 'TENANT#a' }, tat: { N: '5' } });
      expect((notAsked as ConditionalCheckFailedException).Item).toBeUndefined();
    } finally {
      await dynamo.stop();
    }
  });
});
