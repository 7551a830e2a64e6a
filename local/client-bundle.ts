import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';

/**
 * The consumer client's browser bundle (client/, built by `npm run build:client` into dist/client)
 * served by the local API: `/sdk.js` as a classic script defining the global `UsageTrackerClient`,
 * `/sdk.mjs` as an ES module. Read on each request, so a rebuild shows without a restart.
 */

const CLIENT_DIST = path.join(__dirname, '..', 'dist', 'client');
const BUNDLES: Readonly<Partial<Record<string, string>>> = { '/sdk.js': 'api-client.global.js', '/sdk.mjs': 'api-client.js' };

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Serves `/sdk.js` and `/sdk.mjs`; returns false for any other path. A bundle not built yet is a 503 naming the command. */
export function createClientBundleHandler(dist = CLIENT_DIST): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const file = BUNDLES[new URL(req.url ?? '/', 'http://localhost').pathname];
    if (file === undefined) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'method-not-allowed', message: 'The client bundle is read-only: use GET.' });
      return true;
    }
    readFile(path.join(dist, file)).then(
      (body) => {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => { sendJson(res, 503, { error: 'client-not-built', message: 'The client bundle is not built: run npm run build:client.' }); },
    );
    return true;
  };
}
