/**
 * The producer SDK: services put usage events on the bus in one line, without slowing requests.
 * Also published as the package subpath `api-usage-tracker/sdk`.
 */
export { UsagePublisher } from './usage-publisher';
export type { UsagePublisherOptions, UsagePublisherStats } from './usage-publisher';
export { buildUsageEventDetail } from './usage-event-builder';
export type { UsageEventFields, UsageEventDefaults } from './usage-event-builder';
export { UsageEventValidationError, UsagePublishError } from './errors';
export type { UsagePublishFailureReason } from './errors';
export { usageMiddleware } from './express-middleware';
export type { UsageMiddlewareOptions, ExpressLikeRequest } from './express-middleware';
export { usageFastifyPlugin } from './fastify-plugin';
export type { UsageFastifyOptions } from './fastify-plugin';
export { withUsageTracking, callerFromAuthorizer } from './lambda-wrapper';
export type { LambdaUsageTrackingOptions, ApiGatewayProxyEventLike } from './lambda-wrapper';
export { trackUsage, setDefaultUsagePublisher } from './track-usage-decorator';
export type { TrackUsageOptions } from './track-usage-decorator';
export { setUsageFeature, currentUsageContext } from './usage-context';
export type { UsageCaller, UsageRequestContext } from './usage-context';
export { ANONYMOUS_TENANT } from './request-usage';
export { createEventBridgeClient } from './eventbridge-client';
export type { UsageEventDetail } from '../contracts/usage-event';
