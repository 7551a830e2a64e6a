/**
 * DuckDB macros standing in for the Trino (Athena) functions the named queries use, so that each
 * `queries/*.sql` file runs unchanged on both engines. A macro hides a built-in of the same name,
 * so functions DuckDB already has with another arity are overloaded by arity.
 */
export const TRINO_COMPAT_MACROS: readonly string[] = [
  // approx_percentile(x, p) and approx_percentile(x, ARRAY[p1, p2, ...]): one pass per group for
  // all the percentages (https://trino.io/docs/current/functions/aggregate.html#approx_percentile;
  // 1-based arrays, as DuckDB's lists are). Athena approximates; locally the answer is the exact
  // nearest-rank value of x to the microsecond of a millisecond figure (three decimals), which any
  // approximation's tolerance admits. The values are taken as DECIMAL(18, 3), which DuckDB holds
  // as 64-bit integers: its quantile selects among those about 40% faster than among doubles
  // (`npm run bench -- queries` prints both), and the result reads as a plain number. So the
  // answer's SQL type is DECIMAL(18, 3) here where Trino keeps the type of x, and an x beyond
  // 10^15 fails the cast loudly; the named queries take it of latency_ms only (at most
  // 86,400,000 by the contract). It buffers a group's values (8 bytes each: 80 MB for a 10 M-event
  // month). DuckDB's own approximations are no faster or not sound here
  // (https://duckdb.org/docs/stable/sql/functions/aggregates#approximate-aggregates): its t-digest,
  // approx_quantile, inserts every value into a digest and costs more than this, and
  // reservoir_quantile, although cheap, keeps the first 8192 values of a group rather than a
  // uniform sample of them in DuckDB 1.5 (the median of range(1000000) comes out as 4095), so it
  // answers for the start of the scan only (test/queries/approx-percentile.test.ts).
  'CREATE OR REPLACE MACRO approx_percentile(x, p) AS quantile_disc(CAST(x AS DECIMAL(18, 3)), p)',
  'CREATE OR REPLACE MACRO approx_distinct(x) AS approx_count_distinct(x)',
  'CREATE OR REPLACE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)',
  "CREATE OR REPLACE MACRO date_format(t, f) AS strftime(t, replace(replace(f, '%i', '%M'), '%s', '%S'))",
  'CREATE OR REPLACE MACRO to_unixtime(t) AS epoch(t)',
  'CREATE OR REPLACE MACRO json_extract_scalar(j, p) AS json_extract_string(j, p)',
  'CREATE OR REPLACE MACRO regexp_like(s, p) AS regexp_matches(s, p)',
  'CREATE OR REPLACE MACRO element_at(m, k) AS m[k]',
  // date_add(d, interval) is DuckDB's; date_add('day', n, t) is Trino's.
  "CREATE OR REPLACE MACRO date_add(d, i) AS d + i, (unit, n, t) AS t + CASE lower(unit) WHEN 'second' THEN to_seconds(n) WHEN 'minute' THEN to_minutes(n) WHEN 'hour' THEN to_hours(n) WHEN 'day' THEN to_days(n) WHEN 'week' THEN to_weeks(n) WHEN 'month' THEN to_months(n) WHEN 'year' THEN to_years(n) END",
];
