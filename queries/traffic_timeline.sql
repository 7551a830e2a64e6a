-- name: traffic_timeline
-- description: Requests, server errors (5xx), rate-limited calls (429) and p95 latency per time bucket over a window ending now (UTC): per minute for last_hour, per hour for last_24h, per day otherwise. Over deduplicated events by event time; the dashboard's traffic chart.
-- param: window (enum last_hour | last_24h | last_30d | all): The window, ending now
WITH params AS (
  SELECT CAST(? AS varchar) AS span
),
bounds AS (
  SELECT
    CASE span
      WHEN 'last_hour' THEN CAST(current_timestamp AS timestamp) - INTERVAL '1' HOUR
      WHEN 'last_24h' THEN CAST(current_timestamp AS timestamp) - INTERVAL '24' HOUR
      WHEN 'last_30d' THEN CAST(current_timestamp AS timestamp) - INTERVAL '30' DAY
      WHEN 'all' THEN TIMESTAMP '1970-01-01 00:00:00'
    END AS since,
    CASE span WHEN 'last_hour' THEN 'minute' WHEN 'last_24h' THEN 'hour' ELSE 'day' END AS bucket
  FROM params
)
SELECT
  date_trunc(b.bucket, e.occurred_at) AS bucket_start,
  sum(e.request_count) AS requests,
  sum(CASE WHEN e.status_code >= 500 THEN e.request_count ELSE 0 END) AS errors,
  sum(CASE WHEN e.status_code = 429 THEN e.request_count ELSE 0 END) AS rate_limited,
  approx_percentile(e.latency_ms, 0.95) AS p95_latency_ms
FROM usage_events_deduped e
CROSS JOIN bounds b
WHERE e.occurred_at >= b.since
  AND concat(e.year, '-', e.month, '-', e.day) >= date_format(b.since, '%Y-%m-%d')
GROUP BY date_trunc(b.bucket, e.occurred_at)
ORDER BY bucket_start
