-- name: latency_by_operation
-- description: Latency percentiles per service and operation between two event dates (UTC, inclusive), over deduplicated events: the bottlenecks. Percentiles are approximate, and all three come from one sketch per group (approx_percentile over an array of percentages).
-- param: start_date (date): First day of event time (UTC), inclusive
-- param: end_date (date): Last day of event time (UTC), inclusive
--
-- One sketch per group: approx_percentile(x, percentages) -> array<[same as x]> returns "the
-- approximate percentile for all input values of x at each of the specified percentages" from a
-- single digest, where three approx_percentile(x, p) calls build three
-- (https://trino.io/docs/current/functions/aggregate.html#approx_percentile; Athena engine v3
-- runs Trino's functions). Arrays are 1-based in Trino, and lists are 1-based in DuckDB too, which
-- the local lake runs this on through local/lake/trino-compat.ts.
SELECT
  service,
  operation,
  calls,
  latency[1] AS p50_ms,
  latency[2] AS p95_ms,
  latency[3] AS p99_ms
FROM (
  SELECT
    service,
    operation,
    count(*) AS calls,
    approx_percentile(latency_ms, ARRAY[0.5, 0.95, 0.99]) AS latency
  FROM usage_events_deduped
  WHERE concat(year, '-', month, '-', day) BETWEEN ? AND ?
  GROUP BY service, operation
) AS per_operation
ORDER BY p95_ms DESC, service, operation
