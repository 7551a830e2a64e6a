-- name: rate_limited_by_tenant
-- description: Calls answered 429 (rate limited) per tenant between two event dates (UTC, inclusive), over deduplicated events: who hits their tier's limit. calls counts every recorded call of the tenant, billable or not (so calls - rate_limited is at least what billing_by_tenant bills over the same days); only tenants with at least one 429 are listed.
-- param: start_date (date): First day of event time (UTC), inclusive
-- param: end_date (date): Last day of event time (UTC), inclusive
SELECT
  tenant_id,
  max(tier) AS tier,
  sum(request_count) AS calls,
  sum(CASE WHEN status_code = 429 THEN request_count ELSE 0 END) AS rate_limited,
  round(CAST(sum(CASE WHEN status_code = 429 THEN request_count ELSE 0 END) AS double) / sum(request_count), 6) AS rate_limited_share
FROM usage_events_deduped
WHERE concat(year, '-', month, '-', day) BETWEEN ? AND ?
GROUP BY tenant_id
HAVING sum(CASE WHEN status_code = 429 THEN request_count ELSE 0 END) > 0
ORDER BY rate_limited DESC, tenant_id
