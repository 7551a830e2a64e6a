import { authFunctionDependencies } from '../runtime/function-dependencies';
import { createAuthHandler } from '../routes/auth-route';

/**
 * Lambda entry of POST /v1/auth/register, /confirm, /login, /refresh and /logout (PUBLIC_ROUTES,
 * handler `auth`): the account routes behind the source IP guard, wired once per execution environment.
 */
export const handler = createAuthHandler(authFunctionDependencies());
