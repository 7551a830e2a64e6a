import { adminFunctionDependencies } from '../runtime/admin-function-dependencies';
import { ROUTE_HANDLERS } from './registry';

/** Lambda entry of the `admin` routes (see BUILT_IN_ROUTES). */
export const handler = ROUTE_HANDLERS['admin'](adminFunctionDependencies());
