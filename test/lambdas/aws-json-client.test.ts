import { execFile } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { AwsJsonClient, AwsJsonError, KMS, SECRETS_MANAGER, awsJsonEndpoint, isRetryable } from '../../lambdas/runtime/aws-json-client';
import { secretSource } from '../../lambdas/runtime/lambda-wiring';
import { PROJECT_ROOT, esbuildOptionsOf } from '../../lib/lambda-bundling';
import { KmsAdminTokenSigner, derToJoseSignature } from '../../lambdas/tokens/admin-token-signer';
import { signatureProblem } from '../support/put-events-server';

const CREDENTIALS = { accessKeyId: 'AKIDLOOPBACK', secretAccessKey: 'loopback-secret', sessionToken: 'session-1' };
const POLICY = { connectionTimeoutMs: 300, requestTimeoutMs: 400, maxAttempts: 3 };

interface Received {
  readonly target: string;
  readonly contentType: string;
  readonly body: Record<string, unknown>;
  readonly signatureProblem: string | undefined;
  readonly sessionToken: string | undefined;
  /** The credential scope's region and service, e.g. `eu-west-1/kms`. */
  readonly scope: string | undefined;
  readonly path: string | undefined;
}

type Answer = (received: Received, index: number) => { status: number; body: unknown; errorTypeHeader?: string } | 'hang' | 'stall';

/** A loopback AWS JSON 1.1 endpoint: checks each request's signature with `@smithy/signature-v4` and answers with `answer`. */
class LoopbackAwsJson {
  public readonly received: Received[] = [];
  private server?: Server;

  constructor(private readonly answer: Answer) {}

  public async start(): Promise<string> {
    this.server = createServer((req, res) => { void this.handle(req, res); });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', () => { resolve(); }));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  public async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => { resolve(); }));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const received: Received = {
      target: String(req.headers['x-amz-target']),
      contentType: String(req.headers['content-type']),
      body: JSON.parse(text) as Record<string, unknown>,
      signatureProblem: await signatureProblem(req, text, CREDENTIALS),
      sessionToken: req.headers['x-amz-security-token'] as string | undefined,
      path: req.url,
      scope: /Credential=[^/]+\/\d{8}\/([^/]+\/[^/]+)\/aws4_request/.exec(req.headers.authorization ?? '')?.[1],
    };
    this.received.push(received);
    const answer = this.answer(received, this.received.length - 1);
    if (answer === 'hang') return;
    if (answer === 'stall') {
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'content-length': '100' });
      res.write('{"SecretString":');
      return;
    }
    res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1', ...(answer.errorTypeHeader ? { 'x-amzn-errortype': answer.errorTypeHeader } : {}) });
    res.end(JSON.stringify(answer.body));
  }
}

async function withEndpoint<T>(answer: Answer, run: (url: string, server: LoopbackAwsJson) => Promise<T>): Promise<T> {
  const server = new LoopbackAwsJson(answer);
  const url = await server.start();
  try {
    return await run(url, server);
  } finally {
    await server.stop();
  }
}

const clientOf = (url: string, service = SECRETS_MANAGER, policy = POLICY) =>
  new AwsJsonClient(service, { region: 'eu-west-1', credentials: () => Promise.resolve(CREDENTIALS), policy, env: { AWS_ENDPOINT_URL: url } });

