-- name: error_rates
-- description: Server errors (status 500 and above) per service and operation between two event dates (UTC, inclusive), over deduplicated events.
-- param: start_date (date): First day of event time (UTC), inclusive
-- param: end_date (date): Last day of event time (UTC), inclusive
SELECT
  service,
  operation,
  sum(request_count) AS calls,
  sum(CASE WHEN status_code >= 500 THEN request_count ELSE 0 END) AS errors,
  round(CAST(sum(CASE WHEN status_code >= 500 THEN request_count ELSE 0 END) AS double) / sum(request_count), 6) AS error_rate
FROM usage_events_deduped
WHERE concat(year, '-', month, '-', day) BETWEEN ? AND ?
GROUP BY service, operation
ORDER BY error_rate DESC, calls DESC, service, operation
