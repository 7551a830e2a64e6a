import { LAMBDA_ENV } from '../../contracts/lambda-environment';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { BUILT_IN_ROUTES, PUBLIC_ROUTES } from '../../contracts/metered-api';
import { createUsageTrackerApp } from '../../lib/app';
import { DEFAULT_UNAUTHENTICATED_ROUTES, EDGE_RULE_NAMES, MeteredApiEdge, MeteredApiEdgeProps, MeteredApiOriginDomain } from '../../lib/metered-api-edge';
import { DEFAULT_ROUTE_THROTTLES, MeteredHttpApi, MeteredHttpApiProps } from '../../lib/metered-http-api';
import { CDK_JSON_CONTEXT, testApp } from './fixtures';

const CERTIFICATE_ARN = 'arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const EDGE_CONTEXT = { edgeProtection: 'true', edgeOriginDomainName: 'api-origin.example.com', edgeOriginCertificateArn: CERTIFICATE_ARN };

const edgeTemplate = (props: Partial<MeteredApiEdgeProps> = {}, region = 'us-east-1') => {
  const stack = new Stack(testApp(), 'EdgeStack', { env: { account: '123456789012', region } });
  new MeteredApiEdge(stack, 'Edge', { originDomainName: 'api-origin.example.com', ...props });
  return Template.fromStack(stack);
};

