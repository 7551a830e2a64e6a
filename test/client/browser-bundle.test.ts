import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/chromium';
import { createGatewayServer } from '../../local/http-api-gateway';
import { MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

const ROOT = path.join(__dirname, '..', '..');

/** What the page reports after calling the API (read in the page, as JSON). */
interface PageReport {
  readonly users: number;
  readonly usageTier: string;
  readonly quotaSeen: number[];
  readonly refusal: { name: string; status: number; error: string; retryAfterMs: number; policy: string; remaining: number; isApiError: boolean; isBase: boolean };
  readonly quota: { policy: string; limit: number; remaining: number };
}

/** Runs in the page (as a string: this project's TypeScript has no DOM types); `ApiClient` and the errors come from the bundle under test. */
const CALL_THE_API = (apiKey: string, clientExpression: string) => `(async () => {
  const { ApiClient, ApiError, ApiClientError } = ${clientExpression};
  const quotaSeen = [];
  const client = new ApiClient({ baseUrl: location.origin, apiKey: ${JSON.stringify(apiKey)}, onRateLimit: 'throw', onQuota: (q) => quotaSeen.push(q.remaining) });
  const users = (await client.users()).items.length;
  const usageTier = (await client.usage()).tier;
  await client.products();
  await client.users();
  const refusal = await client.users().then(() => undefined, (error) => error);
  return {
    users,
    usageTier,
    quotaSeen,
    refusal: { name: refusal.name, status: refusal.status, error: refusal.error, retryAfterMs: refusal.retryAfterMs, policy: refusal.policy, remaining: refusal.remaining,
      isApiError: refusal instanceof ApiError, isBase: refusal instanceof ApiClientError },
    quota: { policy: client.quota.policy, limit: client.quota.limit, remaining: client.quota.remaining },
  };
})()`;

/**
 * The browser bundle in Debian's chromium, calling the local metered API. The page, the bundle
 * (built afresh from the sources) and the API share one origin here, as the demo page at `/sdk`
 * does: a server that serves them beside the gateway. Pages of other origins are tested in
 * test/local/cors.test.ts.
 */
describe('Browser bundle (bin/build-client.js) in chromium, against the local metered API', () => {
  let api: MeteredApiHarness;
  let server: Server;
  let origin: string;
  let outdir: string;
  let buildOutput: string;
  let browser: Browser;

  beforeAll(async () => {
    outdir = mkdtempSync(path.join(tmpdir(), 'client-bundle-'));
    buildOutput = execFileSync(process.execPath, [path.join(ROOT, 'bin', 'build-client.js'), outdir], { cwd: ROOT, encoding: 'utf8' });
    const files: Record<string, string> = {
      '/sdk.js': readFileSync(path.join(outdir, 'api-client.global.js'), 'utf8'),
      '/sdk.mjs': readFileSync(path.join(outdir, 'api-client.js'), 'utf8'),
    };
    api = await startMeteredApi();
    server = createGatewayServer((req, res) => {
      const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (pathname === '/page') res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>client</title><script src="/sdk.js"></script>');
      else if (pathname in files) res.writeHead(200, { 'content-type': 'text/javascript' }).end(files[pathname]);
      else void api.gateway.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await api.stop();
    rmSync(outdir, { recursive: true, force: true });
  });

  it('prints the size of both forms, raw and gzipped, and imports nothing (no Node built-in, no require)', () => {
    expect(buildOutput).toMatch(/api-client\.js: \d+ bytes, \d+ gzipped\n.*api-client\.global\.js: \d+ bytes, \d+ gzipped/);
    for (const file of ['api-client.js', 'api-client.global.js']) {
      const code = readFileSync(path.join(outdir, file), 'utf8');
      expect(code).not.toMatch(/\brequire\(|from\s*["']node:|\bprocess\.|\bBuffer\b/);
    }
  });

  it.each([
    ['the classic script (global UsageTrackerClient, /sdk.js)', 'UsageTrackerClient'],
    ['the ES module (/sdk.mjs)', "(await import('/sdk.mjs'))"],
  ])('%s exchanges the key, calls routes, shows the quota and throws RateLimitedError on the free tier', async (_form, clientExpression) => {
    // Prepare
    const { apiKey } = await api.tenantWithKey('free');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      await page.goto(`${origin}/page`);
      // Act
      const report = await page.evaluate<PageReport>(CALL_THE_API(apiKey, clientExpression));
      // Assess: the exchange and four calls take the free tier's 5; the fifth call is refused.
      expect(report).toEqual({
        users: 20,
        usageTier: 'free',
        quotaSeen: [4, 3, 2, 1, 0, 0],
        refusal: { name: 'RateLimitedError', status: 429, error: 'rate-limited', retryAfterMs: expect.any(Number) as number, policy: 'free', remaining: 0, isApiError: true, isBase: true },
        quota: { policy: 'free', limit: 5, remaining: 0 },
      });
      expect(report.refusal.retryAfterMs).toBeGreaterThanOrEqual(11_000);
      expect(report.refusal.retryAfterMs).toBeLessThanOrEqual(12_000);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);
});
