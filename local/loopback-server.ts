import { IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, createServer as createNetServer } from 'node:net';

/**
 * The local servers listen on 127.0.0.1 only; a page elsewhere could still reach them through a
 * DNS name rebound to 127.0.0.1. Answering only requests addressed to a loopback name closes that.
 */
export function isLoopbackHost(host: string | undefined): boolean {
  return host !== undefined && /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/i.test(host);
}

/** Refuses a request not addressed to a loopback name with 403 and a JSON body; true when it did. */
export function refuseForeignHost(req: IncomingMessage, res: ServerResponse, contentType = 'application/json'): boolean {
  if (isLoopbackHost(req.headers.host)) return false;
  const body = JSON.stringify({ message: 'Requests must be addressed to 127.0.0.1 or localhost (the Host header): this server serves this machine only.' });
  res.writeHead(403, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
  return true;
}

/**
 * Stops accepting connections, lets requests in flight finish, and closes keep-alive
 * connections: idle ones at once, the rest after a short grace period.
 */
export function closeGracefully(server: Server, graceMs = 1000): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => { server.closeAllConnections(); }, graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

/**
 * A loopback port free right now, for callers that must name a port before another process
 * listens on it (the start-up benchmark and test spawn `npm start` with `--api-port`).
 */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => { resolve(port); });
    });
  });
}
