-- name: usage_by_api_key
-- description: Billable calls and units per tenant and API key for one calendar month of event time (UTC), with each key's last billable call: over billable_usage_events, the calls billing_by_tenant bills, so per tenant the calls and units add up to its bill. Refused calls (401, 403, 429), server errors and traffic no tenant made are not counted; a key none of whose calls was billable is not listed. Billable calls without a key (tokens from an external issuer) are grouped under an empty key.
-- param: month (month): Month of event time (UTC), e.g. 2026-11
SELECT
  tenant_id,
  coalesce(api_key_id, '') AS api_key_id,
  count(*) AS calls,
  sum(billable_units) AS billable_units,
  max(occurred_at) AS last_used_at
FROM billable_usage_events
WHERE concat(year, '-', month) = ?
GROUP BY tenant_id, coalesce(api_key_id, '')
ORDER BY calls DESC, tenant_id, api_key_id
