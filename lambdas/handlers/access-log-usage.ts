import { gunzipSync } from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudWatchLogsDecodedData, CloudWatchLogsEvent } from 'aws-lambda';
import { AccessLogRecord, METERED_API_SERVICE } from '../../contracts/metered-api';
import { UsagePublisher } from '../../sdk/usage-publisher';
import { RefusedAnonymousAggregator, authFailureOf, usageOfGatewayAnswer } from '../access-log/gateway-answers';
import { SignalTally, accountEventSignalsFromEnvironment, raiseSignals } from '../account-events/signal-detector';
import { requireUsageBus } from '../runtime/runtime-config';

const logger = new Logger({ serviceName: `${METERED_API_SERVICE}-access-log` });
const publisher = new UsagePublisher(requireUsageBus());
const accountEvents = accountEventSignalsFromEnvironment();

/**
 * CloudWatch Logs subscription on the API's access log: usage events for requests API Gateway
 * answered itself. Refused requests no tenant made are counted per route, status and minute and
 * recorded as one event per aggregate, so a flood of them costs a bounded number of PutEvents.
 *
 * The gateway's 401s and 403s (failed authentications) are counted per source (an IPv4 address,
 * an IPv6 /64) and window into the limiter table's signal counters; a window going over the
 * threshold raises one `auth-failures` event for the operators. When it cannot be put on the bus
 * the invocation fails and Lambda retries it: the counts are then added again (over, never under)
 * and the event, not marked raised, is raised again with the same id.
 */
export const handler = async (event: CloudWatchLogsEvent): Promise<{ recorded: number; aggregated: number; raised: number }> => {
  const data = JSON.parse(gunzipSync(Buffer.from(event.awslogs.data, 'base64')).toString('utf8')) as CloudWatchLogsDecodedData;
  const aggregator = new RefusedAnonymousAggregator();
  const tally = new SignalTally(accountEvents.signals);
  let recorded = 0;
  let aggregated = 0;
  for (const logEvent of data.logEvents) {
    let record: AccessLogRecord;
    try {
      record = JSON.parse(logEvent.message) as AccessLogRecord;
    } catch {
      logger.warn('access log line is not JSON', { id: logEvent.id });
      continue;
    }
    const failure = authFailureOf(record);
    if (failure) tally.count('auth-failures', failure.sourceKey, failure.epochMs);
    const usage = usageOfGatewayAnswer(record);
    if (!usage) continue;
    if (aggregator.absorb(usage)) {
      aggregated++;
      continue;
    }
    try {
      publisher.record(usage);
      recorded++;
    } catch (error) {
      logger.warn('access log record not tracked', { error: error as Error, requestId: record.requestId });
    }
  }
  for (const aggregate of aggregator.drain()) {
    try {
      publisher.record(aggregate);
      recorded++;
    } catch (error) {
      logger.warn('refused requests aggregate not tracked', { error: error as Error, operation: aggregate.operation, statusCode: aggregate.statusCode });
    }
  }
  const [flushed, raised] = await Promise.allSettled([publisher.flush(), raiseSignals(tally, accountEvents)]);
  if (flushed.status === 'rejected') throw flushed.reason;
  if (raised.status === 'rejected') throw raised.reason;
  return { recorded, aggregated, raised: raised.value.length };
};
