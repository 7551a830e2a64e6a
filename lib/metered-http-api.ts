import * as path from 'node:path';
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { HttpIamAuthorizer, HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as lambdaNodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as destinations from 'aws-cdk-lib/aws-logs-destinations';
import * as lambdaDestinations from 'aws-cdk-lib/aws-lambda-destinations';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  ACCESS_LOG_FORMAT,
  ADMIN_TOKEN_ROUTE,
  AUDIT_ENTRY_ATTRIBUTES,
  AUDIT_PARTITION_PREFIX,
  AUTHORIZER_CACHE_TTL_BY_ACCESS,
  BUILT_IN_ROUTES,
  BuiltInRoute,
  CredentialSource,
  DEFAULT_TOKEN_AUDIENCE,
  DEMO_LATENCY_SPREAD,
  HANDLER_TIMEOUT_SECONDS,
  IDENTITY_SOURCES,
  MAX_DEMO_LATENCY_MS,
  METERED_API_TABLES,
  MeteredApiTable,
  PUBLIC_ROUTES,
  PublicRoute,
  RouteAccess,
  TableDefinition,
  authorizerNameOf,
} from '../contracts/metered-api';
import { LIMITER_ATTRIBUTES, LIMITER_ATTRIBUTE_PATTERNS } from '../contracts/limiter-item';
import { SOURCE_IP_ATTRIBUTES, sourceIpItemKey } from '../contracts/source-ip-limits';
import { TierName, TierOverride, tierOverridesOf } from '../contracts/tiers';
import { AccountsPoolSettings, LAMBDA_ENV, LambdaEnvironmentSettings, accountSignalsEnvironment, lambdaEnvironment } from '../contracts/lambda-environment';
import { AccountSignals, DEFAULT_ACCOUNT_SIGNALS, NOTIFICATION_OPT_OUTS_ATTRIBUTE, SIGNAL_ITEM_ATTRIBUTES, SIGNAL_PARTITION_PREFIX } from '../contracts/account-events';
import { SIGNAL_CLAIM_ATTRIBUTE } from '../lambdas/account-events/signal-counters';
import { CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_SECONDS, DEFAULT_CORS_ALLOW_ORIGINS, corsOriginProblems } from '../contracts/cors';
import { DEFAULT_EVENT_SOURCE } from '../contracts/usage-event';
import { USAGE_LOG_FILTER_PATTERN } from '../contracts/usage-log-line';
import { externalIssuerProblems } from '../contracts/external-issuer';
import { aboveThresholdAlarm, notifyTopic } from './topic-alarms';
import { acknowledgeNagFindings, nagArnToken } from './nag-acknowledgements';
import { HANDLERS_DIR, PROJECT_ROOT, nodejsBundlingOptions } from './lambda-bundling';

/** What a tenant function may do on the limiter table: decide, and read the item's standing when the write fails. */
export const LIMITER_DECISION_ACTIONS = ['dynamodb:UpdateItem', 'dynamodb:GetItem'] as const;

/**
 * The credentials table's items by their partition key's prefix (lambdas/credentials/credential-store.ts):
 * tenants, API keys by id and by hash, external identity mappings. The limiter item of a tenant
 * has the tenant's key too (`TENANT#<id>`, lambdas/limiter/token-bucket-limiter.ts), in its own table.
 */
export const CREDENTIAL_ITEM_PREFIXES = { tenant: 'TENANT#', key: 'KEY#', keyHash: 'KEYHASH#', externalIdentity: 'EXTID#' } as const;

/** The attribute of a key record the authorizer keeps current (at most once per KEY_LAST_USED_RESOLUTION_SECONDS). */
export const KEY_LAST_USED_ATTRIBUTE = 'lastUsedAt';

/** The credentials table's partition key attribute, which every item request names. */
const CREDENTIALS_KEY_ATTRIBUTE = METERED_API_TABLES.credentials.partitionKey.name;

/** What the admin functions may do to the audit log: append entries, and read them by month. */
const AUDIT_APPEND_ACTIONS = ['dynamodb:PutItem'] as const;
const AUDIT_READ_ACTIONS = ['dynamodb:Query'] as const;

/** What the mint function may do with the admin token key, and what the authorizer may. */
const ADMIN_TOKEN_SIGN_ACTIONS = ['kms:Sign'] as const;
const ADMIN_TOKEN_VERIFY_ACTIONS = ['kms:GetPublicKey'] as const;
/** What the account may do with the admin token key: everything but signing. */
const ADMIN_TOKEN_KEY_ADMINISTRATION_ACTIONS = [
  'kms:Create*', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*', 'kms:Revoke*', 'kms:Disable*',
  'kms:Get*', 'kms:Delete*', 'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion', 'kms:CancelKeyDeletion',
] as const;

/**
 * A tier's limit and what the limiter does when DynamoDB fails (`open` admits, `closed` refuses,
 * while the limiter's table cannot be reached): the tier policy's override (contracts/tiers.ts).
 */
export type TierSettings = TierOverride;

/**
 * An external token issuer (e.g. a Cognito user pool) whose access tokens tenants may use. Each
 * identity (issuer and subject, or issuer and app client) acts for the tenant an admin mapped it
 * to (POST /v1/admin/tenants/{tenantId}/external-identities); no claim names a tenant.
 */
export interface ExternalIssuerProps {
  /** `iss` of its tokens, e.g. `https://cognito-idp.<region>.amazonaws.com/<user pool id>`. */
  readonly issuer: string;
  /**
   * App clients whose access tokens are accepted (`client_id`: Cognito access tokens have no `aud`).
   */
  readonly clientIds: readonly string[];
  /** Its JWKS, https only, e.g. `<issuer>/.well-known/jwks.json`. */
  readonly jwksUrl: string;
  /** @default ['RS256'] */
  readonly algorithms?: readonly string[];
}

