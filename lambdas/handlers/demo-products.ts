import { routeFunctionDependencies } from '../runtime/function-dependencies';
import { demoProductsHandler } from './registry';

/** Lambda entry of the `demo-products` routes (see BUILT_IN_ROUTES): the limiter and usage tracking, nothing else. */
export const handler = demoProductsHandler(routeFunctionDependencies());
