import { Duration, Size } from 'aws-cdk-lib';
import { Node } from 'constructs';
import { DEFAULT_EVENT_SOURCES, EVENT_TIME_WINDOW, LATE_EVENT_WINDOW_DAYS_RANGE } from '../contracts/usage-event';
import { CATALOG, FIREHOSE_BUFFERING } from '../contracts/lake-layout';
import { MAX_DEMO_LATENCY_MS } from '../contracts/metered-api';
import { TierName } from '../contracts/tiers';
import { externalIssuerProblems } from '../contracts/external-issuer';
import { DEFAULT_CORS_ALLOW_ORIGINS, corsOriginProblems } from '../contracts/cors';
import { ExternalIssuerProps, TierSettings } from './metered-http-api';
import { DEFAULT_GLUE_SCHEDULE } from './usage-lake';

/** Everything a deployment may configure, with its context key (`cdk deploy -c key=value`). */
export interface UsageTrackerConfig {
  readonly eventSources: readonly string[];
  readonly bufferInterval: Duration;
  readonly bufferSize: Size;
  readonly archiveRetention: Duration;
  readonly rawRetention: Duration;
  readonly glueSchedule: string;
  readonly glueWorkers: number;
  /** Days before the envelope time an event may have happened and still be curated. */
  readonly lateEventWindowDays: number;
  /** Records refused in one hour above which the rejected-records alarm fires. */
  readonly rejectedRecordsAlarmThreshold: number;
  readonly databaseName: string;
  readonly athenaBytesScannedCutoff: Size;
  readonly athenaResultsRetention: Duration;
  readonly schemaDiscovery: boolean;
  readonly alarmEmail?: string;
  readonly tiers: Partial<Record<TierName, TierSettings>>;
  readonly demo: { readonly latencyMs: number; readonly errorRate: number };
  readonly externalIssuer?: ExternalIssuerProps;
  /** Reserved concurrency of the authorizer function; 0 reserves none. */
  readonly authorizerReservedConcurrency: number;
  /** CloudFront and AWS WAF in front of the API (a us-east-1 stack), the execute-api endpoint off. */
  readonly edge?: EdgeConfig;
  /** The consumer accounts' Cognito user pool (issue 15); absent when `accounts` is false. */
  readonly accounts?: AccountsConfig;
  /** Origins whose pages may call the API (CORS). */
  readonly corsAllowOrigins: readonly string[];
}

/** The accounts' settings, from the `accounts*` context parameters. */
export interface AccountsConfig {
  /** A verified Amazon SES identity (an address) to send confirmation codes from, instead of Cognito's default email. */
  readonly emailFrom?: string;
}

/** The edge's settings, from the `edge*` context parameters. */
export interface EdgeConfig {
  /** The API's custom domain name, which CloudFront connects to. */
  readonly originDomainName: string;
  /** ACM certificate of that name, in the API's region. */
  readonly originCertificateArn: string;
  /** Requests per IP address and 5 minutes, any route. */
  readonly rateLimitPerIp: number;
  /** Requests per IP address and 5 minutes to POST /v1/auth/token and the account sign-up and sign-in routes, together. */
  readonly tokenRateLimitPerIp: number;
}

/** A context key, its meaning and its default, as the README documents them. */
export interface ContextParameter {
  readonly key: string;
  readonly description: string;
  readonly defaultValue: string;
}

