-- name: latency_by_operation
-- description: Latency percentiles per service and operation between two event dates (UTC, inclusive), over deduplicated events: the bottlenecks. Percentiles are approximate (approx_percentile).
-- param: start_date (date): First day of event time (UTC), inclusive
-- param: end_date (date): Last day of event time (UTC), inclusive
SELECT
  service,
  operation,
  count(*) AS calls,
  approx_percentile(latency_ms, 0.5) AS p50_ms,
  approx_percentile(latency_ms, 0.95) AS p95_ms,
  approx_percentile(latency_ms, 0.99) AS p99_ms
FROM usage_events_deduped
WHERE concat(year, '-', month, '-', day) BETWEEN ? AND ?
GROUP BY service, operation
ORDER BY p95_ms DESC, service, operation
