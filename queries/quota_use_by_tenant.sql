-- name: quota_use_by_tenant
-- description: Requests counted against a tier's quota, per tenant, between two event dates (UTC, inclusive): the tenant's billable calls (billable_usage_events: deduplicated, not refused with 401, 403 or 429, answered below 500, never the reserved tenant ids). Run it from the first day of a quota period (the day, the ISO week's Monday or the month's 1st) to today for the period's use so far. The limiter also counts the calls it admitted that then failed (5xx), so the quota's own count may be higher by the tenant's server errors. tier is the tenant's tier on its latest call; last_call_at is that call's time.
-- param: start_date (date): First day of event time (UTC), inclusive: the quota period's first day
-- param: end_date (date): Last day of event time (UTC), inclusive
SELECT
  tenant_id,
  max_by(tier, occurred_at) AS tier,
  sum(request_count) AS admitted,
  max(occurred_at) AS last_call_at
FROM billable_usage_events
WHERE concat(year, '-', month, '-', day) BETWEEN ? AND ?
GROUP BY tenant_id
ORDER BY admitted DESC, tenant_id
