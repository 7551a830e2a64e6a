import { randomUUID } from 'node:crypto';
import { IncomingMessage, RequestListener, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { parseAuthorizerContext } from '../contracts/authorizer-context';
import { CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_SECONDS, DEFAULT_CORS_ALLOW_ORIGINS, corsOriginProblems } from '../contracts/cors';
import { AccessLogRecord, CredentialSource } from '../contracts/metered-api';
import { ParserRefusalStatus, answerParserRefusalsWithJson } from './http-parser-refusals';

/** A Lambda handler as the gateway calls it. */
export type LambdaHandler<E, R> = (event: E, context: LambdaContextLike) => Promise<R>;

export interface LambdaContextLike {
  readonly awsRequestId: string;
  readonly functionName: string;
}

/** A simple-response authorizer result. */
export interface SimpleAuthorizerResult {
  readonly isAuthorized: boolean;
  readonly context?: Record<string, unknown>;
}

export interface GatewayAuthorizer {
  readonly name: string;
  readonly handler: LambdaHandler<APIGatewayRequestAuthorizerEventV2, SimpleAuthorizerResult>;
  /** The header the authorizer's identity source names; missing → 401 without calling it. */
  readonly identitySource: CredentialSource;
  /** Seconds an answer is cached per identity value, as API Gateway does. */
  readonly cacheTtlSeconds: number;
}

export interface GatewayRoute {
  /** `GET /v1/orders/{id}`, `ANY /v1/{proxy+}` or `$default`. */
  readonly routeKey: string;
  readonly handler: LambdaHandler<APIGatewayProxyEventV2, unknown>;
  readonly authorizer?: GatewayAuthorizer;
  /**
   * IAM authorization instead: the ARN of the principal whose SigV4 signature verifies, or
   * undefined (403). The handler finds it as `requestContext.authorizer.iam.userArn`.
   */
  readonly iam?: (request: { method: string; path: string; headers: Readonly<Record<string, string>>; body: string }) => string | undefined;
}

export interface LocalHttpApiGatewayOptions {
  readonly routes: readonly GatewayRoute[];
  /** Called with each request's access log record (the stage's access log format). */
  readonly onAccessLog?: (record: AccessLogRecord) => void;
  /** @default Date.now */
  readonly clock?: () => number;
  /**
   * The API's CORS configuration (contracts/cors.ts), as the stack sets it on the HTTP API: the
   * origins whose pages may call it. `false` answers as an API without CORS configuration.
   * @default { allowOrigins: DEFAULT_CORS_ALLOW_ORIGINS }
   */
  readonly cors?: { readonly allowOrigins: readonly string[] } | false;
}

/**
 * CORS as an HTTP API configured for it answers (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html):
 * "API Gateway automatically sends a response to preflight OPTIONS requests, even if there isn't
 * an OPTIONS route configured" (so neither the authorizer nor an integration is called), "adds the
 * configured CORS headers to the response from an integration" and "ignores CORS headers returned
 * from your backend integration"; only a request with an `Origin` header gets CORS headers, and a
 * preflight is an OPTIONS request with both `Origin` and `Access-Control-Request-Method`. The
 * preflight's status is not stated there: 204, no body, the status CORS preflights conventionally get.
 */
class CorsPolicy {
  constructor(private readonly allowOrigins: readonly string[]) {
    const problems = corsOriginProblems(allowOrigins);
    if (problems.length > 0) throw new Error(`The gateway's CORS configuration is invalid: ${problems.join('; ')}.`);
  }

  public static isPreflight(method: string, headers: IncomingMessage['headers']): boolean {
    return method === 'OPTIONS' && typeof headers.origin === 'string' && typeof headers['access-control-request-method'] === 'string';
  }

  /** The headers of an answer to a request from `origin`: none for a request without one, or from an origin not allowed. */
  public answerHeaders(origin: string | undefined): Record<string, string> {
    const allowed = this.allowedOrigin(origin);
    if (allowed === undefined) return {};
    return { ...allowed, 'access-control-expose-headers': CORS_EXPOSE_HEADERS.join(',') };
  }

  /** The headers of the answer to a preflight from `origin`. */
  public preflightHeaders(origin: string | undefined): Record<string, string> {
    const allowed = this.allowedOrigin(origin);
    if (allowed === undefined) return {};
    return {
      ...allowed,
      'access-control-allow-methods': CORS_ALLOW_METHODS.join(','),
      'access-control-allow-headers': CORS_ALLOW_HEADERS.join(','),
      'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
    };
  }

  private allowedOrigin(origin: string | undefined): Record<string, string> | undefined {
    if (origin === undefined) return undefined;
    if (this.allowOrigins.includes('*')) return { 'access-control-allow-origin': '*' };
    // The origin itself, when listed; the answer then varies with it (RFC 9110 section 12.5.5).
    return this.allowOrigins.includes(origin) ? { 'access-control-allow-origin': origin, vary: 'origin' } : undefined;
  }
}

/** The headers of an integration's answer without its CORS headers, which an API configured for CORS ignores. */
function withoutCorsHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !name.toLowerCase().startsWith('access-control-')));
}

