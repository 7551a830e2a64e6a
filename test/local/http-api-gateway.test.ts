import { request } from 'node:http';
import { connect } from 'node:net';
import { AccessLogRecord } from '../../contracts/metered-api';
import { AddressInfo } from 'node:net';
import { HTTP_API_LIMITS, LocalHttpApiGateway, SimpleAuthorizerResult, createGatewayServer } from '../../local/http-api-gateway';

/** What the server wrote back to a raw request, split into its status line, headers and body. */
function rawExchange(url: string, text: string): Promise<{ statusLine: string; headers: string; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(text));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.on('close', () => {
      const end = answer.indexOf('\r\n\r\n');
      const head = answer.slice(0, end).split('\r\n');
      resolve({ statusLine: head[0], headers: head.slice(1).join('\n').toLowerCase(), body: answer.slice(end + 4) });
    });
    socket.on('error', reject);
  });
}

/** A GET through node:http (which sends any header size), answered as status, content type and body. */
function getWithHeaders(url: string, headers: Record<string, string>): Promise<{ status?: number; type?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () => { resolve({ status: res.statusCode, type: res.headers['content-type'], body: text }); });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Class: LocalHttpApiGateway', () => {
  let gateway: LocalHttpApiGateway;
  let url: string;
  let now = 1_000_000;
  const authorizerCalls: string[] = [];
  const logs: AccessLogRecord[] = [];

  beforeAll(async () => {
    const authorizer = {
      name: 'tenant-authorization',
      identitySource: 'authorization' as const,
      cacheTtlSeconds: 60,
      handler: (event: { identitySource: string[] }): Promise<SimpleAuthorizerResult> => {
        authorizerCalls.push(event.identitySource[0]);
        return Promise.resolve({ isAuthorized: event.identitySource[0] === 'good', context: { tenantId: 'acme' } });
      },
    };
    gateway = new LocalHttpApiGateway({
      clock: () => now,
      onAccessLog: (record) => logs.push(record),
      routes: [
        {
          routeKey: 'GET /v1/orders/{id}',
          authorizer: authorizer,
          handler: (event) => {
            const tenant = (event.requestContext as { authorizer?: { lambda?: { tenantId?: string } } }).authorizer?.lambda?.tenantId;
            return Promise.resolve({ statusCode: 200, body: JSON.stringify({ id: event.pathParameters?.id, tenant, q: event.queryStringParameters }) });
          },
        },
        { routeKey: 'POST /v1/echo', handler: (event) => Promise.resolve({ body: event.body, method: event.requestContext.http.method }) },
        { routeKey: 'GET /v1/boom', handler: () => Promise.reject(new Error('secret internals')) },
      ],
    });
    url = await gateway.listen(0);
  });
  afterAll(() => gateway.close());

  it('routes by template with path parameters, query and authorizer context', async () => {
    const response = await fetch(`${url}/v1/orders/o-42?expand=items&expand=lines`, { headers: { authorization: 'good' } });
    expect(await response.json()).toEqual({ id: 'o-42', tenant: 'acme', q: { expand: 'items,lines' } });
  });

  it('answers 401 without calling the authorizer when the identity source is missing, 403 when it refuses', async () => {
    authorizerCalls.length = 0;
    const missing = await fetch(`${url}/v1/orders/1`);
    expect([missing.status, await missing.text()]).toEqual([401, '{"message":"Unauthorized"}']);
    const refused = await fetch(`${url}/v1/orders/1`, { headers: { authorization: 'bad' } });
    expect([refused.status, await refused.text()]).toEqual([403, '{"message":"Forbidden"}']);
    expect(authorizerCalls).toEqual(['bad']);
  });

  it('caches authorizer answers per identity for the TTL', async () => {
    gateway.clearAuthorizerCache();
    authorizerCalls.length = 0;
    await fetch(`${url}/v1/orders/1`, { headers: { authorization: 'good' } });
    await fetch(`${url}/v1/orders/2`, { headers: { authorization: 'good' } });
    now += 61_000;
    await fetch(`${url}/v1/orders/3`, { headers: { authorization: 'good' } });
    expect(authorizerCalls).toEqual(['good', 'good']);
  });

  it('turns a plain return value into a 200 JSON answer, a thrown error into a bare 500, an unknown route into 404', async () => {
    const echo = await fetch(`${url}/v1/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(await echo.json()).toEqual({ body: '{"a":1}', method: 'POST' });
    const boom = await fetch(`${url}/v1/boom`);
    expect([boom.status, await boom.text()]).toEqual([500, '{"message":"Internal Server Error"}']);
    const missing = await fetch(`${url}/nowhere`);
    expect([missing.status, await missing.text()]).toEqual([404, '{"message":"Not Found"}']);
  });

  it('writes an access log record per request, integration status included', async () => {
    logs.length = 0;
    await fetch(`${url}/v1/orders/9`, { headers: { authorization: 'bad' } });
    await fetch(`${url}/v1/orders/9`, { headers: { authorization: 'good' } });
    expect(logs.map((l) => [l.routeKey, l.status, l.integrationStatus, l.tenantId ?? null])).toEqual([
      ['GET /v1/orders/{id}', 403, '-', null],
      ['GET /v1/orders/{id}', 200, 200, 'acme'],
    ]);
  });

  // Refusals: HTTP API's quotas (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html),
  // "Total combined size of request line and header values: 10240 bytes" and "Payload size: 10 MB".
  describe('every refusal is a JSON body naming the problem, as HTTP API answers', () => {
    it('refuses a 64 KB Authorization header (over Node\u2019s header limit) with 431 and a JSON body', async () => {
      logs.length = 0;
      authorizerCalls.length = 0;
      const answer = await getWithHeaders(`${url}/v1/orders/1`, { authorization: `Bearer ${'x'.repeat(64 * 1024)}` });
      expect(answer).toEqual({ status: 431, type: 'application/json', body: '{"message":"Request Header Fields Too Large"}' });
      expect(authorizerCalls).toEqual([]);
      expect(logs).toEqual([]);
    });

    // The request line and the header values, names not counted: exactly at the quota is served, one byte over is refused.
    const requestLine = 'GET /v1/orders/1 HTTP/1.1';
    const rawGet = (authorization: string) => `${requestLine}\r\nHost: 127.0.0.1\r\nAuthorization: ${authorization}\r\nConnection: close\r\n\r\n`;
    const atQuota = 'x'.repeat(HTTP_API_LIMITS.requestLineAndHeaderValuesBytes - requestLine.length - '127.0.0.1'.length - 'close'.length);

    it('serves a request line and header values of exactly 10240 bytes', async () => {
      authorizerCalls.length = 0;
      const answer = await rawExchange(url, rawGet(atQuota));
      expect([answer.statusLine, answer.body]).toEqual(['HTTP/1.1 403 Forbidden', '{"message":"Forbidden"}']);
      expect(authorizerCalls).toEqual([atQuota]);
    });

    it('refuses them one byte over 10240 (under Node\u2019s own limit) with 431 and a JSON body, without calling the authorizer', async () => {
      authorizerCalls.length = 0;
      logs.length = 0;
      const answer = await rawExchange(url, rawGet(`${atQuota}x`));
      expect(answer.statusLine).toBe('HTTP/1.1 431 Request Header Fields Too Large');
      expect(answer.headers).toContain('content-type: application/json');
      expect(JSON.parse(answer.body)).toEqual({ message: 'Request Header Fields Too Large' });
      expect(authorizerCalls).toEqual([]);
      expect(logs).toEqual([]);
    });

    it('refuses a request line it cannot parse with 400 and a JSON body', async () => {
      const answer = await rawExchange(url, 'GET /v1/orders/1 NOT-HTTP\r\n\r\n');
      expect(answer.statusLine).toBe('HTTP/1.1 400 Bad Request');
      expect(answer.headers).toContain('content-type: application/json');
      expect(JSON.parse(answer.body)).toEqual({ message: 'Bad Request' });
    });

    it.each([
      ['declared by Content-Length', false],
      ['sent chunked', true],
    ])('refuses a body over 10 MB %s with 413 and a JSON body, before the handler', async (_how, chunked) => {
      const big = Buffer.alloc(HTTP_API_LIMITS.payloadBytes + 1, 'a');
      const stream = new ReadableStream<Uint8Array>({
        start: (controller) => {
          for (let i = 0; i < big.length; i += 65_536) controller.enqueue(big.subarray(i, i + 65_536));
          controller.close();
        },
      });
      const response = await fetch(`${url}/v1/echo`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: chunked ? stream : big, duplex: 'half' });
      expect([response.status, response.headers.get('content-type'), await response.text()]).toEqual([413, 'application/json', '{"message":"Request Entity Too Large"}']);
    });

    it('still serves a body of exactly 10 MB', async () => {
      const response = await fetch(`${url}/v1/echo`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: Buffer.alloc(HTTP_API_LIMITS.payloadBytes, 'a') });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { body: string }).body).toHaveLength(HTTP_API_LIMITS.payloadBytes);
    });
  });

  it('createGatewayServer gives a server that serves routes of its own beside the gateway (the local stack\u2019s /health) the same JSON refusals', async () => {
    const server = createGatewayServer((req, res) => {
      if (req.url === '/health') res.end('{"status":"ok"}');
      else void gateway.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const own = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await (await fetch(`${own}/health`)).text()).toBe('{"status":"ok"}');
      const tooLarge = await getWithHeaders(`${own}/health`, { authorization: 'x'.repeat(64 * 1024) });
      expect(tooLarge).toEqual({ status: 431, type: 'application/json', body: '{"message":"Request Header Fields Too Large"}' });
      const unparsable = await rawExchange(own, 'GARBAGE\r\n\r\n');
      expect([unparsable.statusLine, unparsable.body]).toEqual(['HTTP/1.1 400 Bad Request', '{"message":"Bad Request"}']);
      const missing = await fetch(`${own}/nowhere`);
      expect([missing.status, await missing.text()]).toEqual([404, '{"message":"Not Found"}']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
