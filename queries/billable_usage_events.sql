-- name: billable_usage_events
-- description: The one definition of a billable call, which billing_by_tenant and usage_by_api_key read: the deduplicated usage events answered below 500 and not refused (401, 403, 429), made by a tenant. Traffic no tenant made carries a reserved tenant id (anonymous: unauthenticated calls, refused credentials and unmatched routes; operator: the admin API): recorded for operations analytics, never billed.
CREATE OR REPLACE VIEW billable_usage_events AS
SELECT *
FROM usage_events_deduped
WHERE status_code < 500
  AND status_code NOT IN (401, 403, 429)
  -- The ids of RESERVED_TENANT_IDS (contracts/tenants.ts); a test keeps the two lists equal.
  AND tenant_id NOT IN ('anonymous', 'operator')
