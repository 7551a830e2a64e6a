import { readFileSync } from 'node:fs';
import { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import { TIME_WINDOWS, TimeWindow } from '../../contracts/named-queries';
import { LocalLake } from '../lake/local-lake';


export interface DashboardData {
  readonly generatedAt: string;
  readonly window: TimeWindow;
  readonly curatedRows: number;
  /** traffic_timeline: requests, 5xx, 429 and p95 per bucket. */
  readonly timeline: readonly Record<string, unknown>[];
  /** traffic_summary: the (all) row, then one per operation. */
  readonly summary: readonly Record<string, unknown>[];
  /** billing_by_tenant for the current month: top tenants and the billing preview. */
  readonly billing: readonly Record<string, unknown>[];
  /** rate_limited_by_tenant over the last 7 days. */
  readonly rateLimited: readonly Record<string, unknown>[];
}

const day = (date: Date) => date.toISOString().slice(0, 10);

/** What the dashboard shows, straight from the named queries on the local lake. */
export async function dashboardData(lake: LocalLake, window: TimeWindow, now = new Date()): Promise<DashboardData> {
  const timeline = await lake.runNamedQuery('traffic_timeline', { window });
  const summary = await lake.runNamedQuery('traffic_summary', { window });
  const billing = await lake.runNamedQuery('billing_by_tenant', { month: now.toISOString().slice(0, 7) });
  const rateLimited = await lake.runNamedQuery('rate_limited_by_tenant', { start_date: day(new Date(now.getTime() - 6 * 86_400_000)), end_date: day(now) });
  const [{ n }] = (await lake.query('SELECT count(*) AS n FROM usage_events')).rows;
  return { generatedAt: now.toISOString(), window, curatedRows: Number(n), timeline: timeline.rows, summary: summary.rows, billing: billing.rows, rateLimited: rateLimited.rows };
}

const PUBLIC_DIR = path.join(__dirname, 'public');
const ASSETS: Record<string, { file: string; type: string }> = {
  '/dashboard': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/dashboard/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/dashboard/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

/** Only this server's own files and data: no inline script, no other origin. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Serves `/dashboard` (page, script, style) and `/dashboard/data?window=…` (JSON). Returns false
 * for any other path, so the caller can route it elsewhere.
 */
export function createDashboardHandler(lake: LocalLake): (req: IncomingMessage, res: ServerResponse) => boolean {
  const assets = Object.fromEntries(Object.entries(ASSETS).map(([route, asset]) => [route, { ...asset, body: readFileSync(path.join(PUBLIC_DIR, asset.file)) }]));
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/dashboard')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { message: 'The dashboard is read-only: use GET.' });
      return true;
    }
    const asset = assets[url.pathname];
    if (asset) {
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.type, 'content-length': asset.body.length });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
      return true;
    }
    if (url.pathname === '/dashboard/data') {
      const window = (url.searchParams.get('window') ?? 'last_hour') as TimeWindow;
      if (!TIME_WINDOWS.includes(window)) {
        sendJson(res, 400, { message: `window must be one of ${TIME_WINDOWS.join(', ')}; got "${window}".` });
        return true;
      }
      dashboardData(lake, window).then(
        (data) => sendJson(res, 200, data),
        (error: Error) => sendJson(res, 500, { message: `Could not run the dashboard queries: ${error.message}` }),
      );
      return true;
    }
    sendJson(res, 404, { message: `No dashboard resource ${url.pathname}.` });
    return true;
  };
}
