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

/** A request entry as the JSON body holds it: any field may be missing or of another type. */
interface PutEventsRequestEntry {
  Time?: unknown;
  Source?: unknown;
  Resources?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  EventBusName?: unknown;
  TraceHeader?: unknown;
}

/** An event as a rule and its target see it. */
interface EventEnvelope {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': string;
  readonly source: string;
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: string[];
  readonly detail: object;
}

interface EntryError {
  readonly ErrorCode: string;
  readonly ErrorMessage: string;
}

type ResultEntry = { EventId: string } | EntryError;

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
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { resolve(); });
    });
    const address = server.address() as AddressInfo;
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
      if (target !== 'AWSEvents.PutEvents') {
        throw new RequestError('UnknownOperationException', `Operation ${target || '(none)'} is not served by the local bus; it serves AWSEvents.PutEvents.`);
      }
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
      send(res, 500, { __type: 'InternalException', message: error instanceof Error ? error.message : String(error) });
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
    this.checkRequest(entries as PutEventsRequestEntry[]);

    const results: ResultEntry[] = [];
    const matched: string[] = [];
    for (const entry of entries as PutEventsRequestEntry[]) {
      const outcome = this.envelope(entry);
      if ('ErrorCode' in outcome) {
        results.push(outcome);
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

  /** Refuses the whole request when its entries are too large together or name another bus. */
  private checkRequest(entries: readonly PutEventsRequestEntry[]): void {
    const size = entries.reduce(
      (sum, e) => sum + putEventsEntrySize({ Time: entryTime(e.Time), Source: str(e.Source), DetailType: str(e.DetailType), Detail: str(e.Detail), Resources: resourcesOf(e) }),
      0,
    );
    if (size > PUT_EVENTS_LIMITS.maxRequestBytes) throw new RequestError('ValidationException', 'Total size of the entries in the request is over the limit.');
    for (const entry of entries) {
      const bus = str(entry.EventBusName);
      if (bus && bus !== this.options.busName && !bus.endsWith(`:event-bus/${this.options.busName}`)) {
        throw new RequestError('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
      }
    }
  }

  /** The event as a rule and its target see it, or the entry's error. */
  private envelope(entry: PutEventsRequestEntry): EventEnvelope | EntryError {
    const source = nonEmpty(entry.Source);
    const detailType = nonEmpty(entry.DetailType);
    const detailText = nonEmpty(entry.Detail);
    if (source === undefined) return requiredArgument('Source');
    if (detailType === undefined) return requiredArgument('DetailType');
    if (detailText === undefined) return requiredArgument('Detail');
    if (source.startsWith('aws.')) return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' };
    const detail = parseDetail(detailText);
    if (detail === undefined) return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    const given = entryTime(entry.Time);
    const time = given === undefined ? this.clock() : typeof given === 'number' ? given * 1000 : Date.parse(given);
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source,
      account: this.options.account ?? '000000000000',
      time: new Date(Number.isFinite(time) ? time : this.clock()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.options.region ?? 'us-east-1',
      resources: resourcesOf(entry),
      detail,
    };
  }
}

const str = (value: unknown) => (typeof value === 'string' ? value : undefined);

const nonEmpty = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : undefined);

const requiredArgument = (field: string): EntryError => ({ ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${field} is not valid. Reason: ${field} is a required argument.` });

/**
 * `Time` as the SDK sends it: epoch seconds, or a date string. Any other JSON value is no time
 * (the entry gets the time it arrived), as an unparseable string is.
 */
function entryTime(value: unknown): number | string | undefined {
  if (value === undefined || typeof value === 'number' || typeof value === 'string') return value;
  return 'not a time';
}

const resourcesOf = (entry: PutEventsRequestEntry): string[] => (Array.isArray(entry.Resources) ? entry.Resources.map(String) : []);

/** The entry's `Detail` as a JSON object, or undefined when it is not one (MalformedDetail). */
function parseDetail(text: string): object | undefined {
  let detail: unknown;
  try {
    detail = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof detail === 'object' && detail !== null && !Array.isArray(detail) ? detail : undefined;
}

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
