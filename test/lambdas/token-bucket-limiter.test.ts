import { AttributeValue, ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { LIMITER_ATTRIBUTE_PATTERNS } from '../../contracts/limiter-item';
import { mockClient } from 'aws-sdk-client-mock';
import { TIER_NAMES, resolveTierPolicies } from '../../contracts/tiers';
import { AUTHORIZER_CACHE_TTL_SECONDS, TOKEN_TTL_SECONDS } from '../../contracts/metered-api';
import { REVOCATION_RETENTION_MS, STANDING_MEMORY_MS, STORE_THROTTLED_RETRY_AFTER_SECONDS, TokenBucketLimiter, gcra } from '../../lambdas/limiter/token-bucket-limiter';

const tiers = resolveTierPolicies();
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

    describe.each(TIER_NAMES)('when DynamoDB throttles the %s tenant item', (tier) => {
      it.each([
        ['ProvisionedThroughputExceededException', 'Throughput exceeds the current capacity of your table or index.'],
        ['ThrottlingException', 'Throughput exceeds the current capacity of your table or index.'],
        ['RequestLimitExceeded', 'Throughput exceeds the current account-level throughput limit.'],
        ['UnknownError', 'Throughput exceeds the current capacity of your table or index.'],
      ])('answers store-throttled for %s, never admitted, and reads nothing', async (name, message) => {
        // Prepare
        ddbMock.on(UpdateItemCommand).rejects(Object.assign(new Error(message), { name }));
        // Act
        const decision = await limiter().decide({ tenantId: 'acme', tierHint: tier });
        // Assess
        expect(decision).toMatchObject({ outcome: 'store-throttled', tier, retryAfterSeconds: STORE_THROTTLED_RETRY_AFTER_SECONDS });
        expect(ddbMock.commandCalls(GetItemCommand)).toHaveLength(0);
      });
    });

    it.each([
      ['free', false],
      ['basic', false],
      ['premium', true],
      ['enterprise', true],
    ] as const)('when the write times out, %s traffic in good standing (by a consistent read) is admitted: %s', async (tier, admitted) => {
      ddbMock.on(UpdateItemCommand).rejects(Object.assign(new Error('Request timed out'), { name: 'TimeoutError' }));
      ddbMock.on(GetItemCommand).resolves({ Item: { pk: { S: 'TENANT#acme' }, tier: { S: tier }, blocked: { BOOL: false } } });
      const decision = await limiter().decide({ tenantId: 'acme', keyId: 'key_1', tierHint: 'free' });
      expect(decision).toMatchObject({ outcome: 'store-unavailable', admitted, tier, standing: 'read' });
      expect(ddbMock.commandCalls(GetItemCommand)[0].args[0].input).toMatchObject({ ConsistentRead: true, Key: { pk: { S: 'TENANT#acme' } } });
    });

    it.each<['tenant-blocked' | 'key-revoked' | 'key-blocked', Record<string, AttributeValue>]>([
      ['tenant-blocked', { blocked: { BOOL: true } }],
      ['key-revoked', { revokedKeys: { SS: ['key_1'] } }],
      ['key-blocked', { blockedKeys: { SS: ['key_1'] } }],
    ])('when the write fails, refuses a fail-open caller the read shows %s', async (reason, extra) => {
      ddbMock.on(UpdateItemCommand).rejects(Object.assign(new Error('socket hang up'), { name: 'Error' }));
      ddbMock.on(GetItemCommand).resolves({ Item: { pk: { S: 'TENANT#acme' }, tier: { S: 'premium' }, ...extra } });
      expect(await limiter().decide({ tenantId: 'acme', keyId: 'key_1', tierHint: 'premium' })).toEqual({ outcome: 'refused', reason, tier: 'premium' });
    });

    it('when neither write nor read reach DynamoDB, admits a fail-open caller only within STANDING_MEMORY_MS of its last verified write', async () => {
      // Prepare: one admitting write, then the store fails.
      let now = NOW;
      const bucket = new TokenBucketLimiter({ client: new DynamoDBClient({ region: 'us-east-1' }), tableName: 'limiter', tiers, clock: () => now });
      ddbMock.on(UpdateItemCommand).resolvesOnce({ Attributes: { tat: { N: String(NOW + 600) } } });
      expect(await bucket.decide({ tenantId: 'acme', keyId: 'key_1', tierHint: 'premium' })).toMatchObject({ outcome: 'admitted' });
      ddbMock.on(UpdateItemCommand).rejects(Object.assign(new Error('Request timed out'), { name: 'TimeoutError' }));
      ddbMock.on(GetItemCommand).rejects(Object.assign(new Error('Request timed out'), { name: 'TimeoutError' }));
      // Act
      now = NOW + STANDING_MEMORY_MS;
      const within = await bucket.decide({ tenantId: 'acme', keyId: 'key_1', tierHint: 'premium' });
      const otherKey = await bucket.decide({ tenantId: 'acme', keyId: 'key_2', tierHint: 'premium' });
      now = NOW + STANDING_MEMORY_MS + 1;
      const after = await bucket.decide({ tenantId: 'acme', keyId: 'key_1', tierHint: 'premium' });
      // Assess
      expect(within).toMatchObject({ outcome: 'store-unavailable', admitted: true, standing: 'remembered' });
      expect(otherKey).toMatchObject({ outcome: 'store-unavailable', admitted: false, standing: 'unknown' });
      expect(after).toMatchObject({ outcome: 'store-unavailable', admitted: false, standing: 'unknown' });
    });

    it('forgets a remembered good standing as soon as a write or read shows a block', async () => {
      const bucket = limiter();
      ddbMock
        .on(UpdateItemCommand)
        .resolvesOnce({ Attributes: { tat: { N: String(NOW + 600) } } })
        .rejectsOnce(conditionFailed({ pk: { S: 'TENANT#acme' }, tier: { S: 'premium' }, revokedKeys: { SS: ['key_1'] } }));
      await bucket.decide({ tenantId: 'acme', keyId: 'key_1', tierHint: 'premium' });
      expect(await bucket.decide({ tenantId: 'acme', keyId: 'key_1', tierHint: 'premium' })).toMatchObject({ outcome: 'refused', reason: 'key-revoked' });
      ddbMock.on(UpdateItemCommand).rejects(Object.assign(new Error('Request timed out'), { name: 'TimeoutError' }));
      ddbMock.on(GetItemCommand).rejects(Object.assign(new Error('Request timed out'), { name: 'TimeoutError' }));
      expect(await bucket.decide({ tenantId: 'acme', keyId: 'key_1', tierHint: 'premium' })).toMatchObject({ outcome: 'store-unavailable', admitted: false, standing: 'unknown' });
    });

    it('names only attributes the tenant functions\' IAM grant allows (dynamodb:Attributes)', async () => {
      // Prepare: a write that tidies old counters and revocations, a read after a failed write.
      ddbMock
        .on(UpdateItemCommand)
        .resolvesOnce({ Attributes: { tat: { N: String(NOW + 12_000) }, 'd2026-10-01': { N: '1' }, 'm2026-01': { N: '1' }, revokedKeys: { SS: ['k'] }, blockedKeys: { SS: ['k'] }, revokedSeen: { SS: ['k'] }, revokedSeenAt: { N: String(NOW - REVOCATION_RETENTION_MS) } } })
        .resolvesOnce({})
        .rejects(Object.assign(new Error('Request timed out'), { name: 'TimeoutError' }));
      ddbMock.on(GetItemCommand).resolves({ Item: { pk: { S: 'TENANT#acme' }, tier: { S: 'free' } } });
      const bucket = limiter();
      await bucket.decide({ tenantId: 'acme', keyId: 'k2', tierHint: 'free' });
      await bucket.decide({ tenantId: 'acme', keyId: 'k2', tierHint: 'free' });
      // Assess: every name in every request matches a pattern of the grant.
      const inputs = [...ddbMock.commandCalls(UpdateItemCommand), ...ddbMock.commandCalls(GetItemCommand)].map((call) => call.args[0].input);
      expect(inputs).toHaveLength(4);
      const names = new Set(inputs.flatMap((input) => [...Object.keys(input.Key ?? {}), ...Object.values(input.ExpressionAttributeNames ?? {})]));
      const allowed = (name: string) => LIMITER_ATTRIBUTE_PATTERNS.some((pattern) => new RegExp(`^${pattern.replace(/\?/g, '.').replace(/\*/g, '.*')}$`).test(name));
      expect([...names].filter((name) => !allowed(name))).toEqual([]);
      expect([...names]).toEqual(expect.arrayContaining(['pk', 'tat', 'tier', 'blocked', 'd2026-10-01', 'm2026-01', 'revokedSeen']));
    });

    describe('with a quota (issue 16, item 1)', () => {
      const quotaTiers = resolveTierPolicies({ free: { quota: { period: 'week', requests: 100 } }, basic: { quota: { period: 'day', requests: 50 } } });
      const quotaLimiter = () => new TokenBucketLimiter({ client: new DynamoDBClient({ region: 'us-east-1' }), tableName: 'limiter', tiers: quotaTiers, clock: () => NOW });

      it('holds the quota in the same conditional write that counts the period (ISO week: w2026-W48)', async () => {
        ddbMock.on(UpdateItemCommand).resolves({ Attributes: { tat: { N: String(NOW + 12_000) }, 'w2026-W48': { N: '40' } } });
        const decision = await quotaLimiter().decide({ tenantId: 'acme', tierHint: 'free' });
        expect(decision).toMatchObject({ outcome: 'admitted', quota: { period: 'week', limit: 100, used: 40, remaining: 60 } });
        expect(ddbMock.calls()).toHaveLength(1);
        const input = ddbMock.commandCalls(UpdateItemCommand)[0].args[0].input;
        expect(input.ExpressionAttributeNames?.['#week']).toBe('w2026-W48');
        expect(input.UpdateExpression).toContain('ADD #day :one, #month :one, #week :one');
        expect(input.ConditionExpression).toMatch(/ AND \(attribute_not_exists\(#week\) OR #week < :quota\)$/);
        expect(input.ExpressionAttributeValues?.[':quota']).toEqual({ N: '100' });
      });

      it('conditions on the stored tier\'s own period: the day for basic', async () => {
        ddbMock.on(UpdateItemCommand).resolves({ Attributes: { tat: { N: String(NOW + 3000) } } });
        await quotaLimiter().decide({ tenantId: 'acme', tierHint: 'basic' });
        const input = ddbMock.commandCalls(UpdateItemCommand)[0].args[0].input;
        expect(input.ConditionExpression).toContain('(attribute_not_exists(#day) OR #day < :quota)');
        expect(input.ExpressionAttributeValues?.[':quota']).toEqual({ N: '50' });
      });

      it('answers quota-exceeded from the old item, with one write and no read, Retry-After until Monday 00:00 UTC', async () => {
        // 2026-11-23 10:00 is a Monday: the week ends in 6 days 14 hours.
        ddbMock.on(UpdateItemCommand).rejects(conditionFailed({ pk: { S: 'TENANT#acme' }, tier: { S: 'free' }, tat: { N: String(NOW + 70_000) }, 'w2026-W48': { N: '100' } }));
        const bucket = quotaLimiter();
        const decision = await bucket.decide({ tenantId: 'acme', tierHint: 'free' });
        expect(decision).toMatchObject({ outcome: 'quota-exceeded', retryAfterSeconds: 6 * 86_400 + 14 * 3600, quota: { used: 100, remaining: 0 }, remaining: 0 });
        expect([bucket.writes, bucket.reads]).toEqual([1, 0]);
      });

      it('writes no week counter where no tier has a weekly quota', async () => {
        ddbMock.on(UpdateItemCommand).resolves({ Attributes: { tat: { N: String(NOW + 3000) } } });
        await new TokenBucketLimiter({ client: new DynamoDBClient({ region: 'us-east-1' }), tableName: 'limiter', tiers: resolveTierPolicies({ basic: { quota: { period: 'month', requests: 9 } } }), clock: () => NOW }).decide({ tenantId: 'acme', tierHint: 'basic' });
        const input = ddbMock.commandCalls(UpdateItemCommand)[0].args[0].input;
        expect(Object.values(input.ExpressionAttributeNames ?? {}).filter((name) => name.startsWith('w'))).toEqual([]);
        expect(input.ConditionExpression).toContain('(attribute_not_exists(#month) OR #month < :quota)');
      });

      it('names only attributes the IAM grant allows, week counters and their tidying included', async () => {
        ddbMock.on(UpdateItemCommand).resolvesOnce({ Attributes: { tat: { N: String(NOW + 12_000) }, 'w2026-W40': { N: '1' } } }).resolves({});
        await quotaLimiter().decide({ tenantId: 'acme', tierHint: 'free' });
        const inputs = ddbMock.commandCalls(UpdateItemCommand).map((call) => call.args[0].input);
        const names = new Set(inputs.flatMap((input) => Object.values(input.ExpressionAttributeNames ?? {})));
        const allowed = (name: string) => LIMITER_ATTRIBUTE_PATTERNS.some((pattern) => new RegExp(`^${pattern.replace(/\?/g, '.').replace(/\*/g, '.*')}$`).test(name));
        expect([...names].filter((name) => !allowed(name))).toEqual([]);
        // This week's counter is added, the week before last's removed on the way, an older one by the tidying write.
        expect([...names]).toEqual(expect.arrayContaining(['w2026-W48', 'w2026-W46', 'w2026-W40']));
      });
    });

    it('refuses an unregistered tenant (no old item)', async () => {
      ddbMock.on(UpdateItemCommand).rejects(conditionFailed());
      expect(await limiter().decide({ tenantId: 'ghost' })).toEqual({ outcome: 'refused', reason: 'unknown-tenant' });
    });
  });

  describe('Bounded item', () => {
    const namesIn = (input: { UpdateExpression?: string; ExpressionAttributeNames?: Record<string, string> }, clause: string) => {
      const match = new RegExp(`${clause} ([^A-Z]*)`).exec(input.UpdateExpression ?? '');
      return (match?.[1] ?? '').split(',').map((part) => input.ExpressionAttributeNames?.[part.trim().split(' ')[0]] ?? part.trim());
    };

    it('counts in today’s and this month’s counters and removes the day before yesterday’s and the month before last’s on the way, in the one write', async () => {
      ddbMock.on(UpdateItemCommand).resolves({ Attributes: { tat: { N: String(NOW + 12_000) }, 'd2026-11-22': { N: '7' }, 'd2026-11-23': { N: '1' }, 'm2026-10': { N: '70' }, 'm2026-11': { N: '9' } } });
      const decision = await limiter().decide({ tenantId: 'acme', tierHint: 'free' });
      expect(decision).toMatchObject({ outcome: 'admitted', countToday: 1, countThisMonth: 9 });
      expect(ddbMock.calls()).toHaveLength(1);
      const input = ddbMock.commandCalls(UpdateItemCommand)[0].args[0].input;
      expect(input.ReturnValues).toBe('ALL_NEW');
      expect(namesIn(input, 'ADD')).toEqual(['d2026-11-23', 'm2026-11']);
      expect(namesIn(input, 'REMOVE')).toEqual(['d2026-11-21', 'm2026-09']);
    });

    it('removes older counters the new item shows with a second, unconditional write', async () => {
      ddbMock.on(UpdateItemCommand).resolves({ Attributes: { tat: { N: String(NOW + 12_000) }, 'd2026-11-02': { N: '7' }, 'd2026-11-23': { N: '1' }, 'm2026-06': { N: '70' }, 'm2026-11': { N: '9' } } });
      const bucket = limiter();
      await bucket.decide({ tenantId: 'acme', tierHint: 'free' });
      expect(bucket.writes).toBe(2);
      const tidy = ddbMock.commandCalls(UpdateItemCommand)[1].args[0].input;
      expect(tidy.UpdateExpression).toMatch(/^REMOVE /);
      expect(namesIn(tidy, 'REMOVE')).toEqual(['d2026-11-02', 'm2026-06']);
      expect(tidy.ConditionExpression).toBe('attribute_exists(pk)');
    });

    it('tidies what the old item shows with the second write, and makes no third', async () => {
      ddbMock
        .on(UpdateItemCommand)
        .rejectsOnce(conditionFailed({ tier: { S: 'premium' }, 'd2026-10-01': { N: '3' }, 'm2026-11': { N: '3' } }))
        .resolves({ Attributes: { tat: { N: String(NOW + 600) }, 'd2026-10-01': { N: '3' } } });
      const bucket = limiter();
      expect(await bucket.decide({ tenantId: 'acme', tierHint: 'free' })).toMatchObject({ outcome: 'admitted', tier: 'premium' });
      expect(bucket.writes).toBe(2);
      expect(namesIn(ddbMock.commandCalls(UpdateItemCommand)[1].args[0].input, 'REMOVE')).toEqual(['d2026-10-01']);
    });

    it('makes at most two writes without a tier hint too: a first write that names the wrong tier counts, and a lost race then refuses (issue 13, item 3)', async () => {
      // Prepare: the caller names no tier (a key record without its hint); the item says premium, and another write lands between ours.
      ddbMock
        .on(UpdateItemCommand)
        .rejectsOnce(conditionFailed({ tier: { S: 'premium' } }))
        .rejectsOnce(conditionFailed({ tier: { S: 'premium' }, tat: { N: String(NOW + 600) } }))
        .resolves({ Attributes: { tat: { N: String(NOW + 1200) } } });
      const bucket = limiter();
      // Act
      const decision = await bucket.decide({ tenantId: 'acme', keyId: 'key_1' });
      // Assess: refusing never over-admits; the next request knows the tier.
      expect(decision).toMatchObject({ outcome: 'rate-limited', tier: 'premium', retryAfterSeconds: 1 });
      expect([bucket.writes, bucket.reads, ddbMock.commandCalls(UpdateItemCommand).map((call) => call.args[0].input.ExpressionAttributeValues?.[':tier'].S)]).toEqual([2, 0, ['free', 'premium']]);
    });

    it('notes revoked keys, and deletes them (from blocked keys too) only once the retention has passed', async () => {
      const item = (extra: Record<string, unknown>) => ({ Attributes: { tat: { N: String(NOW + 12_000) }, revokedKeys: { SS: ['key_a', 'key_b'] }, blockedKeys: { SS: ['key_a', 'key_c'] }, ...extra } });
      // Not noted yet: noted now.
      ddbMock.on(UpdateItemCommand).resolves(item({}));
      await limiter().decide({ tenantId: 'acme', tierHint: 'free' });
      let tidy = ddbMock.commandCalls(UpdateItemCommand)[1].args[0].input;
      expect(tidy.UpdateExpression).toBe('SET #revokedSeen = :revokedSeen, #revokedSeenAt = :revokedSeenAt');
      expect(tidy.ExpressionAttributeValues).toEqual({ ':revokedSeen': { SS: ['key_a', 'key_b'] }, ':revokedSeenAt': { N: String(NOW) } });
      // Noted less than the retention ago: left alone.
      ddbMock.reset();
      ddbMock.on(UpdateItemCommand).resolves(item({ revokedSeen: { SS: ['key_a'] }, revokedSeenAt: { N: String(NOW - REVOCATION_RETENTION_MS + 1) } }));
      await limiter().decide({ tenantId: 'acme', tierHint: 'free' });
      expect(ddbMock.calls()).toHaveLength(1);
      // Noted the retention ago: deleted, and the rest noted.
      ddbMock.reset();
      ddbMock.on(UpdateItemCommand).resolves(item({ revokedSeen: { SS: ['key_a'] }, revokedSeenAt: { N: String(NOW - REVOCATION_RETENTION_MS) } }));
      await limiter().decide({ tenantId: 'acme', tierHint: 'free' });
      tidy = ddbMock.commandCalls(UpdateItemCommand)[1].args[0].input;
      expect(tidy.UpdateExpression).toBe('SET #revokedSeen = :revokedSeen, #revokedSeenAt = :revokedSeenAt DELETE #revokedKeys :expiredRevoked, #blockedKeys :expiredBlocked');
      expect(tidy.ExpressionAttributeValues).toMatchObject({ ':expiredRevoked': { SS: ['key_a'] }, ':expiredBlocked': { SS: ['key_a'] }, ':revokedSeen': { SS: ['key_b'] } });
    });

    it('keeps a revoked key at least as long as a token naming it, then an authorizer answer cached for it, can be presented', () => {
      const tokenClockToleranceSeconds = 5;
      expect(REVOCATION_RETENTION_MS).toBeGreaterThanOrEqual((TOKEN_TTL_SECONDS + tokenClockToleranceSeconds + AUTHORIZER_CACHE_TTL_SECONDS) * 1000);
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
