import { Logger } from '@aws-lambda-powertools/logger';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ACCOUNT_EVENT_DETAIL_TYPE, ACCOUNT_EVENT_SOURCE } from '../../contracts/account-events';
import { METERED_API_SERVICE } from '../../contracts/metered-api';
import { InvalidAccountEventError, Notifier, NotifyResult } from '../notifications/notifier';
import { notifierFunctionDependencies } from '../runtime/notifier-dependencies';

const logger = new Logger({ serviceName: `${METERED_API_SERVICE}-notifier` });

/** Built on the first batch (not at module load), so that a misconfigured environment fails each batch, visibly, rather than the import. */
let notifier: Notifier | undefined;

/**
 * The account events' queue (lib/account-notifications.ts): the bus rule puts each account event
 * on it as the whole EventBridge event, JSON in the message body
 * (the SQS target's default message: https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_events_targets.SqsQueue.html). Each record is
 * notified on its own; the answer names the records whose notification threw, so that only those
 * return to the queue (partial batch response, `ReportBatchItemFailures`:
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting).
 * A record that is no account event fails too: after the queue's maxReceiveCount it lands in the
 * dead-letter queue, whose alarm tells the operators.
 */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  notifier ??= notifierFunctionDependencies();
  return notifyRecords(event.Records, notifier, logger);
};

/** What the batch adapter logs with: Powertools' logger, or a test's. */
export interface NotifierLog {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

/**
 * Notifies the records side by side, so that a batch takes about as long as its slowest send,
 * well within the function's timeout (a run cut short by the timeout would leave claims held until
 * their lease passes); records of one event id go one after the other, so that a redelivery in the
 * same batch finds the first one done rather than in progress. Answers the ids of the records to
 * retry, in the batch's order.
 */
export async function notifyRecords(records: readonly SQSRecord[], target: Pick<Notifier, 'notify'>, log: NotifierLog): Promise<SQSBatchResponse> {
  const failed = new Set<SQSRecord>();
  const chains = new Map<string, Promise<void>>();
  const notifyOne = async (record: SQSRecord): Promise<void> => {
    try {
      const result = await target.notify(accountEventDetailOf(record));
      logOutcome(log, record, result);
    } catch (error) {
      const failure = error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) };
      const receiveCount = Number(record.attributes.ApproximateReceiveCount);
      const fields = { messageId: record.messageId, receiveCount, error: failure };
      if (error instanceof InvalidAccountEventError) log.error('not an account event; it dead-letters after the queue\'s receive limit', fields);
      else log.warn('notification failed; the message returns to the queue', fields);
      failed.add(record);
    }
  };
  for (const record of records) {
    const key = eventIdOf(record) ?? record.messageId;
    chains.set(key, (chains.get(key) ?? Promise.resolve()).then(() => notifyOne(record)));
  }
  await Promise.all(chains.values());
  return { batchItemFailures: records.filter((record) => failed.has(record)).map((record) => ({ itemIdentifier: record.messageId })) };
}

/** The event id a record carries, if it is readable at all (the notifier checks the rest). */
function eventIdOf(record: SQSRecord): string | undefined {
  try {
    const detail = accountEventDetailOf(record) as { eventId?: unknown } | null | undefined;
    return typeof detail?.eventId === 'string' ? detail.eventId : undefined;
  } catch {
    return undefined;
  }
}

function logOutcome(log: NotifierLog, record: SQSRecord, result: NotifyResult): void {
  if (result.outcome === 'sent' && !result.recorded) {
    log.warn('mail sent, but its record was not written: a redelivery would send it again', { messageId: record.messageId, sesMessageId: result.messageId });
    return;
  }
  log.info('account event handled', { messageId: record.messageId, outcome: result.outcome });
}

/**
 * The `detail` of the EventBridge event a record carries. A body that is not JSON, or an event of
 * another source or detail-type than the rule's (accountEventPattern), is no account event.
 */
export function accountEventDetailOf(record: Pick<SQSRecord, 'body'>): unknown {
  let envelope: unknown;
  try {
    envelope = JSON.parse(record.body);
  } catch {
    throw new InvalidAccountEventError('Not an account event: the message body is not JSON.');
  }
  if (typeof envelope !== 'object' || envelope === null) throw new InvalidAccountEventError('Not an account event: the message body is no EventBridge event.');
  const { source, 'detail-type': detailType, detail } = envelope as Record<string, unknown>;
  if (source !== ACCOUNT_EVENT_SOURCE || detailType !== ACCOUNT_EVENT_DETAIL_TYPE) {
    throw new InvalidAccountEventError(`Not an account event: source ${JSON.stringify(source)} and detail-type ${JSON.stringify(detailType)}.`);
  }
  return detail;
}
