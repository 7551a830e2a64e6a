/**
 * Tenant ids: the form a tenant id takes, and the ids reserved for traffic no tenant made.
 *
 * Traffic that no tenant made is still recorded (operations analytics need it) but never billed:
 * it carries one of the reserved ids below, which no tenant can be created with, and the billing
 * queries leave those ids out (`queries/billable_usage_events.sql` lists them; a test checks that
 * list against this one).
 */

/** A tenant id as admins create it: 2-63 lower-case letters, digits and dashes, starting with a letter or digit. */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;

/** What {@link TENANT_ID_PATTERN} means, for error messages. */
export const TENANT_ID_RULE = 'tenantId must be 2-63 lower-case letters, digits and dashes, starting with a letter or digit';

/** Tenant ids usage events carry for traffic no tenant made; refused on tenant creation. */
export const RESERVED_TENANT_IDS = {
  /** Unauthenticated calls, refused credentials, and routes the API does not have. */
  anonymous: 'anonymous',
  /** Calls of the admin API: operators, not customers. */
  operator: 'operator',
} as const;

export type ReservedTenantId = (typeof RESERVED_TENANT_IDS)[keyof typeof RESERVED_TENANT_IDS];

/** True when `tenantId` is one of {@link RESERVED_TENANT_IDS}. */
export function isReservedTenantId(tenantId: string): tenantId is ReservedTenantId {
  return (Object.values(RESERVED_TENANT_IDS) as string[]).includes(tenantId);
}
