import { CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PUBLIC_ROUTES } from '../../contracts/metered-api';
import { buildOpenApiDocument, operationsOf } from '../../contracts/openapi';
import { STACK_ID } from '../../lib/app';
import { ApiUsageTrackerStack } from '../../lib/api-usage-tracker-stack';
import { readUsageTrackerConfig } from '../../lib/stack-config';
import { testApp } from './fixtures';

/**
 * Issue 15, item 4: the OpenAPI document describes every route of the synthesized stack, and
 * nothing else. The local stack's own pages (`/health`, `/dashboard`) are no route of the HTTP
 * API, in AWS or in the local gateway's route table, so they are in neither.
 */

// The stack as lib/app.ts builds it; bundling is skipped: assets do not change routes.
const app = testApp({ 'aws:cdk:bundling-stacks': [] });
const stack = new ApiUsageTrackerStack(app, STACK_ID, { config: readUsageTrackerConfig(app.node) });
const template = Template.fromStack(stack);

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };
const resources = Object.entries(template.toJSON().Resources as Record<string, Resource>);
const routes = resources.filter(([, r]) => r.Type === 'AWS::ApiGatewayV2::Route').map(([id, r]) => ({ id, ...r.Properties }) as { id: string; RouteKey: string; AuthorizationType?: string; Target: unknown });

describe('OpenAPI document and the synthesized stack', () => {
  it('documents exactly the routes of the HTTP API (AWS::ApiGatewayV2::Route RouteKeys), nothing more, nothing less', () => {
    // Act
    const documented = operationsOf(buildOpenApiDocument());
    // Assess
    expect(routes.map((r) => r.RouteKey).sort()).toEqual(documented.sort());
  });

  it('serves the reference and the account sign-up and sign-in routes without authorization, and every other route with an authorizer or IAM', () => {
    const publicKeys: string[] = PUBLIC_ROUTES.map((r) => r.routeKey);
    const byKey = Object.fromEntries(routes.map((r) => [r.RouteKey, r.AuthorizationType ?? 'NONE']));
    expect(publicKeys.map((key) => byKey[key])).toEqual(publicKeys.map(() => 'NONE'));
    expect(publicKeys.length).toBeGreaterThanOrEqual(10);
    expect(routes.filter((r) => !publicKeys.includes(r.RouteKey)).map((r) => r.AuthorizationType ?? 'NONE').filter((type) => type !== 'CUSTOM' && type !== 'AWS_IAM')).toEqual([]);
  });

  it('throttles the reference routes on the stage, and integrates them with one function that has no permission beyond its log and traces', () => {
    const reference = PUBLIC_ROUTES.filter((route) => route.handler === 'api-docs');
    expect(reference.map((route) => route.routeKey).sort()).toEqual(['GET /docs', 'GET /openapi.json', 'GET /sdk', 'GET /sdk.js', 'GET /sdk.mjs']);
    // Assess: route throttles.
    const stage = resources.find(([, r]) => r.Type === 'AWS::ApiGatewayV2::Stage')?.[1];
    const settings = stage?.Properties.RouteSettings as Record<string, unknown>;
    for (const route of reference) expect(settings[route.routeKey]).toEqual({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 });
    // One integration function for all of them.
    const targets = routes.filter((r) => reference.some((p) => p.routeKey === r.RouteKey)).map((r) => JSON.stringify(r.Target));
    expect(targets).toHaveLength(reference.length);
    const integrations = resources.filter(([id, r]) => r.Type === 'AWS::ApiGatewayV2::Integration' && targets.some((target) => target.includes(`"${id}"`)));
    const functionIds = new Set(integrations.map(([, r]) => JSON.stringify(r.Properties.IntegrationUri)));
    expect(functionIds.size).toBe(1);
    // Its role's own policies allow X-Ray only (its log is the managed basic execution policy's).
    const role = stack.getLogicalId(stack.meteredApi.apiDocsFunction.role!.node.defaultChild as CfnResource);
    const actions = resources
      .filter(([, r]) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(`"${role}"`))
      .flatMap(([, r]) => (r.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement.flatMap((s) => s.Action));
    expect([...new Set(actions)].sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
    expect(integrations[0][1].Properties.IntegrationUri).toEqual({ 'Fn::GetAtt': [stack.getLogicalId(stack.meteredApi.apiDocsFunction.node.defaultChild as CfnResource), 'Arn'] });
  });
});
