import { routeFunctionDependencies } from '../runtime/function-dependencies';
import { demoUsersHandler } from './registry';

/** Lambda entry of the `demo-users` routes (see BUILT_IN_ROUTES): the limiter and usage tracking, nothing else. */
export const handler = demoUsersHandler(routeFunctionDependencies());
