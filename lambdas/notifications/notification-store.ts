import { randomUUID } from 'node:crypto';
import { AttributeValue, ConditionalCheckFailedException, DeleteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ACCOUNT_EVENT_KINDS, AccountEventKind, NOTIFICATION_OPT_OUTS_ATTRIBUTE, OPTIONAL_ACCOUNT_EVENT_KINDS, isAccountEventKind } from '../../contracts/account-events';
import { CREDENTIALS_TTL_ATTRIBUTE } from '../../contracts/metered-api';
import { tenantItemKey } from '../credentials/credential-store';

/** An event's delivery record: `NOTIFYEVENT#<eventId>`. */
export const notifiedEventKey = (eventId: string) => `NOTIFYEVENT#${eventId}`;
/** A tenant's cooldown for one kind: `NOTIFYCOOLDOWN#<tenantId>#<kind>` (tenant ids and kinds hold no `#`). */
export const cooldownKey = (tenantId: string, kind: AccountEventKind) => `NOTIFYCOOLDOWN#${tenantId}#${kind}`;

/** The prefix of every item the notifier writes: what its IAM policy's `dynamodb:LeadingKeys` condition allows. */
export const NOTIFICATION_ITEM_PREFIX = 'NOTIFY';

/** A domain error of the notification store, mapped by the adapters (400/404). */
export class NotificationStoreError extends Error {
  constructor(
    public readonly code: 'tenant-not-found' | 'critical-kind' | 'unknown-kind',
    message: string,
  ) {
    super(message);
    this.name = 'NotificationStoreError';
  }
}

/** What claiming an event found: the claim is ours (`token`), another delivery holds it, or the event was already handled. */
export type Claim = { readonly kind: 'claimed'; readonly token: string } | { readonly kind: 'held' } | { readonly kind: 'done' };

export interface NotificationStoreProps {
  readonly client: DynamoDBClient;
  /** The credentials table: tenants, and the notifier's `NOTIFY…` items, which expire by its TTL attribute (`expiresAt`). */
  readonly credentialsTable: string;
}

const s = (value: string) => ({ S: value });
const n = (value: number) => ({ N: String(value) });
const seconds = (ms: number) => Math.ceil(ms / 1000);

/**
 * The notifier's state in the credentials table, each change one conditional write
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html):
 *
 * - `NOTIFYEVENT#<eventId>` `{state: sending|sent|suppressed, token, leaseUntil, expiresAt}`: an
 *   event's claim, so that of several deliveries of one event one sends. A claim `sending` whose
 *   lease has passed (its holder crashed) may be taken over; `expiresAt` (TTL) forgets it after
 *   the retention, longer than any redelivery.
 * - `NOTIFYCOOLDOWN#<tenantId>#<kind>` `{until, heldBy, expiresAt}`: the first event of a
 *   tenant and kind takes it until `until`; others within it are suppressed. The event that holds
 *   it may take it again (its own redelivery), and releases it when its send fails.
 * - the tenant record's `notificationOptOuts`: the non-critical kinds its contact does not want.
 */
export class NotificationStore {
  constructor(private readonly props: NotificationStoreProps) {}

