import { Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import { Stack } from 'aws-cdk-lib';
import { LAMBDA_ENV } from '../../contracts/lambda-environment';
import { LAMBDA_ALIASES, LAMBDA_BUNDLING, esbuildOptionsOf, nodejsBundlingOptions } from '../../lib/lambda-bundling';
import { MeteredHttpApi, MeteredHttpApiProps } from '../../lib/metered-http-api';
import { testApp } from './fixtures';

/** The environment variables of every function of a MeteredHttpApi (bundling skipped). */
function functionEnvironments(props: Partial<MeteredHttpApiProps> = {}): Record<string, string>[] {
  const stack = new Stack(testApp({ 'aws:cdk:bundling-stacks': [] }), 'TestStack');
  new MeteredHttpApi(stack, 'MeteredApi', { usageEventBus: new events.EventBus(stack, 'Bus'), ...props });
  const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')) as { Properties: { Environment?: { Variables?: Record<string, string> } } }[];
  return functions.map((fn) => fn.Properties.Environment?.Variables ?? {});
}

describe('Lambda bundling: one definition for the stack and the bench', () => {
  it('leaves source maps off at run time unless sourceMapsAtRuntime turns them on', () => {
    // Act
    const byDefault = functionEnvironments();
    const asked = functionEnvironments({ sourceMapsAtRuntime: true });
    // Assess
    expect(byDefault.length).toBeGreaterThan(5);
    expect(byDefault.filter((env) => LAMBDA_ENV.nodeOptions in env)).toEqual([]);
    expect(asked.map((env) => env[LAMBDA_ENV.nodeOptions])).toEqual(asked.map(() => '--enable-source-maps'));
  });

  it('gives NodejsFunction and esbuild the same options: minified, source maps written, ES module builds, the aliases', () => {
    // Act
    const cdk = nodejsBundlingOptions();
    const esbuild = esbuildOptionsOf('token', '/tmp/token/index.js');
    // Assess
    expect(cdk).toMatchObject({ minify: true, sourceMap: true, target: LAMBDA_BUNDLING.target, mainFields: ['module', 'main'], externalModules: [] });
    expect(cdk.esbuildArgs).toEqual(Object.fromEntries(Object.entries(LAMBDA_ALIASES).map(([name, to]) => [`--alias:${name}`, to])));
    expect(esbuild).toMatchObject({ minify: cdk.minify, sourcemap: cdk.sourceMap, target: cdk.target, mainFields: cdk.mainFields, external: cdk.externalModules });
    expect(esbuild.alias).toEqual(LAMBDA_ALIASES);
    expect(esbuild.entryPoints).toEqual(['lambdas/handlers/token.ts']);
  });
});
