/**
 * The context the metered API's Lambda authorizer hands to the routes: flat, non-empty strings
 * that API Gateway passes on as `requestContext.authorizer.lambda.<field>` (HTTP API v2) or
 * `requestContext.authorizer.<field>` (REST API v1), and writes to the access log as
 * `$context.authorizer.<field>`. The authorizer writes it, the routes, the producer SDK's Lambda
 * wrapper and the local gateway read it, with {@link parseAuthorizerContext}.
 */

/** The context's field names. */
export const AUTHORIZER_CONTEXT_FIELDS = {
  /** `tenant` or `admin`. */
  kind: 'kind',
  /** The tenant; admins carry the reserved id `operator`. */
  tenantId: 'tenantId',
  /** The end user, when an authorizer of your own knows one (the metered API's does not). */
  userId: 'userId',
  /** The API key, or the key a token was minted from. */
  apiKeyId: 'apiKeyId',
  /**
   * The tier the credential names (a tenant token's claim, the tier hint of an API key's record or
   * of an external identity's mapping), which the limiter's first write names; never enforced as
   * such: the limiter item's tier decides, and a stale one costs a second write.
   */
  tier: 'tier',
  /** Space-separated scopes. */
  scopes: 'scopes',
  /** `api-key` or `token`. */
  via: 'via',
  /** Who acted, for the audit log. */
  subject: 'subject',
  /** The API key's standing when the authorizer looked it up. */
  standing: 'standing',
} as const;

export type AuthorizerContextField = keyof typeof AUTHORIZER_CONTEXT_FIELDS;

/** A context as read: each field that is a non-empty string, and no other. */
export type AuthorizerContextValues = { readonly [K in AuthorizerContextField]?: string };

/** The `$context` variable of a field, for the stage's access log format. */
export const authorizerContextVariable = (field: AuthorizerContextField): string => `$context.authorizer.${AUTHORIZER_CONTEXT_FIELDS[field]}`;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/**
 * The one parser of an authorizer context. Takes `requestContext.authorizer` of a v1 or v2 event,
 * or the context itself: a v2 event nests it under `lambda`. Keeps the known fields whose values
 * are non-empty strings (API Gateway passes strings; an empty one means "not set").
 */
export function parseAuthorizerContext(authorizer: unknown): AuthorizerContextValues | undefined {
  if (!isRecord(authorizer)) return undefined;
  const source = isRecord(authorizer.lambda) ? authorizer.lambda : authorizer;
  const values: Partial<Record<AuthorizerContextField, string>> = {};
  for (const field of Object.keys(AUTHORIZER_CONTEXT_FIELDS) as AuthorizerContextField[]) {
    const value = source[AUTHORIZER_CONTEXT_FIELDS[field]];
    if (typeof value === 'string' && value !== '') values[field] = value;
  }
  return values;
}
