-- name: error_rates
-- description: Server errors (status 500 and above) per service and operation between two event dates (UTC, inclusive), over deduplicated events.
-- param: start_date (date): First day of event time (UTC), inclusive
-- param: end_date (date): Last day of event time (UTC), inclusive
SELECT
  service,
  operation,
  count(*) AS calls,
  count_if(status_code >= 500) AS errors,
  round(CAST(count_if(status_code >= 500) AS double) / count(*), 6) AS error_rate
FROM usage_events_deduped
WHERE concat(year, '-', month, '-', day) BETWEEN ? AND ?
GROUP BY service, operation
ORDER BY error_rate DESC, calls DESC, service, operation
