import { adminFunctionDependencies } from '../runtime/admin-function-dependencies';
import { adminHandler } from './registry';

/** Lambda entry of the `admin` routes (see BUILT_IN_ROUTES). */
export const handler = adminHandler(adminFunctionDependencies());
