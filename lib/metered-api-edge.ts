import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps, Token } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { PUBLIC_ROUTES } from '../contracts/metered-api';
import { MeteredHttpApi } from './metered-http-api';
import { acknowledgeNagFindings } from './nag-acknowledgements';

/**
 * The edge in front of the metered API: CloudFront with AWS WAF rate-based rules, and the custom
 * domain name the API answers on behind it.
 *
 * How the pieces fit, and why:
 * - A web ACL for CloudFront has scope CLOUDFRONT and must be created in us-east-1
 *   (https://docs.aws.amazon.com/waf/latest/developerguide/how-aws-waf-works-resources.html), so the
 *   web ACL and the distribution live in a stack of their own in us-east-1 ({@link MeteredApiEdgeStack}).
 *   It takes the origin's host name as a plain string, so no cross-region reference is needed.
 * - The API's default execute-api endpoint is turned off, so the API answers only on a custom
 *   domain name (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-disable-default-endpoint.html):
 *   {@link MeteredApiOriginDomain}, in the API's stack and region, with a regional ACM certificate.
 *   CloudFront connects to that name, sending it as `Host` (the origin request policy forwards every
 *   viewer header but Host), which is how API Gateway finds the API mapping.
 * - Trade-off: the origin name itself stays reachable from the internet, past WAF (an HTTP API has
 *   no resource policy). It is not published, every route on it still needs a credential, and the
 *   route and stage throttles still apply. Closing it fully needs a secret origin header that the
 *   authorizer checks; that changes the authorizer and its cache key, so it is left to the
 *   authorizer's owners (issue 18).
 */

/** The scope-down a route key gives a rate-based rule: method and exact path. */
const ROUTE_KEY_PATTERN = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (\/[A-Za-z0-9._~\-/]*)$/;

/** AWS WAF's evaluation windows, in seconds (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html). */
const WAF_EVALUATION_WINDOWS_SECONDS = [60, 120, 300, 600] as const;

/** The lowest rate limit AWS WAF accepts for a rate-based rule (same page). */
const WAF_MIN_RATE_LIMIT = 10;

/** The largest rate limit AWS WAF accepts (CloudFormation `RateBasedStatement.Limit`). */
const WAF_MAX_RATE_LIMIT = 2_000_000_000;

/**
 * The routes a caller reaches without a token, which the stricter per-IP rule covers by default:
 * the token exchange and the account routes behind the source IP guard (register, confirm, login,
 * refresh, logout), whose guard is off behind CloudFront (the origin sees CloudFront's address).
 */
export const DEFAULT_UNAUTHENTICATED_ROUTES: readonly string[] = ['POST /v1/auth/token', ...PUBLIC_ROUTES.filter((route) => route.guarded).map((route) => route.routeKey)];

/** The names of the web ACL's rules, as its CloudWatch metrics and sampled requests show them. */
export const EDGE_RULE_NAMES = {
  unauthenticatedPerIp: 'unauthenticated-routes-per-ip',
  perIp: 'all-routes-per-ip',
} as const;

