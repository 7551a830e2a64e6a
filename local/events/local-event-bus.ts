import { randomUUID } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { PUT_EVENTS_LIMITS, putEventsEntrySize } from '../../contracts/put-events-limits';
import { closeGracefully, refuseForeignHost } from '../loopback-server';
import { EventPattern, matchesEventPattern } from './event-pattern';

/** Where matched events go: the Firehose buffer in the local stack. */
export interface EventTarget {
  put(records: readonly string[]): Promise<void>;
}

export interface LocalEventBusOptions {
  /** The bus's name; PutEvents entries may name it, its ARN, or nothing (then it is this bus). */
  readonly busName: string;
  /** The rule's pattern (the stack's own object) and its target. */
  readonly rule: { readonly pattern: EventPattern; readonly target: EventTarget };
  readonly region?: string;
  readonly account?: string;
  readonly clock?: () => number;
}

export interface LocalEventBusStats {
  readonly requests: number;
  readonly accepted: number;
  readonly failed: number;
  readonly matched: number;
}

interface PutEventsRequestEntry {
  Time?: number | string;
  Source?: unknown;
  Resources?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  EventBusName?: unknown;
  TraceHeader?: unknown;
}

type ResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/** A whole request the service refuses: an HTTP 400 with the AWS JSON error shape. */
class RequestError extends Error {
  constructor(
    public readonly type: string,
    message: string,
    public readonly status = 400,
  ) {
    super(message);
  }
}

/** Largest request body read (the service's limit on PutEvents is 256 KB of entries). */
const MAX_BODY_BYTES = 1024 * 1024;

/**
 * An EventBridge endpoint for `PutEvents`, in the AWS JSON 1.1 protocol the real SDK speaks
 * (`POST /`, `X-Amz-Target: AWSEvents.PutEvents`), with the service's validation: more than 10
 * entries, or more than 256 KB of entries, refuse the whole request (ValidationException); a
 * missing Source, DetailType or Detail (InvalidArgument), a Detail that is not a JSON object
 * (MalformedDetail) or an `aws.` source (NotAuthorizedForSourceException) fail that entry alone.
 * Accepted events become envelopes; those the rule's pattern matches go to its target. Requests
 * are not signature-checked: it listens on loopback only.
 */
export class LocalEventBus {
  private server?: Server;
  private requests = 0;
  private accepted = 0;
  private failed = 0;
  private matched = 0;
  private readonly clock: () => number;

  constructor(private readonly options: LocalEventBusOptions) {
    this.clock = options.clock ?? Date.now;
  }

