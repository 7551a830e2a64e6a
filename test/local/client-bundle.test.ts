import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createClientBundleHandler } from '../../local/client-bundle';

describe('the local API serves the consumer client: /sdk.js (global script) and /sdk.mjs (ES module)', () => {
  let dist: string;
  let server: Server;
  let base: string;
  beforeAll(async () => {
    dist = mkdtempSync(path.join(tmpdir(), 'client-dist-'));
    const serve = createClientBundleHandler(dist);
    server = createServer((req, res) => {
      if (!serve(req, res)) {
        res.writeHead(404);
        res.end('not mine');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dist, { recursive: true, force: true });
  });

  it('answers 503 with a JSON body naming the build command while the bundle is not built', async () => {
    const response = await fetch(`${base}/sdk.js`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: 'client-not-built', message: 'The client bundle is not built: run npm run build:client.' });
  });

  it('serves each form as JavaScript once built, read afresh on each request', async () => {
    writeFileSync(path.join(dist, 'api-client.global.js'), 'var UsageTrackerClient = 1;');
    writeFileSync(path.join(dist, 'api-client.js'), 'export const x = 2;');
    const script = await fetch(`${base}/sdk.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await script.text()).toBe('var UsageTrackerClient = 1;');
    expect(await (await fetch(`${base}/sdk.mjs`)).text()).toBe('export const x = 2;');
    writeFileSync(path.join(dist, 'api-client.global.js'), 'var UsageTrackerClient = 3;');
    expect(await (await fetch(`${base}/sdk.js`)).text()).toBe('var UsageTrackerClient = 3;');
  });

  it('refuses other methods in JSON and leaves other paths to the caller', async () => {
    const post = await fetch(`${base}/sdk.js`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(((await post.json()) as { error: string }).error).toBe('method-not-allowed');
    expect(await (await fetch(`${base}/sdk.json`)).text()).toBe('not mine');
  });
});
