import * as http from 'node:http';
import * as https from 'node:https';

/** The options of undici's `Pool` that the PutEvents sender sets (sdk/signed-put-events-sender.ts). */
export interface PoolOptions {
  readonly connections?: number;
  readonly pipelining?: number;
  /** Milliseconds to open a connection (TCP and TLS). */
  readonly connectTimeout?: number;
  /** Milliseconds from sending the request to the response's headers. */
  readonly headersTimeout?: number;
  /** Milliseconds the response body may stall. */
  readonly bodyTimeout?: number;
}

export interface PoolRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface PoolResponse {
  readonly statusCode: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: { text(): Promise<string> };
}

/** A failed request, named as undici names it (`code` as well), so that reports read the same. */
const failure = (name: string, code: string, message: string): Error => Object.assign(new Error(message), { name, code });

/**
 * The part of undici's `Pool` the PutEvents sender uses, on Node's own HTTP: keep-alive
 * connections to one origin, at most `connections` at once, each request's connect, headers and
 * body timeouts. The Lambda bundles take it in undici's place (an esbuild alias,
 * lib/lambda-bundling.ts): a function sends a few PutEvents per invocation, which Node's client
 * does without undici's 400 KB.
 */
export class Pool {
  private readonly agent: http.Agent;
  private readonly client: typeof http | typeof https;
  private readonly url: URL;

  constructor(
    origin: string,
    private readonly options: PoolOptions = {},
  ) {
    this.url = new URL(origin);
    this.client = this.url.protocol === 'https:' ? https : http;
    const agentOptions = { keepAlive: true, maxSockets: options.connections ?? Infinity };
    this.agent = this.client === https ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  public request(request: PoolRequest): Promise<PoolResponse> {
    return new Promise((resolve, reject) => {
      const req = this.client.request({
        protocol: this.url.protocol,
        hostname: this.url.hostname,
        port: this.url.port || undefined,
        method: request.method,
        path: request.path,
        headers: { ...request.headers, 'content-length': Buffer.byteLength(request.body) },
        agent: this.agent,
      });
      const fail = (error: Error) => {
        req.destroy(error);
        reject(error);
      };
      this.timeConnect(req, fail);
      const headersTimer = this.timer(this.options.headersTimeout, () => { fail(failure('HeadersTimeoutError', 'UND_ERR_HEADERS_TIMEOUT', 'Headers Timeout Error')); });
      req.once('error', (error) => {
        clearTimeout(headersTimer);
        reject(error);
      });
      req.once('response', (response) => {
        clearTimeout(headersTimer);
        resolve({ statusCode: response.statusCode ?? 0, headers: response.headers, body: { text: () => this.readBody(response) } });
      });
      req.end(request.body);
    });
  }

  public close(): Promise<void> {
    this.agent.destroy();
    return Promise.resolve();
  }

  /** Fails the request unless its socket connects in time (a reused socket is connected already). */
  private timeConnect(req: http.ClientRequest, fail: (error: Error) => void): void {
    req.once('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = this.timer(this.options.connectTimeout, () => { fail(failure('ConnectTimeoutError', 'UND_ERR_CONNECT_TIMEOUT', 'Connect Timeout Error')); });
      socket.once(this.client === https ? 'secureConnect' : 'connect', () => { clearTimeout(timer); });
      socket.once('close', () => { clearTimeout(timer); });
    });
  }

  private readBody(response: http.IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let timer = this.timer(this.options.bodyTimeout, stalled);
      function stalled() {
        response.destroy(failure('BodyTimeoutError', 'UND_ERR_BODY_TIMEOUT', 'Body Timeout Error'));
      }
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        clearTimeout(timer);
        timer = this.timer(this.options.bodyTimeout, stalled);
      });
      response.once('end', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      response.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  private timer(ms: number | undefined, onTimeout: () => void): NodeJS.Timeout | undefined {
    return ms && ms > 0 ? setTimeout(onTimeout, ms).unref() : undefined;
  }
}
