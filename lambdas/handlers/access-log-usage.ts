import { gunzipSync } from 'node:zlib';
import { Logger } from '@aws-lambda-powertools/logger';
import type { CloudWatchLogsDecodedData, CloudWatchLogsEvent } from 'aws-lambda';
import { AccessLogRecord, METERED_API_SERVICE } from '../../contracts/metered-api';
import { UsagePublisher } from '../../sdk/usage-publisher';
import { RefusedAnonymousAggregator, usageOfGatewayAnswer } from '../access-log/gateway-answers';
import { requireUsageBus } from '../runtime/runtime-config';

const logger = new Logger({ serviceName: `${METERED_API_SERVICE}-access-log` });
const publisher = new UsagePublisher(requireUsageBus());

/**
 * CloudWatch Logs subscription on the API's access log: usage events for requests API Gateway
 * answered itself. Refused requests no tenant made are counted per route, status and minute and
 * recorded as one event per aggregate, so a flood of them costs a bounded number of PutEvents.
 */
export const handler = async (event: CloudWatchLogsEvent): Promise<{ recorded: number; aggregated: number }> => {
  const data = JSON.parse(gunzipSync(Buffer.from(event.awslogs.data, 'base64')).toString('utf8')) as CloudWatchLogsDecodedData;
  const aggregator = new RefusedAnonymousAggregator();
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
  await publisher.flush();
  return { recorded, aggregated };
};
