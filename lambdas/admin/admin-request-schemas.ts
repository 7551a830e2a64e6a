import * as z from 'zod/mini';
import { TENANT_ID_PATTERN, TENANT_ID_RULE } from '../../contracts/tenants';
import { TIER_NAMES } from '../../contracts/tiers';
import { InvalidAdminInput } from './admin-errors';
import '../../contracts/zod-locale';

/**
 * The admin API's request bodies, as zod schemas (so that the API description can be generated
 * from them, `z.toJSONSchema`). zod/mini, zod's tree-shakable functional form: the admin function's
 * bundle holds the checks these schemas use, not the whole library (about 440 KB minified).
 * zod/mini answers "Invalid input" for every issue unless a locale is configured: the English
 * messages are those of zod's classic form, which the answers have always carried
 * (contracts/zod-locale.ts configures them).
 */

const stringOfLength = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));

/** POST /v1/admin/tenants: `{ name, tier?, tenantId? }`. */
export const createTenantBody = z.strictObject({
  tenantId: z.optional(z.string().check(z.regex(TENANT_ID_PATTERN, TENANT_ID_RULE))),
  name: stringOfLength(1, 200),
  tier: z._default(z.enum(TIER_NAMES), 'free'),
});

/** PUT /v1/admin/tenants/{tenantId}/tier: `{ tier }`. */
export const setTierBody = z.strictObject({ tier: z.enum(TIER_NAMES) });

/** POST /v1/admin/tenants/{tenantId}/external-identities: `{ issuer, subject }` or `{ issuer, clientId }`. */
export const externalIdentityBody = z.union([
  z.strictObject({ issuer: stringOfLength(1, 2048), subject: stringOfLength(1, 512) }),
  z.strictObject({ issuer: stringOfLength(1, 2048), clientId: stringOfLength(1, 512) }),
]);

/** A `jti` as this API mints them (a UUID). */
export const TOKEN_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Validates a body against a schema, or refuses it naming the field. */
export function validBody<T>(schema: z.ZodMiniType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new InvalidAdminInput('invalid-body', `${issue.path.join('.') || 'body'}: ${issue.message}`);
}