/**
 * HTTP API's own answers, as `{"message": ...}` bodies. 400, 408 and 431 are refusals before any
 * route is matched (a request Node's parser cannot read, one too slow to arrive, headers over the
 * quota): HTTP API's documentation states the header quota (below) but not its answer, so they take
 * its shape with the status's reason; 431 is RFC 6585's status for headers over a limit.
 */
const GATEWAY_ANSWERS = {
  400: '{"message":"Bad Request"}',
  401: '{"message":"Unauthorized"}',
  403: '{"message":"Forbidden"}',
  404: '{"message":"Not Found"}',
  408: '{"message":"Request Timeout"}',
  413: '{"message":"Request Entity Too Large"}',
  431: '{"message":"Request Header Fields Too Large"}',
  500: '{"message":"Internal Server Error"}',
} as const;

/**
 * HTTP API's quotas (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html):
 * "Payload size: 10 MB" and "Total combined size of request line and header values: 10240 bytes",
 * neither of which can be increased.
 */
export const HTTP_API_LIMITS = { payloadBytes: 10 * 1024 * 1024, requestLineAndHeaderValuesBytes: 10_240 } as const;

/**
 * Node's own header limit on the gateway's server, above HTTP API's 10240 bytes (Node counts header
 * names too, HTTP API only the values), so that {@link LocalHttpApiGateway.handle} measures HTTP
 * API's quota itself; a header block over this is refused by Node's parser, with the same answer.
 */
export const GATEWAY_MAX_HEADER_SIZE = 16 * 1024;

/**
 * Makes a server that hands requests to {@link LocalHttpApiGateway.handle} answer what Node's
 * parser refuses (a malformed request line 400, headers over `maxHeaderSize` 431, a request too
 * slow 408) as the gateway answers its own refusals: `{"message": ...}` JSON, not Node's empty body.
 */
export function answerParserRefusalsAsGateway(server: Server): void {
  answerParserRefusalsWithJson(server, (status: ParserRefusalStatus) => JSON.parse(GATEWAY_ANSWERS[status]) as unknown);
}

/**
 * A server for requests the gateway handles (alone, or beside other routes such as the local
 * stack's `/health`): Node's header limit at {@link GATEWAY_MAX_HEADER_SIZE}, and what its parser
 * refuses answered as the gateway answers ({@link answerParserRefusalsAsGateway}).
 */
export function createGatewayServer(listener: RequestListener): Server {
  const server = createServer({ maxHeaderSize: GATEWAY_MAX_HEADER_SIZE }, listener);
  answerParserRefusalsAsGateway(server);
  return server;
}

type MutableAccessLogRecord = { -readonly [K in keyof AccessLogRecord]: AccessLogRecord[K] };

/** One request in flight: what its access log record needs, and how to answer it. */
interface Exchange {
  readonly started: number;
  readonly requestId: string;
  readonly method: string;
  readonly url: URL;
  readonly log: MutableAccessLogRecord;
  /** Answers; the CORS headers of the request's origin replace any the headers have (`cors` replaces those, for a preflight). */
  answer(status: number, headers: Record<string, string>, body: Buffer | string, cors?: Record<string, string>): void;
  gatewayAnswer(status: keyof typeof GATEWAY_ANSWERS, extra?: Record<string, string>): void;
}

interface CompiledRoute extends GatewayRoute {
  readonly method: string;
  readonly pattern?: RegExp;
  readonly parameters: readonly string[];
}

