-- name: rate_limited_by_tenant
-- description: Calls answered 429 (rate limited) per tenant between two event dates (UTC, inclusive), over deduplicated events: who hits their tier's limit.
-- param: start_date: First day as YYYY-MM-DD
-- param: end_date: Last day as YYYY-MM-DD
SELECT
  tenant_id,
  max(tier) AS tier,
  count(*) AS calls,
  count_if(status_code = 429) AS rate_limited,
  round(CAST(count_if(status_code = 429) AS double) / count(*), 6) AS rate_limited_share
FROM usage_events_deduped
WHERE concat(year, '-', month, '-', day) BETWEEN ? AND ?
GROUP BY tenant_id
HAVING count_if(status_code = 429) > 0
ORDER BY rate_limited DESC, tenant_id
