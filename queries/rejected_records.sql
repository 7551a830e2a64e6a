-- name: rejected_records
-- description: Records the curation refused (errors/glue/, table curation_errors), by reason and producing service, between two days the curation ran (UTC, inclusive). The service is the rejected line's detail.service when the line is JSON that names one, else (unknown). first_seen and last_seen are the first and last days with such a record; example is the start of one such line.
-- param: start_date (date): First day the curation ran (UTC), inclusive
-- param: end_date (date): Last day the curation ran (UTC), inclusive
SELECT
  reason,
  coalesce(try(json_extract_scalar(line, '$.detail.service')), '(unknown)') AS service,
  count(*) AS records,
  min(concat(year, '-', month, '-', day)) AS first_seen,
  max(concat(year, '-', month, '-', day)) AS last_seen,
  min(substr(line, 1, 200)) AS example
FROM curation_errors
WHERE concat(year, '-', month, '-', day) BETWEEN ? AND ?
GROUP BY 1, 2
ORDER BY records DESC, reason, service
