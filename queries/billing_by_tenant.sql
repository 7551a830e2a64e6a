-- name: billing_by_tenant
-- description: Calls, billable units and the amount owed per tenant for one calendar month of event time (UTC), over billable_usage_events: deduplicated calls that were neither refused (401, 403, 429) nor server errors (5xx), made by a tenant (never the reserved ids anonymous and operator). Prices come from operation_prices (operation "*" prices every other operation).
-- param: month (month): Billing month of event time (UTC), e.g. 2026-11
WITH billable AS (
  SELECT tenant_id, operation, billable_units
  FROM billable_usage_events
  WHERE concat(year, '-', month) = ?
),
prices AS (
  -- One price per operation, however many rows or files list it (the highest counts).
  SELECT operation, max(unit_price) AS unit_price, max(currency) AS currency
  FROM operation_prices
  GROUP BY operation
),
fallback AS (
  SELECT max(unit_price) AS unit_price, max(currency) AS currency
  FROM prices
  WHERE operation = '*'
)
SELECT
  b.tenant_id,
  count(*) AS calls,
  sum(b.billable_units) AS billable_units,
  round(sum(b.billable_units * coalesce(p.unit_price, f.unit_price, 0)), 6) AS amount,
  coalesce(max(p.currency), max(f.currency), 'USD') AS currency
FROM billable b
LEFT JOIN prices p ON p.operation = b.operation
CROSS JOIN fallback f
GROUP BY b.tenant_id
ORDER BY amount DESC, b.tenant_id
