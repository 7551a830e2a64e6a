import { Duration, Size } from 'aws-cdk-lib';
import { Node } from 'constructs';
import { DEFAULT_EVENT_SOURCES, EVENT_TIME_WINDOW, LATE_EVENT_WINDOW_DAYS_RANGE } from '../contracts/usage-event';
import { CATALOG, FIREHOSE_BUFFERING } from '../contracts/lake-layout';
import { MAX_DEMO_LATENCY_MS } from '../contracts/metered-api';
import { TierName } from '../contracts/tiers';
import { externalIssuerProblems } from '../contracts/external-issuer';
import { DEFAULT_CORS_ALLOW_ORIGINS, corsOriginProblems } from '../contracts/cors';
import { AccountSignals, DEFAULT_ACCOUNT_SIGNALS, resolveAccountSignals } from '../contracts/account-events';
import { NOTIFICATION_COOLDOWN_RANGE } from '../contracts/lambda-environment';
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
  /** The notifier of account events (issue 16), from the `notification*` context parameters; absent without `notificationsFrom`. */
  readonly notifications?: NotificationsConfig;
  /** When 429s and failed authentications raise account events (`accountSignals`). */
  readonly accountSignals: AccountSignals;
}

/**
 * The notifier's settings. Without `notificationsFrom` no notifier, queue or rule is deployed:
 * account events still reach the lake, and nobody is mailed.
 */
export interface NotificationsConfig {
  /** The address mails are sent from: a verified Amazon SES identity (the address, or its domain) in the stack's region. */
  readonly from: string;
  /** Who hears the operator kinds (rate-limit spikes, failed authentications); none: those are not mailed. */
  readonly operators: readonly string[];
  /** The usage link of the mails (`{tenantId}` replaced); absent: the API's own GET /v1/usage. */
  readonly usageUrl?: string;
  /** The cooldown per tenant and kind of the kinds that repeat. */
  readonly cooldownSeconds: number;
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
    key: 'notificationsFrom',
    description:
      'The address account-event mails (issue 16) are sent from: an Amazon SES identity verified in the stack\'s region (the address, or its domain); without it no notifier is deployed and account events only reach the lake',
    defaultValue: '(none: no mails)',
  },
  { key: 'notificationOperators', description: 'Comma-separated addresses that hear the operator events (rate-limit spikes, repeated failed authentications)', defaultValue: '(none)' },
  {
    key: 'notificationUsageUrl',
    description: 'https link to a tenant\'s usage in the mails; `{tenantId}` is replaced by the tenant\'s id, e.g. `https://dashboard.example.com/tenants/{tenantId}`',
    defaultValue: 'the API\'s GET /v1/usage',
  },
  {
    key: 'notificationCooldownSeconds',
    description: `Seconds after a quota, spike or failed-authentication mail in which further events of that tenant and kind are not mailed (${NOTIFICATION_COOLDOWN_RANGE.min}-${NOTIFICATION_COOLDOWN_RANGE.max})`,
    defaultValue: '3600',
  },
  {
    key: 'accountSignals',
    description: 'JSON thresholds of the signal events: more than `count` 429s of one tenant (rateLimitSpike) or 401/403s from one source (authFailures) within `minutes`, e.g. `{"rateLimitSpike":{"count":100,"minutes":10}}`',
    defaultValue: `rateLimitSpike ${DEFAULT_ACCOUNT_SIGNALS.rateLimitSpike.count} in ${DEFAULT_ACCOUNT_SIGNALS.rateLimitSpike.minutes} min, authFailures ${DEFAULT_ACCOUNT_SIGNALS.authFailures.count} in ${DEFAULT_ACCOUNT_SIGNALS.authFailures.minutes} min`,
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
    notifications: readNotifications(context),
    accountSignals: readAccountSignals(context),
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

const EMAIL_ADDRESS = /^[^@\s,<>]+@[^@\s,<>]+\.[^@\s,<>]+$/;

/** The notifier's settings, read when `notificationsFrom` is set; the other `notification*` keys without it are a mistake worth naming. */
function readNotifications(context: ContextReader): NotificationsConfig | undefined {
  const from = context.raw('notificationsFrom');
  if (from === undefined) {
    const stray = ['notificationOperators', 'notificationUsageUrl', 'notificationCooldownSeconds'].find((key) => context.raw(key) !== undefined);
    if (stray) throw new ContextParameterError(stray, context.raw(stray), 'to be set together with notificationsFrom (without it no notifier is deployed)');
    return undefined;
  }
  if (typeof from !== 'string' || !EMAIL_ADDRESS.test(from.trim())) {
    throw new ContextParameterError('notificationsFrom', from, 'an email address whose address or domain is an Amazon SES identity verified in the stack\'s region');
  }
  const operatorsRaw = context.raw('notificationOperators');
  const operators = operatorsRaw === undefined ? [] : context.list('notificationOperators');
  const wrong = operators.filter((address) => !EMAIL_ADDRESS.test(address));
  if (wrong.length > 0) throw new ContextParameterError('notificationOperators', operatorsRaw, `comma-separated email addresses (not ${wrong.join(', ')})`);
  return { from: from.trim(), operators, usageUrl: readUsageUrl(context), cooldownSeconds: context.number('notificationCooldownSeconds', NOTIFICATION_COOLDOWN_RANGE.min, NOTIFICATION_COOLDOWN_RANGE.max) };
}

/** An https URL, `{tenantId}` allowed anywhere in it. */
function readUsageUrl(context: ContextReader): string | undefined {
  const value = context.raw('notificationUsageUrl');
  if (value === undefined) return undefined;
  const expected = 'an https URL, with {tenantId} where the tenant\'s id goes, e.g. https://dashboard.example.com/tenants/{tenantId}';
  if (typeof value !== 'string') throw new ContextParameterError('notificationUsageUrl', value, expected);
  try {
    if (new URL(value.trim().replaceAll('{tenantId}', 't-0')).protocol !== 'https:') throw new Error('not https');
  } catch {
    throw new ContextParameterError('notificationUsageUrl', value, expected);
  }
  return value.trim();
}

/** Signal thresholds: JSON from `-c`, or an object from cdk.json, checked by resolveAccountSignals (whose errors name the field). */
function readAccountSignals(context: ContextReader): AccountSignals {
  const value = context.raw('accountSignals');
  try {
    return resolveAccountSignals(value);
  } catch (error) {
    throw new ContextParameterError('accountSignals', value, `thresholds such as {"rateLimitSpike":{"count":50,"minutes":5},"authFailures":{"count":20,"minutes":5}} (${(error as Error).message})`);
  }
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
