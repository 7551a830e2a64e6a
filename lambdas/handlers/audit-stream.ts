import { Logger } from '@aws-lambda-powertools/logger';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { LAMBDA_ENV } from '../../contracts/lambda-environment';
import { METERED_API_SERVICE } from '../../contracts/metered-api';
import { createEventBridgeClient } from '../../sdk/eventbridge-client';
import { SdkPutEventsTransport } from '../../sdk/put-events-transport';
import { AccountEventPublisher } from '../account-events/account-event-publisher';
import { publishAuditStream } from '../account-events/audit-stream-publisher';

const logger = new Logger({ serviceName: `${METERED_API_SERVICE}-audit-stream` });

/** The usage bus, from the environment the stack writes; without it the function cannot do anything, so it fails at cold start. */
function usageBusName(env: NodeJS.ProcessEnv = process.env): string {
  const name = env[LAMBDA_ENV.usageEventBusName];
  if (!name) throw new Error(`${LAMBDA_ENV.usageEventBusName} is not set: the audit stream's account events go to the usage bus.`);
  return name;
}

const publisher = new AccountEventPublisher({ transport: new SdkPutEventsTransport(createEventBridgeClient()), eventBusName: usageBusName() });

/**
 * The audit table's DynamoDB stream (NEW_IMAGE; the event source mapping filters INSERTs, bisects
 * failed batches, and reports batch item failures): each new audit entry an account event on the
 * usage bus (lambdas/account-events/audit-stream-publisher.ts), with the entry's own event id, so
 * that retried batches add only duplicates the notifier and the lake keep once. The answer names
 * the first record whose event was not put on the bus, and Lambda retries from it
 * (https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-batchfailurereporting.html); records
 * that cannot be read are logged and skipped, since the table keeps every entry.
 */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const response = await publishAuditStream(event.Records, {
    sink: publisher,
    onSkipped: (skipped) => {
      if (skipped.reason === 'malformed' || skipped.reason === 'not-an-audit-entry') logger.error('audit stream record skipped', { ...skipped });
    },
  });
  if (response.batchItemFailures.length > 0) logger.warn('account events not put on the bus; the stream retries from the first', { failures: response.batchItemFailures });
  return response;
};
