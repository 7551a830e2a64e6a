import { AccessLogRecord, METERED_API_SERVICE } from '../../contracts/metered-api';
import { RESERVED_TENANT_IDS } from '../../contracts/tenants';
import { UNMATCHED_ROUTE } from '../../sdk/route-template';
import { UsageEventFields } from '../../sdk/usage-event-builder';

const present = (value: unknown): value is string | number => value !== undefined && value !== null && value !== '' && value !== '-';

/**
 * The usage event of a request API Gateway answered itself — 401 without a credential, 403 from
 * the authorizer, 404 without a route, 429 from stage throttling — read from its access log
 * record. Requests that reached an integration are recorded by the route itself, so they give
 * none. The event id derives from the request id: a record processed twice is one event.
 *
 * The tenant is the authorizer's `tenantId` when it authorized the request (`operator` for admins,
 * see `toAuthorizerContext`); requests it refused, requests without a credential and routes the
 * API does not have carry none, and are recorded under the reserved `anonymous`, never billed. An
 * authorizer's context reaches the access log as `$context.authorizer.<key>`
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html#http-api-lambda-authorizer.payload-format-response).
 */
export function usageOfGatewayAnswer(record: AccessLogRecord): UsageEventFields | undefined {
  if (present(record.integrationStatus)) return undefined;
  const statusCode = Number(record.status);
  const requestId = present(record.requestId) ? String(record.requestId) : undefined;
  if (!Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599 || !requestId) return undefined;
  const method = present(record.httpMethod) ? String(record.httpMethod).toUpperCase() : 'GET';
  const routeKey = present(record.routeKey) && record.routeKey !== '$default' ? String(record.routeKey) : `${method} ${UNMATCHED_ROUTE}`;
  const epoch = Number(record.requestTimeEpoch);
  const latency = Number(record.responseLatency);
  const length = Number(record.responseLength);
  return {
    eventId: `apigw-${requestId.replace(/[^A-Za-z0-9._:-]/g, '-')}`.slice(0, 128),
    service: METERED_API_SERVICE,
    occurredAt: new Date(Number.isFinite(epoch) && epoch > 0 ? epoch : Date.now()),
    tenantId: present(record.tenantId) ? String(record.tenantId) : RESERVED_TENANT_IDS.anonymous,
    ...(present(record.apiKeyId) ? { apiKeyId: String(record.apiKeyId) } : {}),
    operation: routeKey,
    method,
    statusCode,
    latencyMs: Number.isFinite(latency) && latency >= 0 ? latency : 0,
    ...(Number.isInteger(length) && length >= 0 ? { responseBytes: length } : {}),
  };
}