/**
 * A local stand-in for an API Gateway HTTP API that calls the very Lambda handlers the stack
 * deploys, with payload-format-2.0 events: route templates and path parameters, a Lambda REQUEST
 * authorizer with simple responses and its identity-source rules (a missing identity source is a
 * 401 without calling it, `isAuthorized: false` a 403, answers cached per identity value), and
 * the access log record the deployed stage writes.
 */
export class LocalHttpApiGateway {
  private readonly routes: CompiledRoute[];
  private readonly cache = new Map<string, { expires: number; result: SimpleAuthorizerResult }>();
  private readonly clock: () => number;
  private readonly cors?: CorsPolicy;
  private server?: Server;

  constructor(private readonly options: LocalHttpApiGatewayOptions) {
    this.clock = options.clock ?? Date.now;
    this.routes = options.routes.map(compileRoute);
    if (options.cors !== false) this.cors = new CorsPolicy(options.cors?.allowOrigins ?? DEFAULT_CORS_ALLOW_ORIGINS);
  }

  public async listen(port: number, host = '127.0.0.1'): Promise<string> {
    const server = createGatewayServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => { resolve(); });
    });
    return `http://${host}:${(server.address() as AddressInfo).port}`;
  }

  public async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  }

  /** Forgets cached authorizer answers (as redeploying the API would). */
  public clearAuthorizerCache(): void {
    this.cache.clear();
  }

  /**
   * One request, as API Gateway takes it: refuse a request line and header values over HTTP API's
   * quota (431), read the body (413 over the payload limit), match a route (404), authorize it (IAM
   * or the Lambda authorizer), call the integration, answer, and write the access log record.
   * A request refused before it is read (431) has no access log record, as one Node's parser refuses.
   * A CORS preflight is answered at once, with no route, authorizer or integration ({@link CorsPolicy}).
   */
  public async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (requestLineAndHeaderValuesBytes(req) > HTTP_API_LIMITS.requestLineAndHeaderValuesBytes) {
      refuseBeforeReading(req, res, 431);
      return;
    }
    const exchange = this.startExchange(req, res);
    if (this.cors && CorsPolicy.isPreflight(exchange.method, req.headers)) {
      req.resume();
      exchange.answer(204, {}, '', this.cors.preflightHeaders(req.headers.origin));
      return;
    }
    try {
      const declared = Number(req.headers['content-length'] ?? 0);
      const body = declared > HTTP_API_LIMITS.payloadBytes ? undefined : await readBody(req);
      if (body === undefined) { exchange.gatewayAnswer(413, { connection: 'close' }); return; }
      const match = this.match(exchange.method, exchange.url.pathname);
      if (!match) { exchange.gatewayAnswer(404); return; }
      exchange.log.routeKey = match.route.routeKey;
      const headers = lowerCaseHeaders(req);
      const event = this.proxyEvent(match.route, exchange, headers, body, match.pathParameters);
      if (!(await this.authorizeRequest(match.route, exchange, event, headers, body))) return;
      await this.integrate(match.route, exchange, event);
    } catch {
      if (!res.headersSent) exchange.gatewayAnswer(500);
    }
  }

  /** A request's id, start, access log record, and the answers that complete the record. */
  private startExchange(req: IncomingMessage, res: ServerResponse): Exchange {
    const started = this.clock();
    const requestId = randomUUID();
    const method = (req.method ?? 'GET').toUpperCase();
    const log: MutableAccessLogRecord = {
      requestId,
      requestTimeEpoch: started,
      httpMethod: method,
      routeKey: '-',
      integrationStatus: '-',
      sourceIp: sourceIpOf(req),
    };
    const originCors = this.cors?.answerHeaders(req.headers.origin);
    const answer = (status: number, headers: Record<string, string>, body: Buffer | string, cors = originCors) => {
      const payload = typeof body === 'string' ? Buffer.from(body) : body;
      const own = cors ? { ...withoutCorsHeaders(headers), ...cors } : headers;
      res.writeHead(status, { 'apigw-requestid': requestId, 'content-length': String(payload.byteLength), ...own });
      res.end(payload);
      log.status = status;
      log.responseLength = payload.byteLength;
      log.responseLatency = this.clock() - started;
      this.options.onAccessLog?.(log);
    };
    const gatewayAnswer = (status: keyof typeof GATEWAY_ANSWERS, extra: Record<string, string> = {}) => {
      answer(status, { 'content-type': 'application/json', ...extra }, GATEWAY_ANSWERS[status]);
    };
    return { started, requestId, method, url: new URL(req.url ?? '/', 'http://localhost'), log, answer, gatewayAnswer };
  }

  /**
   * The route's authorization: IAM (403 without a verified signature) or the Lambda authorizer
   * (401 without the identity source, 500 when it fails, 403 when it refuses). Puts what it
   * verified in the event's `requestContext.authorizer`; false when it has answered the request.
   */
  private async authorizeRequest(route: CompiledRoute, exchange: Exchange, event: APIGatewayProxyEventV2, headers: Record<string, string>, body: Buffer): Promise<boolean> {
    const context = event.requestContext as { authorizer?: unknown };
    if (route.iam) {
      const userArn = route.iam({ method: exchange.method, path: exchange.url.pathname, headers, body: body.toString('utf8') });
      if (!userArn) { exchange.gatewayAnswer(403); return false; }
      context.authorizer = { iam: { userArn } };
    }
    if (route.authorizer) {
      const identity = headers[route.authorizer.identitySource];
      if (!identity) { exchange.gatewayAnswer(401, { 'www-authenticate': 'Bearer' }); return false; }
      const result = await this.authorize(route.authorizer, route, event, identity, exchange.requestId);
      if (!result) { exchange.gatewayAnswer(500); return false; }
      if (!result.isAuthorized) { exchange.gatewayAnswer(403); return false; }
      context.authorizer = { lambda: result.context ?? {} };
      const verified = parseAuthorizerContext(result.context);
      exchange.log.tenantId = verified?.tenantId ?? null;
      exchange.log.apiKeyId = verified?.apiKeyId ?? null;
    }
    return true;
  }

  /** Calls the route's handler and answers with its result, or 500 when it throws. */
  private async integrate(route: CompiledRoute, exchange: Exchange, event: APIGatewayProxyEventV2): Promise<void> {
    let output: unknown;
    try {
      output = await route.handler(event, { awsRequestId: exchange.requestId, functionName: route.routeKey });
    } catch {
      exchange.log.integrationStatus = 500;
      exchange.gatewayAnswer(500);
      return;
    }
    const response = proxyResponse(output);
    exchange.log.integrationStatus = response.status;
    exchange.answer(response.status, response.headers, response.body);
  }

  private match(method: string, path: string): { route: CompiledRoute; pathParameters: Record<string, string> } | undefined {
    for (const route of this.routes) {
      if (!route.pattern || (route.method !== 'ANY' && route.method !== method)) continue;
      const found = route.pattern.exec(path);
      if (found) {
        const pathParameters = Object.fromEntries(route.parameters.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
        return { route, pathParameters };
      }
    }
    const fallback = this.routes.find((route) => route.routeKey === '$default');
    return fallback ? { route: fallback, pathParameters: {} } : undefined;
  }

  private async authorize(
    authorizer: GatewayAuthorizer,
    route: CompiledRoute,
    event: APIGatewayProxyEventV2,
    identity: string,
    requestId: string,
  ): Promise<SimpleAuthorizerResult | undefined> {
    const cacheKey = `${authorizer.name}\u0000${identity}`;
    const cached = this.cache.get(cacheKey);
    if (cached && cached.expires > this.clock()) return cached.result;
    const authorizerEvent = {
      version: '2.0',
      type: 'REQUEST',
      routeArn: `arn:aws:execute-api:local:000000000000:local/$default/${route.routeKey.replace(' ', '')}`,
      identitySource: [identity],
      routeKey: route.routeKey,
      rawPath: event.rawPath,
      rawQueryString: event.rawQueryString,
      headers: event.headers,
      queryStringParameters: event.queryStringParameters,
      pathParameters: event.pathParameters,
      requestContext: event.requestContext,
    } as unknown as APIGatewayRequestAuthorizerEventV2;
    // What a handler answers is not trusted to be a result: anything else makes API Gateway answer 500.
    let result: unknown;
    try {
      result = await authorizer.handler(authorizerEvent, { awsRequestId: requestId, functionName: authorizer.name });
    } catch {
      return undefined;
    }
    if (!isSimpleAuthorizerResult(result)) return undefined;
    const answer = result;
    if (authorizer.cacheTtlSeconds > 0) this.cache.set(cacheKey, { expires: this.clock() + authorizer.cacheTtlSeconds * 1000, result: answer });
    return answer;
  }

  /** The payload format 2.0 event of a request; `requestContext.http.sourceIp` is the socket's peer, as API Gateway's is the TCP connection's. */
  private proxyEvent(
    route: CompiledRoute,
    exchange: Exchange,
    headers: Readonly<Partial<Record<string, string>>>,
    body: Buffer,
    pathParameters: Record<string, string>,
  ): APIGatewayProxyEventV2 {
    const { method, url, requestId, started: at } = exchange;
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = Object.hasOwn(query, name) ? `${query[name]},${value}` : value;
    const textual = /json|text|xml|x-www-form-urlencoded/.test(headers['content-type'] ?? 'application/json');
    return {
      version: '2.0',
      routeKey: route.routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
      ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
      ...(body.byteLength > 0 ? { body: textual ? body.toString('utf8') : body.toString('base64') } : {}),
      isBase64Encoded: body.byteLength > 0 && !textual,
      requestContext: {
        accountId: '000000000000',
        apiId: 'local',
        domainName: headers.host ?? 'localhost',
        domainPrefix: 'local',
        http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: String(exchange.log.sourceIp), userAgent: headers['user-agent'] ?? '' },
        requestId,
        routeKey: route.routeKey,
        stage: '$default',
        time: new Date(at).toUTCString(),
        timeEpoch: at,
      },
    };
  }
}