/** Properties of a {@link MeteredHttpApi}. */
export interface MeteredHttpApiProps {
  /** The bus every request is recorded on, as a usage event. */
  readonly usageEventBus: events.IEventBus;
  /**
   * The `source` of those events; it must be on the bus rule's allow-list.
   * @default DEFAULT_EVENT_SOURCE ('my-applications')
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
   * The consumer accounts' user pool (issue 15; {@link AccountsUserPool} in lib/accounts-user-pool.ts):
   * the authorizer verifies its access tokens on the account routes (GET /v1/auth/me, /v1/keys),
   * the `auth` routes (POST /v1/auth/register, confirm, login, refresh, logout) sign up and in with
   * its app client. The routes exist either way; without a pool the `auth` routes answer 503
   * accounts-unavailable, and no token gets past the account routes' authorizer.
   * @default - no accounts
   */
  readonly accounts?: AccountsPoolSettings;
  /**
   * Origins whose pages may call the API (CORS): `*`, or `https://` origins (`http://` for
   * localhost only). API Gateway answers the preflight `OPTIONS` itself and adds the CORS headers
   * to every integration answer (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html).
   * @default DEFAULT_CORS_ALLOW_ORIGINS (any page: credentials travel in headers, never in cookies)
   */
  readonly corsAllowOrigins?: readonly string[];
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
   * Route-level throttles (the stage's `RouteSettings`), keyed by route key, merged over the
   * defaults: tighter than the stage for routes a flood can reach without a token, so that they
   * cannot use up the stage's rate for every tenant
   * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html).
   * @default DEFAULT_ROUTE_THROTTLES: POST /v1/auth/token and the account sign-up and sign-in routes
   * (POST /v1/auth/register, confirm, login, refresh, logout) 20/s burst 40; each admin and account
   * route 10/s burst 20; the reference routes (GET /openapi.json, /docs, /sdk, /sdk.js, /sdk.mjs) 10/s burst 20
   */
  readonly routeThrottles?: Readonly<Record<string, RouteThrottle>>;
  /**
   * Reserved concurrency of the authorizer function: a flood of fresh credentials can run at most
   * this many authorizers at once (beyond it API Gateway answers 500 without a Lambda call), and
   * the account's other functions keep their concurrency. 0 reserves none.
   * @default 100: the stage's 500 requests per second at 200 ms per uncached authorization
   */
  readonly authorizerReservedConcurrency?: number;
  /**
   * Turns the default execute-api endpoint off, so that the API answers only on a custom domain
   * name (see `MeteredApiOriginDomain`), e.g. the origin behind CloudFront and AWS WAF
   * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-disable-default-endpoint.html).
   * @default false
   */
  readonly disableExecuteApiEndpoint?: boolean;
  /**
   * Whether the token exchange limits and bans by source address in its function. Turn it off when
   * the API sits behind CloudFront: the origin then sees the CloudFront host's address, not the
   * viewer's (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/example-function-add-true-client-ip-header.html),
   * and the edge's WAF rule limits the token exchange per viewer address instead.
   * @default true
   */
  readonly sourceIpGuard?: boolean;
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
  /**
   * Maps the functions' stack traces to the TypeScript sources (`NODE_OPTIONS=--enable-source-maps`).
   * The source maps are deployed either way; reading them costs cold-start time, so only when asked.
   * @default false
   */
  readonly sourceMapsAtRuntime?: boolean;
  /**
   * When the forwarders raise signal events (issue 16): more than `count` 429s of a tenant, or
   * 401/403s from a source, within `minutes`.
   * @default DEFAULT_ACCOUNT_SIGNALS
   */
  readonly accountSignals?: AccountSignals;
  /**
   * Where the audit stream's alarms go (its on-failure queue, its iterator age).
   * @default - the alarms exist without an action
   */
  readonly alarmTopic?: sns.ITopic;
}

/** The alarms of the audit outbox (see {@link MeteredHttpApi.auditStreamFunction}). */
export type AuditStreamAlarm = 'deadLetters' | 'iteratorAge';

/** How far behind the audit stream's function may fall before its alarm fires: its batches retry for at most a few minutes. */
export const AUDIT_STREAM_ITERATOR_AGE_ALARM_MS = 5 * 60 * 1000;

/** A route's steady rate (requests per second) and burst, enforced by API Gateway before any Lambda runs. */
export interface RouteThrottle {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** The throttle of the routes that exchange something a caller holds (an API key, a password, a refresh token) for a credential. */
const CREDENTIAL_EXCHANGE_THROTTLE: RouteThrottle = { rateLimit: 20, burstLimit: 40 };
/** The throttle of the routes people call by hand or a few times a session: admin, account, reference. */
const OCCASIONAL_ROUTE_THROTTLE: RouteThrottle = { rateLimit: 10, burstLimit: 20 };

/**
 * Route throttles unless `routeThrottles` overrides them: the token exchange and the account
 * sign-up and sign-in routes are what a caller reaches with nothing but a guess (tokens last 15
 * minutes, so a client needs few). Cognito enforces request rates per account and region for each
 * category of operations (UserCreation, UserAuthentication: https://docs.aws.amazon.com/cognito/latest/developerguide/quotas.html);
 * a flood refused here does not use them up for everyone's sign-in. Operators do not script more
 * than a few admin calls per second, and an account owner manages a few keys. The reference
 * routes need no credential at all, and a reader loads the page, the document and the client once.
 */
export const DEFAULT_ROUTE_THROTTLES: Readonly<Record<string, RouteThrottle>> = Object.fromEntries([
  ...BUILT_IN_ROUTES.flatMap((route): [string, RouteThrottle][] => {
    if (route.routeKey === 'POST /v1/auth/token') return [[route.routeKey, CREDENTIAL_EXCHANGE_THROTTLE]];
    if (route.access === 'admin' || route.access === 'account') return [[route.routeKey, OCCASIONAL_ROUTE_THROTTLE]];
    return [];
  }),
  ...PUBLIC_ROUTES.map((route): [string, RouteThrottle] => [route.routeKey, route.guarded ? CREDENTIAL_EXCHANGE_THROTTLE : OCCASIONAL_ROUTE_THROTTLE]),
]);

/** What a route added with {@link MeteredHttpApi.addMeteredRoute} gets. */
export interface MeteredRouteProps {
  /** The function answering the route; wrap its handler with `meteredRoute` from `lambdas/http`. */
  readonly handler: lambda.Function;
  /**
   * Who may call the route: `tenant` (tenant API keys and tokens, metered by the limiter) or
   * `admin` (admin credentials only). Required: the route is attached to the authorizer of that
   * access, which grants exactly it, so a forgotten declaration cannot open an admin route to tenants.
   */
  readonly access: RouteAccess;
}

/**
 * The metered public API: an HTTP API whose routes sit behind Lambda REQUEST authorizers (JWT or
 * API key, simple responses; one per access, the admin one uncached, tenant answers cached per
 * credential for at most the token clock tolerance), an exact DynamoDB token bucket per
 * tenant and tier, and usage tracking of every answer — including those API Gateway gives itself,
 * read from the access log.
 */
export class MeteredHttpApi extends Construct {
  public readonly httpApi: apigwv2.HttpApi;
  public readonly stage: apigwv2.HttpStage;
  public readonly tables: Readonly<Record<MeteredApiTable, dynamodb.TableV2>>;
  /** Signs tenant tokens (POST /v1/auth/token). */
  public readonly tenantTokenSecret: secretsmanager.Secret;
  /** Signs admin tokens (ES256): the mint function may sign, the authorizer read the public key; nothing else. */
  public readonly adminTokenKey: kms.Key;
  /** POST /v1/admin/token (IAM authorization); see {@link grantMintAdminTokens}. */
  public readonly adminTokenRoute: apigwv2.HttpRoute;
  /** Serves the API's reference and the client for pages (GET /openapi.json, /docs, /sdk, /sdk.js, /sdk.mjs) without authorization; it makes no AWS call. */
  public readonly apiDocsFunction: lambdaNodejs.NodejsFunction;
  /** The account routes a caller reaches before it has a credential (POST /v1/auth/register, confirm, login, refresh, logout), without authorization. */
  public readonly authFunction: lambdaNodejs.NodejsFunction;
  public readonly authorizerFunction: lambdaNodejs.NodejsFunction;
  public readonly accessLogGroup: logs.LogGroup;
  /** The log groups of the functions that write usage lines (the dashboard's quota use reads them). */
  public readonly usageLineLogGroups: logs.ILogGroup[] = [];
  /** Puts the usage lines the route functions log on the bus (see {@link forwardUsageLines}). */
  public readonly usageLogForwarder: lambdaNodejs.NodejsFunction;
  /** What the forwarder could not deliver after Lambda's retries: each message one subscription delivery, to replay. */
  public readonly usageLogDeadLetterQueue: sqs.Queue;
  /**
   * The audit outbox: each new audit entry (the audit table's stream, INSERTs only) becomes an
   * account event on the usage bus (lambdas/handlers/audit-stream.ts).
   */
  public readonly auditStreamFunction: lambdaNodejs.NodejsFunction;
  /** Where Lambda records stream batches the audit-stream function failed past its retries (their shard and sequence numbers). */
  public readonly auditStreamDeadLetterQueue: sqs.Queue;
  public readonly auditStreamAlarms: Readonly<Record<AuditStreamAlarm, cloudwatch.Alarm>>;
  private readonly environment: Record<string, string>;
  /** {@link environment} and the accounts' user pool: for the authorizer and the account functions only. */
  private readonly accountsEnvironment: Record<string, string>;
  private readonly authorizers = new Map<string, HttpLambdaAuthorizer>();
  private readonly functions = new Map<string, lambdaNodejs.NodejsFunction>();
  private readonly usageEventBus: events.IEventBus;
  private readonly routeThrottles: Readonly<Record<string, RouteThrottle>>;
  /** Whether the token exchange and the account sign-up and sign-in routes run the per-source-IP guard (off behind CloudFront). */
  public readonly sourceIpGuard: boolean;
  private readonly accountSignals: AccountSignals;

