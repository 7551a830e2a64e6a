-- name: feature_usage
-- description: Calls and distinct tenants per product feature between two event dates (UTC, inclusive), over deduplicated events. Events without a feature count under their operation.
-- param: start_date (date): First day of event time (UTC), inclusive
-- param: end_date (date): Last day of event time (UTC), inclusive
SELECT
  coalesce(feature, operation) AS feature,
  count(*) AS calls,
  count(DISTINCT tenant_id) AS tenants
FROM usage_events_deduped
WHERE concat(year, '-', month, '-', day) BETWEEN ? AND ?
GROUP BY coalesce(feature, operation)
ORDER BY calls DESC, feature
