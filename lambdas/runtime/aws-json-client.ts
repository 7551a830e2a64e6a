import * as http from 'node:http';
import * as https from 'node:https';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { AwsCredentials, SigV4Signer } from '../../sdk/sigv4';
import { REQUEST_PATH_SDK, RequestPathSdkPolicy } from './runtime-config';

/**
 * An AWS service spoken in the AWS JSON 1.1 protocol: every call is a signed `POST /` with the
 * operation in `X-Amz-Target` (`<targetPrefix>.<Operation>`) and its input as a JSON body; blobs
 * travel base64-encoded. The names are those of the AWS SDK's own clients (`serviceTarget`,
 * signing name, `serviceId`), so that the same requests reach the same endpoints.
 * https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html
 */
export interface AwsJsonService {
  /** The `X-Amz-Target` prefix: `secretsmanager`, `TrentService` (KMS). */
  readonly targetPrefix: string;
  /** The SigV4 signing name and the endpoint's service code: `secretsmanager`, `kms`. */
  readonly signingName: string;
  /** The service's part of `AWS_ENDPOINT_URL_<SERVICE>`: `SECRETS_MANAGER`, `KMS`. */
  readonly endpointEnvName: string;
}

export const SECRETS_MANAGER: AwsJsonService = { targetPrefix: 'secretsmanager', signingName: 'secretsmanager', endpointEnvName: 'SECRETS_MANAGER' };
export const KMS: AwsJsonService = { targetPrefix: 'TrentService', signingName: 'kms', endpointEnvName: 'KMS' };

/**
 * An error the service answered (`__type` in the body, or `x-amzn-ErrorType`), or a timeout. `name`
 * is the type without its namespace (`ThrottlingException`), as the SDK names its service errors.
 */
export class AwsJsonError extends Error {
  constructor(
    /** The type as answered, e.g. `com.amazonaws.kms#NotFoundException`; `TimeoutError` for a timeout. */
    public readonly type: string,
    message: string,
    /** The HTTP status; 0 when no answer came. */
    public readonly statusCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    // `ns#Name` or `Name:http://…`: the name alone.
    this.name = type.slice(type.lastIndexOf('#') + 1).split(':')[0];
  }

  /** As the SDK's errors carry it. */
  public get $metadata(): { readonly httpStatusCode: number } {
    return { httpStatusCode: this.statusCode };
  }
}

/** Error types the AWS SDK retries as throttling or transient (@smithy/service-error-classification). */
const RETRYABLE_TYPES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ThrottledException',
  'LimitExceededException',
  'ProvisionedThroughputExceededException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const RETRYABLE_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']);

/** Whether the SDK's standard retry mode would try this failure again: throttling, 5xx, timeouts, a dropped connection. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof AwsJsonError) return RETRYABLE_TYPES.has(error.name) || [500, 502, 503, 504].includes(error.statusCode);
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE_NETWORK_CODES.has(code);
}

/**
 * The endpoint the AWS SDK would use: `AWS_ENDPOINT_URL_<SERVICE>`, else `AWS_ENDPOINT_URL`
 * (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html), else the
 * Regional endpoint `https://<service-code>.<region>.amazonaws.com`
 * (https://docs.aws.amazon.com/general/latest/gr/rande.html; `.amazonaws.com.cn` in China).
 */
export function awsJsonEndpoint(service: AwsJsonService, region: string, env: NodeJS.ProcessEnv = process.env): URL {
  const configured = env[`AWS_ENDPOINT_URL_${service.endpointEnvName}`] ?? env.AWS_ENDPOINT_URL;
  if (configured) return new URL(configured);
  return new URL(`https://${service.signingName}.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`);
}

export interface AwsJsonClientOptions {
  /** @default - `AWS_REGION`, then `AWS_DEFAULT_REGION` */
  readonly region?: string;
  /** @default - the AWS SDK's credential chain (in the Lambda bundles: the function's environment) */
  readonly credentials?: () => Promise<AwsCredentials>;
  /** Timeouts and attempts. @default REQUEST_PATH_SDK */
  readonly policy?: RequestPathSdkPolicy;
  /** Where `AWS_ENDPOINT_URL*` and the region are read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /**
   * Sends the requests unsigned: for public operations, which the service authorizes by their
   * input, not by IAM (Cognito's SignUp, InitiateAuth, ...). @default false
   */
  readonly unsigned?: boolean;
}

