import { RuntimeConfigError, readRuntimeConfig } from '../../lambdas/runtime/runtime-config';

const env = {
  CREDENTIALS_TABLE: 'c',
  LIMITER_TABLE: 'l',
  AUDIT_TABLE: 'a',
  TOKEN_ISSUER: 'https://iss',
  TOKEN_AUDIENCE: 'aud',
  TENANT_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:t',
  ADMIN_TOKEN_KEY_FILE: '/secrets/admin.pem',
  USAGE_EVENT_BUS_NAME: 'bus',
};

describe('Function: readRuntimeConfig', () => {
  it('reads tables, secrets, tiers and the bus', () => {
    const config = readRuntimeConfig({ ...env, TIERS_JSON: '{"free":{"requestsPerMinute":10},"premium":{"failMode":"closed"}}' });
    expect(config.tenantSecret).toEqual({ kind: 'secrets-manager', secretId: env.TENANT_TOKEN_SECRET_ARN });
    expect(config.adminKey).toEqual({ kind: 'file', path: '/secrets/admin.pem' });
    expect(config.tiers.free).toEqual({ requestsPerMinute: 10, burst: 10, failMode: 'closed' });
    expect(config.tiers.premium).toEqual({ requestsPerMinute: 100, burst: 100, failMode: 'closed' });
    expect(config.usageBus).toEqual({ eventBusName: 'bus', source: 'my-applications' });
  });

  it('fails fast, naming everything that is missing or wrong', () => {
    expect(() => readRuntimeConfig({ TOKEN_ISSUER: 'x', DEMO_ERROR_RATE: '2', TIERS_JSON: '{' })).toThrow(RuntimeConfigError);
    try {
      readRuntimeConfig({ TOKEN_ISSUER: 'x', DEMO_ERROR_RATE: '2' });
    } catch (error) {
      expect((error as Error).message).toBe(
        'The metered API is misconfigured: CREDENTIALS_TABLE is not set; LIMITER_TABLE is not set; AUDIT_TABLE is not set; TOKEN_AUDIENCE is not set; TENANT_TOKEN_SECRET_ARN or TENANT_TOKEN_SECRET_FILE is not set; ADMIN_TOKEN_KEY_ID or ADMIN_TOKEN_KEY_FILE is not set; DEMO_ERROR_RATE must be a number from 0 to 1.',
      );
    }
  });
});
