-- name: trending_features
-- description: Week-over-week growth per feature: calls in the 7 days ending on a date (UTC) against the 7 days before, over deduplicated events. growth is (this week - last week) / last week, NULL for features new this week.
-- param: as_of (date): Last day of "this week" (UTC)
WITH params AS (
  SELECT CAST(? AS date) AS as_of
),
bounds AS (
  SELECT
    CAST(CAST(date_add('day', -13, as_of) AS date) AS varchar) AS first_day,
    CAST(CAST(date_add('day', -6, as_of) AS date) AS varchar) AS this_week_start,
    CAST(as_of AS varchar) AS last_day
  FROM params
),
counted AS (
  SELECT
    coalesce(e.feature, e.operation) AS feature,
    count_if(concat(e.year, '-', e.month, '-', e.day) >= b.this_week_start) AS calls_this_week,
    count_if(concat(e.year, '-', e.month, '-', e.day) < b.this_week_start) AS calls_last_week
  FROM usage_events_deduped e
  CROSS JOIN bounds b
  WHERE concat(e.year, '-', e.month, '-', e.day) BETWEEN b.first_day AND b.last_day
  GROUP BY coalesce(e.feature, e.operation)
)
SELECT
  feature,
  calls_this_week,
  calls_last_week,
  CASE WHEN calls_last_week = 0 THEN NULL ELSE round(CAST(calls_this_week - calls_last_week AS double) / calls_last_week, 4) END AS growth
FROM counted
ORDER BY growth DESC NULLS LAST, calls_this_week DESC, feature
