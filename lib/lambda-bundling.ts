import * as path from 'node:path';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';

/** The project root: where `esbuild` runs, as `NodejsFunction` runs it (`projectRoot`). */
export const PROJECT_ROOT = path.join(__dirname, '..');

/** Where the Lambda entry files live: one per function, `<name>.ts`. */
export const HANDLERS_DIR = path.join(PROJECT_ROOT, 'lambdas', 'handlers');

/**
 * How every metered API function is bundled: the one definition the stack (`NodejsFunction`) and
 * the Lambda bench (`npm run bench -- lambda`, which calls esbuild with {@link esbuildOptionsOf})
 * both use, so that the bench measures the bytes that are deployed.
 *
 * - The AWS SDK is bundled too (not taken from the runtime): the versions tested are the versions deployed.
 * - `mainFields` prefers the packages' ES module builds, which esbuild can tree-shake (the AWS SDK
 *   ships both; its CommonJS build cannot drop what a handler does not call).
 * - undici (400 KB, the SDK's PutEvents sender's pool in long-running servers) is replaced by the
 *   same pool on Node's own HTTP (lambdas/runtime/node-http-pool.ts).
 * - The SDK's default credential chain is replaced by its first step, the environment, where
 *   Lambda puts the role's credentials (lambdas/runtime/lambda-credential-provider.ts): the rest of
 *   the chain, with its STS and SSO clients, never runs in Lambda.
 * - Two SDK modules no function uses at run time are replaced by small stand-ins: the event-stream
 *   serde (`@smithy/core/event-streams`, which the SDK's protocols load with an untrimmable dynamic
 *   `import()`; DynamoDB and EventBridge have no event-stream operation) and mnemonist's LRU cache
 *   (under the DynamoDB client's endpoint-discovery cache). Together about 25 KB of every function.
 * - Secrets Manager and KMS are not called through SDK clients at all but through
 *   lambdas/runtime/aws-json-client.ts (signed AWS JSON 1.1 on Node's HTTP): no alias needed.
 * - Source maps are written next to the bundle but cost nothing at run time: Node reads them only
 *   when `NODE_OPTIONS` has `--enable-source-maps`, which the stack sets only when asked
 *   (`sourceMapsAtRuntime`, see lib/metered-http-api.ts).
 */
export const LAMBDA_BUNDLING = {
  minify: true,
  sourceMap: true,
  target: 'node24',
  mainFields: ['module', 'main'],
  forceDockerBundling: false,
  externalModules: [],
} as const satisfies BundlingOptions;

/** Packages a Lambda bundle takes from this project instead, by path from {@link PROJECT_ROOT} (esbuild `alias`). */
export const LAMBDA_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': './lambdas/runtime/lambda-credential-provider.ts',
  // The PutEvents sender's HTTP pool, on Node's own HTTP: a function sends a few requests per invocation.
  undici: './lambdas/runtime/node-http-pool.ts',
  // Loaded by the SDK's protocols with a dynamic import() (untrimmable, about 19 KB) for operations no function calls.
  '@smithy/core/event-streams': './lambdas/runtime/no-event-streams.ts',
  // The DynamoDB client's endpoint cache (endpoint discovery, off by default): a Map-based LRU instead of mnemonist's 6.5 KB.
  'mnemonist/lru-cache': './lambdas/runtime/lru-cache.ts',
};

/** {@link LAMBDA_BUNDLING} as `NodejsFunction` takes it: the aliases as esbuild arguments. */
export function nodejsBundlingOptions(): BundlingOptions {
  return {
    ...LAMBDA_BUNDLING,
    mainFields: [...LAMBDA_BUNDLING.mainFields],
    externalModules: [...LAMBDA_BUNDLING.externalModules],
    esbuildArgs: Object.fromEntries(Object.entries(LAMBDA_ALIASES).map(([name, replacement]) => [`--alias:${name}`, replacement])),
  };
}

/** The esbuild build options equivalent to {@link LAMBDA_BUNDLING} (what `NodejsFunction` passes on its command line). */
export interface LambdaEsbuildOptions {
  readonly entryPoints: string[];
  readonly outfile: string;
  readonly absWorkingDir: string;
  readonly bundle: true;
  readonly platform: 'node';
  readonly target: string;
  readonly minify: boolean;
  readonly sourcemap: boolean;
  readonly mainFields: string[];
  readonly external: string[];
  readonly alias: Record<string, string>;
  readonly metafile: true;
  readonly logLevel: 'warning';
}

/** The esbuild options that bundle the handler `name` (a file of {@link HANDLERS_DIR}) as the stack does. */
export function esbuildOptionsOf(name: string, outfile: string): LambdaEsbuildOptions {
  return {
    entryPoints: [path.relative(PROJECT_ROOT, path.join(HANDLERS_DIR, `${name}.ts`))],
    outfile,
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: 'node',
    target: LAMBDA_BUNDLING.target,
    minify: LAMBDA_BUNDLING.minify,
    sourcemap: LAMBDA_BUNDLING.sourceMap,
    mainFields: [...LAMBDA_BUNDLING.mainFields],
    external: [...LAMBDA_BUNDLING.externalModules],
    alias: { ...LAMBDA_ALIASES },
    metafile: true,
    logLevel: 'warning',
  };
}
