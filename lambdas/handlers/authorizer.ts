import { runtimeDependencies } from '../runtime/dependencies';
import { createAuthorizerHandler } from './registry';

/** Lambda REQUEST authorizer of the metered HTTP API (simple responses). */
export const handler = createAuthorizerHandler(runtimeDependencies());
