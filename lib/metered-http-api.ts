import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaNodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as destinations from 'aws-cdk-lib/aws-logs-destinations';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  ACCESS_LOG_FORMAT,
  AUTHORIZER_CACHE_TTL_SECONDS,
  BUILT_IN_ROUTES,
  BuiltInRoute,
  CredentialSource,
  DEMO_LATENCY_SPREAD,
  HANDLER_TIMEOUT_SECONDS,
  IDENTITY_SOURCES,
  MAX_DEMO_LATENCY_MS,
  METERED_API_TABLES,
  MeteredApiTable,
  RouteAccess,
  TABLE_ENV,
  TableDefinition,
  authorizerNameOf,
} from '../contracts/metered-api';
import { TIER_NAMES, TierLimit, TierName, resolveTiers } from '../contracts/tiers';
import { acknowledgeNagFindings, nagArnToken } from './nag-acknowledgements';

/** Where the Lambda entry files live. */
export const HANDLERS_DIR = path.join(__dirname, '..', 'lambdas', 'handlers');

/** A tier's limit and what the limiter does when DynamoDB fails. */
export interface TierSettings extends Partial<TierLimit> {
  /** `open` admits, `closed` refuses, while the limiter's table cannot be reached. */
  readonly failMode?: 'open' | 'closed';
}

/** An external token issuer (e.g. a Cognito user pool) whose access tokens tenants may use. */
export interface ExternalIssuerProps {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUrl: string;
  /** @default ['RS256'] */
  readonly algorithms?: readonly string[];
  /** @default 'tenant_id' */
  readonly tenantClaim?: string;
}

/** Properties of a {@link MeteredHttpApi}. */
export interface MeteredHttpApiProps {
  /** The bus every request is recorded on, as a usage event. */
  readonly usageEventBus: events.IEventBus;
  /**
   * The `source` of those events; it must be on the bus rule's allow-list.
   * @default 'my-applications'
   */
  readonly usageEventSource?: string;
  /**
   * Tier overrides: rate, burst, fail mode.
   * @default - free 5/min, basic 20/min, premium 100/min, enterprise 1000/min; burst = rate;
   * free and basic fail closed, premium and enterprise fail open
   */
  readonly tiers?: Partial<Record<TierName, TierSettings>>;
  /**
   * `iss` of the tokens POST /v1/auth/token mints.
   * @default `urn:api-usage-tracker:<stack name>`
   */
  readonly tokenIssuer?: string;
  /**
   * An external issuer whose access tokens are also accepted (tenants only, never admins).
   * @default - only this API's own tokens and API keys
   */
  readonly externalIssuer?: ExternalIssuerProps;
  /**
   * Added latency and error rate of the demo routes GET /v1/users and GET /v1/products.
   * @default - no added latency, no errors
   */
  readonly demo?: { readonly latencyMs?: number; readonly errorRate?: number };
  /**
   * Stage-wide throttling, before any Lambda runs: a ceiling for the whole API.
   * @default 500 requests per second, burst 1000
   */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /**
   * The HTTP API's name, as the console and `aws apigatewayv2 get-apis` show it.
   * @default `<stack name>-<construct id>`, e.g. `ApiUsageTracker-MeteredApi`
   */
  readonly apiName?: string;
  /**
   * What happens to the tables when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** What a route added with {@link MeteredHttpApi.addMeteredRoute} gets. */
export interface MeteredRouteProps {
  /** The function answering the route; wrap its handler with `meteredRoute` from `lambdas/http`. */
  readonly handler: lambda.Function;
  /** @default 'tenant' */
  readonly access?: RouteAccess;
}

/**
 * The metered public API: an HTTP API whose routes sit behind a Lambda REQUEST authorizer (JWT or
 * API key, simple responses, cached per credential for 60 s), an exact DynamoDB token bucket per
 * tenant and tier, and usage tracking of every answer — including those API Gateway gives itself,
 * read from the access log.
 */
export class MeteredHttpApi extends Construct {
  public readonly httpApi: apigwv2.HttpApi;
  public readonly stage: apigwv2.HttpStage;
  public readonly tables: Readonly<Record<MeteredApiTable, dynamodb.TableV2>>;
  /** Signs tenant tokens (POST /v1/auth/token). */
  public readonly tenantTokenSecret: secretsmanager.Secret;
  /** Signs admin tokens: grant read access to operators only. */
  public readonly adminTokenSecret: secretsmanager.Secret;
  public readonly authorizerFunction: lambdaNodejs.NodejsFunction;
  public readonly accessLogGroup: logs.LogGroup;
  private readonly environment: Record<string, string>;
  private readonly authorizers = new Map<string, HttpLambdaAuthorizer>();
  private readonly functions = new Map<string, lambdaNodejs.NodejsFunction>();
  private readonly usageEventBus: events.IEventBus;

