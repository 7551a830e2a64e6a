import * as http from 'node:http';
import * as https from 'node:https';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { AwsCredentials, SigV4Signer } from '../../sdk/sigv4';

/** One mail: a text and an HTML body, to one or more addresses. */
export interface OutgoingMail {
  readonly to: readonly string[];
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** What sends a mail and answers the provider's message id. */
export interface MailSender {
  send(mail: OutgoingMail): Promise<{ readonly messageId: string }>;
}

/** SES refused the mail (`type` from `x-amzn-ErrorType` or the body), or no answer came (`statusCode` 0). */
export class MailSendError extends Error {
  constructor(
    public readonly type: string,
    message: string,
    public readonly statusCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MailSendError';
  }
}

/**
 * SES v2's SigV4 signing name (its IAM prefix, `ses:SendEmail`) and endpoint prefix:
 * https://docs.aws.amazon.com/general/latest/gr/ses.html (`email.<region>.amazonaws.com`).
 */
const SES_SIGNING_NAME = 'ses';
const SEND_EMAIL_PATH = '/v2/email/outbound-emails';

/**
 * The endpoint the AWS SDK's SESv2 client would use: `AWS_ENDPOINT_URL_SESV2` (its serviceId
 * `SESv2`, https://docs.aws.amazon.com/sdkref/latest/guide/ss-endpoints-table.html), else
 * `AWS_ENDPOINT_URL` (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html),
 * else the Regional endpoint `https://email.<region>.amazonaws.com`.
 */
export function sesEndpoint(region: string, env: NodeJS.ProcessEnv = process.env): URL {
  const configured = env.AWS_ENDPOINT_URL_SESV2 ?? env.AWS_ENDPOINT_URL;
  if (configured) return new URL(configured);
  return new URL(`https://email.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`);
}

export interface SesMailSenderProps {
  /** The verified identity mails are sent from (an address of a verified domain, or a verified address). */
  readonly from: string;
  /** @default - `AWS_REGION`, then `AWS_DEFAULT_REGION` */
  readonly region?: string;
  /** @default - {@link sesEndpoint} */
  readonly endpoint?: URL;
  /** @default - the AWS SDK's credential chain */
  readonly credentials?: () => Promise<AwsCredentials>;
  /** How long one call may take, connecting included. @default 10_000 */
  readonly timeoutMs?: number;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Sends a Simple mail (text and HTML, UTF-8) with SES API v2's SendEmail, a signed REST-JSON
 * `POST /v2/email/outbound-emails` that answers `{"MessageId": …}`
 * (https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html). One attempt: the
 * notifier's queue retries a failure, after the notifier has released what it claimed.
 */
export class SesMailSender implements MailSender {
  private readonly endpoint: URL;
  private readonly signer: SigV4Signer;
  private readonly credentials: () => Promise<AwsCredentials>;
  private readonly timeoutMs: number;

  constructor(private readonly props: SesMailSenderProps) {
    const env = props.env ?? process.env;
    const region = props.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
    if (!region) throw new Error('No region for SES: set AWS_REGION or pass `region`.');
    this.endpoint = props.endpoint ?? sesEndpoint(region, env);
    this.signer = new SigV4Signer(SES_SIGNING_NAME, region);
    this.credentials = props.credentials ?? defaultProvider();
    this.timeoutMs = props.timeoutMs ?? 10_000;
  }

  public async send(mail: OutgoingMail): Promise<{ messageId: string }> {
    const body = JSON.stringify({
      FromEmailAddress: this.props.from,
      Destination: { ToAddresses: mail.to },
      Content: {
        Simple: {
          Subject: { Data: mail.subject, Charset: 'UTF-8' },
          Body: { Text: { Data: mail.text, Charset: 'UTF-8' }, Html: { Data: mail.html, Charset: 'UTF-8' } },
        },
      },
    });
    const path = `${this.endpoint.pathname.replace(/\/$/, '')}${SEND_EMAIL_PATH}`;
    const headers = this.signer.sign({ method: 'POST', path, headers: { host: this.endpoint.host, 'content-type': 'application/json' }, body }, await this.credentials());
    const answer = await this.post(path, headers, body);
    if (answer.statusCode !== 200) throw errorOf(answer);
    const parsed = JSON.parse(answer.body) as { MessageId?: unknown };
    if (typeof parsed.MessageId !== 'string') throw new MailSendError('InvalidResponse', 'SendEmail answered 200 without a MessageId.', 200);
    return { messageId: parsed.MessageId };
  }

  private post(path: string, headers: Record<string, string>, body: string): Promise<RawAnswer> {
    const client = this.endpoint.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const request = client.request({
        hostname: this.endpoint.hostname.replace(/^\[|\]$/g, ''),
        port: this.endpoint.port || undefined,
        method: 'POST',
        path,
        headers: { ...headers, 'content-length': Buffer.byteLength(body) },
        timeout: this.timeoutMs,
      });
      request.once('timeout', () => {
        request.destroy(new MailSendError('TimeoutError', `SendEmail to ${this.endpoint.host} took longer than ${String(this.timeoutMs)} ms.`, 0));
      });
      request.once('error', (error) => {
        reject(error instanceof MailSendError ? error : new MailSendError('NetworkError', `SendEmail to ${this.endpoint.host} failed: ${error.message}`, 0, { cause: error }));
      });
      request.once('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('end', () => {
          resolve({ statusCode: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        response.once('error', reject);
      });
      request.end(body);
    });
  }
}

interface RawAnswer {
  readonly statusCode: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** SES v2's error: its type from `x-amzn-ErrorType` (`MessageRejected:…`) or the body, its message from `message`. */
function errorOf(answer: RawAnswer): MailSendError {
  const header = answer.headers['x-amzn-errortype'];
  let type = (Array.isArray(header) ? header[0] : header)?.split(':')[0];
  let message = `HTTP ${String(answer.statusCode)}`;
  try {
    const parsed = JSON.parse(answer.body) as { __type?: string; type?: string; message?: string; Message?: string; detail?: string };
    type ??= parsed.__type ?? parsed.type;
    message = [parsed.message ?? parsed.Message, parsed.detail].filter(Boolean).join(': ') || message;
  } catch {
    // Not JSON: the status says it.
  }
  return new MailSendError(type ?? (answer.statusCode >= 500 ? 'InternalFailure' : 'UnknownError'), `SendEmail failed: ${message}`, answer.statusCode);
}
