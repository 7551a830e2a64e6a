import { Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_SECONDS } from '../../contracts/cors';
import { AccessLogRecord } from '../../contracts/metered-api';
import { LocalHttpApiGateway, SimpleAuthorizerResult } from '../../local/http-api-gateway';
import { launchChromium } from '../support/chromium';
import { MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

const PAGE_ORIGIN = 'http://localhost:5173';

/** A gateway with one route behind an authorizer and one that sets its own CORS header, counting what is called. */
async function startGateway(cors?: { allowOrigins: readonly string[] } | false) {
  const calls: string[] = [];
  const logs: AccessLogRecord[] = [];
  const authorizer = {
    name: 'tenant-authorization',
    identitySource: 'authorization' as const,
    cacheTtlSeconds: 0,
    handler: (): Promise<SimpleAuthorizerResult> => {
      calls.push('authorizer');
      return Promise.resolve({ isAuthorized: true, context: { tenantId: 'acme' } });
    },
  };
  const gateway = new LocalHttpApiGateway({
    ...(cors !== undefined ? { cors } : {}),
    onAccessLog: (record) => logs.push(record),
    routes: [
      {
        routeKey: 'GET /v1/usage',
        authorizer,
        handler: () => {
          calls.push('integration');
          return Promise.resolve({ statusCode: 200, headers: { 'content-type': 'application/json', ratelimit: '"free";r=4;t=12' }, body: '{}' });
        },
      },
      { routeKey: 'GET /openapi.json', handler: () => Promise.resolve({ statusCode: 200, headers: { 'access-control-allow-origin': 'https://backend.example' }, body: '{}' }) },
    ],
  });
  return { gateway, url: await gateway.listen(0), calls, logs };
}

/**
 * CORS on the local gateway as on an HTTP API configured with contracts/cors.ts
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html).
 */
describe('Local gateway CORS (http-api-cors.html)', () => {
  it('answers a preflight itself, for any path, without calling the authorizer or an integration', async () => {
    const { gateway, url, calls, logs } = await startGateway();
    try {
      // Act
      const preflight = await fetch(`${url}/v1/usage`, {
        method: 'OPTIONS',
        headers: { origin: PAGE_ORIGIN, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
      });
      const unknownPath = await fetch(`${url}/v1/nowhere`, { method: 'OPTIONS', headers: { origin: PAGE_ORIGIN, 'access-control-request-method': 'POST' } });
      // Assess
      expect(preflight.status).toBe(204);
      expect(await preflight.text()).toBe('');
      expect(Object.fromEntries([...preflight.headers].filter(([name]) => name.startsWith('access-control-')))).toEqual({
        'access-control-allow-origin': '*',
        'access-control-allow-methods': CORS_ALLOW_METHODS.join(','),
        'access-control-allow-headers': CORS_ALLOW_HEADERS.join(','),
        'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
      });
      expect(unknownPath.status).toBe(204);
      expect(calls).toEqual([]);
      expect(logs.map((log) => [log.httpMethod, log.routeKey, log.status])).toEqual([
        ['OPTIONS', '-', 204],
        ['OPTIONS', '-', 204],
      ]);
    } finally {
      await gateway.close();
    }
  });

  it('adds the allowed origin and the exposed headers to answers of requests with an Origin, the gateway’s own refusals included, and no CORS header without one', async () => {
    const { gateway, url } = await startGateway();
    try {
      const answered = await fetch(`${url}/v1/usage`, { headers: { origin: PAGE_ORIGIN, authorization: 'Bearer t' } });
      const refused = await fetch(`${url}/v1/usage`, { headers: { origin: PAGE_ORIGIN } });
      const sameOrigin = await fetch(`${url}/v1/usage`, { headers: { authorization: 'Bearer t' } });
      expect(answered.status).toBe(200);
      expect(answered.headers.get('access-control-allow-origin')).toBe('*');
      expect(answered.headers.get('access-control-expose-headers')).toBe(CORS_EXPOSE_HEADERS.join(','));
      expect(answered.headers.get('ratelimit')).toBe('"free";r=4;t=12');
      expect(refused.status).toBe(401);
      expect(refused.headers.get('access-control-allow-origin')).toBe('*');
      expect(sameOrigin.headers.get('access-control-allow-origin')).toBeNull();
      expect(sameOrigin.headers.get('access-control-expose-headers')).toBeNull();
    } finally {
      await gateway.close();
    }
  });

  it('with listed origins: echoes an allowed one (varying on Origin), gives none to another, and ignores the integration’s own CORS headers', async () => {
    const { gateway, url } = await startGateway({ allowOrigins: [PAGE_ORIGIN] });
    try {
      const allowed = await fetch(`${url}/openapi.json`, { headers: { origin: PAGE_ORIGIN } });
      const other = await fetch(`${url}/openapi.json`, { headers: { origin: 'http://127.0.0.1:9999' } });
      const otherPreflight = await fetch(`${url}/openapi.json`, { method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:9999', 'access-control-request-method': 'GET' } });
      expect(allowed.headers.get('access-control-allow-origin')).toBe(PAGE_ORIGIN);
      expect(allowed.headers.get('vary')).toBe('origin');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      expect(otherPreflight.status).toBe(204);
      expect(otherPreflight.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await gateway.close();
    }
  });

  it('without CORS configuration: an OPTIONS request is routed like any other (no route: 404) and answers carry the integration’s headers', async () => {
    const { gateway, url, calls } = await startGateway(false);
    try {
      const preflight = await fetch(`${url}/v1/usage`, { method: 'OPTIONS', headers: { origin: PAGE_ORIGIN, 'access-control-request-method': 'GET' } });
      const own = await fetch(`${url}/openapi.json`, { headers: { origin: PAGE_ORIGIN } });
      expect(preflight.status).toBe(404);
      expect(own.headers.get('access-control-allow-origin')).toBe('https://backend.example');
      expect(calls).toEqual([]);
    } finally {
      await gateway.close();
    }
  });

  it('refuses an invalid origin list when the gateway is made', () => {
    expect(() => new LocalHttpApiGateway({ routes: [], cors: { allowOrigins: ['http://example.com/'] } })).toThrow(/CORS configuration is invalid/);
  });
});

/** Runs in the page (a string: this project's TypeScript has no DOM types). */
const CROSS_ORIGIN_CALLS = (apiUrl: string, apiKey: string) => `(async () => {
  const { ApiClient } = UsageTrackerClient;
  const client = new ApiClient({ baseUrl: ${JSON.stringify(apiUrl)}, apiKey: ${JSON.stringify(apiKey)}, onRateLimit: 'throw' });
  const seen = [];
  for (let i = 0; i < 5; i++) {
    try { await client.users(); seen.push(client.quota ? client.quota.remaining : 'no quota'); }
    catch (error) { return { seen, refusal: error.name === 'RateLimitedError' ? { name: error.name, retryAfterMs: error.retryAfterMs, remaining: error.remaining } : error.message, origin: location.origin }; }
  }
  return { seen, origin: location.origin };
})()`;

describe('A page on another loopback origin calls the local API through CORS (in chromium)', () => {
  let api: MeteredApiHarness;
  let pages: Server;
  let pageOrigin: string;
  let browser: Browser;

  beforeAll(async () => {
    api = await startMeteredApi();
    // The page's own origin: another port (and host name) than the API's; it loads the client from the API (/sdk.js).
    pages = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>consumer</title><script src="${api.url}/sdk.js"></script>`);
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    pageOrigin = `http://localhost:${(pages.address() as AddressInfo).port}`;
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser.close();
    pages.closeAllConnections();
    await new Promise((resolve) => pages.close(resolve));
    await api.stop();
  });

  it('reads RateLimit (the quota) and Retry-After (a 429’s retry time) across origins', async () => {
    // Prepare
    const { apiKey } = await api.tenantWithKey('free');
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    try {
      await page.goto(`${pageOrigin}/`);
      // Act: the exchange and four calls take the free tier's 5; the fifth call is refused.
      type Report = { seen: number[]; refusal?: { name: string; retryAfterMs: number; remaining: number }; origin: string };
      const report = await page.evaluate<Report>(CROSS_ORIGIN_CALLS(api.url, apiKey));
      // Assess
      expect(report.origin).toBe(pageOrigin);
      expect(new URL(api.url).origin).not.toBe(pageOrigin);
      expect(report.seen).toEqual([3, 2, 1, 0]);
      expect(report.refusal).toEqual({ name: 'RateLimitedError', retryAfterMs: expect.any(Number) as number, remaining: 0 });
      // From Retry-After (whole seconds), not the 1 s fallback a hidden header would leave.
      expect(report.refusal?.retryAfterMs).toBeGreaterThanOrEqual(11_000);
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 60_000);
});