const apiTemplate = (props: Partial<MeteredHttpApiProps> = {}, extra?: (api: MeteredHttpApi, stack: Stack) => void) => {
  const stack = new Stack(testApp({ 'aws:cdk:bundling-stacks': [] }), 'TestStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const api = new MeteredHttpApi(stack, 'MeteredApi', { usageEventBus: new events.EventBus(stack, 'Bus'), ...props });
  extra?.(api, stack);
  return Template.fromStack(stack);
};

/** A web ACL rule of a synthesized template, as far as these tests read it. */
interface WafRule {
  readonly Action: unknown;
  readonly Statement: { readonly RateBasedStatement: { readonly Limit: number; readonly ScopeDownStatement?: { readonly OrStatement: { readonly Statements: unknown[] } } } };
}

/** The template's only resource of a type. */
const onlyResource = (template: Template, type: string) => Object.values(template.findResources(type))[0] as { Properties: Record<string, unknown>; DependsOn?: string[] };

const rules = (template: Template) => onlyResource(template, 'AWS::WAFv2::WebACL').Properties.Rules as WafRule[];

describe('Construct: MeteredApiEdge', () => {
  const template = edgeTemplate();

  it('creates a CLOUDFRONT web ACL with a stricter per-IP rule for the token exchange and the account sign-up and sign-in routes, then one for every route', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', { Scope: 'CLOUDFRONT', DefaultAction: { Allow: {} } });
    const [unauthenticated, all] = rules(template);
    expect(unauthenticated).toMatchObject({ Name: EDGE_RULE_NAMES.unauthenticatedPerIp, Priority: 0, Statement: { RateBasedStatement: { AggregateKeyType: 'IP', Limit: 100, EvaluationWindowSec: 300 } } });
    // The guarded routes' per-source-IP guard is off behind CloudFront: this rule limits them per viewer instead.
    const guarded = PUBLIC_ROUTES.filter((route) => route.guarded).map((route) => route.routeKey);
    expect(DEFAULT_UNAUTHENTICATED_ROUTES).toEqual(['POST /v1/auth/token', ...guarded]);
    expect(guarded.sort()).toEqual(['POST /v1/auth/confirm', 'POST /v1/auth/login', 'POST /v1/auth/logout', 'POST /v1/auth/refresh', 'POST /v1/auth/register']);
    const routeMatch = (method: string, uriPath: string) => ({
      AndStatement: {
        Statements: [
          { ByteMatchStatement: { FieldToMatch: { Method: {} }, PositionalConstraint: 'EXACTLY', SearchString: method, TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
          { ByteMatchStatement: { FieldToMatch: { UriPath: {} }, PositionalConstraint: 'EXACTLY', SearchString: uriPath, TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
        ],
      },
    });
    expect(unauthenticated.Statement.RateBasedStatement.ScopeDownStatement?.OrStatement.Statements).toEqual(
      DEFAULT_UNAUTHENTICATED_ROUTES.map((routeKey) => routeMatch(...(routeKey.split(' ') as [string, string]))),
    );
    expect(all).toMatchObject({ Name: EDGE_RULE_NAMES.perIp, Priority: 1, Statement: { RateBasedStatement: { AggregateKeyType: 'IP', Limit: 3000, EvaluationWindowSec: 300 } } });
    expect(all.Statement.RateBasedStatement.ScopeDownStatement).toBeUndefined();
  });

  it('answers 429 with a JSON body over either limit', () => {
    for (const rule of rules(template)) {
      expect(rule.Action).toEqual({ Block: { CustomResponse: { ResponseCode: 429, CustomResponseBodyKey: 'too-many-requests' } } });
    }
    template.hasResourceProperties('AWS::WAFv2::WebACL', { CustomResponseBodies: { 'too-many-requests': { ContentType: 'APPLICATION_JSON', Content: Match.stringLikeRegexp('Too many requests') } } });
  });

  it('puts CloudFront with the web ACL in front of the origin name over TLS 1.2, caching nothing, forwarding all but Host', () => {
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        WebACLId: { 'Fn::GetAtt': [Match.stringLikeRegexp('EdgeWebAcl'), 'Arn'] },
        Origins: [Match.objectLike({ DomainName: 'api-origin.example.com', CustomOriginConfig: Match.objectLike({ OriginProtocolPolicy: 'https-only', OriginSSLProtocols: ['TLSv1.2'] }) })],
        DefaultCacheBehavior: Match.objectLike({
          ViewerProtocolPolicy: 'https-only',
          AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
          // The managed CachingDisabled and AllViewerExceptHostHeader policies.
          CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
          OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
        }),
        Logging: Match.objectLike({ Bucket: Match.anyValue() }),
      }),
    });
  });

  it('takes its limits, window and routes, and refuses what AWS WAF would', () => {
    const custom = edgeTemplate({ rateLimitPerIp: 600, unauthenticatedRateLimitPerIp: 10, evaluationWindow: Duration.minutes(1), unauthenticatedRoutes: ['POST /v1/auth/token', 'POST /v1/signup'] });
    const [unauthenticated, all] = rules(custom);
    expect(unauthenticated.Statement.RateBasedStatement).toMatchObject({ Limit: 10, EvaluationWindowSec: 60 });
    expect(unauthenticated.Statement.RateBasedStatement.ScopeDownStatement?.OrStatement.Statements).toHaveLength(2);
    expect(all.Statement.RateBasedStatement).toMatchObject({ Limit: 600, EvaluationWindowSec: 60 });
    expect(() => edgeTemplate({ rateLimitPerIp: 9 })).toThrow('Edge: rateLimitPerIp must be a whole number from 10 (AWS WAF\'s lowest) to 2000000000; got 9.');
    expect(() => edgeTemplate({ evaluationWindow: Duration.minutes(3) })).toThrow('Edge: evaluationWindow must be one of 60, 120, 300, 600 seconds; got 180.');
    expect(() => edgeTemplate({ rateLimitPerIp: 50, unauthenticatedRateLimitPerIp: 100 })).toThrow('unauthenticatedRateLimitPerIp (100) must not exceed rateLimitPerIp (50)');
    expect(() => edgeTemplate({ unauthenticatedRoutes: ['GET /v1/admin/tenants/{tenantId}'] })).toThrow('route keys with a literal path such as "POST /v1/auth/token"; got "GET /v1/admin/tenants/{tenantId}".');
  });

  it('must be created in us-east-1, where CLOUDFRONT web ACLs live', () => {
    expect(() => edgeTemplate({}, 'eu-west-1')).toThrow("Edge: a web ACL for CloudFront must be created in us-east-1; this stack's region is eu-west-1. Give the stack env: { region: 'us-east-1' }.");
    expect(() => new MeteredApiEdge(new Stack(testApp(), 'Agnostic'), 'Edge', { originDomainName: 'api-origin.example.com' })).toThrow("this stack's region is not set");
  });
});

