-- name: account_events_by_tenant
-- description: Account events (tenant and key changes, quota thresholds, rate-limit spikes, failed authentications) per tenant and kind that reached the lake between two days (UTC, inclusive; the day of arrival, seconds after the occurrence unless a delivery was retried), one per event id: delivery is at least once, so an event put, retried or redelivered twice counts once. first_occurred_at and last_occurred_at are the earliest and latest occurrences (ISO 8601, UTC).
-- param: start_date (date): First day the lake received the events (UTC), inclusive
-- param: end_date (date): Last day the lake received the events (UTC), inclusive
WITH events AS (
  SELECT
    detail.eventId AS event_id,
    min(detail.tenantId) AS tenant_id,
    min(detail.kind) AS kind,
    min(detail.occurredAt) AS occurred_at
  FROM account_events
  WHERE concat(year, '-', month, '-', day) BETWEEN ? AND ?
  GROUP BY detail.eventId
)
SELECT
  tenant_id,
  kind,
  count(*) AS events,
  min(occurred_at) AS first_occurred_at,
  max(occurred_at) AS last_occurred_at
FROM events
GROUP BY tenant_id, kind
ORDER BY tenant_id, kind
