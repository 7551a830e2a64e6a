import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import {
  ACCESS_LOG_FORMAT,
  BUILT_IN_ROUTES,
  PUBLIC_ROUTES,
  HANDLER_TIMEOUT_SECONDS,
  MAX_DEMO_LATENCY_MS,
  TOKEN_CLOCK_TOLERANCE_SECONDS,
  CREDENTIALS_TTL_ATTRIBUTE,
} from '../../contracts/metered-api';
import { LAMBDA_ENV } from '../../contracts/lambda-environment';
import { SOURCE_IP_ATTRIBUTES } from '../../contracts/source-ip-limits';
import { USAGE_LOG_FILTER_PATTERN } from '../../contracts/usage-log-line';
import { LIMITER_DECISION_ACTIONS, MeteredHttpApi, MeteredHttpApiProps } from '../../lib/metered-http-api';
import { resourcesOf as typedResourcesOf, testApp } from './fixtures';
import { Stack } from 'aws-cdk-lib';

/** A resource of a synthesized template, as `findResources` answers it. */
interface CfnResource {
  readonly Properties: Record<string, unknown>;
}

/** The resources of a type in a template. */
const resourcesOf = (template: Template, type: string, props?: Record<string, unknown>) => Object.values(template.findResources(type, props)) as CfnResource[];

/** Bundling is skipped here (the app test bundles and runs the real artefacts). */
const synth = (props: Partial<MeteredHttpApiProps> = {}, extra?: (api: MeteredHttpApi, stack: Stack) => void) => {
  const stack = new Stack(testApp({ 'aws:cdk:bundling-stacks': [] }), 'TestStack');
  const bus = new events.EventBus(stack, 'Bus');
  const api = new MeteredHttpApi(stack, 'MeteredApi', { usageEventBus: bus, ...props });
  extra?.(api, stack);
  return Template.fromStack(stack);
};

/** The functions that answer requests and log usage lines: one per built-in handler, the admin token mint, and the public routes' one. */
const USAGE_LINE_FUNCTION_COUNT = new Set(BUILT_IN_ROUTES.map((route) => route.handler)).size + 1 + new Set(PUBLIC_ROUTES.map((route) => route.handler)).size;