/**
 * The request's source IP as API Gateway states it in `requestContext.http.sourceIp`
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):
 * the TCP peer's address ("the source IP address of the TCP connection making the request to API Gateway",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html),
 * an IPv4 peer of a dual-stack socket without its IPv4-mapped form (`::ffff:`); `-` once the socket is gone.
 */
function sourceIpOf(req: IncomingMessage): string {
  const address = req.socket.remoteAddress;
  if (address === undefined) return '-';
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice('::ffff:'.length) : address;
}

function isSimpleAuthorizerResult(value: unknown): value is SimpleAuthorizerResult {
  return typeof value === 'object' && value !== null && typeof (value as { isAuthorized?: unknown }).isAuthorized === 'boolean';
}

function compileRoute(route: GatewayRoute): CompiledRoute {
  if (route.routeKey === '$default') return { ...route, method: 'ANY', parameters: [] };
  const [method, path] = route.routeKey.split(' ');
  const parameters: string[] = [];
  const source = path
    .split('/')
    .map((segment) => {
      const greedy = /^\{([A-Za-z0-9_]+)\+\}$/.exec(segment);
      if (greedy) {
        parameters.push(greedy[1]);
        return '(.+)';
      }
      const param = /^\{([A-Za-z0-9_]+)\}$/.exec(segment);
      if (param) {
        parameters.push(param[1]);
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { ...route, method: method.toUpperCase(), pattern: new RegExp(`^${source}/?$`), parameters };
}

function lowerCaseHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

/**
 * What HTTP API's header quota counts: the request line (method, target, version) and every
 * header value, in bytes (header names are not counted).
 */
function requestLineAndHeaderValuesBytes(req: IncomingMessage): number {
  let bytes = Buffer.byteLength(`${req.method ?? ''} ${req.url ?? ''} HTTP/${req.httpVersion}`);
  for (let i = 1; i < req.rawHeaders.length; i += 2) bytes += Buffer.byteLength(req.rawHeaders[i]);
  return bytes;
}

/** A gateway refusal before the body is read: the connection closes, so the unread body goes with it. */
function refuseBeforeReading(req: IncomingMessage, res: ServerResponse, status: 431): void {
  const body = GATEWAY_ANSWERS[status];
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), connection: 'close' });
  res.end(body);
  req.resume();
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > HTTP_API_LIMITS.payloadBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A payload-2.0 Lambda result as HTTP: a structured result, or any other value as a 200 JSON body. */
function proxyResponse(output: unknown): { status: number; headers: Record<string, string>; body: Buffer } {
  if (output && typeof output === 'object' && 'statusCode' in output) {
    const result = output as { statusCode: number; headers?: Record<string, string | number | boolean>; body?: string; isBase64Encoded?: boolean; cookies?: string[] };
    const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]));
    const body = result.body === undefined ? Buffer.alloc(0) : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
    return { status: result.statusCode, headers, body };
  }
  return { status: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(typeof output === 'string' ? output : JSON.stringify(output ?? null)) };
}
