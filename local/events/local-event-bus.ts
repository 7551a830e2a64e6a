import { randomUUID } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, createServer, maxHeaderSize } from 'node:http';
import { AddressInfo } from 'node:net';
import { PUT_EVENTS_LIMITS, putEventsEntrySize } from '../../contracts/put-events-limits';
import { dataDirLayout } from '../data-dir';
import { ParserRefusalStatus, answerParserRefusalsWithJson } from '../http-parser-refusals';
import { closeGracefully, refuseForeignHost } from '../loopback-server';
import { checkLoopbackEndpoint, connectionRequestParts, targetRequestParts } from './event-bus-api-destinations';
import { ApiDestinationDelivery, DeliveryOptions, DeliveryRequest, DeliveryStats } from './event-bus-delivery';
import { AwsJsonError, RequestBody, isRecord } from './event-bus-requests';
import { EventBusRules, MatchedTarget } from './event-bus-rules';
import { EventPattern, matchesEventPattern } from './event-pattern';

/** Where matched events go: the Firehose buffer in the local stack, the local notifier. Each record is an event envelope as JSON. */
export interface EventTarget {
  put(records: readonly string[]): Promise<void>;
}

/** One of the stack's own fixed rules besides its usage rule (account events to the notifier, to the lake), as the stack defines it in AWS. */
export interface FixedRule {
  /** Names the rule in the bus's stats and in what `onRuleError` reports. */
  readonly name: string;
  readonly pattern: EventPattern;
  readonly target: EventTarget;
}

/** What a fixed rule's target did with the events it matched. */
export interface FixedRuleStats {
  readonly matched: number;
  /** Events whose `put` failed (each rule's target fails on its own: not the others, not PutEvents). */
  readonly failed: number;
}

export interface LocalEventBusOptions {
  /** The bus's name; PutEvents entries may name it, its ARN, or nothing (then it is this bus). */
  readonly busName: string;
  /** The rule's pattern (the stack's own object) and its target. */
  readonly rule: { readonly pattern: EventPattern; readonly target: EventTarget };
  /**
   * The stack's other fixed rules (on this bus, matched as the usage rule is): each target gets
   * its matched events before the answer, on its own, so a failing one fails neither the others
   * nor PutEvents (it is reported to `onRuleError` and counted). @default none
   */
  readonly rules?: readonly FixedRule[];
  /** A fixed rule's target failed to take its events. */
  readonly onRuleError?: (rule: string, error: unknown, records: number) => void;
  readonly region?: string;
  readonly account?: string;
  readonly clock?: () => number;
  /**
   * The local data directory: users' rules, targets, connections and API destinations are kept
   * in its state folder and survive a restart.
   * @default - kept in memory only
   */
  readonly dataDir?: string;
  /** Limits of the deliveries to API destinations. @default - see {@link DeliveryOptions} */
  readonly delivery?: DeliveryOptions;
}

export interface LocalEventBusStats {
  readonly requests: number;
  readonly accepted: number;
  readonly failed: number;
  /** Events the stack's own rule matched. */
  readonly matched: number;
  /** Each fixed rule's matches and failed puts, by name. */
  readonly rules: Readonly<Record<string, FixedRuleStats>>;
  /** Events users' rules sent to API destinations, and how those deliveries went. */
  readonly deliveries: DeliveryStats;
}

/** Where the bus keeps users' rules in a data directory. */
export const eventBusRulesFile = (dataDir: string): string => dataDirLayout(dataDir).eventBusRules;

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

/** Largest request body read (the service's limit on PutEvents is 256 KB of entries). */
const MAX_BODY_BYTES = 1024 * 1024;

/** Retries of a delivery to an API destination, unless the target's RetryPolicy asks for fewer (the service's default is 185 over 24 hours). */
const LOCAL_DELIVERY_RETRIES = 3;

type Operation = (rules: EventBusRules, body: RequestBody) => unknown;

/** The operations besides PutEvents, by the name `X-Amz-Target` gives them (`AWSEvents.<name>`). */
const RULE_OPERATIONS: Readonly<Record<string, Operation>> = {
  PutRule: (rules, body) => rules.putRule(body),
  DescribeRule: (rules, body) => rules.describeRule(body),
  ListRules: (rules, body) => rules.listRules(body),
  DeleteRule: (rules, body) => rules.deleteRule(body),
  EnableRule: (rules, body) => rules.setRuleState(body, 'ENABLED'),
  DisableRule: (rules, body) => rules.setRuleState(body, 'DISABLED'),
  TestEventPattern: (rules, body) => rules.testEventPattern(body),
  PutTargets: (rules, body) => rules.putTargets(body),
  RemoveTargets: (rules, body) => rules.removeTargets(body),
  ListTargetsByRule: (rules, body) => rules.listTargetsByRule(body),
  CreateConnection: (rules, body) => rules.createConnection(body),
  DescribeConnection: (rules, body) => rules.describeConnection(body),
  DeleteConnection: (rules, body) => rules.deleteConnection(body),
  CreateApiDestination: (rules, body) => rules.createApiDestination(body),
  DescribeApiDestination: (rules, body) => rules.describeApiDestination(body),
  DeleteApiDestination: (rules, body) => rules.deleteApiDestination(body),
};

