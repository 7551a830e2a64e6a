import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { createUsageTrackerApp } from '../../lib/app';
import { esbuildOptionsOf } from '../../lib/lambda-bundling';
import { startDynalite } from '../support/dynalite';
import { LoopbackPutEventsServer } from '../support/put-events-server';
import { USAGE_LOG_LINE } from '../../contracts/usage-log-line';
import { encodeSubscriptionData } from '../../lambdas/usage-log/usage-log-forwarder';
import { CDK_JSON_CONTEXT } from './fixtures';

const execFileAsync = promisify(execFile);

/** What the bundled handlers answer: an authorizer's decision or an HTTP response. */
interface HandlerAnswer {
  readonly isAuthorized?: boolean;
  readonly context?: Record<string, unknown>;
  readonly statusCode?: number;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

/**
 * The deployable artefacts: synthesize the app with esbuild bundling, then load the bundled
 * authorizer and token handlers in a fresh Node process (as Lambda would) and invoke them
 * against dynalite.
 */
describe('Artefacts: bundled Lambda handlers', () => {
  it('run as bundled: the authorizer checks an API key, the token route mints a token', async () => {
    // Prepare: synth with bundling.
    const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-bundled-'));
    const { app, stack } = createUsageTrackerApp({ outdir, context: CDK_JSON_CONTEXT });
    app.synth();
    const template = JSON.parse(readFileSync(path.join(outdir, `${stack.artifactId}.template.json`), 'utf8')) as { Resources: Record<string, unknown> };
    const bundleOf = (description: string) => {
      const fn = Object.values(template.Resources as Record<string, { Type: string; Properties: { Description?: string; Code?: { S3Key?: string } } }>).find(
        (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Description === description,
      );
      return path.join(outdir, `asset.${fn!.Properties.Code!.S3Key!.replace('.zip', '')}`, 'index.js');
    };
    const dynamo = await startDynalite();
    const secretDir = mkdtempSync(path.join(tmpdir(), 'secrets-'));
    writeFileSync(path.join(secretDir, 'tenant'), 't'.repeat(64));
    writeFileSync(path.join(secretDir, 'admin'), 'a'.repeat(64));
    const { CredentialStore } = await import('../../lambdas/credentials/credential-store');
    const store = new CredentialStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter });
    await store.createTenant({ tenantId: 'acme', name: 'Acme', tier: 'basic' });
    const { apiKey, keyId } = await store.createKey('acme');
    const endpoint = await dynamo.client.config.endpoint!();
    // The bundles sign with the environment's credentials (their credential provider): checked.
    const bus = new LoopbackPutEventsServer({ verifyCredentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const busUrl = await bus.start();
    const env = {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: `http://${endpoint.hostname}:${endpoint.port}`,
      AWS_LAMBDA_FUNCTION_NAME: 'bundle-test',
      CREDENTIALS_TABLE: dynamo.tables.credentials,
      LIMITER_TABLE: dynamo.tables.limiter,
      AUDIT_TABLE: dynamo.tables.audit,
      TOKEN_ISSUER: 'urn:test',
      TOKEN_AUDIENCE: 'api-usage-tracker',
      TENANT_TOKEN_SECRET_FILE: path.join(secretDir, 'tenant'),
      ADMIN_TOKEN_KEY_FILE: path.join(secretDir, 'admin.pem'),
      USAGE_EVENT_BUS_NAME: 'usage-bus',
      AWS_ENDPOINT_URL_EVENTBRIDGE: busUrl,
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    };
    // Asynchronous: dynalite and the bus answer from this process meanwhile.
    const lines: string[] = [];
    const invoke = async (bundle: string, event: object, context: object = {}) => {
      const { stdout } = await execFileAsync(
        process.execPath,
        ['-e', `require(${JSON.stringify(bundle)}).handler(${JSON.stringify(event)}, ${JSON.stringify(context)}).then((r) => { process.stdout.write('\\n' + JSON.stringify(r)); process.exit(0); })`],
        { env, encoding: 'utf8', timeout: 60_000 },
      );
      const written = stdout.trim().split('\n');
      lines.push(...written.slice(0, -1));
      return JSON.parse(written.at(-1)!) as HandlerAnswer;
    };
    try {
      // Act
      const authorizer = bundleOf('Authorizer of the metered API: JWT or API key');
      // API Gateway invokes the authorizer through the alias of its name, which gives its access.
      const asAuthorizer = { invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bundle-test:tenant-x-api-key' };
      const allowed = await invoke(authorizer, { routeKey: 'POST /v1/auth/token', headers: { 'x-api-key': apiKey } }, asAuthorizer);
      const refused = await invoke(authorizer, { routeKey: 'POST /v1/auth/token', headers: { 'x-api-key': 'aut_' + 'B'.repeat(43) } }, asAuthorizer);
      const token = await invoke(bundleOf('Metered API token routes'), {
        version: '2.0',
        routeKey: 'POST /v1/auth/token',
        headers: {},
        requestContext: { http: { method: 'POST', sourceIp: '203.0.113.7' }, requestId: 'r1', authorizer: { lambda: allowed.context } },
      });
      // Assess
      // One read per API key: the tier comes from the limiter item, on the route (RateLimit-Policy below).
      expect(allowed).toMatchObject({ isAuthorized: true, context: { tenantId: 'acme', apiKeyId: keyId } });
      expect(refused).toEqual({ isAuthorized: false, context: {} });
      expect(token.statusCode).toBe(200);
      expect(JSON.parse(token.body!)).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
      expect(token.headers!['RateLimit-Policy']).toBe('"basic";q=20;w=60');
      // The route recorded its own call as a log line; the bundled forwarder puts it on the bus.
      const usageLines = lines.filter((line) => line.includes(`"${USAGE_LOG_LINE.markerKey}"`));
      expect(usageLines).toHaveLength(1);
      const forwarded = await invoke(bundleOf('Puts the usage lines the metered API functions log on the bus, in batches'), {
        awslogs: {
          data: encodeSubscriptionData({
            messageType: 'DATA_MESSAGE', owner: '123456789012', logGroup: '/aws/lambda/token', logStream: 's', subscriptionFilters: ['f'],
            logEvents: [{ id: '1', timestamp: Date.now(), message: usageLines[0] }],
          }),
        },
      });
      expect(forwarded).toMatchObject({ forwarded: 1 });
      expect(bus.details).toEqual([expect.objectContaining({ tenantId: 'acme', operation: 'POST /v1/auth/token', statusCode: 200, service: 'metered-api' })]);
      // The Lambda bench builds with the stack's options: the very bytes deployed.
      const benchBuild = path.join(outdir, 'bench-token', 'index.js');
      await build(esbuildOptionsOf('token', benchBuild));
      expect(readFileSync(benchBuild, 'utf8')).toBe(readFileSync(bundleOf('Metered API token routes'), 'utf8'));
    } finally {
      await bus.stop();
      await dynamo.stop();
    }
  }, 120_000);
});
