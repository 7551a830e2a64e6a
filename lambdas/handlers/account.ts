import { accountFunctionDependencies } from '../runtime/account-function-dependencies';
import { createAccountHandler } from '../routes/account-route';

/** Lambda entry of the `account` routes (see BUILT_IN_ROUTES): GET /v1/auth/me and the account's own keys. */
export const handler = createAccountHandler(accountFunctionDependencies());
