import { DEFAULT_EVENT_SOURCE } from '../../contracts/usage-event';
import { CONTEXT_PARAMETERS, readUsageTrackerConfig } from '../../lib/stack-config';
import { DEFAULT_GLUE_SCHEDULE } from '../../lib/usage-lake';
import { testApp } from './fixtures';

const read = (context: Record<string, unknown> = {}) => readUsageTrackerConfig(testApp(context).node);

describe('Function: readUsageTrackerConfig', () => {
  it('uses the documented defaults', () => {
    const config = read();
    expect(config.eventSources).toEqual([DEFAULT_EVENT_SOURCE]);
    expect(config.bufferInterval.toSeconds()).toBe(900);
    expect(config.bufferSize.toMebibytes()).toBe(128);
    expect(config.archiveRetention.toDays()).toBe(30);
    expect(config.rawRetention.toDays()).toBe(90);
    expect(config.glueSchedule).toBe(DEFAULT_GLUE_SCHEDULE);
    expect(config.glueWorkers).toBe(2);
    expect(config.databaseName).toBe('api_usage');
    expect(config.athenaBytesScannedCutoff.toGibibytes()).toBe(10);
    expect(config.schemaDiscovery).toBe(false);
    expect(config.alarmEmail).toBeUndefined();
  });

  it('reads strings as the CLI passes them (-c key=value)', () => {
    const config = read({
      eventSources: 'orders, billing',
      bufferIntervalSeconds: '60',
      bufferSizeMiB: '5',
      schemaDiscovery: 'true',
      alarmEmail: 'ops@example.com',
      athenaBytesScannedCutoffGiB: '2',
    });
    expect(config.eventSources).toEqual(['orders', 'billing']);
    expect(config.bufferInterval.toSeconds()).toBe(60);
    expect(config.bufferSize.toMebibytes()).toBe(5);
    expect(config.schemaDiscovery).toBe(true);
    expect(config.alarmEmail).toBe('ops@example.com');
    expect(config.athenaBytesScannedCutoff.toGibibytes()).toBe(2);
  });

  it('reads lists, numbers, booleans and objects as cdk.json gives them', () => {
    const config = read({ eventSources: ['orders', ' billing '], bufferIntervalSeconds: 60, schemaDiscovery: true, tiers: { free: { requestsPerMinute: 3 } } });
    expect(config.eventSources).toEqual(['orders', 'billing']);
    expect(config.bufferInterval.toSeconds()).toBe(60);
    expect(config.schemaDiscovery).toBe(true);
    expect(config.tiers).toEqual({ free: { requestsPerMinute: 3 } });
  });

  it('refuses an external issuer whose keys would come over plain HTTP', () => {
    expect(() => read({ externalIssuer: 'https://idp', externalClientIds: 'client-a', externalJwksUrl: 'http://idp/jwks' })).toThrow(
      'Context parameter "externalJwksUrl" is "http://idp/jwks"; expected an https URL',
    );
  });

  it.each([
    [{ bufferIntervalSeconds: '1000' }, 'Context parameter "bufferIntervalSeconds" is "1000"; expected a whole number from 0 to 900. Set it with: npx cdk deploy -c bufferIntervalSeconds=<value>'],
    [{ bufferSizeMiB: 'big' }, 'Context parameter "bufferSizeMiB" is "big"; expected a whole number from 1 to 128.'],
    [{ schemaDiscovery: 'yes' }, 'Context parameter "schemaDiscovery" is "yes"; expected true or false.'],
    [{ eventSources: ' , ' }, 'Context parameter "eventSources" is " , "; expected a comma-separated list with at least one entry.'],
    [{ alarmEmail: 'ops' }, 'Context parameter "alarmEmail" is "ops"; expected an e-mail address.'],
    [{ demoLatencyMs: '30000' }, 'Context parameter "demoLatencyMs" is "30000"; expected a whole number from 0 to 3000.'],
  ])('refuses %o', (context, message) => {
    expect(() => read(context)).toThrow(message);
  });

  it('reads the late event window and the rejected-records alarm threshold, and refuses them out of range', () => {
    expect(read()).toMatchObject({ lateEventWindowDays: 35, rejectedRecordsAlarmThreshold: 100 });
    expect(read({ lateEventWindowDays: '7', rejectedRecordsAlarmThreshold: '0' })).toMatchObject({ lateEventWindowDays: 7, rejectedRecordsAlarmThreshold: 0 });
    expect(() => read({ lateEventWindowDays: '0' })).toThrow('Context parameter "lateEventWindowDays" is "0"; expected a whole number from 1 to 3650.');
    expect(() => read({ rejectedRecordsAlarmThreshold: 'many' })).toThrow('Context parameter "rejectedRecordsAlarmThreshold" is "many"; expected a whole number from 0 to 1000000000.');
  });

  it('documents every parameter it reads', () => {
    expect(CONTEXT_PARAMETERS.map((p) => p.key)).toEqual([
      'eventSources', 'bufferIntervalSeconds', 'bufferSizeMiB', 'archiveRetentionDays', 'rawRetentionDays', 'glueSchedule',
      'glueWorkers', 'lateEventWindowDays', 'rejectedRecordsAlarmThreshold', 'databaseName', 'athenaBytesScannedCutoffGiB', 'athenaResultsRetentionDays', 'schemaDiscovery', 'alarmEmail',
      'tiers', 'demoLatencyMs', 'demoErrorRate', 'externalIssuer', 'externalClientIds', 'externalJwksUrl',
      'authorizerReservedConcurrency', 'accounts', 'accountsEmailFrom',
      'notificationsFrom', 'notificationOperators', 'notificationUsageUrl', 'notificationCooldownSeconds', 'accountSignals', 'corsAllowOrigins', 'edgeProtection', 'edgeOriginDomainName', 'edgeOriginCertificateArn', 'edgeRateLimitPerIp', 'edgeTokenRateLimitPerIp',
    ]);
  });

  it('reads the edge only when edgeProtection is true, and needs its origin name and certificate then', () => {
    const certificate = 'arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    expect(read()).toMatchObject({ edge: undefined, authorizerReservedConcurrency: 100 });
    expect(read({ edgeOriginDomainName: 'api-origin.example.com', authorizerReservedConcurrency: '0' })).toMatchObject({ edge: undefined, authorizerReservedConcurrency: 0 });
    expect(read({ edgeProtection: 'true', edgeOriginDomainName: 'api-origin.example.com', edgeOriginCertificateArn: certificate }).edge).toEqual({
      originDomainName: 'api-origin.example.com',
      originCertificateArn: certificate,
      rateLimitPerIp: 3000,
      tokenRateLimitPerIp: 100,
    });
    expect(() => read({ edgeProtection: 'true', edgeOriginCertificateArn: certificate })).toThrow('Context parameter "edgeOriginDomainName" is undefined; expected the host name the API answers on behind CloudFront');
    expect(() => read({ edgeProtection: 'true', edgeOriginDomainName: 'api-origin.example.com', edgeOriginCertificateArn: 'cert' })).toThrow('Context parameter "edgeOriginCertificateArn" is "cert"; expected the ARN of an ACM certificate');
    expect(() => read({ edgeProtection: 'true', edgeOriginDomainName: 'api-origin.example.com', edgeOriginCertificateArn: certificate, edgeRateLimitPerIp: '50', edgeTokenRateLimitPerIp: '60' })).toThrow(
      'Context parameter "edgeTokenRateLimitPerIp" is "60"; expected a whole number from 10 to 50.',
    );
    expect(() => read({ edgeProtection: 'yes' })).toThrow('Context parameter "edgeProtection" is "yes"; expected true or false.');
    expect(() => read({ authorizerReservedConcurrency: '5000' })).toThrow('Context parameter "authorizerReservedConcurrency" is "5000"; expected a whole number from 0 to 1000.');
  });

  it('turns accounts on by default, off with accounts=false, and reads the SES address of their emails', () => {
    expect(read()).toMatchObject({ accounts: {} });
    expect(read({ accounts: 'false', accountsEmailFrom: 'accounts@example.com' }).accounts).toBeUndefined();
    expect(read({ accountsEmailFrom: ' accounts@example.com ' }).accounts).toEqual({ emailFrom: 'accounts@example.com' });
    expect(() => read({ accounts: 'no' })).toThrow('Context parameter "accounts" is "no"; expected true or false.');
    expect(() => read({ accountsEmailFrom: 'accounts' })).toThrow('Context parameter "accountsEmailFrom" is "accounts"; expected an email address verified in Amazon SES');
  });

  it('allows any origin by default and reads a list of origins, refusing what is no origin (contracts/cors.ts)', () => {
    expect(read().corsAllowOrigins).toEqual(['*']);
    expect(read({ corsAllowOrigins: 'https://app.example.com, http://localhost:5173' }).corsAllowOrigins).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(read({ corsAllowOrigins: ['https://app.example.com'] }).corsAllowOrigins).toEqual(['https://app.example.com']);
    expect(() => read({ corsAllowOrigins: 'https://app.example.com/' })).toThrow('Context parameter "corsAllowOrigins" is "https://app.example.com/"; expected origins without a path');
    expect(() => read({ corsAllowOrigins: 'http://app.example.com' })).toThrow('must be https (http only for localhost)');
    expect(() => read({ corsAllowOrigins: '*,https://app.example.com' })).toThrow('"*" must be the only origin when given');
  });

  it('reads tier overrides, demo settings and an external issuer', () => {
    const config = read({ tiers: '{"free":{"requestsPerMinute":10}}', demoErrorRate: '0.05', externalIssuer: 'https://idp', externalClientIds: 'client-a, client-b', externalJwksUrl: 'https://idp/jwks' });
    expect(config.tiers).toEqual({ free: { requestsPerMinute: 10 } });
    expect(config.demo).toEqual({ latencyMs: 0, errorRate: 0.05 });
    expect(config.externalIssuer).toEqual({ issuer: 'https://idp', clientIds: ['client-a', 'client-b'], jwksUrl: 'https://idp/jwks' });
    expect(() => read({ tiers: '{free' })).toThrow('Context parameter "tiers" is "{free"; expected a JSON object');
    expect(() => read({ externalIssuer: 'https://idp' })).toThrow('expected externalIssuer, externalClientIds and externalJwksUrl together');
  });

  it('deploys no notifier without notificationsFrom, and refuses the other notification keys alone', () => {
    expect(read().notifications).toBeUndefined();
    expect(() => read({ notificationOperators: 'ops@example.com' })).toThrow('Context parameter "notificationOperators" is "ops@example.com"; expected to be set together with notificationsFrom');
  });

  it('reads the notifier\'s sender, operators, usage link and cooldown, with their defaults', () => {
    expect(read({ notificationsFrom: ' notify@usage.example.com ' }).notifications).toEqual({ from: 'notify@usage.example.com', operators: [], usageUrl: undefined, cooldownSeconds: 3600 });
    const config = read({
      notificationsFrom: 'notify@usage.example.com',
      notificationOperators: 'ops@example.com, oncall@example.com',
      notificationUsageUrl: 'https://dashboard.example.com/tenants/{tenantId}/usage',
      notificationCooldownSeconds: '600',
    });
    expect(config.notifications).toEqual({
      from: 'notify@usage.example.com',
      operators: ['ops@example.com', 'oncall@example.com'],
      usageUrl: 'https://dashboard.example.com/tenants/{tenantId}/usage',
      cooldownSeconds: 600,
    });
  });

  it.each([
    [{ notificationsFrom: 'usage.example.com' }, 'Context parameter "notificationsFrom" is "usage.example.com"; expected an email address'],
    [{ notificationsFrom: 'n@usage.example.com', notificationOperators: 'ops@example.com, oncall' }, 'Context parameter "notificationOperators" is "ops@example.com, oncall"; expected comma-separated email addresses (not oncall)'],
    [{ notificationsFrom: 'n@usage.example.com', notificationUsageUrl: 'http://dashboard.example.com/{tenantId}' }, 'Context parameter "notificationUsageUrl" is "http://dashboard.example.com/{tenantId}"; expected an https URL'],
    [{ notificationsFrom: 'n@usage.example.com', notificationUsageUrl: 'dashboard' }, 'Context parameter "notificationUsageUrl" is "dashboard"; expected an https URL'],
    [{ notificationsFrom: 'n@usage.example.com', notificationCooldownSeconds: '59' }, 'Context parameter "notificationCooldownSeconds" is "59"; expected a whole number from 60 to 86400'],
    [{ notificationsFrom: 'n@usage.example.com', notificationCooldownSeconds: '86401' }, 'Context parameter "notificationCooldownSeconds" is "86401"; expected a whole number from 60 to 86400'],
  ])('refuses %j, naming the key', (context, message) => {
    expect(() => read(context)).toThrow(message);
  });

  it('reads accountSignals onto the defaults, from JSON or an object, and names the wrong field', () => {
    expect(read().accountSignals).toEqual({ rateLimitSpike: { count: 50, minutes: 5 }, authFailures: { count: 20, minutes: 5 } });
    expect(read({ accountSignals: '{"rateLimitSpike":{"count":100,"minutes":10}}' }).accountSignals).toEqual({ rateLimitSpike: { count: 100, minutes: 10 }, authFailures: { count: 20, minutes: 5 } });
    expect(read({ accountSignals: { authFailures: { count: 5 } } }).accountSignals.authFailures).toEqual({ count: 5, minutes: 5 });
    expect(() => read({ accountSignals: '{"rateLimitSpike":{"minutes":7}}' })).toThrow(/Context parameter "accountSignals" is .*accountSignals\.rateLimitSpike\.minutes must divide 60/);
    expect(() => read({ accountSignals: '{bad' })).toThrow(/Context parameter "accountSignals" is "\{bad"; expected thresholds/);
  });
});