describe('Construct: MeteredHttpApi', () => {
  const template = synth();

  it('takes usage events off the request path: route functions log them, a subscription forwards them to the bus', () => {
    // Every route function's log group has the usage-line filter, to the one forwarder.
    const filters = resourcesOf(template, 'AWS::Logs::SubscriptionFilter', { Properties: { FilterPattern: USAGE_LOG_FILTER_PATTERN } });
    expect(filters).toHaveLength(USAGE_LINE_FUNCTION_COUNT);
    const forwarderIds = Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('usage lines') } }));
    expect(forwarderIds).toHaveLength(1);
    expect(new Set(filters.map((filter) => JSON.stringify(filter.Properties.DestinationArn)))).toEqual(new Set([JSON.stringify({ 'Fn::GetAtt': [forwarderIds[0], 'Arn'] })]));
    // Only the two forwarders and the audit outbox may call PutEvents: no route function waits for EventBridge.
    const putEvents = resourcesOf(template, 'AWS::IAM::Policy').filter((policy) => JSON.stringify(policy.Properties.PolicyDocument).includes('events:PutEvents'));
    const putEventsRoles = putEvents.map((policy) => JSON.stringify(policy.Properties.Roles)).sort();
    expect(putEventsRoles).toEqual([expect.stringMatching(/AccessLogUsageFunction/), expect.stringMatching(/AuditStreamFunction/), expect.stringMatching(/UsageLogForwarderFunction/)]);
    // What the forwarder cannot deliver after Lambda's two retries goes to an encrypted queue.
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: forwarderIds[0] },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  it('gives the access-log function the forwarder\'s 60 s and its on-failure queue: it now fails deliveries it could not put on the bus (invocation-async-retain-records.html)', () => {
    const ids = Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('API Gateway answered itself'), Timeout: 60 } }));
    expect(ids).toHaveLength(1);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: ids[0] },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });

  it('runs the audit outbox: the audit table\'s stream (NEW_IMAGE), unfiltered (with-ddb-filtering.html), from the oldest record, bisecting, reporting item failures, with an on-failure queue (services-ddb-params.html)', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', { KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }], StreamSpecification: { StreamViewType: 'NEW_IMAGE' } });
    expect(resourcesOf(template, 'AWS::DynamoDB::GlobalTable', { Properties: { StreamSpecification: Match.anyValue() } })).toHaveLength(1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 86_400,
      FilterCriteria: Match.absent(),
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    const [fn] = typedResourcesOf<{ Environment: { Variables: Record<string, unknown> } }>(template, 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('audit outbox') } });
    expect(Object.keys(fn.Properties.Environment.Variables).sort()).toEqual([LAMBDA_ENV.metricsNamespace, LAMBDA_ENV.usageEventBusName].sort());
    const metrics = typedResourcesOf<{ MetricName: string; Threshold: number }>(template, 'AWS::CloudWatch::Alarm').map((alarm) => [alarm.Properties.MetricName, alarm.Properties.Threshold]);
    expect(metrics).toEqual(expect.arrayContaining([['IteratorAge', 300_000], ['ApproximateNumberOfMessagesVisible', 0]]));
  });

  it('gives the forwarders the signal thresholds and UpdateItem on SIGNAL# counters only, with the counters\' attributes', () => {
    const forwarders = typedResourcesOf<{ Environment: { Variables: Record<string, unknown> } }>(template, 'AWS::Lambda::Function', { Properties: { Description: Match.stringLikeRegexp('usage lines|API Gateway answered itself') } });
    expect(forwarders.map((fn) => fn.Properties.Environment.Variables[LAMBDA_ENV.accountSignals])).toEqual([
      JSON.stringify({ rateLimitSpike: { count: 50, minutes: 5 }, authFailures: { count: 20, minutes: 5 } }),
      JSON.stringify({ rateLimitSpike: { count: 50, minutes: 5 }, authFailures: { count: 20, minutes: 5 } }),
    ]);
    const signalStatements = typedResourcesOf<{ PolicyDocument: { Statement: { Condition?: Record<string, Record<string, unknown>> }[] } }>(template, 'AWS::IAM::Policy')
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .filter((statement) => JSON.stringify(statement.Condition ?? {}).includes('SIGNAL#'));
    expect(signalStatements).toHaveLength(2);
    for (const statement of signalStatements) {
      expect(statement.Condition).toEqual({
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['SIGNAL#*'] },
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'signalCount', 'raisedAt', 'raisingUntil', 'expiresAt'] },
        StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'ALL_NEW'] },
      });
    }
  });

  it('creates the three tables from the contracts, encrypted, with point-in-time recovery', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 3);
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'byEntity', KeySchema: [{ AttributeName: 'entity', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }] })],
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: [Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true }, DeletionProtectionEnabled: true })],
    });
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', { KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }, { AttributeName: 'sk', KeyType: 'RANGE' }] });
  });

  it('lets DynamoDB delete revoked admin tokens once they would have expired, and idle source IP items (TTL on the credentials and limiter tables, not the audit log)', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'byEntity' })],
      TimeToLiveSpecification: { AttributeName: CREDENTIALS_TTL_ATTRIBUTE, Enabled: true },
    });
    const ttl = resourcesOf(template, 'AWS::DynamoDB::GlobalTable').map((table) => table.Properties.TimeToLiveSpecification as { AttributeName: string } | undefined);
    // Three tables: credentials and limiter expire items by their TTL attribute; the audit log keeps every entry.
    expect(ttl.map((spec) => spec?.AttributeName).sort()).toEqual([CREDENTIALS_TTL_ATTRIBUTE, SOURCE_IP_ATTRIBUTES.expiresAt, undefined].sort());
  });

  it('attaches every built-in route to a simple-response Lambda authorizer', () => {
    // The built-in routes, and POST /v1/admin/token with IAM authorization.
    template.resourceCountIs('AWS::ApiGatewayV2::Route', BUILT_IN_ROUTES.length + 1 + PUBLIC_ROUTES.length);
    for (const route of BUILT_IN_ROUTES) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: route.routeKey, AuthorizationType: 'CUSTOM', AuthorizerId: Match.anyValue() });
    }
  });

  it('keys authorizers by Authorization or x-api-key, admin routes on their own and uncached, tenant answers cached no longer than the token clock tolerance', () => {
    const authorizers = resourcesOf(template, 'AWS::ApiGatewayV2::Authorizer').map((r) => r.Properties);
    expect(authorizers.map((a) => [a.Name, a.IdentitySource, a.AuthorizerResultTtlInSeconds, a.EnableSimpleResponses, a.AuthorizerPayloadFormatVersion]).sort()).toEqual([
      ['account-authorization', ['$request.header.Authorization'], TOKEN_CLOCK_TOLERANCE_SECONDS, true, '2.0'],
      ['admin-authorization', ['$request.header.Authorization'], 0, true, '2.0'],
      ['tenant-authorization', ['$request.header.Authorization'], TOKEN_CLOCK_TOLERANCE_SECONDS, true, '2.0'],
      ['tenant-x-api-key', ['$request.header.x-api-key'], TOKEN_CLOCK_TOLERANCE_SECONDS, true, '2.0'],
    ]);
  });

  it('logs access in the contract format and turns gateway answers into usage events', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AccessLogSettings: { Format: JSON.stringify(ACCESS_LOG_FORMAT), DestinationArn: Match.anyValue() },
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
    });
    template.hasResourceProperties('AWS::Logs::SubscriptionFilter', { FilterPattern: '{ $.integrationStatus = "-" }' });
  });

  it('gives functions the tables, secrets and bus in their environment, on the latest Node.js runtime', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: Match.objectLike({
          [LAMBDA_ENV.tables.limiter]: Match.anyValue(),
          [LAMBDA_ENV.tenantTokenSecretArn]: Match.anyValue(),
          [LAMBDA_ENV.adminTokenKeyId]: Match.anyValue(),
          [LAMBDA_ENV.usageEventBusName]: Match.anyValue(),
          [LAMBDA_ENV.tiers]: JSON.stringify({
            free: { requestsPerMinute: 5, burst: 5 },
            basic: { requestsPerMinute: 20, burst: 20 },
            premium: { requestsPerMinute: 100, burst: 100 },
            enterprise: { requestsPerMinute: 1000, burst: 1000 },
          }),
        }),
      },
    });
  });

  it('lets the authorizer only read credentials by key (GetItem, and BatchGetItem for an external identity\'s two mappings), and write nothing but a by-hash key record\'s lastUsedAt, on the credentials table only', () => {
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('AuthorizerFunction') } });
    const statements = (Object.values(policies) as CfnResource[]).flatMap((p) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[] }[] }).Statement);
    const dynamo = statements.filter((s: { Action: string | string[] }) => JSON.stringify(s.Action).includes('dynamodb'));
    const credentialsTable = { 'Fn::GetAtt': [expect.stringMatching(/^MeteredApiCredentialsTable/), 'Arn'] };
    expect(dynamo).toEqual([
      expect.objectContaining({ Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem'], Resource: credentialsTable }),
      expect.objectContaining({
        Action: 'dynamodb:UpdateItem',
        Resource: credentialsTable,
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['KEYHASH#*'] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['pk', 'lastUsedAt'] },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
        },
      }),
    ]);
  });

  it('puts users own routes behind the same authorizer, limiter and tracking', () => {
    // Prepare + Act
    const custom = synth({}, (api, stack) => {
      const orders = new lambda.Function(stack, 'Orders', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=async()=>({})') });
      api.addMeteredRoute('GET /v1/orders/{id}', { handler: orders, access: 'tenant' });
    });
    // Assess: the same authorizer as the built-in tenant routes that take a token...
    const authorizerOf = (routeKey: string) => resourcesOf(custom, 'AWS::ApiGatewayV2::Route', { Properties: { RouteKey: routeKey } })[0].Properties.AuthorizerId;
    expect(authorizerOf('GET /v1/orders/{id}')).toEqual(authorizerOf('GET /v1/users'));
    // ...the limiter's table and the usage bus in its environment...
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Environment: {
        Variables: Match.objectLike({ [LAMBDA_ENV.tables.limiter]: Match.anyValue(), [LAMBDA_ENV.usageEventBusName]: Match.anyValue(), [LAMBDA_ENV.tiers]: Match.anyValue() }),
      },
    });
    // ...the permissions to decide on the limiter item, and no PutEvents: its usage lines go through its log...
    const statements = resourcesOf(custom, 'AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^OrdersServiceRole') }] } }).flatMap(
      (policy) => (policy.Properties.PolicyDocument as { Statement: { Action: unknown }[] }).Statement,
    );
    expect(statements.flatMap((statement) => statement.Action).sort()).toEqual([...LIMITER_DECISION_ACTIONS].sort());
    // ...to the usage-log forwarder, through a subscription filter on its log group.
    expect(resourcesOf(custom, 'AWS::Logs::SubscriptionFilter', { Properties: { FilterPattern: USAGE_LOG_FILTER_PATTERN } })).toHaveLength(USAGE_LINE_FUNCTION_COUNT + 1);
  });

  it('takes tier overrides and an external issuer', () => {
    const custom = synth({ tiers: { free: { requestsPerMinute: 10, failMode: 'open' } }, externalIssuer: { issuer: 'https://idp', clientIds: ['client-a'], jwksUrl: 'https://idp/.well-known/jwks.json' } });
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({
          [LAMBDA_ENV.tiers]: Match.stringLikeRegexp('"free":\\{"requestsPerMinute":10,"burst":10,"failMode":"open"\\}'),
          [LAMBDA_ENV.externalJwksUrl]: 'https://idp/.well-known/jwks.json',
        }) },
    });
  });

  it.each([
    [{ demo: { errorRate: 2 } }, 'demo.errorRate must be from 0 to 1; got 2.'],
    [{ tiers: { free: { failMode: 'sometimes' as never } } }, 'Tier "free": failMode must be "open" or "closed"; got "sometimes".'],
    [{ tiers: { gold: {} } as never }, 'Unknown tier(s) gold'],
  ])('validates %o', (props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  it('names the HTTP API after the stack and construct, not its construct id "Resource"', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { Name: 'TestStack-MeteredApi', ProtocolType: 'HTTP' });
    synth({ apiName: 'usage-api-prod' }).hasResourceProperties('AWS::ApiGatewayV2::Api', { Name: 'usage-api-prod' });
    expect(() => synth({ apiName: 'has spaces' })).toThrow('apiName must be 1-128 letters, digits, "_", "-" or "."; got "has spaces".');
  });

  // The demo routes sleep up to 1.5x the latency (test/lambdas/demo-route.test.ts shows the slowest still answers in time).
  it('gives functions the contract timeout and refuses a demo latency whose slowest request would outlast it', () => {
    template.hasResourceProperties('AWS::Lambda::Function', { Timeout: HANDLER_TIMEOUT_SECONDS });
    expect(() => synth({ demo: { latencyMs: MAX_DEMO_LATENCY_MS } })).not.toThrow();
    expect(() => synth({ demo: { latencyMs: 30_000 } })).toThrow(
      `demo.latencyMs must be from 0 to ${MAX_DEMO_LATENCY_MS}, so that the slowest demo request (1.5x) still answers and is recorded before the 10 s function timeout; got 30000.`,
    );
  });

  it('refuses a malformed route key', () => {
    expect(() =>
      synth({}, (api, stack) => {
        const fn = new lambda.Function(stack, 'Fn', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=async()=>({})') });
        api.addMeteredRoute('/v1/orders', { handler: fn, access: 'tenant' });
      }),
    ).toThrow('routeKey "/v1/orders" must be "<METHOD> /path", e.g. "GET /v1/orders/{id}".');
  });
});
