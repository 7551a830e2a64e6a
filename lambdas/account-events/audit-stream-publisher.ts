import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord } from 'aws-lambda';
import { AccountEventDetail, accountEventDetailSchema } from '../../contracts/account-events';
import { PUT_EVENTS_LIMITS } from '../../contracts/put-events-limits';
import { AccountEventPublishError, AccountEventSink } from './account-event-publisher';
import { accountEventOfAudit, auditEntryOfItem } from './audit-account-events';

/** A stream record left out, and why: told to the caller's log. */
export interface SkippedRecord {
  readonly sequenceNumber: string | undefined;
  readonly reason: 'not-an-insert' | 'not-an-audit-entry' | 'no-event' | 'malformed';
  readonly detail?: string;
}

export interface AuditStreamOptions {
  readonly sink: AccountEventSink;
  /** Each record left out (the default ignores them). */
  readonly onSkipped?: (skipped: SkippedRecord) => void;
}

/** An event and the stream record it came from. */
interface StreamEvent {
  readonly sequenceNumber: string;
  readonly event: AccountEventDetail;
}

/**
 * The events of a batch of the audit table's stream, in stream order. Only INSERTs carry new
 * entries (the table is append-only: its entries are never updated or deleted). A record whose
 * NewImage cannot be read or whose event the contract refuses is skipped and reported rather than
 * failed: the stream would retry it until it expired, blocking every entry after it in its shard,
 * while the audit entry itself stays in the table, the source of truth, from which it can be replayed.
 */
export function auditStreamEvents(records: readonly DynamoDBRecord[], onSkipped: (skipped: SkippedRecord) => void = () => undefined): StreamEvent[] {
  const events: StreamEvent[] = [];
  for (const record of records) {
    const sequenceNumber = record.dynamodb?.SequenceNumber;
    const image = record.dynamodb?.NewImage;
    if (record.eventName !== 'INSERT' || image === undefined) { onSkipped({ sequenceNumber, reason: 'not-an-insert' }); continue; }
    let item: Record<string, unknown>;
    try {
      item = unmarshall(image as Record<string, AttributeValue>);
    } catch (error) {
      onSkipped({ sequenceNumber, reason: 'malformed', detail: error instanceof Error ? error.message : String(error) }); continue;
    }
    const entry = auditEntryOfItem(item);
    if (!entry) { onSkipped({ sequenceNumber, reason: 'not-an-audit-entry' }); continue; }
    const event = accountEventOfAudit(entry);
    if (!event) { onSkipped({ sequenceNumber, reason: 'no-event', detail: entry.action }); continue; }
    const checked = accountEventDetailSchema.safeParse(event);
    if (!checked.success) { onSkipped({ sequenceNumber, reason: 'malformed', detail: `${entry.id}: ${checked.error.message}` }); continue; }
    // Lambda cannot checkpoint a record without one; a record from DynamoDB Streams always has one.
    if (sequenceNumber === undefined || sequenceNumber === '') throw new Error(`Stream record ${record.eventID ?? '?'} has no SequenceNumber.`);
    events.push({ sequenceNumber, event });
  }
  return events;
}

/**
 * Publishes the account events of a batch of the audit table's stream, in stream order, 10 per
 * PutEvents, and answers with a partial batch response: nothing failed (empty list), or the
 * sequence number of the first record whose event was not put on the bus. Lambda then checkpoints
 * before that record and retries the batch from it (with `ReportBatchItemFailures` on the event
 * source mapping; if several are returned it uses the lowest), see
 * https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html
 * Publishing stops at the first failed chunk, so records after it are not sent twice needlessly;
 * those sent before are sent again only if Lambda retries them, with the same event ids.
 */
export async function publishAuditStream(records: readonly DynamoDBRecord[], options: AuditStreamOptions): Promise<DynamoDBBatchResponse> {
  const events = auditStreamEvents(records, options.onSkipped);
  for (let start = 0; start < events.length; start += PUT_EVENTS_LIMITS.maxEntries) {
    const chunk = events.slice(start, start + PUT_EVENTS_LIMITS.maxEntries);
    try {
      await options.sink.publish(chunk.map(({ event }) => event));
    } catch (error) {
      return { batchItemFailures: [{ itemIdentifier: firstFailed(chunk, error).sequenceNumber }] };
    }
  }
  return { batchItemFailures: [] };
}

/** The first event of a chunk that did not reach the bus: the publisher names them; any other error fails the whole chunk. */
function firstFailed(chunk: readonly StreamEvent[], error: unknown): StreamEvent {
  const undelivered = error instanceof AccountEventPublishError ? new Set(error.undelivered.map(({ eventId }) => eventId)) : undefined;
  return chunk.find(({ event }) => undelivered?.has(event.eventId) ?? true) ?? chunk[0];
}