  constructor(scope: Construct, id: string, props: MeteredHttpApiProps) {
    super(scope, id);
    const settings = validatedSettings(this, props);
    this.usageEventBus = props.usageEventBus;
    this.routeThrottles = settings.routeThrottles;
    this.tables = this.createTables(settings.removalPolicy);
    this.tenantTokenSecret = this.createTenantTokenSecret(settings.removalPolicy);
    this.adminTokenKey = this.createAdminTokenKey(settings.removalPolicy);
    const environment: LambdaEnvironmentSettings = {
      tables: { credentials: this.tables.credentials.tableName, limiter: this.tables.limiter.tableName, audit: this.tables.audit.tableName },
      tokenIssuer: props.tokenIssuer ?? `urn:api-usage-tracker:${Stack.of(this).stackName}`,
      tokenAudience: DEFAULT_TOKEN_AUDIENCE,
      tenantTokenSecretArn: this.tenantTokenSecret.secretArn,
      adminTokenKeyId: this.adminTokenKey.keyArn,
      tiers: settings.tiers,
      usageBus: { eventBusName: props.usageEventBus.eventBusName, source: props.usageEventSource ?? DEFAULT_EVENT_SOURCE },
      demo: settings.demo,
      external: props.externalIssuer,
      sourceMapsAtRuntime: props.sourceMapsAtRuntime ?? false,
      sourceIpGuard: props.sourceIpGuard ?? true,
    };
    this.environment = lambdaEnvironment(environment);
    this.accountsEnvironment = lambdaEnvironment({ ...environment, ...(props.accounts ? { accounts: props.accounts } : {}) });
    this.sourceIpGuard = props.sourceIpGuard ?? true;
    this.accountSignals = props.accountSignals ?? DEFAULT_ACCOUNT_SIGNALS;
    this.authorizerFunction = this.createAuthorizerFunction(settings.authorizerReservedConcurrency);
    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: settings.removalPolicy });
    this.httpApi = this.createHttpApi(props.apiName ?? `${Stack.of(this).stackName}-${id}`, props.disableExecuteApiEndpoint ?? false, settings.corsAllowOrigins);
    this.stage = this.createStage(settings.throttle);
    [this.usageLogForwarder, this.usageLogDeadLetterQueue] = this.createUsageLogForwarder();
    for (const route of BUILT_IN_ROUTES) this.addBuiltInRoute(route);
    this.adminTokenRoute = this.addAdminTokenRoute();
    [this.apiDocsFunction, this.authFunction] = this.addPublicRoutes();
    this.node.addValidation({ validate: () => this.throttlesOfMissingRoutes() });
    this.trackGatewayAnswers();
    [this.auditStreamFunction, this.auditStreamDeadLetterQueue] = this.createAuditStream();
    this.auditStreamAlarms = this.createAuditStreamAlarms(props.alarmTopic);
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
   * api.addMeteredRoute('GET /v1/orders/{id}', { handler: ordersFunction, access: 'tenant' });
   */
  public addMeteredRoute(routeKey: string, props: MeteredRouteProps): apigwv2.HttpRoute[] {
    // Checked at run time too: a JavaScript caller (or a cast) can pass anything.
    const access: unknown = props.access;
    if (access !== 'tenant' && access !== 'admin') {
      throw new Error(`Route "${routeKey}" at ${this.node.path}: access must be "tenant" or "admin" (who may call the route); got ${JSON.stringify(access)}.`);
    }
    for (const [name, value] of Object.entries(this.environment)) props.handler.addEnvironment(name, value);
    this.grantRouteAccess(props.handler, access);
    this.forwardUsageLines(props.handler, `Custom${routeKey.replace(/[^A-Za-z0-9]/g, '')}`);
    return this.route(routeKey, props.handler, access, 'authorization');
  }

  /**
   * Lets operators (a role of theirs) mint admin tokens: `execute-api:Invoke` on POST
   * /v1/admin/token, whose IAM authorization proves who they are. Nothing else mints one: only the
   * mint function may use the admin token key to sign.
   */
  public grantMintAdminTokens(grantee: iam.IGrantable): iam.Grant {
    return this.adminTokenRoute.grantInvoke(grantee);
  }

  private createTables(removalPolicy: RemovalPolicy): Readonly<Record<MeteredApiTable, dynamodb.TableV2>> {
    return Object.fromEntries(
      (Object.entries(METERED_API_TABLES) as [MeteredApiTable, TableDefinition][]).map(([name, definition]) => [name, this.createTable(name, definition, removalPolicy)]),
    ) as Record<MeteredApiTable, dynamodb.TableV2>;
  }

