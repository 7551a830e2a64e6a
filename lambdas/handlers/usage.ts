import { routeFunctionDependencies } from '../runtime/function-dependencies';
import { usageHandler } from './registry';

/** Lambda entry of the `usage` routes (see BUILT_IN_ROUTES): the limiter and usage tracking, nothing else. */
export const handler = usageHandler(routeFunctionDependencies());
