-- name: billing_by_tenant
-- description: Calls and billable units per tenant for one calendar month of event time (UTC), over deduplicated events.
-- param: month: Billing month as YYYY-MM, e.g. 2026-11
SELECT
  tenant_id,
  count(*) AS calls,
  sum(billable_units) AS billable_units
FROM usage_events_deduped
WHERE concat(year, '-', month) = ?
GROUP BY tenant_id
ORDER BY billable_units DESC, tenant_id