export const CONTEXT_PARAMETERS: readonly ContextParameter[] = [
  { key: 'eventSources', description: 'Comma-separated allow-list of event `source` values the rule accepts', defaultValue: DEFAULT_EVENT_SOURCES.join(',') },
  {
    key: 'bufferIntervalSeconds',
    description: `Firehose buffering interval, 0-${FIREHOSE_BUFFERING.maxIntervalSeconds} s`,
    defaultValue: String(FIREHOSE_BUFFERING.defaultIntervalSeconds),
  },
  { key: 'bufferSizeMiB', description: `Firehose buffering size, 1-${FIREHOSE_BUFFERING.maxSizeMiB} MiB`, defaultValue: String(FIREHOSE_BUFFERING.defaultSizeMiB) },
  { key: 'archiveRetentionDays', description: 'Days the bus archive keeps usage events for replay', defaultValue: '30' },
  { key: 'rawRetentionDays', description: 'Days raw Firehose objects are kept in `raw/`', defaultValue: '90' },
  { key: 'glueSchedule', description: 'Glue workflow schedule (Glue cron)', defaultValue: DEFAULT_GLUE_SCHEDULE },
  { key: 'glueWorkers', description: 'G.1X workers of the Glue job', defaultValue: '2' },
  {
    key: 'lateEventWindowDays',
    description: `Days before its EventBridge time an event's occurredAt may lie and still be curated and billed (${LATE_EVENT_WINDOW_DAYS_RANGE.min}-${LATE_EVENT_WINDOW_DAYS_RANGE.max}); older events go to errors/glue/`,
    defaultValue: String(EVENT_TIME_WINDOW.defaultLateEventWindowDays),
  },
  { key: 'rejectedRecordsAlarmThreshold', description: 'Records the Glue job may refuse in one hour before the rejected-records alarm fires (0 alarms on any)', defaultValue: '100' },
  { key: 'databaseName', description: 'Glue database of the `usage_events` table', defaultValue: CATALOG.defaultDatabase },
  { key: 'athenaBytesScannedCutoffGiB', description: 'Per-query data-scanned limit of the Athena workgroup, in GiB', defaultValue: '10' },
  { key: 'athenaResultsRetentionDays', description: 'Days Athena query results are kept', defaultValue: '30' },
  { key: 'schemaDiscovery', description: 'Run EventBridge schema discovery on the bus (`true`/`false`)', defaultValue: 'false' },
  { key: 'alarmEmail', description: 'E-mail address subscribed to the alarm topic', defaultValue: '(none)' },
  {
    key: 'tiers',
    description: 'JSON tier overrides of rate, burst, fail mode and quota, e.g. `{"free":{"requestsPerMinute":10,"quota":{"period":"day","requests":1000}},"premium":{"failMode":"closed"}}`',
    defaultValue: 'free 5, basic 20, premium 100, enterprise 1000 per minute; no quotas',
  },
  { key: 'demoLatencyMs', description: 'Added latency of the demo routes GET /v1/users and /v1/products', defaultValue: '0' },
  { key: 'demoErrorRate', description: 'Share of demo route requests that fail with 500 (0-1)', defaultValue: '0' },
  {
    key: 'externalIssuer',
    description: 'An external token issuer whose access tokens tenants may use, e.g. `https://cognito-idp.<region>.amazonaws.com/<user pool id>`; each identity acts for the tenant an admin maps it to; needs the two below',
    defaultValue: '(none)',
  },
  { key: 'externalClientIds', description: 'Comma-separated app client ids whose access tokens are accepted (`client_id`; Cognito access tokens have no `aud`)', defaultValue: '(none)' },
  { key: 'externalJwksUrl', description: 'https JWKS URL of the external issuer, e.g. `<externalIssuer>/.well-known/jwks.json`', defaultValue: '(none)' },
  {
    key: 'authorizerReservedConcurrency',
    description: 'Reserved concurrency of the authorizer function, so a flood of fresh credentials cannot take the account\'s Lambda concurrency (0 reserves none; the account must keep 100 unreserved)',
    defaultValue: '100',
  },
  {
    key: 'accounts',
    description:
      'Self-service accounts for API consumers: an Amazon Cognito user pool behind POST /v1/auth/register, confirm, login, refresh, logout, GET /v1/auth/me and /v1/keys (`true`/`false`; with `false` the sign-up and sign-in routes answer 503 and no account token exists)',
    defaultValue: 'true',
  },
  {
    key: 'accountsEmailFrom',
    description:
      'A verified Amazon SES email address in the stack\'s region that sends the confirmation codes; without it Cognito\'s default email sends them, which allows only a few emails a day per pool',
    defaultValue: '(none: Cognito\'s default email)',
  },
  {
    key: 'corsAllowOrigins',
    description: 'Comma-separated origins whose pages may call the API (CORS), e.g. `https://app.example.com`; `*` for any (credentials travel in headers, never cookies)',
    defaultValue: DEFAULT_CORS_ALLOW_ORIGINS.join(','),
  },
  {
    key: 'edgeProtection',
    description: 'Put CloudFront with AWS WAF per-IP rate-based rules in front of the API (a second stack, `<stack>-Edge`, in us-east-1) and turn the default execute-api endpoint off (`true`/`false`); needs `edgeOriginDomainName` and `edgeOriginCertificateArn`',
    defaultValue: 'false',
  },
  { key: 'edgeOriginDomainName', description: 'Custom domain name the API answers on behind CloudFront; point its DNS record at the `EdgeOriginDnsTarget` output', defaultValue: '(none)' },
  { key: 'edgeOriginCertificateArn', description: 'ACM certificate for `edgeOriginDomainName`, in the API\'s region', defaultValue: '(none)' },
  { key: 'edgeRateLimitPerIp', description: 'Requests one IP address may make to any route in 5 minutes before AWS WAF answers 429 (10-2000000000)', defaultValue: '3000' },
  { key: 'edgeTokenRateLimitPerIp', description: 'Requests one IP address may make in 5 minutes, all together, to POST /v1/auth/token and the account routes POST /v1/auth/register, confirm, login, refresh, logout before AWS WAF answers 429 (10 up to `edgeRateLimitPerIp`)', defaultValue: '100' },
];

