import * as z from 'zod/mini';
import { CONFIRMATION_CODE_PATTERN, DEFAULT_ROTATION_GRACE_SECONDS, EMAIL_MAX_LENGTH, KEY_NAME_PATTERN, MAX_ROTATION_GRACE_SECONDS, PASSWORD_POLICY } from './accounts';

/**
 * The request bodies of the account routes and of an account's keys (issue 15), as zod/mini
 * schemas: a module of their own, so that the functions validating them carry these schemas and
 * not every answer's (contracts/api-schemas.ts re-exports them for the OpenAPI document). The
 * bodies are strict: an unknown field is a mistake to name, not to ignore. The password is checked
 * against the pool's policy by the route (`passwordProblems`, contracts/accounts.ts), which names
 * each rule it misses.
 *
 * No locale is loaded here: the account routes name each problem themselves (lambdas/routes/auth-route.ts
 * `validBody`), which keeps zod's English messages out of the `auth` function's bundle.
 *
 * Each schema is built in a call marked pure, so that a bundle that uses none of them (or only
 * NOTIFICATION_SETTINGS, through the credential store) carries none of their zod code.
 */

const email = () => z.string().check(z.maxLength(EMAIL_MAX_LENGTH), z.email());
const password = () => z.string().check(z.minLength(1), z.maxLength(PASSWORD_POLICY.maxLength));
/** Cognito refresh tokens are opaque (an encrypted JWT); bounded so a body cannot carry megabytes of one. */
const refreshToken = () => z.string().check(z.minLength(1), z.maxLength(8192));

/** POST /v1/auth/register: `{ email, password }`. */
export const registerBody = /* @__PURE__ */ z.strictObject({ email: /* @__PURE__ */ email(), password: /* @__PURE__ */ password() });

/** POST /v1/auth/confirm: `{ email, code }`, the code Cognito emailed. */
export const confirmBody = /* @__PURE__ */ z.strictObject({ email: /* @__PURE__ */ email(), code: /* @__PURE__ */ z.string().check(/* @__PURE__ */ z.regex(CONFIRMATION_CODE_PATTERN, 'code must be the 6 digits emailed')) });

/** POST /v1/auth/login: `{ email, password }`. */
export const loginBody = /* @__PURE__ */ z.strictObject({ email: /* @__PURE__ */ email(), password: /* @__PURE__ */ password() });

/** POST /v1/auth/refresh and POST /v1/auth/logout: `{ refresh_token }`. */
export const refreshBody = /* @__PURE__ */ z.strictObject({ refresh_token: /* @__PURE__ */ refreshToken() });

/** POST /v1/keys: `{ name }`. */
export const createKeyBody = /* @__PURE__ */ z.strictObject({
  name: /* @__PURE__ */ z.string().check(/* @__PURE__ */ z.regex(KEY_NAME_PATTERN, 'name must be 1-64 letters, digits, spaces and ._- starting with a letter or digit')),
});

/** POST /v1/keys/{keyId}/rotate: `{ graceSeconds? }`, how long the old key keeps working (0 to a day). */
export const rotateKeyBody = /* @__PURE__ */ z.strictObject({
  graceSeconds: /* @__PURE__ */ z._default(
    /* @__PURE__ */ z.int().check(/* @__PURE__ */ z.gte(0), /* @__PURE__ */ z.lte(MAX_ROTATION_GRACE_SECONDS)),
    DEFAULT_ROTATION_GRACE_SECONDS,
  ),
});

export { NOTIFICATION_SETTINGS, type OptionalNotificationKind } from './account-event-names';
