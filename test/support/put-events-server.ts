import { randomUUID } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SignatureV4 } from '@smithy/signature-v4';

/** Credentials the server checks SigV4 signatures against, with the SDK's own signer. */
export interface VerifiedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

const sdkSha256 = new EventBridgeClient({ region: 'us-east-1' }).config.sha256;

/** Recomputes a request's SigV4 signature with `@smithy/signature-v4`; returns why it is invalid, if it is. */
export async function signatureProblem(req: IncomingMessage, body: string, credentials: VerifiedCredentials): Promise<string | undefined> {
  const authorization = req.headers.authorization ?? '';
  const parsed = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!parsed) return 'missing or malformed authorization header';
  const [, accessKeyId, , region, service, signedHeaders, signature] = parsed;
  if (accessKeyId !== credentials.accessKeyId) return `unknown access key ${accessKeyId}`;
  const headers: Record<string, string> = {};
  for (const name of signedHeaders.split(';')) headers[name] = String(req.headers[name] ?? '');
  const amzDate = headers['x-amz-date'];
  const signingDate = new Date(`${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`);
  const signer = new SignatureV4({ service, region, credentials, sha256: sdkSha256, applyChecksum: signedHeaders.includes('x-amz-content-sha256') });
  const url = new URL(req.url ?? '/', `http://${headers.host}`);
  const expected = await signer.sign(
    { method: req.method ?? 'POST', protocol: 'http:', hostname: url.hostname, path: url.pathname, headers, body },
    { signingDate },
  );
  const expectedSignature = /Signature=([0-9a-f]{64})/.exec(expected.headers.authorization)?.[1];
  return expectedSignature === signature ? undefined : 'signature does not match';
}

/** Faults the loopback server injects, each drawn independently per request or entry. */
export interface PutEventsFaults {
  /** Share of entries answered with a per-entry `InternalFailure`. */
  readonly failEntryRate?: number;
  /** Share of requests answered `500 InternalFailure` as a whole. */
  readonly failRequestRate?: number;
  /** Share of requests answered `400 ThrottlingException` as a whole. */
  readonly throttleRate?: number;
  /**
   * Count accepted entries without parsing their Detail (no per-event-id bookkeeping): a cheap
   * endpoint, so that a benchmark measures the producer rather than this server.
   */
  readonly countOnly?: boolean;
  /** When set, requests whose SigV4 signature does not verify are refused (403 InvalidSignatureException). */
  readonly verifyCredentials?: VerifiedCredentials;
  /** Entries whose Detail contains this text are refused with `MalformedDetail` (not retryable). */
  readonly rejectDetailContaining?: string;
}

/**
 * A loopback HTTP server speaking EventBridge's `PutEvents` over the AWS JSON 1.1 protocol, as
 * the real SDK sends it, with injectable faults. It records which event ids arrived.
 */
export class LoopbackPutEventsServer {
  /** How many times each usage event id (from the Detail) was accepted. */
  public readonly accepted = new Map<string, number>();
  /** The accepted usage event details, in order. */
  public readonly details: Record<string, unknown>[] = [];
  public requests = 0;
  public entries = 0;
  /** Entries accepted (with `countOnly`, the only record of them). */
  public acceptedEntries = 0;
  public lastHeaders: IncomingMessage['headers'] = {};
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private down = false;
  private blackhole = false;

  constructor(
    private faults: PutEventsFaults = {},
    private readonly random: () => number = Math.random,
  ) {}

  /** Starts on 127.0.0.1 and returns the endpoint URL. */
  public async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => { this.handle(req, res); });
    this.server.keepAliveTimeout = 30_000;
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      if (this.down) socket.destroy();
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    return this.url;
  }

  public get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** While down, every connection is reset: the bus is unreachable. */
  public setDown(down: boolean): void {
    this.down = down;
    if (down) for (const socket of this.sockets) socket.destroy();
  }

  /** While blackholed, requests are read but never answered: a bus that hangs. */
  public setBlackhole(blackhole: boolean): void {
    this.blackhole = blackhole;
  }

  public setFaults(faults: PutEventsFaults): void {
    this.faults = faults;
  }

  public async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => {
      if (this.server) this.server.close(() => { resolve(); });
      else resolve();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
    });
    req.on('end', () => void this.respond(req, res, chunks));
  }

  public signatureFailures = 0;

  private async respond(req: IncomingMessage, res: ServerResponse, chunks: Buffer[]): Promise<void> {
    {
      if (this.blackhole) return;
      if (this.faults.verifyCredentials) {
        const problem = await signatureProblem(req, Buffer.concat(chunks).toString('utf8'), this.faults.verifyCredentials);
        if (problem) {
          this.signatureFailures++;
          this.error(res, 403, 'InvalidSignatureException', problem);
          return;
        }
      }
      this.requests++;
      this.lastHeaders = req.headers;
      if (req.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
        this.error(res, 400, 'UnknownOperationException', `unsupported target ${String(req.headers['x-amz-target'])}`);
        return;
      }
      const { failEntryRate = 0, failRequestRate = 0, throttleRate = 0, rejectDetailContaining } = this.faults;
      if (this.random() < failRequestRate) {
        this.error(res, 500, 'InternalFailure', 'injected request failure');
        return;
      }
      if (this.random() < throttleRate) {
        this.error(res, 400, 'ThrottlingException', 'Rate exceeded');
        return;
      }
      let body: { Entries?: { Detail?: string }[] };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
      } catch {
        this.error(res, 400, 'SerializationException', 'request body is not JSON');
        return;
      }
      const entries = body.Entries ?? [];
      if (entries.length < 1 || entries.length > 10) {
        this.error(res, 400, 'ValidationException', `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to 10`);
        return;
      }
      if (this.faults.countOnly) {
        this.entries += entries.length;
        this.acceptedEntries += entries.length;
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(`{"FailedEntryCount":0,"Entries":[${entries.map((_, i) => `{"EventId":"${i}"}`).join(',')}]}`);
        return;
      }
      let failed = 0;
      const results = entries.map((entry) => {
        this.entries++;
        if (rejectDetailContaining && entry.Detail?.includes(rejectDetailContaining)) {
          failed++;
          return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
        }
        if (this.random() < failEntryRate) {
          failed++;
          return { ErrorCode: 'InternalFailure', ErrorMessage: 'injected entry failure' };
        }
        const detail = JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>;
        this.details.push(detail);
        const eventId = typeof detail.eventId === 'string' ? detail.eventId : 'missing';
        this.accepted.set(eventId, (this.accepted.get(eventId) ?? 0) + 1);
        this.acceptedEntries++;
        return { EventId: randomUUID() };
      });
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
      res.end(JSON.stringify({ FailedEntryCount: failed, Entries: results }));
    }
  }

  private error(res: ServerResponse, status: number, type: string, message: string): void {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type, 'x-amzn-requestid': randomUUID() });
    res.end(JSON.stringify({ __type: type, message }));
  }
}