/** Thrown when a context value cannot be used. */
export class ContextParameterError extends Error {
  constructor(key: string, value: unknown, expected: string) {
    super(`Context parameter "${key}" is ${JSON.stringify(value)}; expected ${expected}. Set it with: npx cdk deploy -c ${key}=<value>`);
    this.name = 'ContextParameterError';
  }
}

const defaultOf = (key: string): string => {
  const parameter = CONTEXT_PARAMETERS.find((p) => p.key === key);
  if (!parameter) throw new Error(`No context parameter "${key}" is documented.`);
  return parameter.defaultValue;
};

/** Reads context values, each with its documented default, failing with a message that names the key. */
class ContextReader {
  constructor(private readonly node: Node) {}

  public raw(key: string): unknown {
    return this.node.tryGetContext(key);
  }

  public number(key: string, min: number, max: number): number {
    const value = this.valueOf(key);
    const parsed = typeof value === 'number' ? value : Number(String(value).trim());
    if (!Number.isFinite(parsed) || !Number.isInteger(parsed) || parsed < min || parsed > max) {
      throw new ContextParameterError(key, value, `a whole number from ${min} to ${max}`);
    }
    return parsed;
  }

  public decimal(key: string, max: number): number {
    const value = this.valueOf(key);
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < 0 || parsed > max) throw new ContextParameterError(key, value, `a number from 0 to ${max}`);
    return parsed;
  }

  public text(key: string): string {
    const value = this.valueOf(key);
    if (typeof value !== 'string' || value.trim() === '') throw new ContextParameterError(key, value, 'a non-empty string');
    return value.trim();
  }

  public bool(key: string): boolean {
    const value = this.valueOf(key);
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    throw new ContextParameterError(key, value, 'true or false');
  }

  public list(key: string): string[] {
    const value = this.valueOf(key);
    const items: unknown[] = Array.isArray(value) ? value : String(value).split(',');
    const cleaned = items.map((item) => String(item).trim()).filter(Boolean);
    if (cleaned.length === 0) throw new ContextParameterError(key, value, 'a comma-separated list with at least one entry');
    return cleaned;
  }

  /** The context value, or the documented default. */
  private valueOf(key: string): unknown {
    return this.raw(key) ?? defaultOf(key);
  }
}

/**
 * Reads the stack configuration from CDK context (`-c key=value` or `cdk.json`), failing with a
 * message that names the key and what it accepts.
 */
export function readUsageTrackerConfig(node: Node): UsageTrackerConfig {
  const context = new ContextReader(node);
  const alarmEmail = readAlarmEmail(context);
  const tiers = readTiers(context);
  const externalIssuer = readExternalIssuer(context);
  const edge = context.bool('edgeProtection') ? readEdge(context) : undefined;
  return {
    authorizerReservedConcurrency: context.number('authorizerReservedConcurrency', 0, 1000),
    edge,
    accounts: context.bool('accounts') ? readAccounts(context) : undefined,
    corsAllowOrigins: readCorsAllowOrigins(context),
    tiers,
    demo: { latencyMs: context.number('demoLatencyMs', 0, MAX_DEMO_LATENCY_MS), errorRate: context.decimal('demoErrorRate', 1) },
    externalIssuer,
    eventSources: context.list('eventSources'),
    bufferInterval: Duration.seconds(context.number('bufferIntervalSeconds', 0, FIREHOSE_BUFFERING.maxIntervalSeconds)),
    bufferSize: Size.mebibytes(context.number('bufferSizeMiB', 1, FIREHOSE_BUFFERING.maxSizeMiB)),
    archiveRetention: Duration.days(context.number('archiveRetentionDays', 1, 3650)),
    rawRetention: Duration.days(context.number('rawRetentionDays', 1, 3650)),
    glueSchedule: context.text('glueSchedule'),
    glueWorkers: context.number('glueWorkers', 2, 299),
    lateEventWindowDays: context.number('lateEventWindowDays', LATE_EVENT_WINDOW_DAYS_RANGE.min, LATE_EVENT_WINDOW_DAYS_RANGE.max),
    rejectedRecordsAlarmThreshold: context.number('rejectedRecordsAlarmThreshold', 0, 1_000_000_000),
    databaseName: context.text('databaseName'),
    athenaBytesScannedCutoff: Size.gibibytes(context.number('athenaBytesScannedCutoffGiB', 1, 1_048_576)),
    athenaResultsRetention: Duration.days(context.number('athenaResultsRetentionDays', 1, 3650)),
    schemaDiscovery: context.bool('schemaDiscovery'),
    alarmEmail,
  };
}

