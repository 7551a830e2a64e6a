import { LAMBDA_ENV, lambdaEnvironment } from '../../contracts/lambda-environment';
import { DEFAULT_EVENT_SOURCE } from '../../contracts/usage-event';
import { RuntimeConfigError, readRuntimeConfig, readUsageBus, requireUsageBus } from '../../lambdas/runtime/runtime-config';

const env = {
  [LAMBDA_ENV.tables.credentials]: 'c',
  [LAMBDA_ENV.tables.limiter]: 'l',
  [LAMBDA_ENV.tables.audit]: 'a',
  [LAMBDA_ENV.tokenIssuer]: 'https://iss',
  [LAMBDA_ENV.tokenAudience]: 'aud',
  [LAMBDA_ENV.tenantTokenSecretArn]: 'arn:aws:secretsmanager:eu-west-1:1:secret:t',
  [LAMBDA_ENV.adminTokenKeyFile]: '/secrets/admin.pem',
  [LAMBDA_ENV.usageEventBusName]: 'bus',
};

describe('Function: readRuntimeConfig', () => {
  it('reads tables, secrets, tiers and the bus', () => {
    const config = readRuntimeConfig({ ...env, [LAMBDA_ENV.tiers]: '{"free":{"requestsPerMinute":10},"premium":{"failMode":"closed"}}' });
    expect(config.tables).toEqual({ credentials: 'c', limiter: 'l', audit: 'a' });
    expect(config.tenantSecret).toEqual({ kind: 'secrets-manager', secretId: env[LAMBDA_ENV.tenantTokenSecretArn] });
    expect(config.adminKey).toEqual({ kind: 'file', path: '/secrets/admin.pem' });
    expect(config.tiers.free).toEqual({ requestsPerMinute: 10, burst: 10, failMode: 'closed' });
    expect(config.tiers.premium).toEqual({ requestsPerMinute: 100, burst: 100, failMode: 'closed' });
    expect(config.usageBus).toEqual({ eventBusName: 'bus', source: DEFAULT_EVENT_SOURCE });
  });

  it('reads back what the stack writes: the environment has one writer and one reader', () => {
    // Prepare
    const written = lambdaEnvironment({
      tables: { credentials: 'creds', limiter: 'limits', audit: 'audit' },
      tokenIssuer: 'urn:test',
      tokenAudience: 'aud',
      tenantTokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:t',
      adminTokenKeyId: 'arn:aws:kms:eu-west-1:1:key/k',
      tiers: { free: { requestsPerMinute: 7, burst: 9 }, basic: { requestsPerMinute: 20, burst: 20 }, premium: { requestsPerMinute: 100, burst: 100, failMode: 'closed' }, enterprise: { requestsPerMinute: 1000, burst: 1000 } },
      usageBus: { eventBusName: 'usage', source: 'billing-service' },
      demo: { latencyMs: 250, errorRate: 0.5 },
      external: { issuer: 'https://idp.test', clientIds: ['a', 'b'], jwksUrl: 'https://idp.test/jwks.json' },
      sourceIpGuard: false,
    });
    // Act
    const config = readRuntimeConfig(written);
    // Assess
    expect(config).toEqual({
      tables: { credentials: 'creds', limiter: 'limits', audit: 'audit' },
      tokenIssuer: 'urn:test',
      tokenAudience: 'aud',
      tenantSecret: { kind: 'secrets-manager', secretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:t' },
      adminKey: { kind: 'kms', keyId: 'arn:aws:kms:eu-west-1:1:key/k' },
      tiers: {
        free: { requestsPerMinute: 7, burst: 9, failMode: 'closed' },
        basic: { requestsPerMinute: 20, burst: 20, failMode: 'closed' },
        premium: { requestsPerMinute: 100, burst: 100, failMode: 'closed' },
        enterprise: { requestsPerMinute: 1000, burst: 1000, failMode: 'open' },
      },
      external: { issuer: 'https://idp.test', clientIds: ['a', 'b'], jwks: new URL('https://idp.test/jwks.json'), algorithms: ['RS256'] },
      usageBus: { eventBusName: 'usage', source: 'billing-service' },
      demo: { latencyMs: 250, errorRate: 0.5 },
      sourceIpGuard: false,
    });
  });

  it('fails fast, naming everything that is missing or wrong', () => {
    // Act
    const read = () => readRuntimeConfig({ [LAMBDA_ENV.tokenIssuer]: 'x', [LAMBDA_ENV.demoErrorRate]: '2' });
    // Assess
    expect(read).toThrow(RuntimeConfigError);
    expect(read).toThrow(
      new RuntimeConfigError([
        'CREDENTIALS_TABLE is not set',
        'LIMITER_TABLE is not set',
        'AUDIT_TABLE is not set',
        'TOKEN_AUDIENCE is not set',
        'TENANT_TOKEN_SECRET_ARN or TENANT_TOKEN_SECRET_FILE is not set',
        'ADMIN_TOKEN_KEY_ID or ADMIN_TOKEN_KEY_FILE is not set',
        'DEMO_ERROR_RATE must be a number from 0 to 1',
      ]).message,
    );
  });

  it.each([
    ['that is not JSON', '{', /TIERS_JSON is not valid: /],
    ['with an unknown tier', '{"gold":{}}', 'TIERS_JSON is not valid: Unknown tier(s) gold'],
    ['with a fail mode other than open or closed', '{"premium":{"failMode":"sometimes"}}', 'TIERS_JSON is not valid: Tier "premium": failMode must be "open" or "closed"; got "sometimes".'],
    ['with a burst of 0', '{"basic":{"burst":0}}', 'TIERS_JSON is not valid: Tier "basic": burst must be a positive whole number; got 0.'],
  ])('refuses tier overrides %s', (_label, json, message) => {
    expect(() => readRuntimeConfig({ ...env, [LAMBDA_ENV.tiers]: json })).toThrow(message);
  });
});

describe('Function: requireUsageBus', () => {
  it('reads the bus and its source, and refuses to start without a bus', () => {
    expect(requireUsageBus({ [LAMBDA_ENV.usageEventBusName]: 'bus', [LAMBDA_ENV.usageEventSource]: 'orders' })).toEqual({ eventBusName: 'bus', source: 'orders' });
    expect(readUsageBus({})).toBeUndefined();
    expect(() => requireUsageBus({})).toThrow('USAGE_EVENT_BUS_NAME is not set');
  });
});
