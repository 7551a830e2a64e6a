-- name: usage_events_deduped
-- description: The curated usage events, one row per event_id, that every other query reads. Deduplication happens once, when events are written: the Glue job (and its local twin) keeps the first copy received of each event_id within a run and drops any copy whose event_id is already curated on the days the run touches; copies share occurred_at and so share a day. Reading deduplicated data this way costs nothing per query; duplicate_event_ids checks the guarantee. request_count is how many requests a row stands for: 1, except for an aggregate of refused anonymous requests (attributes aggregate = refused-anonymous), which counts its attributes requests; queries that count requests sum it.
CREATE OR REPLACE VIEW usage_events_deduped AS
SELECT
  *,
  CASE
    WHEN element_at(attributes, 'aggregate') = 'refused-anonymous'
      THEN coalesce(try_cast(element_at(attributes, 'requests') AS bigint), 1)
    ELSE 1
  END AS request_count
FROM usage_events
