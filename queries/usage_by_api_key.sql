-- name: usage_by_api_key
-- description: Calls and billable units per tenant and API key for one calendar month of event time (UTC), over deduplicated events, with when each key was last used. Calls without a key (tokens from an external issuer, anonymous refusals) are grouped under an empty key.
-- param: month: Month as YYYY-MM, e.g. 2026-11
SELECT
  tenant_id,
  coalesce(api_key_id, '') AS api_key_id,
  count(*) AS calls,
  sum(billable_units) AS billable_units,
  max(occurred_at) AS last_used_at
FROM usage_events_deduped
WHERE concat(year, '-', month) = ?
GROUP BY tenant_id, coalesce(api_key_id, '')
ORDER BY calls DESC, tenant_id, api_key_id