function readAlarmEmail(context: ContextReader): string | undefined {
  const email = context.raw('alarmEmail');
  if (email === undefined) return undefined;
  if (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
    throw new ContextParameterError('alarmEmail', email, 'an e-mail address');
  }
  return email;
}

/** The accounts' settings, read when `accounts` is true. */
function readAccounts(context: ContextReader): AccountsConfig {
  const emailFrom = context.raw('accountsEmailFrom');
  if (emailFrom === undefined) return {};
  if (typeof emailFrom !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(emailFrom.trim())) {
    throw new ContextParameterError('accountsEmailFrom', emailFrom, 'an email address verified in Amazon SES in the stack\'s region');
  }
  return { emailFrom: emailFrom.trim() };
}

/** Allowed CORS origins: `*`, or https origins (http only for localhost), checked as contracts/cors.ts checks them. */
function readCorsAllowOrigins(context: ContextReader): string[] {
  const origins = context.list('corsAllowOrigins');
  const problems = corsOriginProblems(origins);
  if (problems.length > 0) throw new ContextParameterError('corsAllowOrigins', context.raw('corsAllowOrigins'), `origins without a path: ${problems.join('; ')}`);
  return origins;
}

/** Tier overrides: a JSON object from `-c`, or an object from cdk.json. */
function readTiers(context: ContextReader): Partial<Record<TierName, TierSettings>> {
  const tiersRaw = context.raw('tiers');
  if (tiersRaw === undefined) return {};
  try {
    return typeof tiersRaw === 'string' ? (JSON.parse(tiersRaw) as Partial<Record<TierName, TierSettings>>) : (tiersRaw as Partial<Record<TierName, TierSettings>>);
  } catch {
    throw new ContextParameterError('tiers', tiersRaw, 'a JSON object such as {"free":{"requestsPerMinute":10}}');
  }
}

/** An external issuer: its URL, app client ids and https JWKS URL, all three or none. */
function readExternalIssuer(context: ContextReader): ExternalIssuerProps | undefined {
  const external = ['externalIssuer', 'externalClientIds', 'externalJwksUrl'].map((key) => context.raw(key));
  if (external.some((v) => v !== undefined) && external.some((v) => typeof v !== 'string' || v === '')) {
    throw new ContextParameterError('externalIssuer', external[0], 'externalIssuer, externalClientIds and externalJwksUrl together');
  }
  const [issuer, clientIds, jwksUrl] = external;
  if (typeof issuer !== 'string' || typeof clientIds !== 'string' || typeof jwksUrl !== 'string') return undefined;
  const externalIssuer = { issuer: issuer.trim(), clientIds: clientIds.split(',').map((id) => id.trim()).filter(Boolean), jwksUrl: jwksUrl.trim() };
  if (!externalIssuer.jwksUrl.startsWith('https://')) throw new ContextParameterError('externalJwksUrl', jwksUrl, 'an https URL (keys fetched over plain HTTP could be swapped on the way)');
  if (externalIssuerProblems(externalIssuer).length > 0) {
    throw new ContextParameterError('externalClientIds', clientIds, `usable values: ${externalIssuerProblems(externalIssuer).join('; ')}`);
  }
  return externalIssuer;
}

/** The edge's settings, read when `edgeProtection` is true. */
function readEdge(context: ContextReader): EdgeConfig {
  const originDomainName = context.raw('edgeOriginDomainName');
  if (typeof originDomainName !== 'string' || !/^[a-z0-9.-]+\.[a-z]{2,}$/.test(originDomainName.trim())) {
    throw new ContextParameterError('edgeOriginDomainName', originDomainName, 'the host name the API answers on behind CloudFront, e.g. api-origin.example.com (edgeProtection is true)');
  }
  const certificateArn = context.raw('edgeOriginCertificateArn');
  if (typeof certificateArn !== 'string' || !/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/.test(certificateArn.trim())) {
    throw new ContextParameterError('edgeOriginCertificateArn', certificateArn, 'the ARN of an ACM certificate for edgeOriginDomainName in the API\'s region (edgeProtection is true)');
  }
  const rateLimitPerIp = context.number('edgeRateLimitPerIp', 10, 2_000_000_000);
  return {
    originDomainName: originDomainName.trim(),
    originCertificateArn: certificateArn.trim(),
    rateLimitPerIp,
    tokenRateLimitPerIp: context.number('edgeTokenRateLimitPerIp', 10, rateLimitPerIp),
  };
}