const SERVED_OPERATIONS = ['PutEvents', ...Object.keys(RULE_OPERATIONS)];

/** What a request Node's HTTP parser refuses is answered with: the AWS JSON error shape. */
const PARSER_REFUSALS: Readonly<Record<ParserRefusalStatus, { readonly __type: string; readonly message: string }>> = {
  400: { __type: 'BadRequestException', message: 'The request is not valid HTTP.' },
  408: { __type: 'RequestTimeoutException', message: 'The request took too long to arrive.' },
  413: { __type: 'RequestEntityTooLargeException', message: 'The request is too large.' },
  431: { __type: 'RequestHeaderFieldsTooLargeException', message: `The request's headers are larger than the ${maxHeaderSize} bytes the local bus reads.` },
};

/**
 * An EventBridge endpoint in the AWS JSON 1.1 protocol the real SDK speaks (`POST /`,
 * `X-Amz-Target: AWSEvents.<operation>`). `PutEvents` validates as the service does: more than 10
 * entries, or more than 256 KB of entries, refuse the whole request (ValidationException); a
 * missing Source, DetailType or Detail (InvalidArgument), a Detail that is not a JSON object
 * (MalformedDetail) or an `aws.` source (NotAuthorizedForSourceException) fail that entry alone.
 * Accepted events become envelopes; those the stack's rule matches go to its target before the
 * answer (as do those its other fixed rules match, each target on its own), and those users' rules match (see `event-bus-rules.ts`) to their API destinations
 * after it. Every refusal is a JSON body, those of Node's HTTP parser included (431, 413, …).
 * Requests are not signature-checked: it listens on loopback only.
 */
export class LocalEventBus {
  private server?: Server;
  private requests = 0;
  private accepted = 0;
  private failed = 0;
  private matched = 0;
  private readonly ruleStats = new Map<string, { matched: number; failed: number }>();
  private readonly clock: () => number;
  private readonly rules: EventBusRules;
  private readonly delivery: ApiDestinationDelivery;

  constructor(private readonly options: LocalEventBusOptions) {
    this.clock = options.clock ?? Date.now;
    const scope = { region: options.region ?? 'us-east-1', account: options.account ?? '000000000000' };
    this.rules = new EventBusRules({ busName: options.busName, scope, ...(options.dataDir === undefined ? {} : { file: eventBusRulesFile(options.dataDir) }) });
    this.delivery = new ApiDestinationDelivery(options.delivery);
    for (const rule of options.rules ?? []) {
      if (this.ruleStats.has(rule.name)) throw new Error(`Two fixed rules are named ${rule.name}.`);
      this.ruleStats.set(rule.name, { matched: 0, failed: 0 });
    }
  }