  constructor(scope: Construct, id: string, props: MeteredHttpApiProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const tiers = validateTiers(props.tiers ?? {});
    const demo = { latencyMs: props.demo?.latencyMs ?? 0, errorRate: props.demo?.errorRate ?? 0 };
    if (demo.errorRate < 0 || demo.errorRate > 1) throw new Error(`demo.errorRate must be from 0 to 1; got ${demo.errorRate}.`);
    if (demo.latencyMs < 0 || demo.latencyMs > MAX_DEMO_LATENCY_MS) {
      throw new Error(
        `demo.latencyMs must be from 0 to ${MAX_DEMO_LATENCY_MS}, so that the slowest demo request (${DEMO_LATENCY_SPREAD.max}x) still answers and is recorded before the ${HANDLER_TIMEOUT_SECONDS} s function timeout; got ${demo.latencyMs}.`,
      );
    }
    const throttle = props.throttle ?? { rateLimit: 500, burstLimit: 1000 };
    this.usageEventBus = props.usageEventBus;

    this.tables = Object.fromEntries(
      (Object.entries(METERED_API_TABLES) as [MeteredApiTable, TableDefinition][]).map(([name, definition]) => [name, this.createTable(name, definition, removalPolicy)]),
    ) as Record<MeteredApiTable, dynamodb.TableV2>;

    const secret = (secretId: string, description: string) => {
      const created = new secretsmanager.Secret(this, secretId, {
        description,
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        removalPolicy,
      });
      acknowledgeNagFindings(created, [
        {
          id: 'AwsSolutions-SMG4',
          reason: 'An HS256 signing secret for 15-minute tokens; rotating it invalidates tokens in flight, so it is rotated by redeploying with a new secret during a maintenance window (README).',
        },
      ]);
      return created;
    };
    this.tenantTokenSecret = secret('TenantTokenSecret', 'Signs the metered API tenant tokens (HS256)');
    this.adminTokenSecret = secret('AdminTokenSecret', 'Signs metered API admin tokens; readable by operators only');

    this.environment = {
      [TABLE_ENV.credentials]: this.tables.credentials.tableName,
      [TABLE_ENV.limiter]: this.tables.limiter.tableName,
      [TABLE_ENV.audit]: this.tables.audit.tableName,
      TOKEN_ISSUER: props.tokenIssuer ?? `urn:api-usage-tracker:${Stack.of(this).stackName}`,
      TOKEN_AUDIENCE: 'api-usage-tracker',
      TENANT_TOKEN_SECRET_ARN: this.tenantTokenSecret.secretArn,
      ADMIN_TOKEN_SECRET_ARN: this.adminTokenSecret.secretArn,
      TIERS_JSON: JSON.stringify(tiers),
      USAGE_EVENT_BUS_NAME: props.usageEventBus.eventBusName,
      USAGE_EVENT_SOURCE: props.usageEventSource ?? 'my-applications',
      DEMO_LATENCY_MS: String(demo.latencyMs),
      DEMO_ERROR_RATE: String(demo.errorRate),
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_METRICS_NAMESPACE: 'ApiUsageTracker',
      ...(props.externalIssuer
        ? {
            EXTERNAL_ISSUER: props.externalIssuer.issuer,
            EXTERNAL_AUDIENCE: props.externalIssuer.audience,
            EXTERNAL_JWKS_URL: props.externalIssuer.jwksUrl,
            EXTERNAL_ALGORITHMS: (props.externalIssuer.algorithms ?? ['RS256']).join(','),
            EXTERNAL_TENANT_CLAIM: props.externalIssuer.tenantClaim ?? 'tenant_id',
          }
        : {}),
    };

    this.authorizerFunction = this.handlerFunction('authorizer', 'Authorizer of the metered API: JWT or API key');
    // Key and tenant lookups by primary key only: no index access.
    this.authorizerFunction.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [this.tables.credentials.tableArn] }));
    this.tenantTokenSecret.grantRead(this.authorizerFunction);
    this.adminTokenSecret.grantRead(this.authorizerFunction);

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy });
    // Without a name the API would be called after its construct id, "Resource".
    const apiName = props.apiName ?? `${Stack.of(this).stackName}-${id}`;
    if (!/^[\w.-]{1,128}$/.test(apiName)) throw new Error(`apiName must be 1-128 letters, digits, "_", "-" or "."; got "${apiName}".`);
    this.httpApi = new apigwv2.HttpApi(this, 'Resource', {
      apiName,
      description: 'Metered API: rate limited per tenant tier, every call tracked',
      createDefaultStage: false,
    });
    this.stage = new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FORMAT)),
      },
    });

    for (const route of BUILT_IN_ROUTES) this.addBuiltInRoute(route);
    this.trackGatewayAnswers();
  }

  /** The API's base URL. */
  public get url(): string {
    return this.httpApi.apiEndpoint;
  }

  /**
   * Puts your own Lambda route behind the same authorizer, limiter and usage tracking: the
   * function gets the tables, secrets and bus in its environment and the permissions to use them.
   *
   * @example
   * api.addMeteredRoute('GET /v1/orders/{id}', { handler: ordersFunction });
   */
  public addMeteredRoute(routeKey: string, props: MeteredRouteProps): apigwv2.HttpRoute[] {
    const access = props.access ?? 'tenant';
    for (const [name, value] of Object.entries(this.environment)) props.handler.addEnvironment(name, value);
    this.grantRouteAccess(props.handler, access);
    return this.route(routeKey, props.handler, access, 'authorization');
  }

  /** Lets operators (or a role of theirs) mint admin tokens: read access to the admin secret. */
  public grantMintAdminTokens(grantee: iam.IGrantable): iam.Grant {
    return this.adminTokenSecret.grantRead(grantee);
  }

  private addBuiltInRoute(route: BuiltInRoute): void {
    let fn = this.functions.get(route.handler);
    if (!fn) {
      fn = this.handlerFunction(route.handler, `Metered API ${route.handler} routes`);
      this.grantRouteAccess(fn, route.access);
      if (route.handler === 'token') this.tenantTokenSecret.grantRead(fn);
      this.functions.set(route.handler, fn);
    }
    this.route(route.routeKey, fn, route.access, route.credential);
  }

  private route(routeKey: string, fn: lambda.IFunction, access: RouteAccess, credential: CredentialSource): apigwv2.HttpRoute[] {
    const [method, routePath] = routeKey.split(' ');
    if (!routePath || !(method in apigwv2.HttpMethod)) {
      throw new Error(`routeKey "${routeKey}" must be "<METHOD> /path", e.g. "GET /v1/orders/{id}".`);
    }
    return this.httpApi.addRoutes({
      path: routePath,
      methods: [method as apigwv2.HttpMethod],
      integration: new HttpLambdaIntegration(`${routeKey.replace(/[^A-Za-z0-9]/g, '')}Integration`, fn),
      authorizer: this.authorizer(access, credential),
    });
  }

  /** One authorizer per (access, credential source): API Gateway caches answers per authorizer and credential. */
  private authorizer(access: RouteAccess, credential: CredentialSource): HttpLambdaAuthorizer {
    const name = authorizerNameOf({ access, credential });
    let authorizer = this.authorizers.get(name);
    if (!authorizer) {
      authorizer = new HttpLambdaAuthorizer(`${name}-authorizer`, this.authorizerFunction, {
        authorizerName: name,
        responseTypes: [HttpLambdaResponseType.SIMPLE],
        identitySource: [IDENTITY_SOURCES[credential]],
        resultsCacheTtl: Duration.seconds(AUTHORIZER_CACHE_TTL_SECONDS),
      });
      this.authorizers.set(name, authorizer);
    }
    return authorizer;
  }

  private grantRouteAccess(fn: lambda.IFunction, access: RouteAccess): void {
    this.grantPutUsageEvents(fn);
    if (access === 'admin') {
      for (const table of Object.values(this.tables)) table.grantReadWriteData(fn);
      acknowledgeNagFindings(fn, [
        {
          id: `AwsSolutions-IAM5[Resource::${nagArnToken(this.tables.credentials)}/index/*]`,
          reason: 'Admin routes list tenants through the byEntity index of the credentials table; the wildcard covers that table\'s indexes only.',
        },
      ]);
    } else {
      this.tables.limiter.grant(fn, 'dynamodb:UpdateItem');
    }
  }

  private grantPutUsageEvents(fn: iam.IGrantable): void {
    this.usageEventBus.grantPutEventsTo(fn);
  }

  /** Requests API Gateway answered itself (401, 403, 404, 429) become usage events too. */
  private trackGatewayAnswers(): void {
    const fn = this.handlerFunction('access-log-usage', 'Usage events for requests API Gateway answered itself');
    this.grantPutUsageEvents(fn);
    new logs.SubscriptionFilter(this, 'GatewayAnswers', {
      logGroup: this.accessLogGroup,
      destination: new destinations.LambdaDestination(fn),
      // Only requests that never reached an integration.
      filterPattern: logs.FilterPattern.stringValue('$.integrationStatus', '=', '-'),
    });
  }

  private handlerFunction(name: string, description: string): lambdaNodejs.NodejsFunction {
    const fn = new lambdaNodejs.NodejsFunction(this, `${pascal(name)}Function`, {
      entry: path.join(HANDLERS_DIR, `${name}.ts`),
      handler: 'handler',
      description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(HANDLER_TIMEOUT_SECONDS),
      tracing: lambda.Tracing.ACTIVE,
      environment: this.environment,
      logGroup: new logs.LogGroup(this, `${pascal(name)}Logs`, { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY }),
      projectRoot: path.join(__dirname, '..'),
      depsLockFilePath: path.join(__dirname, '..', 'package-lock.json'),
      // The AWS SDK is bundled too (not taken from the runtime): the versions tested are the versions deployed.
      bundling: { minify: true, sourceMap: true, target: 'node24', forceDockerBundling: false, externalModules: [] },
    });
    acknowledgeNagFindings(fn, [
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'The AWS managed basic execution policy only allows writing this function\'s CloudWatch logs.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'X-Ray tracing (PutTraceSegments, PutTelemetryRecords) has no resource-level permissions.',
      },
    ]);
    return fn;
  }

  private createTable(name: MeteredApiTable, definition: TableDefinition, removalPolicy: RemovalPolicy): dynamodb.TableV2 {
    const attribute = (key: { name: string; type: 'S' | 'N' }): dynamodb.Attribute => ({
      name: key.name,
      type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
    });
    return new dynamodb.TableV2(this, `${pascal(name)}Table`, {
      partitionKey: attribute(definition.partitionKey),
      sortKey: definition.sortKey ? attribute(definition.sortKey) : undefined,
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
      globalSecondaryIndexes: definition.globalSecondaryIndexes?.map((index) => ({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey ? attribute(index.sortKey) : undefined,
      })),
    });
  }
}

const pascal = (name: string) => name.replace(/(^|-)([a-z])/g, (_m, _d, letter: string) => letter.toUpperCase());

function validateTiers(overrides: Partial<Record<TierName, TierSettings>>): Record<TierName, TierSettings> {
  const limits = resolveTiers(overrides);
  return Object.fromEntries(
    TIER_NAMES.map((name) => {
      const failMode = overrides[name]?.failMode;
      if (failMode !== undefined && failMode !== 'open' && failMode !== 'closed') {
        throw new Error(`Tier "${name}": failMode must be "open" or "closed"; got ${JSON.stringify(failMode)}.`);
      }
      return [name, { ...limits[name], ...(failMode ? { failMode } : {}) }];
    }),
  ) as Record<TierName, TierSettings>;
}
