import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { METERED_API_SERVICE } from '../../contracts/metered-api';
import { UsagePublisher } from '../../sdk/usage-publisher';
import { requireUsageBus } from '../runtime/runtime-config';
import { ForwardResult, decodeSubscriptionData, forwardUsageLines } from '../usage-log/usage-log-forwarder';

const logger = new Logger({ serviceName: `${METERED_API_SERVICE}-usage-log` });
const publisher = new UsagePublisher({ ...requireUsageBus(), defaults: { service: METERED_API_SERVICE } });

/** Events the publisher gave up on since it was created: rejected, out of retries, or dropped. */
const lost = (): number => publisher.stats().failed + publisher.stats().dropped;

/**
 * CloudWatch Logs subscription on the metered API functions' log groups: the usage lines they
 * write (lambdas/usage-log/usage-log-writer.ts) go onto the bus in batches of up to 10, each
 * failed entry retried with the same `eventId`. CloudWatch Logs invokes this function
 * asynchronously: when an event cannot be delivered the invocation fails, Lambda retries it, and
 * then puts the delivery on the function's on-failure queue, from which it can be replayed.
 * Delivered events sent again are duplicates the lake drops by `eventId`.
 */
export const handler = async (event: CloudWatchLogsEvent): Promise<ForwardResult> => {
  const { logGroup, logEvents, messageType } = decodeSubscriptionData(event.awslogs.data);
  // CloudWatch Logs checks a new subscription with a control message: no log events of the group.
  if (messageType === 'CONTROL_MESSAGE') return { forwarded: 0, skipped: 0 };
  const lostBefore = lost();
  const result = forwardUsageLines(logEvents, publisher, (id, reason) => {
    logger.warn('log event is no usage event', { id, logGroup, reason });
  });
  await publisher.flush();
  const undelivered = lost() - lostBefore;
  if (undelivered > 0) throw new Error(`${undelivered} of ${result.forwarded} usage events from ${logGroup} were not delivered; the delivery is retried.`);
  return result;
};
