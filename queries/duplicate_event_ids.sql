-- name: duplicate_event_ids
-- description: Audit of the write-time deduplication between two event dates (UTC, inclusive): event_ids stored more than once in the curated table, with their copies. An empty result is the expected answer; a row means a copy reached the lake outside the Glue job and would be billed twice.
-- param: start_date (date): First day of event time (UTC), inclusive
-- param: end_date (date): Last day of event time (UTC), inclusive
SELECT
  event_id,
  count(*) AS copies,
  min(received_at) AS first_received_at,
  max(received_at) AS last_received_at
FROM usage_events
WHERE concat(year, '-', month, '-', day) BETWEEN ? AND ?
GROUP BY event_id
HAVING count(*) > 1
ORDER BY copies DESC, event_id
LIMIT 1000
