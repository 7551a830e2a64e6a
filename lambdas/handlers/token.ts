import { tokenFunctionDependencies } from '../runtime/function-dependencies';
import { tokenHandler } from './registry';

/** Lambda entry of the `token` routes (see BUILT_IN_ROUTES). */
export const handler = tokenHandler(tokenFunctionDependencies());