  public async listen(port: number, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => { resolve(); });
    });
    const address = this.server.address() as AddressInfo;
    return `http://${host}:${address.port}`;
  }

  /** Stops accepting; requests in flight finish first. */
  public async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await closeGracefully(server);
    this.server = undefined;
  }

  public stats(): LocalEventBusStats {
    return { requests: this.requests, accepted: this.accepted, failed: this.failed, matched: this.matched };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (refuseForeignHost(req, res, 'application/x-amz-json-1.1')) return;
      if (req.method === 'GET' && (req.url === '/' || req.url === '/health')) { send(res, 200, { status: 'ok', bus: this.options.busName }); return; }
      if (req.method !== 'POST') throw new RequestError('UnknownOperationException', 'Only POST requests of the AWS JSON protocol are served.', 404);
      const target = String(req.headers['x-amz-target'] ?? '');
      if (target !== 'AWSEvents.PutEvents') throw new RequestError('UnknownOperationException', `Operation ${target || '(none)'} is not served by the local bus; it serves AWSEvents.PutEvents.`);
      const body = await readBody(req);
      let request: { Entries?: unknown; EndpointId?: unknown };
      try {
        request = JSON.parse(body) as typeof request;
      } catch {
        throw new RequestError('SerializationException', 'Request body is not valid JSON.');
      }
      this.requests++;
      send(res, 200, await this.putEvents(request));
    } catch (error) {
      if (error instanceof RequestError) {
        // An oversized body is not read to its end: answer, then drop the connection.
        if (error.status === 413) res.on('finish', () => req.destroy());
        send(res, error.status, { __type: error.type, message: error.message }); return;
      }
      send(res, 500, { __type: 'InternalException', message: (error as Error).message });
    }
  }

  private async putEvents(request: { Entries?: unknown }): Promise<{ FailedEntryCount: number; Entries: ResultEntry[] }> {
    const entries = request.Entries;
    if (!Array.isArray(entries) || entries.length < 1) {
      throw new RequestError('ValidationException', "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null and must have length greater than or equal to 1");
    }
    if (entries.length > PUT_EVENTS_LIMITS.maxEntries) {
      throw new RequestError('ValidationException', `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${PUT_EVENTS_LIMITS.maxEntries}`);
    }
    const size = (entries as PutEventsRequestEntry[]).reduce(
      (sum, e) => sum + putEventsEntrySize({ Time: e.Time, Source: str(e.Source), DetailType: str(e.DetailType), Detail: str(e.Detail), Resources: Array.isArray(e.Resources) ? e.Resources.map(String) : [] }),
      0,
    );
    if (size > PUT_EVENTS_LIMITS.maxRequestBytes) throw new RequestError('ValidationException', 'Total size of the entries in the request is over the limit.');
    for (const entry of entries as PutEventsRequestEntry[]) {
      const bus = str(entry.EventBusName);
      if (bus && bus !== this.options.busName && !bus.endsWith(`:event-bus/${this.options.busName}`)) {
        throw new RequestError('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
      }
    }

    const results: ResultEntry[] = [];
    const matched: string[] = [];
    for (const entry of entries as PutEventsRequestEntry[]) {
      const outcome = this.envelope(entry);
      if ('ErrorCode' in outcome) {
        results.push({ ErrorCode: outcome.ErrorCode as string, ErrorMessage: outcome.ErrorMessage as string });
        continue;
      }
      results.push({ EventId: outcome.id });
      if (matchesEventPattern(this.options.rule.pattern, outcome)) matched.push(JSON.stringify(outcome));
    }
    // Matched events are in the target's log before the caller hears they were accepted.
    await this.options.rule.target.put(matched);
    const failed = results.filter((r) => 'ErrorCode' in r).length;
    this.accepted += results.length - failed;
    this.failed += failed;
    this.matched += matched.length;
    return { FailedEntryCount: failed, Entries: results };
  }

  /** The event as a rule and its target see it, or the entry's error. */
  private envelope(entry: PutEventsRequestEntry): (Record<string, unknown> & { id: string }) | { ErrorCode: string; ErrorMessage: string } {
    for (const field of ['Source', 'DetailType', 'Detail'] as const) {
      if (typeof entry[field] !== 'string' || (entry[field]).length === 0) {
        return { ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.` };
      }
    }
    const source = entry.Source as string;
    if (source.startsWith('aws.')) return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' };
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail as string);
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    const time = entry.Time === undefined ? this.clock() : typeof entry.Time === 'number' ? entry.Time * 1000 : Date.parse(String(entry.Time));
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType as string,
      source,
      account: this.options.account ?? '000000000000',
      time: new Date(Number.isFinite(time) ? time : this.clock()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.options.region ?? 'us-east-1',
      resources: Array.isArray(entry.Resources) ? entry.Resources.map(String) : [],
      detail,
    };
  }
}

const str = (value: unknown) => (typeof value === 'string' ? value : undefined);

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'content-length': Buffer.byteLength(text), 'x-amzn-requestid': randomUUID() });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > MAX_BODY_BYTES) {
        reject(new RequestError('ValidationException', 'Total size of the entries in the request is over the limit.', 413));
        req.pause();
        req.removeAllListeners('data');
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => { resolve(Buffer.concat(chunks).toString('utf8')); });
    req.on('error', reject);
  });
}
