import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { Pool } from '../../lambdas/runtime/node-http-pool';

/** A loopback server answering with `answer`; counts connections. */
async function startServer(answer: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<{ server: Server; origin: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => { answer(req, Buffer.concat(chunks).toString('utf8'), res); });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

const stop = (server: Server) => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve(); }); });

describe('Pool: undici\'s Pool on Node\'s own HTTP (Lambda bundles)', () => {
  it('sends method, path, headers and body, answers status, headers and text, and keeps the connection alive', async () => {
    // Prepare
    const seen: { method?: string; url?: string; target?: string; body: string }[] = [];
    const { server, origin, connections } = await startServer((req, body, res) => {
      seen.push({ method: req.method, url: req.url, target: req.headers['x-amz-target'] as string, body });
      res.writeHead(400, { 'x-amzn-errortype': 'ValidationException', 'content-type': 'application/json' }).end('{"message":"no"}');
    });
    const pool = new Pool(origin, { connections: 1, connectTimeout: 1000, headersTimeout: 1000, bodyTimeout: 1000 });
    try {
      // Act
      const first = await pool.request({ method: 'POST', path: '/', headers: { 'x-amz-target': 'AWSEvents.PutEvents' }, body: '{"Entries":[]}' });
      const text = await first.body.text();
      const second = await pool.request({ method: 'POST', path: '/', headers: {}, body: 'é' });
      await second.body.text();
      // Assess
      expect([first.statusCode, first.headers['x-amzn-errortype'], text]).toEqual([400, 'ValidationException', '{"message":"no"}']);
      expect(seen).toEqual([
        { method: 'POST', url: '/', target: 'AWSEvents.PutEvents', body: '{"Entries":[]}' },
        { method: 'POST', url: '/', target: undefined, body: 'é' },
      ]);
      expect(connections()).toBe(1);
    } finally {
      await pool.close();
      await stop(server);
    }
  });

  it('fails a request whose answer does not come within the headers timeout, named as undici names it', async () => {
    const { server, origin } = await startServer(() => { /* never answers */ });
    const pool = new Pool(origin, { headersTimeout: 50 });
    try {
      await expect(pool.request({ method: 'POST', path: '/', headers: {}, body: '' })).rejects.toMatchObject({ name: 'HeadersTimeoutError', code: 'UND_ERR_HEADERS_TIMEOUT' });
    } finally {
      await pool.close();
      await stop(server);
    }
  });

  it('rejects with the network error when nothing listens', async () => {
    const { server, origin } = await startServer(() => undefined);
    await stop(server);
    const pool = new Pool(origin, { connectTimeout: 1000 });
    await expect(pool.request({ method: 'POST', path: '/', headers: {}, body: '' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await pool.close();
  });
});
