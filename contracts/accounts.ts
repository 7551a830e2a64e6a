/**
 * Consumer accounts (issue 15): the facts the user pool (lib/accounts-user-pool.ts), the local
 * Cognito emulator (local/accounts/), the account routes (lambdas/accounts/) and the consumer
 * client share. One place, so that a password the route accepts is one the pool accepts, and a
 * token lifetime the README states is the one the app client has.
 */

/**
 * The password policy of the pool (CDK `UserPool.passwordPolicy`), checked by the register route
 * before Cognito is called so that a refusal names the rule. Cognito's own minimum is 6, its
 * maximum 99 ("Password policies", https://docs.aws.amazon.com/cognito/latest/developerguide/managing-users-passwords.html#user-pool-settings-policies);
 * cdk-nag's AwsSolutions-COG1 asks for at least 8 with all four character classes.
 */
export const PASSWORD_POLICY = {
  minLength: 12,
  maxLength: 99,
  requireLowercase: true,
  requireUppercase: true,
  requireDigits: true,
  requireSymbols: true,
} as const;

/**
 * The symbols Cognito counts as special characters
 * (https://docs.aws.amazon.com/cognito/latest/developerguide/managing-users-passwords.html#user-pool-settings-policies).
 */
export const PASSWORD_SYMBOLS = "^$*.[]{}()?\"!@#%&/\\,><':;|_~`=+- ";

/** What is wrong with a password under {@link PASSWORD_POLICY}; empty when it holds (the policy requires every class). */
export function passwordProblems(password: string): string[] {
  const problems: string[] = [];
  const p = PASSWORD_POLICY;
  if (password.length < p.minLength) problems.push(`at least ${p.minLength} characters`);
  if (password.length > p.maxLength) problems.push(`at most ${p.maxLength} characters`);
  if (!/[a-z]/.test(password)) problems.push('a lower-case letter');
  if (!/[A-Z]/.test(password)) problems.push('an upper-case letter');
  if (!/[0-9]/.test(password)) problems.push('a digit');
  if (!Array.from(PASSWORD_SYMBOLS).some((symbol) => password.includes(symbol))) problems.push('a symbol');
  return problems;
}

/**
 * The app client's token lifetimes. Access tokens are what the authorizer accepts; a revoked
 * refresh token makes Cognito refuse the access tokens minted from it at Cognito's own APIs, but
 * this API verifies them by signature (the pool's JWKS), so an access token outlives a logout by
 * at most {@link ACCOUNT_TOKEN_VALIDITY}.accessMinutes (README, "For API consumers").
 * Cognito allows 5 minutes to 1 day for access and ID tokens, 60 minutes to 10 years for refresh
 * tokens (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-refresh-token.html).
 */
export const ACCOUNT_TOKEN_VALIDITY = { accessMinutes: 15, idMinutes: 15, refreshDays: 30 } as const;

/** Emails as the pool's username: what the routes accept before asking Cognito. */
export const EMAIL_MAX_LENGTH = 254;

/** Cognito's confirmation codes: 6 digits. */
export const CONFIRMATION_CODE_PATTERN = /^[0-9]{6}$/;

/** A self-service key's name: 1-64 characters, letters, digits, spaces and `._-`. */
export const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;

/** How many characters of a key are kept to recognise it in a list (`aut_` and 4 more). */
export const KEY_PREFIX_LENGTH = 8;

/** The longest grace a rotated key keeps working after its successor is made. */
export const MAX_ROTATION_GRACE_SECONDS = 86_400;

/** The grace of a rotation that names none. */
export const DEFAULT_ROTATION_GRACE_SECONDS = 3_600;

/**
 * `lastUsedAt` of a key is written at most once per this many seconds per key (by the
 * authorizer, which reads the key's record anyway), so that a busy key costs no write per call.
 */
export const KEY_LAST_USED_RESOLUTION_SECONDS = 3_600;

/** How many active or rotating keys one tenant may hold. */
export const MAX_KEYS_PER_TENANT = 20;

/** The pool's app client auth flows: the routes sign in with a password and refresh; nothing else. */
export const ACCOUNT_AUTH_FLOWS = ['USER_PASSWORD_AUTH', 'REFRESH_TOKEN_AUTH'] as const;
