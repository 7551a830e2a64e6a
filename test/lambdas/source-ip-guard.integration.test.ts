import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { BAN_MULTIPLIER, OFFENCES_BEFORE_BAN, SOURCE_IP_ATTRIBUTES, SOURCE_IP_LIMIT, TEMP_BAN_SECONDS, sourceIpItemKey } from '../../contracts/source-ip-limits';
import { SourceIpDecision, SourceIpGuard, SourceIpPolicy, sourceKeyOf } from '../../lambdas/limiter/source-ip-guard';
import { anotherClientOf, startDynalite } from '../support/dynalite';

const SECOND = 1000;

/** Integration: the source IP guard against dynalite, with explicit times. */
describe('Class: SourceIpGuard (dynalite)', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let counted: DynamoDBClient;
  let calls: string[];
  let ipCounter = 0;
  const start = Date.parse('2026-11-30T10:00:00Z');
  /** A source IP no other test uses. */
  const freshIp = () => `198.51.100.${++ipCounter}`;
  const guard = (policy: Partial<SourceIpPolicy> = {}, client: DynamoDBClient = counted) => new SourceIpGuard({ client, tableName: dynamo.tables.limiter, policy });

  beforeAll(async () => {
    dynamo = await startDynalite();
    counted = await anotherClientOf(dynamo.client);
    counted.middlewareStack.add(
      (next, context) => (args) => {
        calls.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize' },
    );
  });
  afterAll(async () => {
    counted.destroy();
    await dynamo.stop();
  });
  beforeEach(() => {
    calls = [];
  });

  /** `n` requests one after the other at `at`. */
  const requests = async (g: SourceIpGuard, ip: string, n: number, at: number): Promise<SourceIpDecision[]> => {
    const decisions: SourceIpDecision[] = [];
    for (let i = 0; i < n; i++) decisions.push(await g.decide(ip, at));
    return decisions;
  };
  /** Fills the bucket, then offends until banned: the ban it earned. */
  const earnBan = async (g: SourceIpGuard, ip: string, at: number) => {
    await requests(g, ip, SOURCE_IP_LIMIT.burst, at);
    const refused = await requests(g, ip, OFFENCES_BEFORE_BAN, at + SECOND);
    const last = refused[refused.length - 1];
    if (last.outcome !== 'banned') throw new Error(`expected a ban, got ${JSON.stringify(refused)}`);
    return { refused, ban: last };
  };

  describe('Method: decide', () => {
    it('admits 10 requests of one IP in a minute and limits the 11th, with the wait until the next one', async () => {
      // Prepare
      const g = guard();
      const ip = freshIp();
      // Act
      const decisions = await requests(g, ip, 11, start);
      // Assess
      expect(decisions.slice(0, 10).map((d) => d.outcome)).toEqual(Array(10).fill('admitted'));
      expect(decisions[9]).toEqual({ outcome: 'admitted', remaining: 0, resetSeconds: 60 });
      expect(decisions[10]).toEqual({ outcome: 'limited', retryAfterSeconds: 60 / SOURCE_IP_LIMIT.requestsPerMinute });
      // 6 s later one more is admitted, as the rate gives back one request every 6 s.
      expect((await g.decide(ip, start + 6 * SECOND)).outcome).toBe('admitted');
    });

    it('bans after OFFENCES_BEFORE_BAN refusals within the window, for TEMP_BAN_SECONDS, then admits again', async () => {
      // Prepare
      const g = guard();
      const ip = freshIp();
      // Act
      const { refused, ban } = await earnBan(g, ip, start);
      // Assess
      expect(refused.slice(0, OFFENCES_BEFORE_BAN - 1).map((d) => d.outcome)).toEqual(Array(OFFENCES_BEFORE_BAN - 1).fill('limited'));
      expect(ban).toEqual({ outcome: 'banned', bans: 1, until: start + SECOND + TEMP_BAN_SECONDS * SECOND, retryAfterSeconds: TEMP_BAN_SECONDS });
      // Another instance (no memory of the ban) learns it from its one write's failed condition.
      expect(await guard().decide(ip, start + 100 * SECOND)).toMatchObject({ outcome: 'banned', until: ban.until, retryAfterSeconds: TEMP_BAN_SECONDS - 99 });
      expect((await g.decide(ip, ban.until)).outcome).toBe('admitted');
    });

    it('does not ban for refusals spread wider than the offence window', async () => {
      // Prepare
      const g = guard({ offenceWindowSeconds: 60 });
      const ip = freshIp();
      const outcomes: string[] = [];
      // Act: the bucket refilled and emptied again before each refusal, one refusal every 70 s.
      for (let round = 0; round < OFFENCES_BEFORE_BAN + 2; round++) {
        const at = start + round * 70 * SECOND;
        await requests(g, ip, SOURCE_IP_LIMIT.burst, at);
        outcomes.push((await g.decide(ip, at)).outcome);
      }
      // Assess
      expect(outcomes).toEqual(Array(OFFENCES_BEFORE_BAN + 2).fill('limited'));
    });

    it('multiplies each further ban by BAN_MULTIPLIER, up to the maximum', async () => {
      // Prepare
      const g = guard({ maxBanSeconds: 1000 });
      const ip = freshIp();
      const lengths: number[] = [];
      let at = start;
      // Act: four bans, each earned right after the one before ends.
      for (let i = 0; i < 4; i++) {
        const { ban } = await earnBan(g, ip, at);
        lengths.push((ban.until - (at + SECOND)) / SECOND);
        at = ban.until;
      }
      // Assess
      expect(lengths).toEqual([TEMP_BAN_SECONDS, TEMP_BAN_SECONDS * BAN_MULTIPLIER, 1000, 1000]);
    });

    it('forgives one ban for each quiet decay period after the last ban ended', async () => {
      // Prepare: two bans (300 s, 600 s).
      const decay = 3600;
      const g = guard({ banDecaySeconds: decay });
      const ip = freshIp();
      const first = await earnBan(g, ip, start);
      const second = await earnBan(g, ip, first.ban.until);
      expect(second.ban.bans).toBe(2);
      // Act: one decay period after the second ban ended, then two more after the third.
      const third = await earnBan(g, ip, second.ban.until + decay * SECOND);
      const fourth = await earnBan(g, ip, third.ban.until + 2 * decay * SECOND);
      // Assess: 2 bans, one forgiven: the third is the second again; all forgiven after two periods.
      expect(third.ban).toMatchObject({ bans: 2, retryAfterSeconds: TEMP_BAN_SECONDS * BAN_MULTIPLIER });
      expect(fourth.ban).toMatchObject({ bans: 1, retryAfterSeconds: TEMP_BAN_SECONDS });
    });

    it('never admits more than the burst to concurrent requests of one IP from several instances', async () => {
      // Prepare: separate guards, as separate Lambda execution environments.
      const instances = Array.from({ length: 4 }, () => guard());
      const ip = freshIp();
      // Act
      const decisions = await Promise.all(Array.from({ length: 40 }, (_, i) => instances[i % instances.length].decide(ip, start)));
      // Assess
      expect(decisions.filter((d) => d.outcome === 'admitted')).toHaveLength(SOURCE_IP_LIMIT.burst);
      expect(decisions.filter((d) => d.outcome === 'limited')).toHaveLength(40 - SOURCE_IP_LIMIT.burst);
    });

    it('counts an IPv6 address by its /64: other hosts of the /64 share the bucket, another /64 does not', async () => {
      // Prepare
      const g = guard();
      // Act
      await requests(g, '2001:db8:0:1::1', 5, start);
      await requests(g, '2001:db8:0:1:ffff:ffff:ffff:fffe', 5, start);
      const sameSubnet = await g.decide('2001:DB8:0:1:1234::9', start);
      const otherSubnet = await g.decide('2001:db8:0:2::1', start);
      // Assess
      expect(sameSubnet.outcome).toBe('limited');
      expect(otherSubnet.outcome).toBe('admitted');
    });

    it('spends one UpdateItem and no read per decision in the steady state, and nothing for a ban it knows', async () => {
      // Prepare
      const g = guard();
      const ip = freshIp();
      const perDecision: string[][] = [];
      const decide = async (at: number) => {
        calls = [];
        const decision = await g.decide(ip, at);
        perDecision.push(calls);
        return decision;
      };
      // Act: admissions, refusals (offences), the ban, requests while banned.
      for (let i = 0; i < SOURCE_IP_LIMIT.burst; i++) await decide(start);
      for (let i = 0; i < OFFENCES_BEFORE_BAN; i++) await decide(start + SECOND);
      for (let i = 0; i < 3; i++) await decide(start + 2 * SECOND);
      // Assess
      const admissions = perDecision.slice(0, SOURCE_IP_LIMIT.burst);
      const firstOffence = perDecision[SOURCE_IP_LIMIT.burst];
      const offences = perDecision.slice(SOURCE_IP_LIMIT.burst + 1, SOURCE_IP_LIMIT.burst + OFFENCES_BEFORE_BAN - 1);
      const banning = perDecision[SOURCE_IP_LIMIT.burst + OFFENCES_BEFORE_BAN - 1];
      const whileBanned = perDecision.slice(SOURCE_IP_LIMIT.burst + OFFENCES_BEFORE_BAN);
      for (const decisionCalls of [...admissions, ...offences]) expect(decisionCalls).toEqual(['UpdateItemCommand']);
      // The window's first offence and the ban are planned from what the instance saw: still one write each.
      expect(firstOffence).toEqual(['UpdateItemCommand']);
      expect(banning).toEqual(['UpdateItemCommand']);
      expect(whileBanned).toEqual([[], [], []]);
      expect(perDecision.flat().filter((name) => name !== 'UpdateItemCommand')).toEqual([]);
    });

    it('spends at most two writes when another instance changed the item since it last looked', async () => {
      // Prepare: this instance admits once; another fills the bucket.
      const g = guard();
      const ip = freshIp();
      await g.decide(ip, start);
      await requests(guard(), ip, SOURCE_IP_LIMIT.burst, start);
      calls = [];
      // Act: this instance still thinks it is idle-ish.
      const decision = await g.decide(ip, start);
      // Assess
      expect(decision.outcome).toBe('limited');
      expect(calls).toEqual(['UpdateItemCommand', 'UpdateItemCommand']);
    });

    it('keeps an IP item with a TTL: an hour after its last admission, and never before its ban history decays', async () => {
      // Prepare
      const g = guard();
      const admittedIp = freshIp();
      const bannedIp = freshIp();
      // Act
      await g.decide(admittedIp, start);
      const { ban } = await earnBan(g, bannedIp, start);
      await g.decide(bannedIp, ban.until);
      // Assess
      const item = async (ip: string) =>
        (await dynamo.client.send(new GetItemCommand({ TableName: dynamo.tables.limiter, Key: { pk: { S: sourceIpItemKey(sourceKeyOf(ip)) } }, ConsistentRead: true }))).Item;
      expect(Number((await item(admittedIp))?.[SOURCE_IP_ATTRIBUTES.expiresAt]?.N)).toBe((start + 3600 * SECOND) / SECOND);
      const banned = await item(bannedIp);
      const historyEnds = Number(banned?.[SOURCE_IP_ATTRIBUTES.banHistoryEnds]?.N);
      expect(historyEnds).toBe(ban.until + 86_400 * SECOND);
      expect(Number(banned?.[SOURCE_IP_ATTRIBUTES.expiresAt]?.N)).toBe(historyEnds / SECOND);
    });

    it('answers store-unavailable when DynamoDB cannot be reached', async () => {
      // Prepare: a client of a port nothing listens on.
      const unreachable = new DynamoDBClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' }, maxAttempts: 1 });
      // Act
      const decision = await guard({}, unreachable).decide(freshIp(), start);
      unreachable.destroy();
      // Assess
      expect(decision.outcome).toBe('store-unavailable');
    });
  });
});
