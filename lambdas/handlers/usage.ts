import { runtimeDependencies } from '../runtime/dependencies';
import { ROUTE_HANDLERS } from './registry';

/** Lambda entry of the `usage` routes (see BUILT_IN_ROUTES). */
export const handler = ROUTE_HANDLERS['usage'](runtimeDependencies());