/** Properties of a {@link MeteredApiEdge}. */
export interface MeteredApiEdgeProps {
  /** The host name CloudFront forwards to: the API's custom domain name ({@link MeteredApiOriginDomain}). */
  readonly originDomainName: string;
  /**
   * Requests one IP address may make to any route per evaluation window before AWS WAF answers 429.
   * @default 3000 per 5 minutes (10 per second on average)
   */
  readonly rateLimitPerIp?: number;
  /**
   * Requests one IP address may make to the unauthenticated routes per evaluation window.
   * @default 100 per 5 minutes: a client needs one token per 15 minutes
   */
  readonly unauthenticatedRateLimitPerIp?: number;
  /**
   * Route keys (`METHOD /literal/path`) the stricter rule counts.
   * @default DEFAULT_UNAUTHENTICATED_ROUTES
   */
  readonly unauthenticatedRoutes?: readonly string[];
  /**
   * How far back AWS WAF counts: 60, 120, 300 or 600 seconds.
   * @default Duration.minutes(5)
   */
  readonly evaluationWindow?: Duration;
  /**
   * What happens to the CloudFront access log bucket when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * CloudFront in front of the metered API, with an AWS WAF web ACL of two rate-based rules per
 * client IP: a strict one for the routes a caller reaches without a token, and one for every
 * route. A request over either limit is answered 429 at the edge: it reaches neither API Gateway
 * nor any Lambda, is not written to the access log, and CloudFront does not bill it.
 */
export class MeteredApiEdge extends Construct {
  public readonly distribution: cloudfront.Distribution;
  public readonly webAcl: wafv2.CfnWebACL;
  public readonly accessLogBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: MeteredApiEdgeProps) {
    super(scope, id);
    const settings = validatedEdgeSettings(this, props);
    this.webAcl = this.createWebAcl(settings);
    this.accessLogBucket = this.createAccessLogBucket(props.removalPolicy ?? RemovalPolicy.RETAIN);
    this.distribution = this.createDistribution(props.originDomainName);
  }

  /** Two rate-based rules per client IP: the stricter one for the unauthenticated routes first. */
  private createWebAcl(settings: EdgeSettings): wafv2.CfnWebACL {
    return new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      description: 'Metered API edge: per-IP rate limits, stricter for the unauthenticated routes',
      visibilityConfig: { cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: 'metered-api-edge' },
      customResponseBodies: {
        'too-many-requests': { contentType: 'APPLICATION_JSON', content: JSON.stringify({ message: 'Too many requests from this address; retry later.' }) },
      },
      rules: [
        rateRule(EDGE_RULE_NAMES.unauthenticatedPerIp, 0, settings.unauthenticatedLimit, settings.windowSeconds, settings.unauthenticatedScopeDown),
        rateRule(EDGE_RULE_NAMES.perIp, 1, settings.rateLimitPerIp, settings.windowSeconds),
      ],
    });
  }

  private createAccessLogBucket(removalPolicy: RemovalPolicy): s3.Bucket {
    const bucket = new s3.Bucket(this, 'AccessLogs', {
      // CloudFront standard logs are written with an ACL (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html).
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy,
    });
    acknowledgeNagFindings(bucket, [
      { id: 'AwsSolutions-S1', reason: 'This bucket holds CloudFront access logs; logging its own access would log the log writes, with no reader of them.' },
    ]);
    return bucket;
  }

  /** The distribution: HTTPS to the origin's name, nothing cached, behind the web ACL, logged to the bucket. */
  private createDistribution(originDomainName: string): cloudfront.Distribution {
    const distribution = new cloudfront.Distribution(this, 'Resource', {
      comment: 'Metered API behind AWS WAF rate-based rules',
      defaultBehavior: {
        origin: new origins.HttpOrigin(originDomainName, {
          protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
          originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
        }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_ALL,
        // An API answer is per caller: nothing is cached. With caching off, the AllViewer policies
        // may forward Authorization (https://repost.aws/knowledge-center/cloudfront-authorization-header);
        // Host is left out so that API Gateway sees the origin's name.
        cachePolicy: cloudfront.CachePolicy.CACHING_DISABLED,
        originRequestPolicy: cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
      },
      webAclId: this.webAcl.attrArn,
      enableLogging: true,
      logBucket: this.accessLogBucket,
      logFilePrefix: 'cloudfront/',
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
    });
    acknowledgeNagFindings(distribution, [
      {
        id: 'AwsSolutions-CFR1',
        reason: 'The metered API serves tenants wherever they are; access is decided per credential by the authorizer and per IP by the WAF rate rules, not by country.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason: 'The distribution uses its cloudfront.net name and CloudFront default certificate, with which the viewer TLS policy cannot be chosen; the origin connection is HTTPS with TLS 1.2 only.',
      },
    ]);
  return distribution;
  }

  /** The API's base URL at the edge. */
  public get url(): string {
    return `https://${this.distribution.distributionDomainName}`;
  }
}

