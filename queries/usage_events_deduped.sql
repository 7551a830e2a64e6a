-- name: usage_events_deduped
-- description: The curated usage events with one row per event_id (the first copy received), so a producer's retry is never billed twice. Every other query reads this view.
CREATE OR REPLACE VIEW usage_events_deduped AS
SELECT *
FROM (
  SELECT
    e.*,
    -- Copies of one event share occurred_at and so its day partition; ranking within the day
    -- keeps partition pruning on year/month/day working through the view.
    row_number() OVER (PARTITION BY e.year, e.month, e.day, e.event_id ORDER BY e.received_at, e.source) AS delivery_rank
  FROM usage_events e
)
WHERE delivery_rank = 1
