import {
  EventBridgeClient,
  EventBridgeClientConfig,
  PutEventsCommand,
  PutEventsRequestEntry,
  PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { Pool } from 'undici';
import { PUT_EVENTS_TIMEOUTS } from './eventbridge-client';
import { AwsCredentials, SigV4Signer } from './sigv4';

/** Sends one PutEvents request; errors carry the service's error name and HTTP status, as SDK errors do. */
export interface PutEventsTransport {
  putEvents(entries: readonly PutEventsRequestEntry[]): Promise<PutEventsResultEntry[] | undefined>;
  close(): Promise<void>;
}

/** Through the AWS SDK client: its middleware, retries (set `maxAttempts: 1`) and configuration. */
export class SdkPutEventsTransport implements PutEventsTransport {
  constructor(private readonly client: EventBridgeClient) {}

  public async putEvents(entries: readonly PutEventsRequestEntry[]): Promise<PutEventsResultEntry[] | undefined> {
    return (await this.client.send(new PutEventsCommand({ Entries: [...entries] }))).Entries;
  }

  public async close(): Promise<void> {
    // The caller owns the client.
  }
}

/** What the SDK would send: found once by letting the SDK build (and sign) a probe request. */
export interface ResolvedRequestShape {
  readonly origin: string;
  readonly path: string;
  readonly host: string;
  readonly signingRegion: string;
  readonly signingService: string;
}

class ProbeCaptured extends Error {
  constructor(public readonly request: { protocol: string; hostname: string; port?: number; path: string; headers: Record<string, string> }) {
    super('probe captured');
  }
}

const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
const PUT_EVENTS_TARGET = 'AWSEvents.PutEvents';

/**
 * PutEvents over a keep-alive HTTP pool with a lean SigV4 signature: the same wire request the SDK
 * sends, at about a third of its CPU cost per call, which is what lets one process publish tens
 * of thousands of events a second. The endpoint, signing region and credentials come from the
 * SDK itself: a probe request is built (never sent) by a client with the same configuration, and
 * credentials come from that client's provider chain, refreshed as it refreshes them.
 */
export class HttpPutEventsTransport implements PutEventsTransport {
  private readonly client: EventBridgeClient;
  private shape?: Promise<ResolvedRequestShape>;
  private pool?: Pool;
  private signer?: SigV4Signer;

  constructor(
    private readonly config: EventBridgeClientConfig,
    private readonly connections: number,
  ) {
    this.client = new EventBridgeClient(config);
  }

  public async putEvents(entries: readonly PutEventsRequestEntry[]): Promise<PutEventsResultEntry[] | undefined> {
    const shape = await this.resolveShape();
    const credentials = (await this.client.config.credentials()) as AwsCredentials;
    const body = JSON.stringify({ Entries: entries });
    const headers = this.signer!.sign(
      { method: 'POST', path: shape.path, headers: { host: shape.host, 'content-type': JSON_CONTENT_TYPE, 'x-amz-target': PUT_EVENTS_TARGET }, body },
      credentials,
    );
    const response = await this.pool!.request({ method: 'POST', path: shape.path, headers, body });
    const text = await response.body.text();
    if (response.statusCode !== 200) throw serviceError(response.statusCode, response.headers['x-amzn-errortype'], text);
    const parsed = JSON.parse(text) as { Entries?: PutEventsResultEntry[] };
    return parsed.Entries;
  }

  /** Where requests go and how they are signed, as the SDK resolved it. */
  public describeEndpoint(): Promise<ResolvedRequestShape> {
    return this.resolveShape();
  }

  public async close(): Promise<void> {
    await this.pool?.close();
    this.client.destroy();
  }

  private resolveShape(): Promise<ResolvedRequestShape> {
    this.shape ??= this.probe().catch((error: unknown) => {
      this.shape = undefined; // e.g. no credentials yet: try again on the next call
      throw error;
    });
    return this.shape;
  }

  private async probe(): Promise<ResolvedRequestShape> {
    const probeClient = new EventBridgeClient({
      ...this.config,
      maxAttempts: 1,
      requestHandler: {
        handle: async (request: ConstructorParameters<typeof ProbeCaptured>[0]) => {
          throw new ProbeCaptured(request);
        },
      } as never,
    });
    try {
      await probeClient.send(new PutEventsCommand({ Entries: [{ Source: 'probe', DetailType: 'probe', Detail: '{}' }] }));
      throw new Error('The PutEvents probe was sent instead of captured.');
    } catch (error) {
      if (!(error instanceof ProbeCaptured)) throw error;
      const { protocol, hostname, port, path, headers } = error.request;
      const authorization = headers.authorization ?? headers.Authorization ?? '';
      const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization);
      if (!authorization.startsWith('AWS4-HMAC-SHA256 ') || !scope) {
        throw new Error(`The SDK signs PutEvents with "${authorization.split(' ')[0]}", which this transport does not implement; pass your own client to use the SDK.`);
      }
      const origin = `${protocol}//${hostname}${port ? `:${port}` : ''}`;
      const shape = { origin, path: path || '/', host: headers.host ?? new URL(origin).host, signingRegion: scope[1], signingService: scope[2] };
      this.signer = new SigV4Signer(shape.signingService, shape.signingRegion);
      this.pool = new Pool(origin, {
        connections: this.connections,
        pipelining: 1,
        connectTimeout: PUT_EVENTS_TIMEOUTS.connectionTimeout,
        headersTimeout: PUT_EVENTS_TIMEOUTS.requestTimeout,
        bodyTimeout: PUT_EVENTS_TIMEOUTS.requestTimeout,
      });
      return shape;
    } finally {
      probeClient.destroy();
    }
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
  const name = (type ?? (statusCode >= 500 ? 'InternalFailure' : 'UnknownError')).split('#').pop()!.split(':')[0];
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: statusCode } });
}