  /** Reads the rules a previous run kept, then listens. */
  public async listen(port: number, host = '127.0.0.1'): Promise<string> {
    await this.rules.load();
    const server = createServer((req, res) => void this.handle(req, res));
    answerParserRefusalsWithJson(server, (status) => PARSER_REFUSALS[status]);
    this.server = server;
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { resolve(); });
    });
    const address = server.address() as AddressInfo;
    return `http://${host}:${address.port}`;
  }

  /** Stops accepting; requests in flight finish first; deliveries still waiting are dropped (and counted). */
  public async close(): Promise<void> {
    const server = this.server;
    if (server) await closeGracefully(server);
    this.server = undefined;
    await this.delivery.close();
  }

  /** Resolves once every delivery to an API destination so far is done: delivered, or given up. */
  public deliveriesSettled(): Promise<void> {
    return this.delivery.idle();
  }

  public stats(): LocalEventBusStats {
    const rules = Object.fromEntries([...this.ruleStats].map(([name, counts]) => [name, { ...counts }]));
    return { requests: this.requests, accepted: this.accepted, failed: this.failed, matched: this.matched, rules, deliveries: this.delivery.stats() };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (refuseForeignHost(req, res, 'application/x-amz-json-1.1')) return;
      if (req.method === 'GET' && (req.url === '/' || req.url === '/health')) { send(res, 200, { status: 'ok', bus: this.options.busName }); return; }
      if (req.method !== 'POST') throw new AwsJsonError('UnknownOperationException', 'Only POST requests of the AWS JSON protocol are served.', 404);
      const operation = operationOf(req);
      const body = await readJsonBody(req);
      send(res, 200, await this.perform(operation, body));
    } catch (error) {
      if (error instanceof AwsJsonError) {
        // An oversized body is not kept: the rest is read and dropped so that the client sees the answer, for at most a few seconds.
        if (error.status === 413) res.on('finish', () => { dropUnreadBody(req); });
        send(res, error.status, { __type: error.type, message: error.message }); return;
      }
      send(res, 500, { __type: 'InternalException', message: error instanceof Error ? error.message : String(error) });
    }
  }

  private perform(operation: string, body: RequestBody): unknown {
    if (operation !== 'PutEvents') return RULE_OPERATIONS[operation](this.rules, body);
    this.requests++;
    return this.putEvents(body);
  }

  private async putEvents(request: RequestBody): Promise<{ FailedEntryCount: number; Entries: ResultEntry[] }> {
    const entries = request.Entries;
    if (!Array.isArray(entries) || entries.length < 1) {
      throw new AwsJsonError('ValidationException', "1 validation error detected: Value null at 'entries' failed to satisfy constraint: Member must not be null and must have length greater than or equal to 1");
    }
    if (entries.length > PUT_EVENTS_LIMITS.maxEntries) {
      throw new AwsJsonError('ValidationException', `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length less than or equal to ${PUT_EVENTS_LIMITS.maxEntries}`);
    }
    this.checkRequest(entries as PutEventsRequestEntry[]);

    const results: ResultEntry[] = [];
    const matched: string[] = [];
    const fixed = (this.options.rules ?? []).map((rule) => ({ rule, records: [] as string[] }));
    const deliveries: DeliveryRequest[] = [];
    for (const entry of entries as PutEventsRequestEntry[]) {
      const outcome = this.envelope(entry);
      if ('ErrorCode' in outcome) {
        results.push(outcome);
        continue;
      }
      results.push({ EventId: outcome.id });
      const bus = this.busOfEntry(entry);
      const record = JSON.stringify(outcome);
      if (bus === this.options.busName) {
        if (matchesEventPattern(this.options.rule.pattern, outcome)) matched.push(record);
        for (const { rule, records } of fixed) if (matchesEventPattern(rule.pattern, outcome)) records.push(record);
      }
      deliveries.push(...this.rules.matchingTargets(bus, outcome).map((m) => invocationOf(m, record)));
    }
    // Matched events are in the targets' logs before the caller hears they were accepted; the fixed rules' failures are their own.
    await Promise.all([this.options.rule.target.put(matched), ...fixed.map(({ rule, records }) => this.putFixed(rule, records))]);
    // Users' targets are called after the answer, never holding it up.
    for (const delivery of deliveries) this.delivery.enqueue(delivery);
    const failed = results.filter((r) => 'ErrorCode' in r).length;
    this.accepted += results.length - failed;
    this.failed += failed;
    this.matched += matched.length;
    return { FailedEntryCount: failed, Entries: results };
  }

  /** One fixed rule's matched events to its target; a failure is counted and reported, never thrown. */
  private async putFixed(rule: FixedRule, records: readonly string[]): Promise<void> {
    if (records.length === 0) return;
    const counts = this.ruleStats.get(rule.name);
    if (counts) counts.matched += records.length;
    try {
      await rule.target.put(records);
    } catch (error) {
      if (counts) counts.failed += records.length;
      try {
        this.options.onRuleError?.(rule.name, error, records.length);
      } catch {
        // A reporter that throws does not fail the request either.
      }
    }
  }

  /** The bus an entry names: `default` (by name or ARN), or this bus (by name, ARN, or nothing, as the stack's producers have always sent). */
  private busOfEntry(entry: PutEventsRequestEntry): string {
    const bus = str(entry.EventBusName);
    return bus === 'default' || bus?.endsWith(':event-bus/default') ? 'default' : this.options.busName;
  }

  /** Refuses the whole request when its entries are too large together or name another bus. */
  private checkRequest(entries: readonly PutEventsRequestEntry[]): void {
    const size = entries.reduce(
      (sum, e) => sum + putEventsEntrySize({ Time: entryTime(e.Time), Source: str(e.Source), DetailType: str(e.DetailType), Detail: str(e.Detail), Resources: resourcesOf(e) }),
      0,
    );
    if (size > PUT_EVENTS_LIMITS.maxRequestBytes) throw new AwsJsonError('ValidationException', 'Total size of the entries in the request is over the limit.');
    for (const entry of entries) {
      const bus = str(entry.EventBusName);
      const known = [this.options.busName, 'default'];
      if (bus && !known.includes(bus) && !known.some((name) => bus.endsWith(`:event-bus/${name}`))) {
        throw new AwsJsonError('ResourceNotFoundException', `Event bus ${bus} does not exist.`);
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

/** The operation an `X-Amz-Target` header names, when the bus serves it. */
function operationOf(req: IncomingMessage): string {
  const target = String(req.headers['x-amz-target'] ?? '');
  const operation = target.startsWith('AWSEvents.') ? target.slice('AWSEvents.'.length) : '';
  if (!SERVED_OPERATIONS.includes(operation)) {
    throw new AwsJsonError('UnknownOperationException', `Operation ${target || '(none)'} is not served by the local bus; it serves ${SERVED_OPERATIONS.map((o) => `AWSEvents.${o}`).join(', ')}.`);
  }
  return operation;
}

const tooLarge = () => new AwsJsonError('ValidationException', `The request body is larger than the ${MAX_BODY_BYTES} bytes the local bus reads.`, 413);

/** The request's body as a JSON object; a body over the limit is refused (413) as soon as it is known to be. */
async function readJsonBody(req: IncomingMessage): Promise<RequestBody> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) throw tooLarge();
  const text = await readBody(req);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AwsJsonError('SerializationException', 'Request body is not valid JSON.');
  }
  if (!isRecord(body)) throw new AwsJsonError('SerializationException', 'Request body must be a JSON object.');
  return body;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > MAX_BODY_BYTES) {
        req.off('data', onData);
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => { resolve(Buffer.concat(chunks).toString('utf8')); });
    req.on('error', reject);
  });
}

