-- name: traffic_summary
-- description: Total requests, error rate (5xx), average and p95 latency over a window ending now: one row for all traffic (operation "(all)"), then one per operation. Over deduplicated events by event time.
-- param: window (enum last_hour | last_24h | last_30d | all): The window, ending now
WITH bounds AS (
  SELECT CASE ?
    WHEN 'last_hour' THEN CAST(current_timestamp AS timestamp) - INTERVAL '1' HOUR
    WHEN 'last_24h' THEN CAST(current_timestamp AS timestamp) - INTERVAL '24' HOUR
    WHEN 'last_30d' THEN CAST(current_timestamp AS timestamp) - INTERVAL '30' DAY
    WHEN 'all' THEN TIMESTAMP '1970-01-01 00:00:00'
  END AS since
),
recent AS (
  SELECT e.operation, e.status_code, e.latency_ms, e.request_count
  FROM usage_events_deduped e
  CROSS JOIN bounds b
  WHERE e.occurred_at >= b.since
    AND concat(e.year, '-', e.month, '-', e.day) >= date_format(b.since, '%Y-%m-%d')
),
summary AS (
  SELECT 0 AS row_group, '(all)' AS operation, sum(request_count) AS requests,
    sum(CASE WHEN status_code >= 500 THEN request_count ELSE 0 END) AS errors, avg(latency_ms) AS avg_latency_ms,
    approx_percentile(latency_ms, 0.95) AS p95_latency_ms
  FROM recent
  UNION ALL
  SELECT 1 AS row_group, operation, sum(request_count) AS requests,
    sum(CASE WHEN status_code >= 500 THEN request_count ELSE 0 END) AS errors, avg(latency_ms) AS avg_latency_ms,
    approx_percentile(latency_ms, 0.95) AS p95_latency_ms
  FROM recent
  GROUP BY operation
)
SELECT
  operation,
  requests,
  round(CAST(errors AS double) / requests, 6) AS error_rate,
  round(avg_latency_ms, 3) AS avg_latency_ms,
  p95_latency_ms
FROM summary
WHERE requests > 0
ORDER BY row_group, requests DESC, operation
