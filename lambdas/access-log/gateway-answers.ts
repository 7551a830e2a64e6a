import { createHash } from 'node:crypto';
import { AccessLogRecord, METERED_API_SERVICE } from '../../contracts/metered-api';
import { RESERVED_TENANT_IDS } from '../../contracts/tenants';
import { REFUSED_ANONYMOUS_AGGREGATE } from '../../contracts/usage-aggregates';
import { UNMATCHED_ROUTE } from '../../sdk/route-template';
import { UsageEventFields } from '../../sdk/usage-event-builder';
import { sourceKeyOf } from '../limiter/source-ip-guard';

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

/** The gateway's own answers that count as failed authentications: 401 (no credential) and 403 (the authorizer refused it). */
export const AUTH_FAILURE_STATUSES: readonly number[] = [401, 403];

/**
 * The source of a failed authentication API Gateway answered itself (401 or 403 without an
 * integration), keyed as the source IP guard keys callers (an IPv4 address, an IPv6 /64), and when
 * it happened; undefined for any other record, or one without a usable `sourceIp`
 * (`$context.identity.sourceIp`, https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html).
 */
export function authFailureOf(record: AccessLogRecord): { readonly sourceKey: string; readonly epochMs: number } | undefined {
  if (present(record.integrationStatus) || !AUTH_FAILURE_STATUSES.includes(Number(record.status)) || !present(record.sourceIp)) return undefined;
  let sourceKey: string;
  try {
    sourceKey = sourceKeyOf(String(record.sourceIp));
  } catch {
    return undefined;
  }
  const epoch = Number(record.requestTimeEpoch);
  return { sourceKey, epochMs: Number.isFinite(epoch) && epoch > 0 ? epoch : Date.now() };
}

interface RefusedGroup {
  readonly operation: string;
  readonly method: string;
  readonly statusCode: number;
  readonly windowStart: number;
  readonly ids: ReturnType<typeof createHash>;
  requests: number;
  latencyMsTotal: number;
  responseBytes: number;
}

/**
 * Counts the requests API Gateway refused for no tenant (`anonymous`, status 400 and above: no or
 * refused credential, unmatched route, stage throttling, authorizer throttled) per route, status and
 * minute, so that a flood costs one usage event per aggregate instead of one PutEvents entry per
 * request. Each aggregate is a contract-valid usage event of the reserved tenant `anonymous` with
 * `billableUnits` 0 and the request count in `attributes.requests`; its id hashes the request ids
 * it counts, so a batch processed twice gives the same events (the lake deduplicates them).
 * Answers a tenant's request got (its own 429s, an admin's 404) stay one event each.
 *
 * @example
 * const aggregator = new RefusedAnonymousAggregator();
 * for (const usage of usages) if (!aggregator.absorb(usage)) publisher.record(usage);
 * for (const aggregate of aggregator.drain()) publisher.record(aggregate);
 */
export class RefusedAnonymousAggregator {
  private readonly groups = new Map<string, RefusedGroup>();

  /** Counts `usage` into its aggregate when it is a refused anonymous request; false otherwise. */
  public absorb(usage: UsageEventFields): boolean {
    if (usage.tenantId !== RESERVED_TENANT_IDS.anonymous || usage.statusCode < 400) return false;
    const occurredAt = usage.occurredAt instanceof Date ? usage.occurredAt.getTime() : Date.parse(String(usage.occurredAt));
    const windowMs = REFUSED_ANONYMOUS_AGGREGATE.windowSeconds * 1000;
    const windowStart = Math.floor((Number.isFinite(occurredAt) ? occurredAt : Date.now()) / windowMs) * windowMs;
    const key = JSON.stringify([usage.operation, usage.method, usage.statusCode, windowStart]);
    let group = this.groups.get(key);
    if (!group) {
      group = { operation: usage.operation, method: usage.method, statusCode: usage.statusCode, windowStart, ids: createHash('sha256'), requests: 0, latencyMsTotal: 0, responseBytes: 0 };
      this.groups.set(key, group);
    }
    group.requests++;
    group.latencyMsTotal += usage.latencyMs;
    group.responseBytes += usage.responseBytes ?? 0;
    group.ids.update(`${usage.eventId ?? ''}\n`);
    return true;
  }

  /** One usage event per aggregate counted since the last drain; the aggregator is empty afterwards. */
  public drain(): UsageEventFields[] {
    const events = [...this.groups.values()].map((group): UsageEventFields => ({
      eventId: `apigw-agg-${group.ids.digest('hex').slice(0, 48)}`,
      service: METERED_API_SERVICE,
      occurredAt: new Date(group.windowStart),
      tenantId: RESERVED_TENANT_IDS.anonymous,
      operation: group.operation,
      method: group.method,
      statusCode: group.statusCode,
      latencyMs: Math.round(group.latencyMsTotal / group.requests),
      responseBytes: group.responseBytes,
      billableUnits: 0,
      attributes: {
        [REFUSED_ANONYMOUS_AGGREGATE.kindAttribute]: REFUSED_ANONYMOUS_AGGREGATE.kind,
        [REFUSED_ANONYMOUS_AGGREGATE.countAttribute]: String(group.requests),
        [REFUSED_ANONYMOUS_AGGREGATE.windowAttribute]: String(REFUSED_ANONYMOUS_AGGREGATE.windowSeconds),
      },
    }));
    this.groups.clear();
    return events;
  }
}