describe('Class: AwsJsonClient', () => {
  describe('Method: call', () => {
    it('sends GetSecretValue as the AWS JSON 1.1 protocol has it: POST, X-Amz-Target secretsmanager.GetSecretValue, a SigV4 signature that @smithy/signature-v4 verifies (API_GetSecretValue.html)', async () => {
      // Prepare
      const answer = await withEndpoint(
        () => ({ status: 200, body: { ARN: 'arn:aws:secretsmanager:eu-west-1:1:secret:s', SecretString: 'value-1' } }),
        async (url, server) => {
          const client = clientOf(url);
          // Act
          const result = await client.call<{ SecretString?: string }>('GetSecretValue', { SecretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:s' });
          client.destroy();
          return { result, received: server.received };
        },
      );
      // Assess
      expect(answer.result.SecretString).toBe('value-1');
      expect(answer.received).toEqual([
        {
          target: 'secretsmanager.GetSecretValue',
          contentType: 'application/x-amz-json-1.1',
          body: { SecretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:s' },
          signatureProblem: undefined,
          sessionToken: 'session-1',
          scope: 'eu-west-1/secretsmanager',
          path: '/',
        },
      ]);
    });

    it('keeps the path of an endpoint URL that has one (AWS_ENDPOINT_URL may), and signs it', async () => {
      const received = await withEndpoint(
        () => ({ status: 200, body: { SecretString: 'v' } }),
        async (url, server) => {
          const client = clientOf(`${url}/gateway/secrets`);
          await client.call('GetSecretValue', { SecretId: 's' });
          client.destroy();
          return server.received;
        },
      );
      expect(received.map((r) => [r.path, r.signatureProblem])).toEqual([['/gateway/secrets', undefined]]);
    });

    it('rejects with an AwsJsonError carrying __type, its name without namespace, the message and the status; a 4xx is not retried', async () => {
      const { error, received } = await withEndpoint(
        () => ({ status: 400, body: { __type: 'com.amazonaws.kms#NotFoundException', message: 'Key not found' } }),
        async (url, server) => {
          const client = clientOf(url, KMS);
          const caught = await client.call('GetPublicKey', { KeyId: 'k' }).catch((e: unknown) => e);
          client.destroy();
          return { error: caught, received: server.received.length };
        },
      );
      expect(error).toBeInstanceOf(AwsJsonError);
      expect(error).toMatchObject({ name: 'NotFoundException', type: 'com.amazonaws.kms#NotFoundException', message: 'Key not found', statusCode: 400, $metadata: { httpStatusCode: 400 } });
      expect(received).toBe(1);
    });

    it('takes the type from x-amzn-ErrorType when the service sends it', async () => {
      const error = await withEndpoint(
        () => ({ status: 400, body: { Message: 'Rate exceeded' }, errorTypeHeader: 'ThrottlingException:http://internal.amazon.com/coral/' }),
        async (url) => {
          const client = clientOf(url, KMS, { ...POLICY, maxAttempts: 1 });
          const caught = await client.call('Sign', {}).catch((e: unknown) => e);
          client.destroy();
          return caught;
        },
      );
      expect(error).toMatchObject({ name: 'ThrottlingException', message: 'Rate exceeded', statusCode: 400 });
    });

    it.each([
      ['a throttling error', { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } }],
      ['a 503', { status: 503, body: { __type: 'ServiceUnavailableException' } }],
      ['a 500 without a JSON body', { status: 500, body: 'oops' }],
    ])('retries %s, as the SDK standard mode does, and answers the next attempt', async (_what, failure) => {
      const { result, attempts } = await withEndpoint(
        (_received, index) => (index === 0 ? failure : { status: 200, body: { SecretString: 'after-retry' } }),
        async (url, server) => {
          const client = clientOf(url);
          const value = await client.call<{ SecretString: string }>('GetSecretValue', { SecretId: 's' });
          client.destroy();
          return { result: value, attempts: server.received.length };
        },
      );
      expect(result.SecretString).toBe('after-retry');
      expect(attempts).toBe(2);
    });

    it('gives up after maxAttempts and rejects with the last error', async () => {
      const { error, attempts } = await withEndpoint(
        () => ({ status: 500, body: { __type: 'InternalServiceError', message: 'down' } }),
        async (url, server) => {
          const client = clientOf(url);
          const caught = await client.call('GetSecretValue', { SecretId: 's' }).catch((e: unknown) => e);
          client.destroy();
          return { error: caught, attempts: server.received.length };
        },
      );
      expect(error).toMatchObject({ name: 'InternalServiceError', statusCode: 500 });
      expect(attempts).toBe(POLICY.maxAttempts);
    });

    it('times out an attempt that gets no answer (TimeoutError), retries it, and ends within maxAttempts × the timeout plus back-off', async () => {
      const started = Date.now();
      const { error, attempts } = await withEndpoint(
        () => 'hang',
        async (url, server) => {
          const client = clientOf(url, SECRETS_MANAGER, { ...POLICY, maxAttempts: 2 });
          const caught = await client.call('GetSecretValue', { SecretId: 's' }).catch((e: unknown) => e);
          client.destroy();
          return { error: caught, attempts: server.received.length };
        },
      );
      const elapsed = Date.now() - started;
      expect(error).toMatchObject({ name: 'TimeoutError' });
      expect(attempts).toBe(2);
      expect(elapsed).toBeGreaterThanOrEqual(2 * POLICY.requestTimeoutMs);
      expect(elapsed).toBeLessThan(2 * (POLICY.connectionTimeoutMs + POLICY.requestTimeoutMs) + 1_000);
    });

    it('times out an answer whose body stalls after its headers (TimeoutError), as the SDK\'s requestTimeout does', async () => {
      const { error, attempts } = await withEndpoint(
        () => 'stall',
        async (url, server) => {
          const client = clientOf(url, SECRETS_MANAGER, { ...POLICY, maxAttempts: 1 });
          const caught = await client.call('GetSecretValue', { SecretId: 's' }).catch((e: unknown) => e);
          client.destroy();
          return { error: caught, attempts: server.received.length };
        },
      );
      expect(error).toMatchObject({ name: 'TimeoutError', statusCode: 0 });
      expect(attempts).toBe(1);
    });

    it('rejects on call, not at construction, when no region is known', async () => {
      const client = new AwsJsonClient(KMS, { env: {}, credentials: () => Promise.resolve(CREDENTIALS) });
      await expect(client.call('Sign', {})).rejects.toThrow('No region for kms: set AWS_REGION.');
      client.destroy();
    });
  });
});

describe('Function: awsJsonEndpoint', () => {
  it('prefers AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html)', () => {
    const env = { AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:4001', AWS_ENDPOINT_URL_KMS: 'http://127.0.0.1:4002', AWS_ENDPOINT_URL: 'http://127.0.0.1:4000' };
    expect(awsJsonEndpoint(SECRETS_MANAGER, 'us-east-1', env).href).toBe('http://127.0.0.1:4001/');
    expect(awsJsonEndpoint(KMS, 'us-east-1', env).href).toBe('http://127.0.0.1:4002/');
    expect(awsJsonEndpoint(KMS, 'us-east-1', { AWS_ENDPOINT_URL: 'http://127.0.0.1:4000' }).href).toBe('http://127.0.0.1:4000/');
  });

  it('defaults to the Regional endpoint https://<service-code>.<region>.amazonaws.com (https://docs.aws.amazon.com/general/latest/gr/rande.html)', () => {
    expect(awsJsonEndpoint(KMS, 'eu-west-1', {}).href).toBe('https://kms.eu-west-1.amazonaws.com/');
    expect(awsJsonEndpoint(SECRETS_MANAGER, 'us-east-1', {}).href).toBe('https://secretsmanager.us-east-1.amazonaws.com/');
    expect(awsJsonEndpoint(KMS, 'cn-north-1', {}).href).toBe('https://kms.cn-north-1.amazonaws.com.cn/');
  });
});

describe('Function: isRetryable', () => {
  it.each<[string, boolean, unknown]>([
    ['ThrottlingException', true, new AwsJsonError('ThrottlingException', 'x', 400)],
    ['a 502', true, new AwsJsonError('BadGateway', 'x', 502)],
    ['a timeout', true, new AwsJsonError('TimeoutError', 'x', 0)],
    ['ECONNRESET', true, Object.assign(new Error('reset'), { code: 'ECONNRESET' })],
    ['AccessDeniedException', false, new AwsJsonError('AccessDeniedException', 'x', 400)],
    ['ENOTFOUND', false, Object.assign(new Error('dns'), { code: 'ENOTFOUND' })],
  ])('%s: retryable %s', (_what, expected, error) => {
    expect(isRetryable(error)).toBe(expected);
  });
});

describe('Class: KmsAdminTokenSigner (through AwsJsonClient, against a loopback KMS with a real P-256 key)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  // KMS Sign with MessageType RAW hashes the message itself: the signature is ECDSA over SHA-256 of Message, DER-encoded.
  const kms: Answer = (received) => {
    if (received.target === 'TrentService.GetPublicKey') return { status: 200, body: { KeyId: received.body.KeyId, KeySpec: 'ECC_NIST_P256', PublicKey: spki.toString('base64') } };
    const message = Buffer.from(String(received.body.Message), 'base64');
    const signature = sign('sha256', message, { key: privateKey, dsaEncoding: 'der' });
    return { status: 200, body: { KeyId: received.body.KeyId, Signature: signature.toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' } };
  };

  it('signs with TrentService.Sign (base64 Message, MessageType RAW, ECDSA_SHA_256), and the DER signature verifies with the key of TrentService.GetPublicKey (API_Sign.html, API_GetPublicKey.html)', async () => {
    // Prepare
    const message = new TextEncoder().encode('header.payload');
    const { der, key, received } = await withEndpoint(kms, async (url, server) => {
      const client = clientOf(url, KMS);
      const signer = new KmsAdminTokenSigner(client, 'arn:aws:kms:eu-west-1:1:key/k');
      // Act
      const result = { der: await signer.signDer(message), key: await signer.publicKey(), received: server.received };
      client.destroy();
      return result;
    });
    // Assess
    expect(received.map((r) => [r.target, r.signatureProblem, r.scope])).toEqual([
      ['TrentService.Sign', undefined, 'eu-west-1/kms'],
      ['TrentService.GetPublicKey', undefined, 'eu-west-1/kms'],
    ]);
    expect(received[0].body).toEqual({ KeyId: 'arn:aws:kms:eu-west-1:1:key/k', Message: Buffer.from(message).toString('base64'), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' });
    expect(received[1].body).toEqual({ KeyId: 'arn:aws:kms:eu-west-1:1:key/k' });
    expect(verify('sha256', message, { key, dsaEncoding: 'der' }, der)).toBe(true);
    expect(verify('sha256', message, { key: createPublicKey(privateKey), dsaEncoding: 'ieee-p1363' }, derToJoseSignature(der))).toBe(true);
  });

  it('refuses a key that is not ECC_NIST_P256', async () => {
    const error = await withEndpoint(
      () => ({ status: 200, body: { KeySpec: 'RSA_2048', PublicKey: spki.toString('base64') } }),
      async (url) => {
        const client = clientOf(url, KMS);
        const caught = await new KmsAdminTokenSigner(client, 'k').publicKey().catch((e: unknown) => e);
        client.destroy();
        return caught;
      },
    );
    expect(error).toMatchObject({ name: 'AdminTokenSignerError', message: 'Key k must be an ECC_NIST_P256 key; it is RSA_2048.' });
  });
});

describe('Function: secretSource (Secrets Manager through AwsJsonClient)', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('reads SecretString from the endpoint of AWS_ENDPOINT_URL_SECRETS_MANAGER, signed with the environment credentials', async () => {
    const { secret, received } = await withEndpoint(
      () => ({ status: 200, body: { SecretString: 'tenant-secret' } }),
      async (url, server) => {
        Object.assign(process.env, { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_SECRETS_MANAGER: url, AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey, AWS_SESSION_TOKEN: CREDENTIALS.sessionToken });
        const value = await secretSource({ kind: 'secrets-manager', secretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:t' })();
        return { secret: Buffer.from(value).toString('utf8'), received: server.received };
      },
    );
    expect(secret).toBe('tenant-secret');
    expect(received).toEqual([expect.objectContaining({ target: 'secretsmanager.GetSecretValue', body: { SecretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:t' }, signatureProblem: undefined })]);
  });

  it('refuses a secret without a string value', async () => {
    const error = await withEndpoint(
      () => ({ status: 200, body: { SecretBinary: 'AAAA' } }),
      async (url) => {
        Object.assign(process.env, { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_SECRETS_MANAGER: url, AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey });
        return secretSource({ kind: 'secrets-manager', secretId: 's' })().catch((e: unknown) => e);
      },
    );
    expect(error).toMatchObject({ message: 'Secret s has no string value.' });
  });
});

describe('Bundled as the Lambda functions are (the stack\'s esbuild options and aliases), in a fresh Node process', () => {
  it('reads the secret from Secrets Manager and signs with KMS, with the environment\'s credentials: both requests verify', async () => {
    // Prepare: the wiring bundled with the functions' options, and a loopback endpoint answering both services.
    const outDir = mkdtempSync(path.join(tmpdir(), 'aws-json-bundle-'));
    const outfile = path.join(outDir, 'index.js');
    await build({
      ...esbuildOptionsOf('token', outfile),
      entryPoints: [],
      stdin: {
        contents: "export { secretSource, adminTokenSignerOf } from './lambdas/runtime/lambda-wiring';",
        resolveDir: PROJECT_ROOT,
        sourcefile: 'bundle-entry.ts',
        loader: 'ts',
      },
    });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const script = [
      `const { secretSource, adminTokenSignerOf } = require(${JSON.stringify(outfile)});`,
      `const secret = await secretSource({ kind: 'secrets-manager', secretId: 'arn:aws:secretsmanager:eu-west-1:1:secret:t' })();`,
      `const der = await adminTokenSignerOf({ adminKey: { kind: 'kms', keyId: 'k-1' } }).signDer(Buffer.from('m'));`,
      `process.stdout.write(JSON.stringify({ secret: Buffer.from(secret).toString(), der: Buffer.from(der).toString('base64') }));`,
    ].join('\n');
    try {
      const { answer, received } = await withEndpoint(
        (r) =>
          r.target === 'TrentService.Sign'
            ? { status: 200, body: { Signature: sign('sha256', Buffer.from(String(r.body.Message), 'base64'), { key: privateKey, dsaEncoding: 'der' }).toString('base64') } }
            : { status: 200, body: { SecretString: 'bundled-secret' } },
        async (url, server) => {
          // Act
          const credentials = { AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey, AWS_SESSION_TOKEN: CREDENTIALS.sessionToken };
          const env = { PATH: process.env.PATH, AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: url, ...credentials };
          const { stdout } = await promisify(execFile)(process.execPath, ['-e', `(async () => {\n${script}\n})().then(() => process.exit(0))`], { env, encoding: 'utf8', timeout: 30_000 });
          return { answer: JSON.parse(stdout) as { secret: string; der: string }, received: server.received };
        },
      );
      // Assess
      expect(answer.secret).toBe('bundled-secret');
      expect(verify('sha256', Buffer.from('m'), { key: createPublicKey(privateKey), dsaEncoding: 'der' }, Buffer.from(answer.der, 'base64'))).toBe(true);
      expect(received.map((r) => [r.target, r.signatureProblem, r.scope, r.sessionToken])).toEqual([
        ['secretsmanager.GetSecretValue', undefined, 'eu-west-1/secretsmanager', 'session-1'],
        ['TrentService.Sign', undefined, 'eu-west-1/kms', 'session-1'],
      ]);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 60_000);
});