  /** Claims an event for `leaseMs`; the record is kept `retentionMs` (TTL). */
  public async claim(eventId: string, now: number, leaseMs: number, retentionMs: number): Promise<Claim> {
    const token = randomUUID();
    try {
      await this.props.client.send(
        new PutItemCommand({
          TableName: this.props.credentialsTable,
          Item: { pk: s(notifiedEventKey(eventId)), state: s('sending'), token: s(token), leaseUntil: n(now + leaseMs), [CREDENTIALS_TTL_ATTRIBUTE]: n(seconds(now + retentionMs)) },
          ConditionExpression: 'attribute_not_exists(pk) OR (#state = :sending AND leaseUntil < :now)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':sending': s('sending'), ':now': n(now) },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'claimed', token };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const old: Partial<Record<string, AttributeValue>> | undefined = error.Item;
      return old?.state?.S === 'sending' ? { kind: 'held' } : { kind: 'done' };
    }
  }

  /** Records how a claimed event ended (`sent`, with the message id, or `suppressed`); false when the claim is no longer ours. */
  public async finish(eventId: string, token: string, state: 'sent' | 'suppressed', messageId?: string): Promise<boolean> {
    return this.conditional(
      new UpdateItemCommand({
        TableName: this.props.credentialsTable,
        Key: { pk: s(notifiedEventKey(eventId)) },
        UpdateExpression: messageId === undefined ? 'SET #state = :state' : 'SET #state = :state, messageId = :messageId',
        ConditionExpression: '#token = :token',
        ExpressionAttributeNames: { '#state': 'state', '#token': 'token' },
        ExpressionAttributeValues: { ':state': s(state), ':token': s(token), ...(messageId === undefined ? {} : { ':messageId': s(messageId) }) },
      }),
    );
  }

  /** Gives a claim up (its send failed), so that a redelivery claims it at once. */
  public async release(eventId: string, token: string): Promise<boolean> {
    return this.conditional(
      new DeleteItemCommand({
        TableName: this.props.credentialsTable,
        Key: { pk: s(notifiedEventKey(eventId)) },
        ConditionExpression: '#token = :token',
        ExpressionAttributeNames: { '#token': 'token' },
        ExpressionAttributeValues: { ':token': s(token) },
      }),
    );
  }

  /** Takes the tenant's cooldown for `kind` until `now + cooldownMs` for `eventId`; false while another event holds it. */
  public async takeCooldown(tenantId: string, kind: AccountEventKind, eventId: string, now: number, cooldownMs: number): Promise<boolean> {
    const until = now + cooldownMs;
    return this.conditional(
      new PutItemCommand({
        TableName: this.props.credentialsTable,
        Item: { pk: s(cooldownKey(tenantId, kind)), until: n(until), heldBy: s(eventId), [CREDENTIALS_TTL_ATTRIBUTE]: n(seconds(until)) },
        ConditionExpression: 'attribute_not_exists(pk) OR #until <= :now OR heldBy = :eventId',
        ExpressionAttributeNames: { '#until': 'until' },
        ExpressionAttributeValues: { ':now': n(now), ':eventId': s(eventId) },
      }),
    );
  }

  /** Releases the cooldown `eventId` holds (its send failed), so that the next event of the kind is mailed. */
  public async releaseCooldown(tenantId: string, kind: AccountEventKind, eventId: string): Promise<boolean> {
    return this.conditional(
      new DeleteItemCommand({
        TableName: this.props.credentialsTable,
        Key: { pk: s(cooldownKey(tenantId, kind)) },
        ConditionExpression: 'heldBy = :eventId',
        ExpressionAttributeValues: { ':eventId': s(eventId) },
      }),
    );
  }

  /** The kinds a tenant opted out of; none for a tenant without the attribute (or without a record). */
  public async optOuts(tenantId: string): Promise<AccountEventKind[]> {
    const { Item } = await this.props.client.send(
      new GetItemCommand({
        TableName: this.props.credentialsTable,
        Key: { pk: s(tenantItemKey(tenantId)) },
        ProjectionExpression: '#optOuts',
        ExpressionAttributeNames: { '#optOuts': NOTIFICATION_OPT_OUTS_ATTRIBUTE },
      }),
    );
    return (Item?.[NOTIFICATION_OPT_OUTS_ATTRIBUTE]?.L ?? []).flatMap((entry) => (isAccountEventKind(entry.S) ? [entry.S] : []));
  }

  /** Replaces a tenant's opt-outs; refuses critical kinds (never opted out of) and unknown ones. */
  public async setOptOuts(tenantId: string, kinds: readonly string[]): Promise<AccountEventKind[]> {
    const chosen = [...new Set(kinds)].sort().map((kind) => optionalKind(kind));
    const written = await this.conditional(
      new UpdateItemCommand({
        TableName: this.props.credentialsTable,
        Key: { pk: s(tenantItemKey(tenantId)) },
        UpdateExpression: 'SET #optOuts = :kinds',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#optOuts': NOTIFICATION_OPT_OUTS_ATTRIBUTE },
        ExpressionAttributeValues: { ':kinds': { L: chosen.map(s) } },
      }),
    );
    if (!written) throw new NotificationStoreError('tenant-not-found', `Tenant "${tenantId}" does not exist.`);
    return chosen;
  }

  /** Sends a conditional write: true when written, false when its condition failed. */
  private async conditional(command: PutItemCommand | UpdateItemCommand | DeleteItemCommand): Promise<boolean> {
    try {
      await this.props.client.send(command as PutItemCommand);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

function optionalKind(kind: string): AccountEventKind {
  if (!isAccountEventKind(kind)) throw new NotificationStoreError('unknown-kind', `Unknown notification kind "${kind}"; the kinds are ${Object.keys(ACCOUNT_EVENT_KINDS).join(', ')}.`);
  if (!OPTIONAL_ACCOUNT_EVENT_KINDS.includes(kind)) {
    throw new NotificationStoreError('critical-kind', `"${kind}" cannot be opted out of; a tenant may opt out of ${OPTIONAL_ACCOUNT_EVENT_KINDS.join(', ')}.`);
  }
  return kind;
}