interface RawAnswer {
  readonly statusCode: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/**
 * Calls an AWS JSON 1.1 service over Node's own HTTP, signed with the project's SigV4 signer
 * (sdk/sigv4.ts): what the Lambda functions need of Secrets Manager and KMS (three operations)
 * without an SDK client each (about 40 KB of the authorizer's bundle). Like the request path's SDK
 * clients (`requestPathClientConfig`): a connection timeout, a timeout per attempt, `maxAttempts`
 * attempts, retrying what the SDK's standard mode retries after a jittered back-off.
 */
export class AwsJsonClient {
  private readonly endpoint: URL;
  private readonly signer: SigV4Signer;
  private readonly policy: RequestPathSdkPolicy;
  private readonly credentials: () => Promise<AwsCredentials>;
  private readonly agent: http.Agent;
  private readonly unsigned: boolean;
  /** Why no call can be made (no region): said on the first call, as the SDK does, not at construction. */
  private readonly unusable?: Error;

  constructor(
    private readonly service: AwsJsonService,
    options: AwsJsonClientOptions = {},
  ) {
    const env = options.env ?? process.env;
    const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? '';
    if (!region) this.unusable = new Error(`No region for ${service.signingName}: set AWS_REGION.`);
    this.endpoint = awsJsonEndpoint(service, region || 'us-east-1', env);
    this.signer = new SigV4Signer(service.signingName, region);
    this.policy = options.policy ?? REQUEST_PATH_SDK;
    this.credentials = options.credentials ?? defaultProvider();
    this.unsigned = options.unsigned ?? false;
    this.agent = this.endpoint.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  /** Calls `operation` with `input`; resolves with the answer's JSON, or rejects with an {@link AwsJsonError} or a network error. */
  public async call<T>(operation: string, input: object): Promise<T> {
    if (this.unusable) throw this.unusable;
    const body = JSON.stringify(input);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.attempt<T>(operation, body);
      } catch (error) {
        if (attempt >= this.policy.maxAttempts || !isRetryable(error)) throw error;
        // The SDK's standard mode: full jitter on an exponential base of 100 ms, at most 20 s.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(20_000, 100 * 2 ** attempt)));
      }
    }
  }

  /** Closes the kept-alive connections. */
  public destroy(): void {
    this.agent.destroy();
  }

  private async attempt<T>(operation: string, body: string): Promise<T> {
    const headers = {
      host: this.endpoint.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `${this.service.targetPrefix}.${operation}`,
    };
    const signed = this.unsigned ? headers : this.signer.sign({ method: 'POST', path: this.endpoint.pathname, headers, body }, await this.credentials());
    const answer = await this.send(signed, body);
    if (answer.statusCode === 200) return JSON.parse(answer.body) as T;
    throw errorOf(answer);
  }

  private send(headers: Record<string, string>, body: string): Promise<RawAnswer> {
    const client = this.endpoint.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const request = client.request({
        hostname: this.endpoint.hostname.replace(/^\[|\]$/g, ''),
        port: this.endpoint.port || undefined,
        method: 'POST',
        path: this.endpoint.pathname,
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        agent: this.agent,
      });
      const timeout = (what: string, ms: number) => () => {
        request.destroy(new AwsJsonError('TimeoutError', `${what} to ${this.endpoint.host} took longer than ${ms} ms.`, 0));
      };
      const attemptTimer = setTimeout(timeout('The request', this.policy.requestTimeoutMs), this.policy.requestTimeoutMs);
      request.once('socket', (socket) => {
        if (!socket.connecting) return;
        const connectTimer = setTimeout(timeout('Connecting', this.policy.connectionTimeoutMs), this.policy.connectionTimeoutMs);
        socket.once('connect', () => { clearTimeout(connectTimer); });
        request.once('close', () => { clearTimeout(connectTimer); });
      });
      request.once('error', (error) => {
        clearTimeout(attemptTimer);
        reject(error);
      });
      request.once('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('end', () => {
          clearTimeout(attemptTimer);
          resolve({ statusCode: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        response.once('error', (error) => {
          clearTimeout(attemptTimer);
          reject(error);
        });
      });
      request.end(body);
    });
  }
}

/** The service's error: its type from `x-amzn-ErrorType` or the body's `__type`, its message from `message` or `Message`. */
function errorOf(answer: RawAnswer): AwsJsonError {
  const header = answer.headers['x-amzn-errortype'];
  let type = Array.isArray(header) ? header[0] : header;
  let message = `HTTP ${answer.statusCode}`;
  try {
    const parsed = JSON.parse(answer.body) as { __type?: string; message?: string; Message?: string };
    type ??= parsed.__type;
    message = parsed.message ?? parsed.Message ?? message;
  } catch {
    // Not JSON (a proxy's error page, say): the status says it.
  }
  return new AwsJsonError(type ?? (answer.statusCode >= 500 ? 'InternalFailure' : 'UnknownError'), message, answer.statusCode);
}
