import { AttributeValue, ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SIGNAL_ITEM_ATTRIBUTES, SIGNAL_PARTITION_PREFIX, SignalThreshold } from '../../contracts/account-events';
import { LIMITER_ATTRIBUTES } from '../../contracts/limiter-item';
import { SOURCE_IP_ATTRIBUTES } from '../../contracts/source-ip-limits';

/** The signals counted per subject and window: 429s of a tenant, 401s and 403s from a source. */
export type SignalKind = 'rate-limit-spike' | 'auth-failures';

/**
 * The attribute of a raise in flight: until when (epoch ms) the writer that claimed the raise
 * may publish before another may take it over. Not in contracts/account-events.ts's
 * SIGNAL_ITEM_ATTRIBUTES yet: the forwarders' IAM grant must name it too.
 */
export const SIGNAL_CLAIM_ATTRIBUTE = 'raisingUntil';

/**
 * How long a claim holds: longer than a publish with its retries takes (4 attempts, at most 2 s
 * apart, each a PutEvents call), shorter than the one minute Lambda waits before it retries a
 * failed asynchronous invocation (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html),
 * so that the retry of a forwarder that stopped between claim and publish can raise again.
 */
export const SIGNAL_CLAIM_MS = 30_000;

/** How many windows a counter item outlives its own window's start (its TTL): the window and a few after it, for late deliveries. */
export const SIGNAL_RETENTION_WINDOWS = 4;

/** A counter's key in the limiter table: `SIGNAL#<kind>#<subject>#<windowStart>`. */
export const signalItemKey = (kind: SignalKind, subject: string, windowStart: number): string => `${SIGNAL_PARTITION_PREFIX}${kind}#${subject}#${String(windowStart)}`;

/** A counter after an add. */
export interface SignalCount {
  /** The window's count, this add included. */
  readonly count: number;
  /** Whether this add took the count over the threshold: exactly one add per window does. */
  readonly crossed: boolean;
  /** Whether the window's event has been put on the bus (its `raisedAt` is set). */
  readonly raised: boolean;
  /** Whether the count is over the threshold and no event is marked raised: someone must raise it. */
  readonly mustRaise: boolean;
}

export interface SignalCountersOptions {
  readonly client: DynamoDBClient;
  /** The limiter table (`LAMBDA_ENV.tables.limiter`). */
  readonly tableName: string;
  /** @default Date.now */
  readonly clock?: () => number;
}

type Item = Partial<Record<string, AttributeValue>>;

/**
 * Counters of signals (issue 16): `SIGNAL#…` items in the limiter table, one per kind, subject and
 * window, each counting with `ADD` (atomic: concurrent adds never lose a count,
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html, `ReturnValues: ALL_NEW`
 * gives the count after this add). Raising the window's event is claimed, published and marked:
 * {@link claim} (one writer at a time, with a lease), then the caller's publish, then
 * {@link markRaised}. A delivery retried after a failed publish adds its counts again (the counts
 * are then over, never under) and raises the same event id again, since the mark is missing.
 */
export class SignalCounters {
  private readonly clock: () => number;

  constructor(private readonly options: SignalCountersOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Adds `n` to a window's counter (one UpdateItem) and says whether its event must be raised:
   * `ReturnValues: ALL_NEW` gives the count after the add and whether `raisedAt` is set. A
   * `SIGNAL#` item holds only the counter's own attributes, so ALL_NEW returns nothing else.
   */
  public async add(kind: SignalKind, subject: string, windowStart: number, n: number, threshold: SignalThreshold): Promise<SignalCount> {
    const expiresAt = (windowStart + SIGNAL_RETENTION_WINDOWS * threshold.minutes) * 60;
    const result = await this.options.client.send(
      new UpdateItemCommand({
        TableName: this.options.tableName,
        Key: { [LIMITER_ATTRIBUTES.pk]: { S: signalItemKey(kind, subject, windowStart) } },
        UpdateExpression: 'ADD #count :n SET #expiresAt = :expiresAt',
        ExpressionAttributeNames: { '#count': SIGNAL_ITEM_ATTRIBUTES.count, '#expiresAt': SOURCE_IP_ATTRIBUTES.expiresAt },
        ExpressionAttributeValues: { ':n': { N: String(n) }, ':expiresAt': { N: String(expiresAt) } },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const item: Item = result.Attributes ?? {};
    const count = Number(item[SIGNAL_ITEM_ATTRIBUTES.count]?.N ?? n);
    const raised = item[SIGNAL_ITEM_ATTRIBUTES.raisedAt] !== undefined;
    return { count, crossed: count > threshold.count && count - n <= threshold.count, raised, mustRaise: count > threshold.count && !raised };
  }

  /**
   * Claims the raise of a window's event: succeeds for one writer while the event is not marked
   * and no other claim is live, so concurrent adds over the threshold publish it once; a claim
   * whose holder stopped lapses after {@link SIGNAL_CLAIM_MS}.
   */
  public async claim(kind: SignalKind, subject: string, windowStart: number): Promise<boolean> {
    const now = this.clock();
    return this.conditionalSet(kind, subject, windowStart, {
      UpdateExpression: 'SET #claim = :until',
      ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#raisedAt) AND (attribute_not_exists(#claim) OR #claim < :now)',
      ExpressionAttributeNames: { '#pk': LIMITER_ATTRIBUTES.pk, '#raisedAt': SIGNAL_ITEM_ATTRIBUTES.raisedAt, '#claim': SIGNAL_CLAIM_ATTRIBUTE },
      ExpressionAttributeValues: { ':until': { N: String(now + SIGNAL_CLAIM_MS) }, ':now': { N: String(now) } },
    });
  }

  /** Marks the window's event raised (it is on the bus): later adds raise nothing. False when it was already marked. */
  public async markRaised(kind: SignalKind, subject: string, windowStart: number): Promise<boolean> {
    return this.conditionalSet(kind, subject, windowStart, {
      UpdateExpression: 'SET #raisedAt = :now REMOVE #claim',
      ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#raisedAt)',
      ExpressionAttributeNames: { '#pk': LIMITER_ATTRIBUTES.pk, '#raisedAt': SIGNAL_ITEM_ATTRIBUTES.raisedAt, '#claim': SIGNAL_CLAIM_ATTRIBUTE },
      ExpressionAttributeValues: { ':now': { N: String(this.clock()) } },
    });
  }

  /** Gives a claim up after a failed publish, so that the retried delivery may raise at once (best effort: otherwise the claim lapses). */
  public async release(kind: SignalKind, subject: string, windowStart: number): Promise<void> {
    await this.conditionalSet(kind, subject, windowStart, {
      UpdateExpression: 'REMOVE #claim',
      ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#raisedAt)',
      ExpressionAttributeNames: { '#pk': LIMITER_ATTRIBUTES.pk, '#raisedAt': SIGNAL_ITEM_ATTRIBUTES.raisedAt, '#claim': SIGNAL_CLAIM_ATTRIBUTE },
    }).catch(() => false);
  }

  private async conditionalSet(
    kind: SignalKind,
    subject: string,
    windowStart: number,
    update: Pick<ConstructorParameters<typeof UpdateItemCommand>[0], 'UpdateExpression' | 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'>,
  ): Promise<boolean> {
    try {
      const Key = { [LIMITER_ATTRIBUTES.pk]: { S: signalItemKey(kind, subject, windowStart) } };
      await this.options.client.send(new UpdateItemCommand({ TableName: this.options.tableName, Key, ...update }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