/** Properties of a {@link MeteredApiEdgeStack}. */
export interface MeteredApiEdgeStackProps extends StackProps, MeteredApiEdgeProps {}

/** The edge in its own stack, which must be deployed to us-east-1 (the web ACL's scope is CLOUDFRONT). */
export class MeteredApiEdgeStack extends Stack {
  public readonly edge: MeteredApiEdge;

  constructor(scope: Construct, id: string, props: MeteredApiEdgeStackProps) {
    super(scope, id, props);
    this.edge = new MeteredApiEdge(this, 'Edge', props);
    new CfnOutput(this, 'ApiUrl', { value: this.edge.url, description: 'Base URL of the metered API behind CloudFront and AWS WAF' });
    new CfnOutput(this, 'WebAclArn', { value: this.edge.webAcl.attrArn, description: 'AWS WAF web ACL of the edge' });
  }
}

/** Properties of a {@link MeteredApiOriginDomain}. */
export interface MeteredApiOriginDomainProps {
  /** The API to map; create it with `disableExecuteApiEndpoint: true` so that this name is its only way in. */
  readonly api: MeteredHttpApi;
  /** The name CloudFront connects to, e.g. api-origin.example.com. */
  readonly domainName: string;
  /** A certificate for `domainName` in the API's region. */
  readonly certificate: acm.ICertificate;
}

/**
 * The custom domain name the metered API answers on once its execute-api endpoint is off: a
 * regional API Gateway domain (TLS 1.2) mapped to the API's stage. Point the name's DNS record
 * (CNAME or alias) at {@link regionalDomainName}.
 */
export class MeteredApiOriginDomain extends Construct {
  public readonly domainName: apigwv2.DomainName;

  constructor(scope: Construct, id: string, props: MeteredApiOriginDomainProps) {
    super(scope, id);
    const arn = props.certificate.certificateArn;
    const certificateRegion = Token.isUnresolved(arn) ? undefined : arn.split(':')[3];
    const region = Stack.of(this).region;
    if (certificateRegion !== undefined && !Token.isUnresolved(region) && certificateRegion !== region) {
      throw new Error(`${this.node.path}: a regional API Gateway domain needs its certificate in the API's region (${region}); the certificate is in ${certificateRegion}.`);
    }
    this.domainName = new apigwv2.DomainName(this, 'Resource', {
      domainName: props.domainName,
      certificate: props.certificate,
      endpointType: apigwv2.EndpointType.REGIONAL,
      securityPolicy: apigwv2.SecurityPolicy.TLS_1_2,
    });
    new apigwv2.ApiMapping(this, 'Mapping', { api: props.api.httpApi, domainName: this.domainName, stage: props.api.stage });
  }

  /** The target of the origin name's DNS record. */
  public get regionalDomainName(): string {
    return this.domainName.regionalDomainName;
  }
}

/** The props of a {@link MeteredApiEdge}, validated, with their defaults. */
interface EdgeSettings {
  readonly windowSeconds: number;
  readonly rateLimitPerIp: number;
  readonly unauthenticatedLimit: number;
  readonly unauthenticatedScopeDown: wafv2.CfnWebACL.StatementProperty;
}