  private createTenantTokenSecret(removalPolicy: RemovalPolicy): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'TenantTokenSecret', {
      description: 'Signs the metered API tenant tokens (HS256)',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy,
    });
    acknowledgeNagFindings(secret, [
      {
        id: 'AwsSolutions-SMG4',
        reason: 'An HS256 signing secret for 15-minute tokens; rotating it invalidates tokens in flight, so it is rotated by redeploying with a new secret during a maintenance window (README).',
      },
    ]);
    return secret;
  }

  /**
   * The authorizer function: reads credentials by key, the tenant token secret, and the admin token
   * key's public half; verifies account tokens against the pool's JWKS (public, no permission); and
   * notes when a key was last used.
   */
  private createAuthorizerFunction(reservedConcurrency: number): lambdaNodejs.NodejsFunction {
    const fn = this.handlerFunction('authorizer', 'Authorizer of the metered API: JWT or API key', this.accountsEnvironment);
    if (reservedConcurrency > 0) {
      (fn.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = reservedConcurrency;
    }
    // Lookups by primary key only, no index access: an API key or an admin token's revocation (GetItem), an
    // external identity's two possible mappings in one request (BatchGetItem, its own IAM action:
    // https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html).
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'], resources: [this.tables.credentials.tableArn] }));
    this.grantTouchKeyLastUsed(fn);
    this.tenantTokenSecret.grantRead(fn);
    this.allowOnAdminTokenKey('VerifyAdminTokens', fn, ADMIN_TOKEN_VERIFY_ACTIONS);
    return fn;
  }

  /**
   * The HTTP API, with CORS for consumers' pages (contracts/cors.ts): API Gateway answers preflight
   * `OPTIONS` requests itself, with no OPTIONS route, so they reach neither an authorizer nor a
   * function, and adds the configured headers to the integrations' answers, ignoring any CORS
   * header a function returns (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html).
   * No credentials mode: credentials travel in the Authorization and x-api-key headers, never in cookies.
   */
  private createHttpApi(apiName: string, disableExecuteApiEndpoint: boolean, corsAllowOrigins: readonly string[]): apigwv2.HttpApi {
    // Without a name the API would be called after its construct id, "Resource".
    if (!/^[\w.-]{1,128}$/.test(apiName)) throw new Error(`apiName must be 1-128 letters, digits, "_", "-" or "."; got "${apiName}".`);
    return new apigwv2.HttpApi(this, 'Resource', {
      apiName,
      description: 'Metered API: rate limited per tenant tier, every call tracked',
      createDefaultStage: false,
      disableExecuteApiEndpoint,
      corsPreflight: {
        allowOrigins: [...corsAllowOrigins],
        allowHeaders: [...CORS_ALLOW_HEADERS],
        exposeHeaders: [...CORS_EXPOSE_HEADERS],
        allowMethods: CORS_ALLOW_METHODS.map((method) => apigwv2.CorsHttpMethod[method]),
        maxAge: Duration.seconds(CORS_MAX_AGE_SECONDS),
      },
    });
  }

  /** The `$default` stage: stage-wide throttling, and the access log in the contract's format. */
  private createStage(throttle: RouteThrottle): apigwv2.HttpStage {
    return new apigwv2.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FORMAT)),
      },
    });
  }

  /** Route throttles that name no route of this API: each is a synth error. */
  private throttlesOfMissingRoutes(): string[] {
    const routed = new Set(this.httpApi.node.children.filter((c) => c instanceof apigwv2.HttpRoute).map((r) => (r.node.defaultChild as apigwv2.CfnRoute).routeKey));
    return Object.keys(this.routeThrottles)
      .filter((key) => !routed.has(key))
      .map((key) => `routeThrottles names "${key}", which is no route of this API; add the route with addMeteredRoute or remove its throttle.`);
  }

  /**
   * POST /v1/admin/token with IAM authorization: API Gateway verifies the caller's SigV4 signature
   * and `execute-api:Invoke` permission, then passes the principal's ARN to the function as
   * `requestContext.authorizer.iam.userArn`
   * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control-iam.html).
   */
  private addAdminTokenRoute(): apigwv2.HttpRoute {
    const fn = this.handlerFunction(ADMIN_TOKEN_ROUTE.handler, 'Mints admin tokens for IAM-authenticated operators (KMS Sign)');
    this.forwardUsageLines(fn, pascal(ADMIN_TOKEN_ROUTE.handler));
    this.grantAppendAudit(fn);
    this.allowOnAdminTokenKey('MintAdminTokens', fn, ADMIN_TOKEN_SIGN_ACTIONS);
    this.functions.set(ADMIN_TOKEN_ROUTE.handler, fn);
    const [method, routePath] = ADMIN_TOKEN_ROUTE.routeKey.split(' ');
    return new apigwv2.HttpRoute(this, 'AdminTokenRoute', {
      httpApi: this.httpApi,
      routeKey: apigwv2.HttpRouteKey.with(routePath, httpMethodOf(method)),
      integration: new HttpLambdaIntegration('AdminTokenIntegration', fn),
      authorizer: new HttpIamAuthorizer(),
    });
  }

  /**
   * The admin token key: ECC_NIST_P256 for ES256 (KMS Sign answers DER, converted to JWS r||s at
   * run time). Its key policy lets the account administer the key but not sign with it: signing
   * is granted by name to the mint function alone, so no IAM policy in the account (`kms:*` on
   * `*` included) can mint admin tokens
   * (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html). Whoever may
   * change the key policy (`kms:PutKeyPolicy`) could still grant themselves Sign: keep that to the
   * deployment role.
   */
  private createAdminTokenKey(removalPolicy: RemovalPolicy): kms.Key {
    const key = new kms.Key(this, 'AdminTokenKey', {
      description: 'Signs metered API admin tokens (ES256); only the mint function may sign',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      removalPolicy,
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'AdministerButNeverSign',
            principals: [new iam.AccountRootPrincipal()],
            actions: [...ADMIN_TOKEN_KEY_ADMINISTRATION_ACTIONS],
            resources: ['*'],
          }),
        ],
      }),
    });
    acknowledgeNagFindings(key, [
      { id: 'AwsSolutions-KMS5', reason: 'KMS cannot rotate asymmetric keys automatically; admin tokens live 15 minutes, so the key is rotated by replacing it (README).' },
    ]);
    return key;
  }

  /** A key policy statement naming one function's role: the key policy alone grants it. */
  private allowOnAdminTokenKey(sid: string, fn: lambda.IFunction, actions: readonly string[]): void {
    const role = fn.role;
    if (!role) throw new Error(`${fn.node.path} has no role to name in the admin token key's policy.`);
    this.adminTokenKey.addToResourcePolicy(new iam.PolicyStatement({ sid, principals: [role], actions: [...actions], resources: ['*'] }));
  }

  private addBuiltInRoute(route: BuiltInRoute): void {
    let fn = this.functions.get(route.handler);
    if (!fn) {
      fn = this.handlerFunction(route.handler, `Metered API ${route.handler} routes`, route.access === 'account' ? this.accountsEnvironment : this.environment);
      this.grantRouteAccess(fn, route.access);
      if (route.handler === 'token' && this.sourceIpGuard) this.grantSourceIpDecisions(fn);
      this.forwardUsageLines(fn, pascal(route.handler));
      if (route.handler === 'token') this.tenantTokenSecret.grantRead(fn);
      this.functions.set(route.handler, fn);
    }
    this.route(route.routeKey, fn, route.access, route.credential);
  }

  private route(routeKey: string, fn: lambda.IFunction, access: RouteAccess, credential: CredentialSource): apigwv2.HttpRoute[] {
    return this.addRoute(routeKey, fn, this.authorizer(access, credential));
  }

  /**
   * PUBLIC_ROUTES: routes without an authorizer (`HttpNoneAuthorizer`, AuthorizationType NONE:
   * https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_apigatewayv2.HttpNoneAuthorizer.html),
   * each throttled per route. The reference and the client for pages (`api-docs`) are served by a
   * function with no permission beyond its own log and traces; the account routes a caller reaches
   * before it has a credential (`auth`) by a function that speaks to Cognito (no IAM needed) and
   * writes a new account's tenant, behind the per-source-IP guard as the token exchange is.
   * Their answers are recorded as anonymous usage (never billed), through their logs as every route's.
   */
  private addPublicRoutes(): [lambdaNodejs.NodejsFunction, lambdaNodejs.NodejsFunction] {
    const apiDocs = this.handlerFunction('api-docs', 'Serves the metered API reference (OpenAPI document and page) and the client for pages');
    const auth = this.handlerFunction('auth', 'Consumer accounts: register, confirm, log in, refresh, log out (Amazon Cognito)', this.accountsEnvironment);
    this.grantCreateOwnedTenants(auth);
    if (this.sourceIpGuard) this.grantSourceIpDecisions(auth);
    const byHandler = { 'api-docs': apiDocs, auth };
    for (const [handler, fn] of Object.entries(byHandler)) {
      this.forwardUsageLines(fn, pascal(handler));
      this.functions.set(handler, fn);
    }
    for (const route of PUBLIC_ROUTES) {
      const routes = this.addRoute(route.routeKey, byHandler[route.handler], new apigwv2.HttpNoneAuthorizer());
      acknowledgeNagFindings(routes[0], [{ id: 'AwsSolutions-APIG4', reason: PUBLIC_ROUTE_REASONS[route.handler] }]);
    }
    return [apiDocs, auth];
  }

  private addRoute(routeKey: string, fn: lambda.IFunction, authorizer: apigwv2.IHttpRouteAuthorizer): apigwv2.HttpRoute[] {
    const [method, routePath] = routeKey.split(' ') as [string, string | undefined];
    const httpMethod = httpMethodOf(method);
    if (!routePath || !httpMethod) {
      throw new Error(`routeKey "${routeKey}" must be "<METHOD> /path", e.g. "GET /v1/orders/{id}".`);
    }
    const routes = this.httpApi.addRoutes({
      path: routePath,
      methods: [httpMethod],
      integration: new HttpLambdaIntegration(`${routeKey.replace(/[^A-Za-z0-9]/g, '')}Integration`, fn),
      authorizer,
    });
    const limit = Object.hasOwn(this.routeThrottles, routeKey) ? this.routeThrottles[routeKey] : undefined;
    if (limit) {
      const stage = this.stage.node.defaultChild as apigwv2.CfnStage;
      // CloudFormation's RouteSettings: route key → settings (the L1 types it as `any`).
      const routeSettings = (stage.routeSettings ?? {}) as Record<string, unknown>;
      stage.routeSettings = { ...routeSettings, [routeKey]: { ThrottlingRateLimit: limit.rateLimit, ThrottlingBurstLimit: limit.burstLimit } };
      // A stage's RouteSettings may only name routes that exist.
      for (const route of routes) this.stage.node.addDependency(route);
    }
    return routes;
  }

  /**
   * One authorizer per (access, credential source): API Gateway caches answers per authorizer and
   * credential. Each invokes the authorizer function through an alias of its own name, from which
   * the function knows the access to grant (`authorizerConfigOfInvokedArn`): the route's access is
   * configuration the stack sets, not something the function looks up from the request. The admin
   * authorizer does not cache (a TTL of 0 turns caching off), so neither a refusal nor a revoked
   * credential outlives the request it was decided for.
   */
  private authorizer(access: RouteAccess, credential: CredentialSource): HttpLambdaAuthorizer {
    const name = authorizerNameOf({ access, credential });
    let authorizer = this.authorizers.get(name);
    if (!authorizer) {
      const alias = new lambda.Alias(this.authorizerFunction, `${pascal(name)}Alias`, {
        aliasName: name,
        version: this.authorizerFunction.currentVersion,
        description: `The ${name} authorizer: grants ${access} access from the ${credential} header`,
      });
      authorizer = new HttpLambdaAuthorizer(`${name}-authorizer`, alias, {
        authorizerName: name,
        responseTypes: [HttpLambdaResponseType.SIMPLE],
        identitySource: [IDENTITY_SOURCES[credential]],
        resultsCacheTtl: Duration.seconds(AUTHORIZER_CACHE_TTL_BY_ACCESS[access]),
      });
      this.authorizers.set(name, authorizer);
    }
    return authorizer;
  }

  /** A route function's tables; its usage events go through its log ({@link forwardUsageLines}), never PutEvents. */
  private grantRouteAccess(fn: lambda.IFunction, access: RouteAccess): void {
    if (access === 'account') {
      this.grantManageOwnKeys(fn);
    } else if (access === 'admin') {
      this.tables.credentials.grantReadWriteData(fn);
      this.tables.limiter.grantReadWriteData(fn);
      this.grantAppendAudit(fn);
      acknowledgeNagFindings(fn, [
        {
          id: `AwsSolutions-IAM5[Resource::${nagArnToken(this.tables.credentials)}/index/*]`,
          reason: 'Admin routes list tenants through the byEntity index of the credentials table; the wildcard covers that table\'s indexes only.',
        },
      ]);
    } else {
      this.grantLimiterDecisions(fn);
    }
  }

  /**
   * The limiter's calls (a conditional UpdateItem, and a consistent GetItem when the write fails),
   * on the limiter item's attributes only. `dynamodb:Attributes` holds every attribute name a
   * request names, whether it is written or only evaluated by the condition, so the limiter's own
   * checks (`tier`, `blocked`, `blockedKeys`, `revokedKeys`) are in the list: it keeps tenant
   * functions from any other attribute, and so from growing the item or storing data on it, not
   * from writing those four. `StringLike` takes the counters' dated names as patterns.
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
   */
  private grantLimiterDecisions(fn: lambda.IFunction): void {
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: [...LIMITER_DECISION_ACTIONS],
      resourceArns: [this.tables.limiter.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:Attributes': [...LIMITER_ATTRIBUTE_PATTERNS] } },
    });
  }

  /**
   * The token exchange's source IP guard (lambdas/limiter/source-ip-guard.ts): conditional
   * UpdateItems on `IP#…` items of the limiter table, with their own attributes only (GCRA `tat`,
   * offences, bans, the TTL). `dynamodb:LeadingKeys` keeps the grant off tenant items, whose
   * attributes the limiter's grant covers. https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
   */
  private grantSourceIpDecisions(fn: lambda.IFunction): void {
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['dynamodb:UpdateItem'],
      resourceArns: [this.tables.limiter.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [sourceIpItemKey('*')] },
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': [LIMITER_ATTRIBUTES.pk, LIMITER_ATTRIBUTES.tat, ...Object.values(SOURCE_IP_ATTRIBUTES)] },
      },
    });
  }

  /**
   * The audit log is append-only: new entries (PutItem) and reading by month (Query), no
   * UpdateItem, DeleteItem or BatchWriteItem. IAM cannot require a ConditionExpression, so the
   * PutItem is bounded by what it can check: audit partitions only (`dynamodb:LeadingKeys`), the
   * entry's attributes only (`dynamodb:Attributes`) and no old item returned
   * (`dynamodb:ReturnValues`); AuditLog.append writes with `attribute_not_exists(pk)`, so no entry
   * is ever overwritten by this code
   * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
   */
  private grantAppendAudit(fn: iam.IGrantable, options: { readonly read: boolean } = { read: true }): void {
    fn.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [...AUDIT_APPEND_ACTIONS],
        resources: [this.tables.audit.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${AUDIT_PARTITION_PREFIX}*`] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...AUDIT_ENTRY_ATTRIBUTES] },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
        },
      }),
    );
    if (options.read) this.tables.audit.grant(fn, ...AUDIT_READ_ACTIONS);
  }

  /**
   * Item-level access to one table: `actions` on the items whose partition key starts with one of
   * `prefixes` (`dynamodb:LeadingKeys`, which DynamoDB checks for each action of a
   * TransactWriteItems as for the single-item calls:
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html,
   * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html),
   * and, when given, naming only `attributes` (`dynamodb:Attributes`) and returning no item beyond them.
   */
  private grantOnItems(fn: iam.IGrantable, table: dynamodb.ITableV2, actions: readonly string[], prefixes: readonly string[], attributes?: readonly string[]): void {
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: [...actions],
      resourceArns: [table.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((prefix) => `${prefix}*`) },
        ...(attributes
          ? {
              'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...attributes] },
              StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_OLD', 'UPDATED_NEW'] },
            }
          : {}),
      },
    });
  }

  /**
   * The authorizer notes when a key was last used (at most once per KEY_LAST_USED_RESOLUTION_SECONDS
   * per key, CredentialStore.touchLastUsed): a conditional UpdateItem of `lastUsedAt` on the by-hash
   * record it reads, and nothing else of it.
   */
  private grantTouchKeyLastUsed(fn: iam.IGrantable): void {
    this.grantOnItems(fn, this.tables.credentials, ['dynamodb:UpdateItem'], [CREDENTIAL_ITEM_PREFIXES.keyHash], [CREDENTIALS_KEY_ATTRIBUTE, KEY_LAST_USED_ATTRIBUTE]);
  }

  /**
   * The `auth` routes create a new account's own tenant (CredentialStore.createOwnedTenant): one
   * TransactWriteItems of the tenant record, the mapping of the account's pool subject to it
   * (EXTID#), the tenant's limiter item and the audit entry; and read the mappings back (one
   * BatchGetItem, as the authorizer) to find an account's tenant at sign-in. Key records, admin
   * token revocations and other tables' items are out of reach; the limiter item with its own
   * attributes only, never a counter.
   */
  private grantCreateOwnedTenants(fn: lambda.IFunction): void {
    const { tenant, externalIdentity } = CREDENTIAL_ITEM_PREFIXES;
    this.grantOnItems(fn, this.tables.credentials, ['dynamodb:PutItem'], [tenant, externalIdentity]);
    this.grantOnItems(fn, this.tables.credentials, ['dynamodb:BatchGetItem'], [externalIdentity]);
    this.grantOnItems(fn, this.tables.limiter, ['dynamodb:PutItem'], [tenant], Object.values(LIMITER_ATTRIBUTES));
    this.grantAppendAudit(fn, { read: false });
  }

  /**
   * The account routes manage the signed-in account's own keys: read its tenant (and check it in
   * a transaction), create, rotate and revoke keys (both records of a key, by id and by hash),
   * list the tenant's keys through the byEntity index with their by-hash records (`lastUsedAt`,
   * BatchGetItem), put a revoked key on the tenant's limiter item (its revoked keys only: owners
   * revoke, only admins block), and audit each change. The tenant comes from the authorizer's
   * verified claim; IAM cannot tell tenants apart within an item prefix, the handler does.
   */
  private grantManageOwnKeys(fn: lambda.IFunction): void {
    const { tenant, key, keyHash } = CREDENTIAL_ITEM_PREFIXES;
    const { credentials, limiter } = this.tables;
    this.grantOnItems(fn, credentials, ['dynamodb:GetItem', 'dynamodb:ConditionCheckItem'], [tenant, key]);
    this.grantOnItems(fn, credentials, ['dynamodb:PutItem', 'dynamodb:UpdateItem'], [key, keyHash]);
    this.grantOnItems(fn, credentials, ['dynamodb:BatchGetItem'], [keyHash]);
    const byEntity = METERED_API_TABLES.credentials.globalSecondaryIndexes[0].indexName;
    iam.Grant.addToPrincipal({ grantee: fn, actions: ['dynamodb:Query'], resourceArns: [`${credentials.tableArn}/index/${byEntity}`] });
    this.grantOnItems(fn, limiter, ['dynamodb:UpdateItem'], [tenant], [LIMITER_ATTRIBUTES.pk, LIMITER_ATTRIBUTES.revokedKeys]);
    // PUT /v1/notifications (issue 16): the tenant record's opt-outs, that attribute alone (NotificationStore.setOptOuts).
    this.grantOnItems(fn, credentials, ['dynamodb:UpdateItem'], [tenant], [CREDENTIALS_KEY_ATTRIBUTE, NOTIFICATION_OPT_OUTS_ATTRIBUTE]);
    this.grantAppendAudit(fn, { read: false });
  }

  private grantPutUsageEvents(fn: iam.IGrantable): void {
    this.usageEventBus.grantPutEventsTo(fn);
  }

  /**
   * The forwarder of usage lines: CloudWatch Logs invokes it asynchronously with each batch of
   * matching log events; it puts them on the bus (PutEvents, up to 10 entries each, failed entries
   * retried) and fails the invocation when some could not be delivered. Lambda then retries the
   * delivery twice and sends what still fails, the delivery itself, to an SQS queue to replay
   * (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
   */
  private createUsageLogForwarder(): [lambdaNodejs.NodejsFunction, sqs.Queue] {
    const fn = this.handlerFunction('usage-log-forwarder', 'Puts the usage lines the metered API functions log on the bus, in batches');
    // The publisher's own retries (6, backing off up to 5 s) must fit in one invocation.
    (fn.node.defaultChild as lambda.CfnFunction).timeout = 60;
    this.grantPutUsageEvents(fn);
    this.countSignals(fn);
    const queue = new sqs.Queue(this, 'UsageLogDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeNagFindings(queue, [
      {
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is itself the on-failure destination of the usage-log forwarder: it holds subscription deliveries to replay, and has no consumer that could fail.',
      },
    ]);
    fn.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6), onFailure: new lambdaDestinations.SqsDestination(queue) });
    return [fn, queue];
  }

  /**
   * A route function records each answer as one log line (lambdas/usage-log/usage-log-writer.ts);
   * a subscription filter on its log group hands exactly those lines to the forwarder. CloudWatch
   * Logs delivers matching events at least once, in batches, gzipped and base64-encoded
   * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#LambdaFunctionExample);
   * the forwarder keeps each line's `eventId`, so a delivery made twice bills once.
   */
  private forwardUsageLines(fn: lambda.Function, id: string): void {
    this.usageLineLogGroups.push(fn.logGroup);
    new logs.SubscriptionFilter(this, `${id}UsageLines`, {
      logGroup: fn.logGroup,
      destination: new destinations.LambdaDestination(this.usageLogForwarder),
      // A JSON pattern on the marker keys (usage lines, or account-event lines such as quota thresholds): the Powertools and EMF lines have neither.
      filterPattern: logs.FilterPattern.literal(USAGE_LOG_FILTER_PATTERN),
    });
  }

  /** Requests API Gateway answered itself (401, 403, 404, 429) become usage events too. */
  private trackGatewayAnswers(): void {
    const fn = this.handlerFunction('access-log-usage', 'Usage events for requests API Gateway answered itself');
    // It counts signals and puts account events (each with retries) besides the usage flush: as long as the forwarder's.
    (fn.node.defaultChild as lambda.CfnFunction).timeout = 60;
    this.grantPutUsageEvents(fn);
    this.countSignals(fn);
    // It fails a delivery whose events it could not put on the bus: CloudWatch Logs invokes it
    // asynchronously, so Lambda retries twice, then keeps the delivery in the forwarders' on-failure
    // queue (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).
    fn.configureAsyncInvoke({ retryAttempts: 2, maxEventAge: Duration.hours(6), onFailure: new lambdaDestinations.SqsDestination(this.usageLogDeadLetterQueue) });
    new logs.SubscriptionFilter(this, 'GatewayAnswers', {
      logGroup: this.accessLogGroup,
      destination: new destinations.LambdaDestination(fn),
      // Only requests that never reached an integration.
      filterPattern: logs.FilterPattern.stringValue('$.integrationStatus', '=', '-'),
    });
  }

  /**
   * The forwarders count 429s (per tenant) and failed authentications (per source) in `SIGNAL#…`
   * counter items of the limiter table (lambdas/account-events/signal-counters.ts): an UpdateItem
   * that ADDs to the count (`ReturnValues: ALL_NEW`, the count after the add), and conditional
   * UpdateItems that claim, mark and release the raise. `dynamodb:LeadingKeys` keeps them off
   * tenant and IP items; `dynamodb:Attributes` to the counter's own attributes, which are all a
   * SIGNAL# item holds, so ALL_NEW returns nothing else
   * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
   * They already put events on the bus (PutEvents); the thresholds come in their environment.
   */
  private countSignals(fn: lambdaNodejs.NodejsFunction): void {
    for (const [name, value] of Object.entries(accountSignalsEnvironment(this.accountSignals))) fn.addEnvironment(name, value);
    iam.Grant.addToPrincipal({
      grantee: fn,
      actions: ['dynamodb:UpdateItem'],
      resourceArns: [this.tables.limiter.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${SIGNAL_PARTITION_PREFIX}*`] },
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...SIGNAL_COUNTER_ATTRIBUTES] },
        StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'ALL_NEW'] },
      },
    });
  }

  /**
   * The audit outbox in AWS: the audit table's stream (NEW_IMAGE) feeds the audit-stream function
   * through an event source mapping that passes INSERTs only (filter criteria:
   * https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html), starts at the
   * oldest record the stream keeps (TRIM_HORIZON, 24 hours), splits a failing batch in two, lets
   * the function name the first record to retry (ReportBatchItemFailures), retries a record at most
   * 10 times within a day, and then records the batch's shard and sequence numbers in an SQS queue
   * (parameters: https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-params.html). The
   * entries themselves stay in the audit table; the queue says which to publish again.
   */
  private createAuditStream(): [lambdaNodejs.NodejsFunction, sqs.Queue] {
    // Of the API's environment, only the bus, the metrics namespace and (when asked) the source maps: no tables, secrets or keys.
    const wanted: readonly string[] = [LAMBDA_ENV.usageEventBusName, LAMBDA_ENV.metricsNamespace, LAMBDA_ENV.nodeOptions];
    const environment = Object.fromEntries(Object.entries(this.environment).filter(([name]) => wanted.includes(name)));
    // The publisher's retries (PutEvents, backing off) must fit in one invocation.
    const fn = newHandlerFunction(this, 'audit-stream', 'Puts each new audit entry on the usage bus as an account event (audit outbox)', environment, Duration.seconds(60));
    this.grantPutUsageEvents(fn);
    const queue = new sqs.Queue(this, 'AuditStreamDeadLetterQueue', { encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14) });
    acknowledgeNagFindings(queue, [
      { id: 'AwsSolutions-SQS3', reason: 'This queue is itself the on-failure destination of the audit stream: it holds the positions of stream batches to publish again, read by an operator.' },
    ]);
    // CDK grants ListStreams on the stream's ARN, but the action has no resource type: IAM matches it on "*" only
    // (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html). It lists stream ARNs, nothing more.
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['dynamodb:ListStreams'], resources: ['*'] }));
    fn.addEventSource(
      new DynamoEventSource(this.tables.audit, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: 25,
        bisectBatchOnError: true,
        reportBatchItemFailures: true,
        retryAttempts: 10,
        maxRecordAge: Duration.hours(24),
        onFailure: new SqsDlq(queue),
        // No filter: the audit table is append-only (entries are only ever inserted), and the function
        // skips any record that is not an INSERT itself. Lambda's filtering page for DynamoDB says such
        // mappings filter on the `dynamodb` key only, so an `eventName` filter might match nothing,
        // and records filtered out raise no error and no alarm
        // (https://docs.aws.amazon.com/lambda/latest/dg/with-ddb-filtering.html).
      }),
    );
    return [fn, queue];
  }

  /** Alarms on the audit outbox: batches given up (on-failure queue) and the stream falling behind (IteratorAge, ms). */
  private createAuditStreamAlarms(topic?: sns.ITopic): Readonly<Record<AuditStreamAlarm, cloudwatch.Alarm>> {
    const period = Duration.minutes(5);
    const alarm = (id: string, metric: cloudwatch.IMetric, threshold: number, description: string) => aboveThresholdAlarm(this, id, metric, threshold, description);
    const alarms = {
      deadLetters: alarm('AuditStreamDeadLetterAlarm', this.auditStreamDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }), 0,
        'The audit stream gave up on a batch of audit entries: their account events are not on the bus (not mailed, not in the lake). Each message names the shard and sequence numbers; publish those entries again.'),
      iteratorAge: alarm('AuditStreamIteratorAgeAlarm', this.auditStreamFunction.metric('IteratorAge', { period, statistic: 'Maximum' }), AUDIT_STREAM_ITERATOR_AGE_ALARM_MS,
        'The audit stream\'s function is more than 5 minutes behind the audit table: account events are late, and past 24 hours the stream drops entries.'),
    };
    return topic ? notifyTopic(topic, alarms) : alarms;
  }

  private handlerFunction(name: string, description: string, environment: Record<string, string> = this.environment): lambdaNodejs.NodejsFunction {
    return newHandlerFunction(this, name, description, environment);
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
      timeToLiveAttribute: 'timeToLiveAttribute' in definition ? definition.timeToLiveAttribute : undefined,
      // The audit outbox: every new entry on the table's stream (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html).
      dynamoStream: name === 'audit' ? dynamodb.StreamViewType.NEW_IMAGE : undefined,
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

/** The attributes a signal counter holds (lambdas/account-events/signal-counters.ts): its key, count, raise mark and claim, and the TTL. */
export const SIGNAL_COUNTER_ATTRIBUTES = [
  LIMITER_ATTRIBUTES.pk,
  SIGNAL_ITEM_ATTRIBUTES.count,
  SIGNAL_ITEM_ATTRIBUTES.raisedAt,
  SIGNAL_CLAIM_ATTRIBUTE,
  SOURCE_IP_ATTRIBUTES.expiresAt,
] as const;

const pascal = (name: string) => name.replace(/(^|-)([a-z])/g, (_m, _d, letter: string) => letter.toUpperCase());

/**
 * A function of the stack from `lambdas/handlers/<name>.ts`, as every metered API function is
 * built (runtime, architecture, tracing, its own log group, the shared bundling of
 * lib/lambda-bundling.ts), with the id `<Name>Function` in `scope`. Its timeout is the handlers'
 * unless `timeout` says otherwise.
 */
export function newHandlerFunction(scope: Construct, name: string, description: string, environment: Record<string, string>, timeout?: Duration): lambdaNodejs.NodejsFunction {
  const fn = new lambdaNodejs.NodejsFunction(scope, `${pascal(name)}Function`, {
    entry: path.join(HANDLERS_DIR, `${name}.ts`),
    handler: 'handler',
    description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 512,
    timeout: timeout ?? Duration.seconds(HANDLER_TIMEOUT_SECONDS),
    tracing: lambda.Tracing.ACTIVE,
    // Versions exist only for the authorizer aliases; an old one goes once its alias has moved on.
    currentVersionOptions: { removalPolicy: RemovalPolicy.DESTROY },
    environment,
    logGroup: new logs.LogGroup(scope, `${pascal(name)}Logs`, { retention: logs.RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY }),
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
    // One definition with the Lambda bench (lib/lambda-bundling.ts): the SDK bundled, ES module builds, source maps off at run time.
    bundling: nodejsBundlingOptions(),
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

/** Why each public route may go without an authorizer (cdk-nag AwsSolutions-APIG4). */
const PUBLIC_ROUTE_REASONS: Readonly<Record<PublicRoute['handler'], string>> = {
  'api-docs': 'The API reference (OpenAPI document and its page) and the client for pages are public by design; they hold no data, and the route is throttled.',
  auth: 'Registering, confirming and signing in happen before a caller has a credential: the route takes an email and password or a refresh token, checked by Cognito; it is throttled and limited per source IP, and its answers never reveal whether an account exists.',
};

/** The props a {@link MeteredHttpApi} is built from, validated, with their defaults. */
interface MeteredHttpApiSettings {
  readonly removalPolicy: RemovalPolicy;
  readonly tiers: Readonly<Record<TierName, TierOverride>>;
  readonly demo: { readonly latencyMs: number; readonly errorRate: number };
  readonly throttle: RouteThrottle;
  readonly routeThrottles: Readonly<Record<string, RouteThrottle>>;
  readonly authorizerReservedConcurrency: number;
  readonly corsAllowOrigins: readonly string[];
}

/** Validates the props once, before anything is created; throws naming the prop, what it must be and what it got. */
function validatedSettings(scope: Construct, props: MeteredHttpApiProps): MeteredHttpApiSettings {
  const tiers = tierOverridesOf(props.tiers ?? {});
  const demo = { latencyMs: props.demo?.latencyMs ?? 0, errorRate: props.demo?.errorRate ?? 0 };
  if (demo.errorRate < 0 || demo.errorRate > 1) throw new Error(`demo.errorRate must be from 0 to 1; got ${demo.errorRate}.`);
  if (demo.latencyMs < 0 || demo.latencyMs > MAX_DEMO_LATENCY_MS) {
    throw new Error(
      `demo.latencyMs must be from 0 to ${MAX_DEMO_LATENCY_MS}, so that the slowest demo request (${DEMO_LATENCY_SPREAD.max}x) still answers and is recorded before the ${HANDLER_TIMEOUT_SECONDS} s function timeout; got ${demo.latencyMs}.`,
    );
  }
  const routeThrottles = { ...DEFAULT_ROUTE_THROTTLES, ...props.routeThrottles };
  for (const [routeKey, limit] of Object.entries(routeThrottles)) {
    if (!(limit.rateLimit > 0 && Number.isInteger(limit.burstLimit) && limit.burstLimit >= 1)) {
      throw new Error(`routeThrottles["${routeKey}"] needs a rateLimit above 0 and a whole burstLimit of at least 1; got ${JSON.stringify(limit)}.`);
    }
  }
  const authorizerReservedConcurrency = props.authorizerReservedConcurrency ?? 100;
  if (!Number.isInteger(authorizerReservedConcurrency) || authorizerReservedConcurrency < 0 || authorizerReservedConcurrency > 1000) {
    throw new Error(`authorizerReservedConcurrency must be a whole number from 0 (none) to 1000; got ${authorizerReservedConcurrency}.`);
  }
  if (props.externalIssuer) {
    const problems = externalIssuerProblems(props.externalIssuer);
    if (problems.length > 0) throw new Error(`externalIssuer of ${scope.node.path}: ${problems.join('; ')}. Use the issuer's https JWKS URL and list its app client ids in clientIds.`);
  }
  const corsAllowOrigins = props.corsAllowOrigins ?? DEFAULT_CORS_ALLOW_ORIGINS;
  const corsProblems = corsOriginProblems(corsAllowOrigins);
  if (corsProblems.length > 0) throw new Error(`corsAllowOrigins of ${scope.node.path}: ${corsProblems.join('; ')}.`);
  return {
    corsAllowOrigins,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    tiers,
    demo,
    throttle: props.throttle ?? { rateLimit: 500, burstLimit: 1000 },
    routeThrottles,
    authorizerReservedConcurrency,
  };
}

/** The HTTP method of a route key's first word, if it is one API Gateway knows. */
function httpMethodOf(method: string | undefined): apigwv2.HttpMethod | undefined {
  return Object.values(apigwv2.HttpMethod).find((known) => known === method);
}
