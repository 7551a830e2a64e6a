import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { CLIENT_MODULE, CLIENT_SCRIPT } from '../../dist/client/browser-bundles';
import { esbuildOptionsOf } from '../../lib/lambda-bundling';
import { MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

const ROOT = path.join(__dirname, '..', '..');

/** Issue 15, item 5: the api-docs function serves the client (GET /sdk.js, /sdk.mjs) and its demo page (GET /sdk), locally as in AWS. */
describe('Route: the api-docs function’s GET /sdk, /sdk.js and /sdk.mjs, through the local gateway', () => {
  let api: MeteredApiHarness;
  beforeAll(async () => {
    api = await startMeteredApi();
  });
  afterAll(() => api.stop());

  it('serves the classic script: JavaScript that defines UsageTrackerClient with the ApiClient, the bytes build:client wrote', async () => {
    // Act
    const answer = await api.call('GET', '/sdk.js');
    // Assess
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    expect(answer.text).toBe(CLIENT_SCRIPT);
    expect(answer.text).toBe(readFileSync(path.join(ROOT, 'dist', 'client', 'api-client.global.js'), 'utf8'));
    const context: { UsageTrackerClient?: { ApiClient?: unknown; RateLimitedError?: unknown } } = {};
    runInNewContext(answer.text, context);
    expect(typeof context.UsageTrackerClient?.ApiClient).toBe('function');
    expect(typeof context.UsageTrackerClient?.RateLimitedError).toBe('function');
  });

  it('serves the ES module, and the demo page as HTML under a CSP that allows scripts of its origin and its own inline script only', async () => {
    const module = await api.call('GET', '/sdk.mjs');
    const page = await api.call('GET', '/sdk');
    expect(module.status).toBe(200);
    expect(module.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(module.text).toBe(CLIENT_MODULE);
    expect(module.text).toMatch(/export\s*\{[^}]*\bApiClient\b/);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toMatch(/^default-src 'none'; script-src 'self' 'sha256-[A-Za-z0-9+/]+=*'; style-src 'sha256-/);
    expect(page.text).toContain('<script src="sdk.js"></script>');
  });

  it('lets caches keep them a short while (their URLs carry no version) and revalidate by ETag for a 304', async () => {
    for (const route of ['/sdk', '/sdk.js', '/sdk.mjs', '/docs', '/openapi.json']) {
      const first = await api.call('GET', route);
      const etag = first.headers.get('etag') ?? '';
      const again = await api.call('GET', route, { headers: { 'if-none-match': etag } });
      const stale = await api.call('GET', route, { headers: { 'if-none-match': '"not-this-one"' } });
      expect([route, first.headers.get('cache-control')]).toEqual([route, 'public, max-age=300']);
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
      expect([route, again.status, again.text]).toEqual([route, 304, '']);
      expect([route, stale.status]).toEqual([route, 200]);
    }
  });
});

describe('Lambda bundle of the api-docs function (as `cdk synth` bundles it, lib/lambda-bundling.ts)', () => {
  let outdir: string;
  beforeAll(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'api-docs-bundle-'));
  });
  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it('holds the client’s browser bundles; a function that does not serve them (usage) does not', async () => {
    const docs = await build({ ...esbuildOptionsOf('api-docs', path.join(outdir, 'api-docs.js')), write: true });
    const usage = await build({ ...esbuildOptionsOf('usage', path.join(outdir, 'usage.js')), write: true });
    // What each input put in the function's bundle, in bytes (a module esbuild read but shook out puts none).
    const bytesOf = (result: typeof docs) => {
      const output = Object.values(result.metafile.outputs).find((candidate) => candidate.entryPoint !== undefined);
      return (file: string) => output?.inputs[file]?.bytesInOutput ?? 0;
    };
    expect(bytesOf(docs)('dist/client/browser-bundles.ts')).toBeGreaterThan(CLIENT_SCRIPT.length + CLIENT_MODULE.length);
    expect(bytesOf(docs)('lambdas/api-docs/sdk-demo-page.ts')).toBeGreaterThan(0);
    expect(bytesOf(usage)('dist/client/browser-bundles.ts')).toBe(0);
    expect(bytesOf(usage)('lambdas/api-docs/sdk-demo-page.ts')).toBe(0);
    expect(readFileSync(path.join(outdir, 'api-docs.js'), 'utf8')).toContain('UsageTrackerClient');
  }, 60_000);
});