/** How long the rest of a refused body is read and dropped before the connection is cut. */
const DROP_BODY_GRACE_MS = 2000;

/** Reads and drops the rest of a request body, so the client can finish sending and read the answer; cuts the connection after a grace period. */
function dropUnreadBody(req: IncomingMessage): void {
  if (req.complete) return;
  const timer = setTimeout(() => req.socket.destroy(), DROP_BODY_GRACE_MS);
  timer.unref();
  req.on('end', () => { clearTimeout(timer); });
  req.on('close', () => { clearTimeout(timer); });
  req.resume();
}

/** The fixed headers EventBridge sends to an API destination ("Headers included in requests to API destinations", eb-api-destinations.html). */
const API_DESTINATION_HEADERS = {
  'user-agent': 'Amazon/EventBridge/ApiDestinations',
  'content-type': 'application/json; charset=utf-8',
  range: 'bytes=0-1048575',
  'accept-encoding': 'gzip,deflate',
  connection: 'close',
} as const;

/**
 * The HTTP request for a matched target: the destination's method and endpoint (its `*` path
 * wildcards filled from the target's PathParameterValues), the target's then the connection's
 * header and query parameters, the connection's auth, and as body the event envelope (or the
 * target's `Input`). GET and HEAD carry no body.
 */
function invocationOf({ target, destination, connection }: MatchedTarget, envelope: string): DeliveryRequest {
  const fromConnection = connectionRequestParts(connection);
  const fromTarget = targetRequestParts(target.HttpParameters);
  let endpoint = destination.invocationEndpoint;
  for (const value of fromTarget.pathValues) endpoint = endpoint.replace('*', encodeURIComponent(value));
  const url = new URL(endpoint);
  for (const [key, value] of [...fromTarget.query, ...fromConnection.query]) url.searchParams.append(key, value);
  checkLoopbackEndpoint(url.href);
  const body = typeof target.Input === 'string' ? target.Input : envelope;
  const withBody = destination.httpMethod !== 'GET' && destination.httpMethod !== 'HEAD';
  const retryPolicy = isRecord(target.RetryPolicy) ? target.RetryPolicy : {};
  const maxRetries = typeof retryPolicy.MaximumRetryAttempts === 'number' ? Math.min(LOCAL_DELIVERY_RETRIES, retryPolicy.MaximumRetryAttempts) : LOCAL_DELIVERY_RETRIES;
  return {
    url: url.href,
    method: destination.httpMethod,
    headers: { ...fromTarget.headers, ...fromConnection.headers, ...API_DESTINATION_HEADERS, ...(withBody ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
    ...(withBody ? { body } : {}),
    maxRetries,
  };
}
