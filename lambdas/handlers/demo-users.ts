import { runtimeDependencies } from '../runtime/dependencies';
import { ROUTE_HANDLERS } from './registry';

/** Lambda entry of the `demo-users` routes (see BUILT_IN_ROUTES). */
export const handler = ROUTE_HANDLERS['demo-users'](runtimeDependencies());
