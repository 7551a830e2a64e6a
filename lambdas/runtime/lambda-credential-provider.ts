import { fromEnv } from '@aws-sdk/credential-provider-env';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

/**
 * The AWS SDK's default credential provider as the Lambda bundles have it: the function's
 * environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), where Lambda puts
 * the execution role's credentials, and the first step of the SDK's own chain
 * (`@aws-sdk/credential-provider-node`), which the bundles replace with this module (an esbuild
 * alias, lib/lambda-bundling.ts). The rest of that chain (profiles, SSO, web identity, IMDS) and
 * the STS and SSO clients it carries never run in Lambda: bundled, they are about 90 KB of every
 * function and a part of its cold start.
 */
export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}): AwsCredentialIdentityProvider => fromEnv(init);
