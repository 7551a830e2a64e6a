import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { ApiClient, ApiClientError, NetworkError, RequestAbortedError, TimeoutError, UnexpectedResponseError } from '../../client';

interface Received {
  readonly method?: string;
  readonly url?: string;
  readonly contentType?: string;
  readonly authorization?: string;
  readonly trace?: string | string[];
  readonly body: string;
}

/**
 * A real HTTP server standing for what the local API cannot be made to do on purpose: never
 * answer, answer what is not JSON. It grants tokens and echoes every other request it is sent.
 */
async function startServer(answer: (req: IncomingMessage, res: ServerResponse, received: Received) => void): Promise<{ url: string; server: Server; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const request = { method: req.method, url: req.url, contentType: req.headers['content-type'], authorization: req.headers.authorization, trace: req.headers['x-trace'], body };
      received.push(request);
      if (req.url?.endsWith('/v1/auth/token')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: 'token-1', token_type: 'Bearer', expires_in: 900, scope: 'api:call' }));
      } else answer(req, res, request);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, received };
}

const close = (server: Server) =>
  new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  });

describe('Class: ApiClient (transport)', () => {
  it('sends the path below the base URL’s stage path, the query (lists repeated, undefined left out), a JSON body, and its own token whatever the caller’s headers say', async () => {
    // Prepare
    const { url, server, received } = await startServer((_req, res, request) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(request));
    });
    try {
      const client = new ApiClient({ baseUrl: `${url}/prod/`, apiKey: 'aut_key' });
      // Act
      const echoed = await client.request<Received>('POST', '/v1/orders/a b', {
        query: { expand: ['items', 'lines'], limit: 10, skip: undefined, q: 'x&y' },
        body: { n: 1 },
        headers: { Authorization: 'Basic c2VjcmV0', 'x-trace': 't-1' },
      });
      // Assess
      expect(received[0].url).toBe('/prod/v1/auth/token');
      expect(echoed).toEqual({
        method: 'POST',
        url: '/prod/v1/orders/a%20b?expand=items&expand=lines&limit=10&q=x%26y',
        contentType: 'application/json',
        authorization: 'Bearer token-1',
        trace: 't-1',
        body: '{"n":1}',
      });
    } finally {
      await close(server);
    }
  });

  it('throws TimeoutError when no answer comes within timeoutMs', async () => {
    const { url, server } = await startServer(() => undefined);
    try {
      const client = new ApiClient({ baseUrl: url, apiKey: 'aut_key', timeoutMs: 200 });
      const started = Date.now();
      const error = await client.users().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error).toBeInstanceOf(ApiClientError);
      expect((error as TimeoutError).timeoutMs).toBe(200);
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await close(server);
    }
  });

  it('throws RequestAbortedError when the caller aborts a call in flight, with the signal’s reason as cause', async () => {
    const { url, server } = await startServer(() => undefined);
    try {
      const client = new ApiClient({ baseUrl: url, apiKey: 'aut_key' });
      const reason = new Error('cancelled');
      const controller = new AbortController();
      setTimeout(() => {
        controller.abort(reason);
      }, 100);
      const error = await client.users({ signal: controller.signal }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(RequestAbortedError);
      expect((error as RequestAbortedError).cause).toBe(reason);
    } finally {
      await close(server);
    }
  });

  it('throws NetworkError, with the cause, when nothing listens', async () => {
    const { url, server } = await startServer(() => undefined);
    await close(server);
    const client = new ApiClient({ baseUrl: url, apiKey: 'aut_key' });
    const error = await client.users().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NetworkError);
    // fetch's own failure (a TypeError, from Node's realm rather than the test's, so compared by name).
    expect((error as NetworkError).cause).toHaveProperty('name', 'TypeError');
    expect((error as NetworkError).message).toContain(`POST ${url}/v1/auth/token failed before any answer`);
  });

  it('throws UnexpectedResponseError for a 2xx answer that is not JSON', async () => {
    const { url, server } = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>');
    });
    try {
      const client = new ApiClient({ baseUrl: url, apiKey: 'aut_key' });
      await expect(client.users()).rejects.toMatchObject({ name: 'UnexpectedResponseError', status: 200, text: '<html>' });
      await expect(client.users()).rejects.toBeInstanceOf(UnexpectedResponseError);
    } finally {
      await close(server);
    }
  });

  it.each([
    ['an absolute URL (the token goes to the base URL only)', 'https://elsewhere.example/v1/users'],
    ['a protocol-relative URL', '//elsewhere.example/v1/users'],
    ['a path with a query', '/v1/users?x=1'],
  ])('refuses %s as a path', async (_what, path) => {
    const client = new ApiClient({ baseUrl: 'http://127.0.0.1:9', apiKey: 'aut_key' });
    await expect(client.request('GET', path)).rejects.toThrow(`The path must start with one "/" and carry no query or fragment (use the query option); got ${JSON.stringify(path)}.`);
  });

  it.each([
    [{ baseUrl: 'not a url', apiKey: 'k' }, 'ApiClient needs a baseUrl that is an absolute http(s) URL; got "not a url".'],
    [{ baseUrl: 'ftp://host', apiKey: 'k' }, 'ApiClient needs an http or https baseUrl; got ftp:.'],
    [{ baseUrl: 'http://host', apiKey: ' ' }, 'ApiClient needs an apiKey, or an email and a password (non-empty strings).'],
    [{ baseUrl: 'http://host', email: 'a@example.com', password: '' }, 'ApiClient needs an apiKey, or an email and a password (non-empty strings).'],
    [{ baseUrl: 'http://host', apiKey: 'k', email: 'a@example.com', password: 'p' }, 'ApiClient takes an apiKey or an email and password, not both.'],
    [{ baseUrl: 'http://host', apiKey: 'k', maxWaitMs: -1 }, "ApiClient's maxWaitMs must be a finite number of ms, 0 or more; got -1."],
  ])('refuses options %j, saying what is wrong', (options, message) => {
    expect(() => new ApiClient(options)).toThrow(message);
  });
});
