import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { MeteredApiDependencies, createDependencies } from '../../lambdas/runtime/dependencies';
import { LAMBDA_ENV } from '../../contracts/lambda-environment';
import { REQUEST_PATH_SDK, readRuntimeConfig } from '../../lambdas/runtime/runtime-config';
import { BlackHole } from '../support/store-faults';

const SECRET = 'tenant-secret-from-secrets-manager-0123456789abcdef';
/** The longest a request-path call may take against an endpoint that never answers: every attempt times out, plus back-off. */
const WORST_CALL_MS = REQUEST_PATH_SDK.maxAttempts * (REQUEST_PATH_SDK.connectionTimeoutMs + REQUEST_PATH_SDK.requestTimeoutMs) + 1_000;

/** Settles with the promise's outcome, or 'still waiting' after `ms`: a call without a timeout would hang. */
async function within<T>(promise: Promise<T>, ms: number): Promise<{ outcome: 'resolved' | 'rejected' | 'still waiting'; error?: Error; elapsedMs: number }> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<'still waiting'>((resolve) => (timer = setTimeout(() => { resolve('still waiting'); }, ms)));
  try {
    const result = await Promise.race([promise.then(() => 'resolved' as const), waited]);
    return { outcome: result, elapsedMs: Date.now() - started };
  } catch (error) {
    return { outcome: 'rejected', error: error as Error, elapsedMs: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** Integration: the SDK clients the Lambda handlers build for themselves, against endpoints that hang or answer. */
describe('Function: createDependencies (request-path SDK clients)', () => {
  const saved = { ...process.env };
  let hole: BlackHole;
  let holeUrl: string;
  let secretsManager: Server;
  let secretsManagerUrl: string;
  let deps: MeteredApiDependencies;

  beforeAll(async () => {
    hole = new BlackHole();
    holeUrl = `http://127.0.0.1:${await hole.start()}`;
    // A Secrets Manager that answers GetSecretValue (JSON 1.1 protocol).
    secretsManager = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:t', Name: 't', SecretString: SECRET, VersionId: 'v1' }));
    });
    await new Promise<void>((resolve) => secretsManager.listen(0, '127.0.0.1', () => { resolve(); }));
    secretsManagerUrl = `http://127.0.0.1:${(secretsManager.address() as AddressInfo).port}`;
    Object.assign(process.env, { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local', AWS_ENDPOINT_URL_DYNAMODB: holeUrl });
    const config = readRuntimeConfig({
      [LAMBDA_ENV.tables.credentials]: 'c',
      [LAMBDA_ENV.tables.limiter]: 'l',
      [LAMBDA_ENV.tables.audit]: 'a',
      [LAMBDA_ENV.tokenIssuer]: 'https://iss',
      [LAMBDA_ENV.tokenAudience]: 'aud',
      [LAMBDA_ENV.tenantTokenSecretArn]: 'arn:aws:secretsmanager:us-east-1:1:secret:t',
      [LAMBDA_ENV.adminTokenKeyFile]: '/nonexistent/admin.pem',
      [LAMBDA_ENV.usageEventBusName]: 'bus',
    });
    deps = createDependencies(config, { usageLog: () => undefined });
  });
  afterAll(async () => {
    process.env = saved;
    deps.dynamodb.destroy();
    await hole.stop();
    await new Promise<void>((resolve) => secretsManager.close(() => { resolve(); }));
  });

  it('gives DynamoDB calls a timeout and bounded attempts: a hanging endpoint fails the call with TimeoutError', async () => {
    // Act
    const result = await within(deps.dynamodb.send(new GetItemCommand({ TableName: 'l', Key: { pk: { S: 'TENANT#acme' } } })), WORST_CALL_MS + 2_000);
    // Assess
    expect({ outcome: result.outcome, name: result.error?.name }).toEqual({ outcome: 'rejected', name: 'TimeoutError' });
    expect(result.elapsedMs).toBeGreaterThanOrEqual(REQUEST_PATH_SDK.requestTimeoutMs);
    expect(result.elapsedMs).toBeLessThan(WORST_CALL_MS);
  });

  it('loads the signing secret again after a failed load: one Secrets Manager error does not poison the container', async () => {
    // Prepare: Secrets Manager hangs for the first request.
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = holeUrl;
    const claims = { tenantId: 'acme', keyId: 'key_1', tier: 'free' } as const;
    // Act
    const first = await within(deps.tokens.mintTenantToken(claims), WORST_CALL_MS + 2_000);
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secretsManagerUrl;
    const second = await within(deps.tokens.mintTenantToken(claims), WORST_CALL_MS);
    // Assess: the first fails within the SDK's timeouts, the next one loads the secret.
    expect({ outcome: first.outcome, name: first.error?.name }).toEqual({ outcome: 'rejected', name: 'TimeoutError' });
    expect(second).toMatchObject({ outcome: 'resolved' });
  });
});