describe('Construct: MeteredApiOriginDomain', () => {
  it('maps the API to a regional TLS 1.2 custom domain, the only way in once execute-api is off', () => {
    // Prepare / Act
    const template = apiTemplate({ disableExecuteApiEndpoint: true }, (api, stack) => {
      new MeteredApiOriginDomain(stack, 'Origin', { api, domainName: 'api-origin.example.com', certificate: acm.Certificate.fromCertificateArn(stack, 'Cert', CERTIFICATE_ARN) });
    });
    // Assess
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: true });
    template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'api-origin.example.com',
      DomainNameConfigurations: [{ CertificateArn: CERTIFICATE_ARN, EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' }],
    });
    template.hasResourceProperties('AWS::ApiGatewayV2::ApiMapping', { ApiId: Match.anyValue(), Stage: Match.anyValue(), DomainName: Match.anyValue() });
  });

  it('refuses a certificate from another region', () => {
    expect(() =>
      apiTemplate({}, (api, stack) => {
        new MeteredApiOriginDomain(stack, 'Origin', { api, domainName: 'api-origin.example.com', certificate: acm.Certificate.fromCertificateArn(stack, 'Cert', CERTIFICATE_ARN.replace('eu-west-1', 'us-east-1')) });
      }),
    ).toThrow("a regional API Gateway domain needs its certificate in the API's region (eu-west-1); the certificate is in us-east-1.");
  });
});

describe('Construct: MeteredHttpApi (flood limits)', () => {
  const template = apiTemplate();

  it('keeps the execute-api endpoint unless told otherwise', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: false });
  });

  it('throttles the token exchange and each admin route on the stage, after the routes exist', () => {
    const stage = onlyResource(template, 'AWS::ApiGatewayV2::Stage') as { Properties: { RouteSettings: Record<string, unknown> }; DependsOn?: string[] };
    expect(stage.Properties.RouteSettings['POST /v1/auth/token']).toEqual({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 });
    const admin = BUILT_IN_ROUTES.filter((r) => r.access === 'admin');
    for (const route of admin) expect(stage.Properties.RouteSettings[route.routeKey]).toEqual({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 });
    expect(Object.keys(stage.Properties.RouteSettings).sort()).toEqual(Object.keys(DEFAULT_ROUTE_THROTTLES).sort());
    expect(stage.Properties.RouteSettings['GET /v1/users']).toBeUndefined();
    const routes = template.findResources('AWS::ApiGatewayV2::Route', { Properties: { RouteKey: 'POST /v1/auth/token' } });
    expect(stage.DependsOn).toEqual(expect.arrayContaining(Object.keys(routes)));
  });

  it('takes route throttles for custom routes, and refuses one for a route the API does not have', () => {
    const custom = apiTemplate({ routeThrottles: { 'GET /v1/orders/{id}': { rateLimit: 5, burstLimit: 5 }, 'POST /v1/auth/token': { rateLimit: 2, burstLimit: 4 } } }, (api, stack) => {
      const orders = new lambda.Function(stack, 'Orders', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=async()=>({})') });
      api.addMeteredRoute('GET /v1/orders/{id}', { handler: orders, access: 'tenant' });
    });
    custom.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      RouteSettings: Match.objectLike({ 'GET /v1/orders/{id}': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 5 }, 'POST /v1/auth/token': { ThrottlingRateLimit: 2, ThrottlingBurstLimit: 4 } }),
    });
    expect(() => apiTemplate({ routeThrottles: { 'GET /v1/nowhere': { rateLimit: 1, burstLimit: 1 } } })).toThrow('routeThrottles names "GET /v1/nowhere", which is no route of this API');
    expect(() => apiTemplate({ routeThrottles: { 'POST /v1/auth/token': { rateLimit: 0, burstLimit: 1 } } })).toThrow('routeThrottles["POST /v1/auth/token"] needs a rateLimit above 0');
  });

  it('reserves concurrency for the authorizer only', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as { Properties: { Description?: string; ReservedConcurrentExecutions?: number } }[];
    const reserved = functions.filter((f) => f.Properties.ReservedConcurrentExecutions !== undefined);
    expect(reserved.map((f) => [f.Properties.Description, f.Properties.ReservedConcurrentExecutions])).toEqual([['Authorizer of the metered API: JWT or API key', 100]]);
    const none = apiTemplate({ authorizerReservedConcurrency: 0 });
    none.hasResourceProperties('AWS::Lambda::Function', { Description: 'Authorizer of the metered API: JWT or API key', ReservedConcurrentExecutions: Match.absent() });
    expect(() => apiTemplate({ authorizerReservedConcurrency: 1.5 })).toThrow('authorizerReservedConcurrency must be a whole number from 0 (none) to 1000; got 1.5.');
  });
});

