import { tokenFunctionDependencies } from '../runtime/function-dependencies';
import { ROUTE_HANDLERS } from './registry';

/** Lambda entry of the `token` routes (see BUILT_IN_ROUTES). */
export const handler = ROUTE_HANDLERS['token'](tokenFunctionDependencies());
