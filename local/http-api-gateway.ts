import { randomUUID } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayRequestAuthorizerEventV2 } from 'aws-lambda';
import { AccessLogRecord, CredentialSource, IDENTITY_SOURCES } from '../contracts/metered-api';

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
}

/** HTTP API's own answers, exactly as it sends them. */
const GATEWAY_ANSWERS = {
  401: '{"message":"Unauthorized"}',
  403: '{"message":"Forbidden"}',
  404: '{"message":"Not Found"}',
  413: '{"message":"Request Entity Too Large"}',
  500: '{"message":"Internal Server Error"}',
} as const;

/** HTTP API's payload limit. */
const MAX_BODY_BYTES = 10 * 1024 * 1024;

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
  private server?: Server;

  constructor(private readonly options: LocalHttpApiGatewayOptions) {
    this.clock = options.clock ?? Date.now;
    this.routes = options.routes.map(compileRoute);
  }

  public async listen(port: number, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, () => { resolve(); });
    });
    return `http://${host}:${(this.server.address() as AddressInfo).port}`;
  }

  public async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => { resolve(); }));
  }

  /** Forgets cached authorizer answers (as redeploying the API would). */
  public clearAuthorizerCache(): void {
    this.cache.clear();
  }

  public async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = this.clock();
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = (req.method ?? 'GET').toUpperCase();
    const log: { -readonly [K in keyof AccessLogRecord]: AccessLogRecord[K] } = {
      requestId,
      requestTimeEpoch: started,
      httpMethod: method,
      routeKey: '-',
      integrationStatus: '-',
      sourceIp: req.socket.remoteAddress ?? '-',
    };
    const answer = (status: number, headers: Record<string, string>, body: Buffer | string) => {
      const payload = typeof body === 'string' ? Buffer.from(body) : body;
      res.writeHead(status, { 'apigw-requestid': requestId, 'content-length': String(payload.byteLength), ...headers });
      res.end(payload);
      log.status = status;
      log.responseLength = payload.byteLength;
      log.responseLatency = this.clock() - started;
      this.options.onAccessLog?.(log);
    };
    const gatewayAnswer = (status: keyof typeof GATEWAY_ANSWERS, extra: Record<string, string> = {}) => { answer(status, { 'content-type': 'application/json', ...extra }, GATEWAY_ANSWERS[status]); };

    try {
      const body = await readBody(req);
      if (body === undefined) { gatewayAnswer(413); return; }
      const match = this.match(method, url.pathname);
      if (!match) { gatewayAnswer(404); return; }
      const { route, pathParameters } = match;
      log.routeKey = route.routeKey;
      const headers = lowerCaseHeaders(req);
      const event = this.proxyEvent(route, method, url, headers, body, pathParameters, requestId, started);

      if (route.iam) {
        const userArn = route.iam({ method, path: url.pathname, headers, body: body.toString('utf8') });
        if (!userArn) { gatewayAnswer(403); return; }
        (event.requestContext as { authorizer?: unknown }).authorizer = { iam: { userArn } };
      }
      if (route.authorizer) {
        const identity = headers[route.authorizer.identitySource];
        if (!identity) { gatewayAnswer(401, { 'www-authenticate': 'Bearer' }); return; }
        const result = await this.authorize(route.authorizer, route, event, identity, requestId);
        if (!result) { gatewayAnswer(500); return; }
        if (!result.isAuthorized) { gatewayAnswer(403); return; }
        (event.requestContext as { authorizer?: unknown }).authorizer = { lambda: result.context ?? {} };
        log.tenantId = typeof result.context?.tenantId === 'string' ? result.context.tenantId : null;
        log.apiKeyId = typeof result.context?.apiKeyId === 'string' ? result.context.apiKeyId : null;
      }

      let output: unknown;
      try {
        output = await route.handler(event, { awsRequestId: requestId, functionName: route.routeKey });
      } catch {
        log.integrationStatus = 500;
        gatewayAnswer(500); return;
      }
      const response = proxyResponse(output);
      log.integrationStatus = response.status;
      answer(response.status, response.headers, response.body);
    } catch {
      if (!res.headersSent) gatewayAnswer(500);
    }
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

  private async authorize(authorizer: GatewayAuthorizer, route: CompiledRoute, event: APIGatewayProxyEventV2, identity: string, requestId: string): Promise<SimpleAuthorizerResult | undefined> {
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
    let result: SimpleAuthorizerResult;
    try {
      result = await authorizer.handler(authorizerEvent, { awsRequestId: requestId, functionName: authorizer.name });
    } catch {
      return undefined;
    }
    if (typeof result?.isAuthorized !== 'boolean') return undefined;
    if (authorizer.cacheTtlSeconds > 0) this.cache.set(cacheKey, { expires: this.clock() + authorizer.cacheTtlSeconds * 1000, result });
    return result;
  }

  private proxyEvent(
    route: CompiledRoute,
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: Buffer,
    pathParameters: Record<string, string>,
    requestId: string,
    at: number,
  ): APIGatewayProxyEventV2 {
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
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
        http: { method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
        requestId,
        routeKey: route.routeKey,
        stage: '$default',
        time: new Date(at).toUTCString(),
        timeEpoch: at,
      },
    };
  }
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

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).byteLength;
    if (size > MAX_BODY_BYTES) return undefined;
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

/** The identity-source expression a credential source stands for (for logs and docs). */
export const identitySourceExpression = (source: CredentialSource) => IDENTITY_SOURCES[source];