describe('App: edgeProtection', () => {
  const newApp = (context: Record<string, unknown>) =>
    createUsageTrackerApp({ outdir: mkdtempSync(path.join(tmpdir(), 'cdk-out-')), context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } });

  it('adds no edge stack and keeps the execute-api endpoint by default', () => {
    const { app, edgeStack, stack } = newApp({});
    expect(edgeStack).toBeUndefined();
    expect(app.node.children.filter((c) => c instanceof Stack)).toHaveLength(1);
    Template.fromStack(stack).resourceCountIs('AWS::ApiGatewayV2::DomainName', 0);
  });

  it('adds a us-east-1 edge stack, turns execute-api off and maps the origin name, cdk-nag clean', () => {
    // Prepare
    const { app, stack, edgeStack } = newApp({ ...EDGE_CONTEXT, edgeRateLimitPerIp: '1200', edgeTokenRateLimitPerIp: '30' });
    // Act
    const assembly = app.synth();
    // Assess
    expect(edgeStack?.region).toBe('us-east-1');
    expect(edgeStack?.stackName).toBe(`${stack.stackName}-Edge`);
    const api = Template.fromStack(stack);
    api.hasResourceProperties('AWS::ApiGatewayV2::Api', { DisableExecuteApiEndpoint: true });
    api.hasResourceProperties('AWS::ApiGatewayV2::DomainName', { DomainName: 'api-origin.example.com' });
    api.hasOutput('EdgeOriginDnsTarget', { Value: Match.anyValue() });
    api.hasOutput('ApiUrl', { Value: 'https://api-origin.example.com' });
    const edge = Template.fromStack(edgeStack!);
    expect(rules(edge).map((r) => r.Statement.RateBasedStatement.Limit)).toEqual([30, 1200]);
    edge.hasOutput('ApiUrl', { Value: Match.anyValue() });
    const report = JSON.parse(readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: { pluginName: string; violations: unknown[] }[] };
    for (const plugin of report.pluginReports) {
      expect({ plugin: plugin.pluginName, violations: plugin.violations }).toEqual({ plugin: plugin.pluginName, violations: [] });
    }
  });

  // Behind CloudFront, API Gateway's sourceIp is the CloudFront host, not the viewer
  // (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/example-function-add-true-client-ip-header.html):
  // a per-source-IP guard there would count every viewer of an edge host as one caller.
  it.each([
    // The token exchange and the auth function (register, confirm, login, refresh, logout).
    ['without the edge', {}, 'on', 2],
    ['behind the edge (the WAF limits those routes per viewer instead)', EDGE_CONTEXT, 'off', 0],
  ] as const)('runs the source IP guard of the token exchange and the account sign-up and sign-in routes %s', (_where, context, guard, ipGrants) => {
    const api = Template.fromStack(newApp(context).stack);
    const functions = Object.values(api.findResources('AWS::Lambda::Function')) as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }[];
    const flags = functions.map((fn) => fn.Properties.Environment?.Variables?.[LAMBDA_ENV.sourceIpGuard]).filter((value) => value !== undefined);
    expect(flags.length).toBeGreaterThan(0);
    expect(new Set(flags)).toEqual(new Set([guard]));
    const leadingKeyGrants = JSON.stringify(api.findResources('AWS::IAM::Policy')).split('"dynamodb:LeadingKeys":["IP#*"]').length - 1;
    expect(leadingKeyGrants).toBe(ipGrants);
  });
});
