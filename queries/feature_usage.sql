-- name: feature_usage
-- description: Calls and distinct tenants per product feature between two event dates (UTC, inclusive), over deduplicated events. Events without a feature count under their operation.
-- param: start_date: First day as YYYY-MM-DD
-- param: end_date: Last day as YYYY-MM-DD
SELECT
  coalesce(feature, operation) AS feature,
  count(*) AS calls,
  count(DISTINCT tenant_id) AS tenants
FROM usage_events_deduped
WHERE concat(year, '-', month, '-', day) BETWEEN ? AND ?
GROUP BY coalesce(feature, operation)
ORDER BY calls DESC, feature
