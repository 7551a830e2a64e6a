import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  EventBridgeClient,
  EventBridgeClientConfig,
  PutEventsCommand,
  PutEventsRequestEntry,
  PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { PUT_EVENTS_TIMEOUTS, eventBridgeClientConfig } from './eventbridge-client';
import { AwsCredentials } from './sigv4';
import { SignedPutEventsSender, PutEventsEndpoint, SenderFailure } from './signed-put-events-sender';

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

/** The request a probe client built and signed. */
interface ProbeRequest {
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number;
  readonly path: string;
  readonly headers: Record<string, string | undefined>;
}

class ProbeCaptured extends Error {
  constructor(public readonly request: ProbeRequest) {
    super('probe captured');
  }
}

/**
 * Where PutEvents requests go and how they are signed, exactly as the SDK resolves it: a client
 * with the same configuration builds and signs a probe request, which is captured, never sent.
 */
export async function resolvePutEventsEndpoint(config: EventBridgeClientConfig): Promise<PutEventsEndpoint> {
  const { protocol, hostname, port, path: requestPath, headers } = await captureProbeRequest(config);
  const authorization = headers.authorization ?? headers.Authorization ?? '';
  const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(authorization);
  if (!authorization.startsWith('AWS4-HMAC-SHA256 ') || !scope) {
    throw new Error(`The SDK signs PutEvents with "${authorization.split(' ')[0]}", which the publisher's transport does not implement; pass your own client to use the SDK.`);
  }
  const origin = `${protocol}//${hostname}${port ? `:${port}` : ''}`;
  return { origin, path: requestPath || '/', host: headers.host ?? new URL(origin).host, signingRegion: scope[1], signingService: scope[2] };
}

/** The request a client with this configuration would send, built and signed by the SDK. */
async function captureProbeRequest(config: EventBridgeClientConfig): Promise<ProbeRequest> {
  const probeClient = new EventBridgeClient({
    ...config,
    maxAttempts: 1,
    requestHandler: {
      handle: (request: ProbeRequest) => Promise.reject(new ProbeCaptured(request)),
    } as never,
  });
  try {
    await probeClient.send(new PutEventsCommand({ Entries: [{ Source: 'probe', DetailType: 'probe', Detail: '{}' }] }));
  } catch (error) {
    if (error instanceof ProbeCaptured) return error.request;
    throw error;
  } finally {
    probeClient.destroy();
  }
  throw new Error('The PutEvents probe was sent instead of captured.');
}

/**
 * The SDK's configuration with the lean sender: endpoint and signing region from the SDK (a
 * probe), credentials from the SDK's provider chain (refreshed as it refreshes them), and the
 * request signed and sent by {@link SignedPutEventsSender} at about a third of the SDK's CPU cost.
 */
abstract class LeanPutEventsTransport implements PutEventsTransport {
  protected readonly client: EventBridgeClient;
  private endpoint?: Promise<PutEventsEndpoint>;
  private resolvedEndpoint?: PutEventsEndpoint;

  constructor(protected readonly config: EventBridgeClientConfig) {
    this.client = new EventBridgeClient(config);
  }

  public async putEvents(entries: readonly PutEventsRequestEntry[]): Promise<PutEventsResultEntry[] | undefined> {
    const endpoint = this.resolvedEndpoint ?? (await this.describeEndpoint());
    // The SDK's provider is memoized: the same object until it refreshes the credentials.
    const credentials = (await this.client.config.credentials()) as AwsCredentials;
    return this.send(endpoint, JSON.stringify({ Entries: entries }), credentials);
  }

  /** Where requests go and how they are signed, as the SDK resolved it. */
  public describeEndpoint(): Promise<PutEventsEndpoint> {
    this.endpoint ??= resolvePutEventsEndpoint(this.config).then(
      (endpoint) => (this.resolvedEndpoint = endpoint),
      (error: unknown) => {
        this.endpoint = undefined; // e.g. no credentials yet: try again on the next call
        throw error;
      },
    );
    return this.endpoint;
  }

  public close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }

  protected abstract send(endpoint: PutEventsEndpoint, body: string, credentials: AwsCredentials): Promise<PutEventsResultEntry[] | undefined>;
}

