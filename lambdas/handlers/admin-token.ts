import { adminTokenFunctionDependencies } from '../runtime/function-dependencies';
import { createAdminTokenHandler } from './registry';

/** Lambda entry of POST /v1/admin/token (IAM authorization; see ADMIN_TOKEN_ROUTE). */
export const handler = createAdminTokenHandler(adminTokenFunctionDependencies());
