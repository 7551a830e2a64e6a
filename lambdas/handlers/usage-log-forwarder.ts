import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudWatchLogsEvent } from 'aws-lambda';
import { METERED_API_SERVICE } from '../../contracts/metered-api';
import { UsagePublisher } from '../../sdk/usage-publisher';
import { SignalTally, accountEventSignalsFromEnvironment } from '../account-events/signal-detector';
import { requireUsageBus } from '../runtime/runtime-config';
import { ForwardResult, decodeSubscriptionData, publishAccountEvents, readLogLines } from '../usage-log/usage-log-forwarder';

const logger = new Logger({ serviceName: `${METERED_API_SERVICE}-usage-log` });
const publisher = new UsagePublisher({ ...requireUsageBus(), defaults: { service: METERED_API_SERVICE } });
const accountEvents = accountEventSignalsFromEnvironment();

/** Events the publisher gave up on since it was created: rejected, out of retries, or dropped. */
const lost = (): number => publisher.stats().failed + publisher.stats().dropped;

/**
 * CloudWatch Logs subscription on the metered API functions' log groups: the usage lines they
 * write (lambdas/usage-log/usage-log-writer.ts) go onto the bus in batches of up to 10, each
 * failed entry retried with the same `eventId`. CloudWatch Logs invokes this function
 * asynchronously: when an event cannot be delivered the invocation fails, Lambda retries it, and
 * then puts the delivery on the function's on-failure queue, from which it can be replayed.
 * Delivered events sent again are duplicates the lake drops by `eventId`.
 *
 * The same subscription brings account-event lines (quota thresholds, written by the routes): each
 * is checked against the account-event contract and put on the bus with its own `eventId`. The
 * delivery's 429s are counted per tenant and window into the limiter table's signal counters, and a
 * window going over the rate-limit-spike threshold raises its event once. A retried delivery adds
 * its counts again (they are then over, never under) and raises an event that was not marked
 * raised again, with the same id.
 */
export const handler = async (event: CloudWatchLogsEvent): Promise<ForwardResult> => {
  const { logGroup, logEvents, messageType } = decodeSubscriptionData(event.awslogs.data);
  // CloudWatch Logs checks a new subscription with a control message: no log events of the group.
  if (messageType === 'CONTROL_MESSAGE') return { forwarded: 0, skipped: 0 };
  const lostBefore = lost();
  const tally = new SignalTally(accountEvents.signals);
  const read = readLogLines(
    logEvents,
    publisher,
    (id, reason) => {
      logger.warn('log event is no usage or account event', { id, logGroup, reason });
    },
    tally,
  );
  // The usage events are sent whatever happens to the account events, and the other way round; either failing fails the delivery.
  const [usage, account] = await Promise.allSettled([publisher.flush(), publishAccountEvents(read, tally, accountEvents)]);
  const undelivered = lost() - lostBefore;
  if (undelivered > 0) throw new Error(`${undelivered} of ${read.forwarded} usage events from ${logGroup} were not delivered; the delivery is retried.`);
  if (usage.status === 'rejected') throw usage.reason;
  if (account.status === 'rejected') throw account.reason;
  return account.value;
};