/** Signs and sends on the caller's event loop (the right choice in Lambda, where a thread only adds start-up time). */
export class HttpPutEventsTransport extends LeanPutEventsTransport {
  private sender?: SignedPutEventsSender;

  constructor(
    config: EventBridgeClientConfig,
    private readonly connections: number,
  ) {
    super(config);
  }

  protected send(endpoint: PutEventsEndpoint, body: string, credentials: AwsCredentials): Promise<PutEventsResultEntry[] | undefined> {
    this.sender ??= new SignedPutEventsSender(endpoint, { connections: this.connections, ...PUT_EVENTS_TIMEOUTS });
    return this.sender.send(body, credentials);
  }

  public override async close(): Promise<void> {
    await this.sender?.close();
    await super.close();
  }
}

/** Messages between the publisher and its sender thread. */
export type SenderRequest =
  | { readonly type: 'init'; readonly endpoint: PutEventsEndpoint; readonly connections: number; readonly timeouts: typeof PUT_EVENTS_TIMEOUTS }
  | { readonly type: 'credentials'; readonly credentials: AwsCredentials }
  | { readonly type: 'send'; readonly id: number; readonly body: string };
export type SenderReply = { readonly id: number; readonly entries?: PutEventsResultEntry[]; readonly failure?: SenderFailure };

const WORKER_SCRIPT = path.join(__dirname, `put-events-sender-thread${path.extname(__filename)}`);

/**
 * Signs and sends on a thread of its own, so the request-serving thread pays only for `record()`
 * and building the request body: the publisher's throughput is no longer capped by one core.
 * The thread holds the process open only while requests are in flight.
 */
export class WorkerPutEventsTransport extends LeanPutEventsTransport {
  private worker?: Worker;
  private sentCredentials?: AwsCredentials;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (entries: PutEventsResultEntry[] | undefined) => void; reject: (error: Error) => void }>();

  constructor(
    config: EventBridgeClientConfig,
    private readonly connections: number,
  ) {
    super(config);
  }

  protected send(endpoint: PutEventsEndpoint, body: string, credentials: AwsCredentials): Promise<PutEventsResultEntry[] | undefined> {
    const worker = this.startedWorker(endpoint);
    if (credentials !== this.sentCredentials) {
      const { accessKeyId, secretAccessKey, sessionToken } = credentials;
      worker.postMessage({ type: 'credentials', credentials: { accessKeyId, secretAccessKey, sessionToken } } satisfies SenderRequest);
      this.sentCredentials = credentials;
    }
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ type: 'send', id, body } satisfies SenderRequest);
    });
  }

  public override async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
    await super.close();
  }

  private startedWorker(endpoint: PutEventsEndpoint): Worker {
    if (this.worker) return this.worker;
    // From TypeScript sources (development, tests) the thread registers tsx first.
    const worker = WORKER_SCRIPT.endsWith('.ts')
      ? new Worker(`require('tsx/cjs/api').register(); require(${JSON.stringify(WORKER_SCRIPT)});`, { eval: true })
      : new Worker(WORKER_SCRIPT);
    worker.unref();
    worker.postMessage({ type: 'init', endpoint, connections: this.connections, timeouts: PUT_EVENTS_TIMEOUTS } satisfies SenderRequest);
    worker.on('message', (reply: SenderReply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.failure) waiter.reject(Object.assign(new Error(reply.failure.message), reply.failure));
      else waiter.resolve(reply.entries);
    });
    const fail = (error: Error) => {
      if (this.worker === worker) {
        this.worker = undefined;
        this.sentCredentials = undefined;
      }
      for (const waiter of this.pending.values()) waiter.reject(Object.assign(new Error(`the sender thread stopped: ${error.message}`), { name: 'SenderThreadFailure' }));
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => { fail(new Error(`exit code ${code}`)); });
    this.worker = worker;
    return worker;
  }
}

/**
 * The transport a publisher sends with: through the caller's client when there is one, otherwise
 * the lean sender on a thread of its own or on the event loop.
 */
export function publisherTransport(client: EventBridgeClient | undefined, sendFrom: 'thread' | 'event-loop', connections: number): PutEventsTransport {
  if (client) return new SdkPutEventsTransport(client);
  if (sendFrom === 'thread') return new WorkerPutEventsTransport(eventBridgeClientConfig(), connections);
  return new HttpPutEventsTransport(eventBridgeClientConfig(), connections);
}
