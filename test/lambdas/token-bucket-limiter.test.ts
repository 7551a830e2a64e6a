import { ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { DEFAULT_TIERS, TIER_NAMES, TierName } from '../../contracts/tiers';
import { DEFAULT_FAIL_MODES, TierPolicy, TokenBucketLimiter, gcra } from '../../lambdas/limiter/token-bucket-limiter';

const tiers = Object.fromEntries(TIER_NAMES.map((name) => [name, { ...DEFAULT_TIERS[name], failMode: DEFAULT_FAIL_MODES[name] }])) as Record<TierName, TierPolicy>;
const ddbMock = mockClient(DynamoDBClient);
const NOW = Date.parse('2026-11-23T10:00:00Z');
const limiter = () => new TokenBucketLimiter({ client: new DynamoDBClient({ region: 'us-east-1' }), tableName: 'limiter', tiers, clock: () => NOW });
const conditionFailed = (item?: Record<string, unknown>) => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {}, Item: item as never });

describe('Class: TokenBucketLimiter', () => {
  afterEach(() => ddbMock.reset());

  describe('Method: decide', () => {
    it('admits with one conditional write and no read', async () => {
      // Prepare
      ddbMock.on(UpdateItemCommand).resolves({ Attributes: { tat: { N: String(NOW + 12_000) }, 'd2026-11-23': { N: '3' }, 'm2026-11': { N: '9' } } });
      // Act
      const decision = await limiter().decide({ tenantId: 'acme', tierHint: 'free' });
      // Assess
      expect(decision).toMatchObject({ outcome: 'admitted', tier: 'free', remaining: 4, resetSeconds: 12, countToday: 3, countThisMonth: 9 });
      expect(ddbMock.calls()).toHaveLength(1);
      const input = ddbMock.commandCalls(UpdateItemCommand)[0].args[0].input;
      expect(input).toMatchObject({ ReturnValuesOnConditionCheckFailure: 'ALL_OLD', Key: { pk: { S: 'TENANT#acme' } } });
      expect(input.ConditionExpression).toContain('#tier = :tier');
    });

    it('uses the stored tier when the hint was wrong: exactly two writes', async () => {
      ddbMock
        .on(UpdateItemCommand)
        .rejectsOnce(conditionFailed({ pk: { S: 'TENANT#acme' }, tier: { S: 'premium' }, blocked: { BOOL: false } }))
        .resolves({ Attributes: { tat: { N: String(NOW + 600) } } });
      const decision = await limiter().decide({ tenantId: 'acme', tierHint: 'free' });
      expect(decision).toMatchObject({ outcome: 'admitted', tier: 'premium' });
      const second = ddbMock.commandCalls(UpdateItemCommand)[1].args[0].input;
      expect(second.ExpressionAttributeValues?.[':tier']).toEqual({ S: 'premium' });
    });

    it('answers 429 from the old item without a second write, with Retry-After from the TAT', async () => {
      // TAT 70 s ahead on free (T = 12 s, τ = 48 s): allowed again in 22 s.
      ddbMock.on(UpdateItemCommand).rejects(conditionFailed({ tier: { S: 'free' }, tat: { N: String(NOW + 70_000) } }));
      const decision = await limiter().decide({ tenantId: 'acme', tierHint: 'free' });
      expect(decision).toMatchObject({ outcome: 'rate-limited', retryAfterSeconds: 22, remaining: 0 });
      expect(ddbMock.calls()).toHaveLength(1);
    });

    it.each([
      ['free', false],
      ['basic', false],
      ['premium', true],
      ['enterprise', true],
    ] as const)('when DynamoDB fails, %s traffic is admitted: %s (fail-open or fail-closed per tier)', async (tier, admitted) => {
      ddbMock.on(UpdateItemCommand).rejects(Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ProvisionedThroughputExceededException' }));
      const decision = await limiter().decide({ tenantId: 'acme', tierHint: tier });
      expect(decision).toMatchObject({ outcome: 'store-unavailable', admitted, tier });
    });

    it('refuses an unregistered tenant (no old item)', async () => {
      ddbMock.on(UpdateItemCommand).rejects(conditionFailed());
      expect(await limiter().decide({ tenantId: 'ghost' })).toEqual({ outcome: 'refused', reason: 'unknown-tenant' });
    });
  });

  describe('Function: gcra', () => {
    it('derives T and τ from the tier, rounding T up', () => {
      expect(gcra({ requestsPerMinute: 5, burst: 5 })).toEqual({ emissionMs: 12_000, toleranceMs: 48_000 });
      expect(gcra({ requestsPerMinute: 1000, burst: 1000 })).toEqual({ emissionMs: 60, toleranceMs: 59_940 });
      expect(gcra({ requestsPerMinute: 7, burst: 1 })).toEqual({ emissionMs: 8572, toleranceMs: 0 });
    });
  });
});
