import type { PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { Pool } from 'undici';
import { AwsCredentials, SigV4Signer } from './sigv4';

/** Where PutEvents requests go and how they are signed (as the SDK resolved it). */
export interface PutEventsEndpoint {
  readonly origin: string;
  readonly path: string;
  readonly host: string;
  readonly signingRegion: string;
  readonly signingService: string;
}

/** A failed call, as plain data (it crosses a thread boundary): SDK-style `name` and status. */
export interface SenderFailure {
  readonly name: string;
  readonly message: string;
  readonly code?: string;
  readonly $metadata?: { readonly httpStatusCode: number };
}

export interface SenderOptions {
  readonly connections: number;
  readonly connectionTimeout: number;
  readonly requestTimeout: number;
}

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
const PUT_EVENTS_TARGET = 'AWSEvents.PutEvents';

/**
 * PutEvents over a keep-alive HTTP pool (undici) with a SigV4 signature: the wire request the SDK
 * sends, without the SDK's per-call middleware.
 */
export class SignedPutEventsSender {
  private readonly pool: Pool;
  private readonly signer: SigV4Signer;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly endpoint: PutEventsEndpoint,
    options: SenderOptions,
  ) {
    this.signer = new SigV4Signer(endpoint.signingService, endpoint.signingRegion);
    this.headers = { host: endpoint.host, 'content-type': JSON_CONTENT_TYPE, 'x-amz-target': PUT_EVENTS_TARGET };
    this.pool = new Pool(endpoint.origin, {
      connections: options.connections,
      pipelining: 1,
      connectTimeout: options.connectionTimeout,
      headersTimeout: options.requestTimeout,
      bodyTimeout: options.requestTimeout,
    });
  }

  /** Sends a PutEvents body; rejects with an SDK-shaped error on a non-200 answer or a network failure. */
  public async send(body: string, credentials: AwsCredentials): Promise<PutEventsResultEntry[] | undefined> {
    const headers = this.signer.sign({ method: 'POST', path: this.endpoint.path, headers: this.headers, body }, credentials);
    const response = await this.pool.request({ method: 'POST', path: this.endpoint.path, headers, body });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw serviceError(response.statusCode, response.headers['x-amzn-errortype'], text);
    return (JSON.parse(text) as { Entries?: PutEventsResultEntry[] }).Entries;
  }

  public close(): Promise<void> {
    return this.pool.close();
  }
}

/** An error shaped like the SDK's service errors: `name` is the error type, `$metadata` the status. */
export function serviceError(statusCode: number, typeHeader: string | string[] | undefined, body: string): Error {
  let type = Array.isArray(typeHeader) ? typeHeader[0] : typeHeader;
  let message = `HTTP ${statusCode}`;
  try {
    const parsed = JSON.parse(body) as { __type?: string; message?: string; Message?: string };
    type ??= parsed.__type;
    message = parsed.message ?? parsed.Message ?? message;
  } catch {
    // Not JSON (a proxy's error page, say): keep the status.
  }
  const qualified = type ?? (statusCode >= 500 ? 'InternalFailure' : 'UnknownError');
  // `com.amazon.coral.validate#ValidationException` or `ThrottlingException:http://…`: the name alone.
  const name = qualified.slice(qualified.lastIndexOf('#') + 1).split(':')[0];
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: statusCode } });
}

/** An error as plain data for another thread. */
export function toSenderFailure(error: unknown): SenderFailure {
  const e = error as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode: number } } | null | undefined;
  return {
    name: e?.name ?? 'Error',
    message: e?.message ?? String(error),
    ...(e?.code ? { code: e.code } : {}),
    ...(e?.$metadata ? { $metadata: { httpStatusCode: e.$metadata.httpStatusCode } } : {}),
  };
}