/** Validates the props before anything is created; throws naming the prop, what it must be and what it got. */
function validatedEdgeSettings(scope: Construct, props: MeteredApiEdgeProps): EdgeSettings {
  const where = scope.node.path;
  const region = Stack.of(scope).region;
  if (Token.isUnresolved(region) || region !== 'us-east-1') {
    throw new Error(
      `${where}: a web ACL for CloudFront must be created in us-east-1; this stack's region is ${Token.isUnresolved(region) ? 'not set' : region}. Give the stack env: { region: 'us-east-1' }.`,
    );
  }
  const windowSeconds = (props.evaluationWindow ?? Duration.minutes(5)).toSeconds();
  if (!(WAF_EVALUATION_WINDOWS_SECONDS as readonly number[]).includes(windowSeconds)) {
    throw new Error(`${where}: evaluationWindow must be one of ${WAF_EVALUATION_WINDOWS_SECONDS.join(', ')} seconds; got ${windowSeconds}.`);
  }
  const rateLimitPerIp = validRateLimit(scope, 'rateLimitPerIp', props.rateLimitPerIp ?? 3000);
  const unauthenticatedLimit = validRateLimit(scope, 'unauthenticatedRateLimitPerIp', props.unauthenticatedRateLimitPerIp ?? 100);
  if (unauthenticatedLimit > rateLimitPerIp) {
    throw new Error(
      `${where}: unauthenticatedRateLimitPerIp (${unauthenticatedLimit}) must not exceed rateLimitPerIp (${rateLimitPerIp}); the unauthenticated routes are the stricter rule.`,
    );
  }
  const routes = props.unauthenticatedRoutes ?? DEFAULT_UNAUTHENTICATED_ROUTES;
  if (routes.length === 0) throw new Error(`${where}: unauthenticatedRoutes needs at least one route key, e.g. "POST /v1/auth/token".`);
  if (!/^[a-z0-9.-]+\.[a-z]{2,}$/.test(props.originDomainName)) {
    throw new Error(`${where}: originDomainName must be a host name such as api-origin.example.com; got "${props.originDomainName}".`);
  }
  return { windowSeconds, rateLimitPerIp, unauthenticatedLimit, unauthenticatedScopeDown: scopeDownOf(scope, routes) };
}

function validRateLimit(scope: Construct, name: string, value: number): number {
  if (!Number.isInteger(value) || value < WAF_MIN_RATE_LIMIT || value > WAF_MAX_RATE_LIMIT) {
    throw new Error(`${scope.node.path}: ${name} must be a whole number from ${WAF_MIN_RATE_LIMIT} (AWS WAF's lowest) to ${WAF_MAX_RATE_LIMIT}; got ${value}.`);
  }
  return value;
}

/** Matches one route: its method and its exact path. */
function routeStatement(scope: Construct, routeKey: string): wafv2.CfnWebACL.StatementProperty {
  const match = ROUTE_KEY_PATTERN.exec(routeKey);
  if (!match) {
    throw new Error(`${scope.node.path}: unauthenticatedRoutes takes route keys with a literal path such as "POST /v1/auth/token"; got "${routeKey}".`);
  }
  const byteMatch = (fieldToMatch: wafv2.CfnWebACL.FieldToMatchProperty, searchString: string): wafv2.CfnWebACL.StatementProperty => ({
    byteMatchStatement: { fieldToMatch, positionalConstraint: 'EXACTLY', searchString, textTransformations: [{ priority: 0, type: 'NONE' }] },
  });
  return { andStatement: { statements: [byteMatch({ method: {} }, match[1]), byteMatch({ uriPath: {} }, match[2])] } };
}

function scopeDownOf(scope: Construct, routes: readonly string[]): wafv2.CfnWebACL.StatementProperty {
  const statements = routes.map((route) => routeStatement(scope, route));
  return statements.length === 1 ? statements[0] : { orStatement: { statements } };
}

/** A rate-based rule per client IP that answers 429 over the limit. */
function rateRule(
  name: string,
  priority: number,
  limit: number,
  evaluationWindowSec: number,
  scopeDownStatement?: wafv2.CfnWebACL.StatementProperty,
): wafv2.CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    statement: { rateBasedStatement: { aggregateKeyType: 'IP', limit, evaluationWindowSec, ...(scopeDownStatement ? { scopeDownStatement } : {}) } },
    action: { block: { customResponse: { responseCode: 429, customResponseBodyKey: 'too-many-requests' } } },
    visibilityConfig: { cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName: name },
  };
}
