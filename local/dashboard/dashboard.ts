import { readFileSync } from 'node:fs';
import { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import { QueryParameterError, TIME_WINDOWS, TimeWindow, validateQueryParameters } from '../../contracts/named-queries';
import { QuotaPeriod, TierName, TierPolicy, isTierName, resolveTierPolicies } from '../../contracts/tiers';
import type { LocalLake } from '../lake/local-lake';
import type { LakeState } from '../stack/background-lake';

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
  /** rejected_records over the last 7 days: records the curation refused, by reason and service. */
  readonly rejects: readonly Record<string, unknown>[];
  /** quota_use_by_tenant for the current day, ISO week and month (UTC), with each tenant's tier's quota. */
  readonly quotaUse: readonly TenantQuotaUse[];
}

/** One tenant's requests counted against quotas this day, week and month, and how much of its tier's quota it used. */
export interface TenantQuotaUse {
  readonly tenantId: string;
  /** Its tier on its latest call (null when its calls carried none). */
  readonly tier: string | null;
  readonly used: Readonly<Record<QuotaPeriod, number>>;
  /** Its tier's quota (the stack's tiers), null when the tier has none. */
  readonly quota: { readonly period: QuotaPeriod; readonly requests: number } | null;
  /** used[quota.period] / quota.requests, as a percentage (one decimal); null without a quota. */
  readonly percentUsed: number | null;
}

const day = (date: Date) => date.toISOString().slice(0, 10);

/** The last 7 days up to `now`, as the date range the weekly queries take. */
const lastSevenDays = (now: Date) => ({ start_date: day(new Date(now.getTime() - 6 * 86_400_000)), end_date: day(now) });

/**
 * The first day (UTC) of each quota period holding `now`: the day itself, the ISO week's Monday,
 * the month's 1st (as the limiter's counters, contracts/limiter-item.ts).
 */
export function quotaPeriodStarts(now: Date): Readonly<Record<QuotaPeriod, string>> {
  const mondayOffset = (now.getUTCDay() + 6) % 7;
  return { day: day(now), week: day(new Date(now.getTime() - mondayOffset * 86_400_000)), month: `${now.toISOString().slice(0, 7)}-01` };
}

/**
 * quota_use_by_tenant from each period's first day to today, per tenant, with its tier's quota
 * from `tiers` and the share of it used in the quota's own period.
 */
export async function quotaUse(lake: LocalLake, tiers: Readonly<Record<TierName, TierPolicy>>, now: Date): Promise<TenantQuotaUse[]> {
  const starts = quotaPeriodStarts(now);
  const byTenant = new Map<string, { tier: string | null; used: Record<QuotaPeriod, number> }>();
  for (const period of ['month', 'week', 'day'] as const) {
    const { rows } = await lake.runNamedQuery('quota_use_by_tenant', { start_date: starts[period], end_date: day(now) });
    for (const row of rows) {
      const tenantId = String(row.tenant_id);
      const entry = byTenant.get(tenantId) ?? { tier: typeof row.tier === 'string' ? row.tier : null, used: { day: 0, week: 0, month: 0 } };
      entry.used[period] = Number(row.admitted);
      byTenant.set(tenantId, entry);
    }
  }
  return [...byTenant].map(([tenantId, { tier, used }]) => {
    const quota = isTierName(tier) ? tiers[tier].quota : undefined;
    const percentUsed = quota ? Math.round((used[quota.period] / quota.requests) * 1000) / 10 : null;
    return { tenantId, tier, used, quota: quota ? { period: quota.period, requests: quota.requests } : null, percentUsed };
  });
}

/** What the dashboard shows, straight from the named queries on the local lake; quotas are `tiers`' (the stack's). */
export async function dashboardData(lake: LocalLake, window: TimeWindow, now = new Date(), tiers = resolveTierPolicies()): Promise<DashboardData> {
  const timeline = await lake.runNamedQuery('traffic_timeline', { window });
  const summary = await lake.runNamedQuery('traffic_summary', { window });
  const billing = await lake.runNamedQuery('billing_by_tenant', { month: now.toISOString().slice(0, 7) });
  const rateLimited = await lake.runNamedQuery('rate_limited_by_tenant', lastSevenDays(now));
  const rejects = await lake.runNamedQuery('rejected_records', lastSevenDays(now));
  const [{ n }] = (await lake.query('SELECT count(*) AS n FROM usage_events')).rows;
  return {
    generatedAt: now.toISOString(),
    window,
    curatedRows: Number(n),
    timeline: timeline.rows,
    summary: summary.rows,
    billing: billing.rows,
    rateLimited: rateLimited.rows,
    rejects: rejects.rows,
    quotaUse: await quotaUse(lake, tiers, now),
  };
}

/** The named query whose parameters the data endpoint takes: `window`, as the traffic charts do. */
const DATA_PARAMETERS_QUERY = 'traffic_timeline';
const DEFAULT_WINDOW: TimeWindow = 'last_hour';

/**
 * The data endpoint's query string, checked as the CLI checks `--param`s (the same function):
 * `window` once, one of the traffic queries' windows; it defaults to the last hour.
 */
export function dataWindow(lake: LocalLake, search: URLSearchParams): TimeWindow {
  const query = lake.namedQueries.find((q) => q.name === DATA_PARAMETERS_QUERY);
  if (!query) throw new Error(`The dashboard needs the named query ${DATA_PARAMETERS_QUERY}.`);
  const given = [...search.entries()];
  const values = validateQueryParameters(query, search.has('window') ? given : [...given, ['window', DEFAULT_WINDOW]]);
  const window = values.window as TimeWindow;
  if (!TIME_WINDOWS.includes(window)) throw new Error(`${DATA_PARAMETERS_QUERY} takes window "${window}", which the dashboard does not know.`);
  return window;
}

const PUBLIC_DIR = path.join(__dirname, 'public');
const ASSETS: Readonly<Record<string, { file: string; type: string }>> = {
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

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Serves `/dashboard` (page, script, style) and `/dashboard/data?window=…` (JSON). Returns false
 * for any other path, so the caller can route it elsewhere. The data needs the lake: while it is
 * opening (or if it failed to open) the data endpoint answers 503 with a JSON body at once.
 */
export function createDashboardHandler(
  lake: () => LakeState,
  options: { readonly tiers?: Readonly<Record<TierName, TierPolicy>> } = {},
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const tiers = options.tiers ?? resolveTierPolicies();
  const assets = new Map(Object.entries(ASSETS).map(([route, asset]) => [route, { ...asset, body: readFileSync(path.join(PUBLIC_DIR, asset.file)) }]));
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/dashboard')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { message: 'The dashboard is read-only: use GET.' });
      return true;
    }
    const asset = assets.get(url.pathname);
    if (asset) {
      res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': asset.type, 'content-length': asset.body.length });
      res.end(req.method === 'HEAD' ? undefined : asset.body);
      return true;
    }
    if (url.pathname === '/dashboard/data') serveDataOf(lake(), url.searchParams, res, tiers);
    else sendJson(res, 404, { message: `No dashboard resource ${url.pathname}.` });
    return true;
  };
}

/** `/dashboard/data` on the lake as it is: its data when open, 503 "starting" (retry in a second) or "lake unavailable" otherwise. */
function serveDataOf(lake: LakeState, search: URLSearchParams, res: ServerResponse, tiers: Readonly<Record<TierName, TierPolicy>>): void {
  if (lake.state === 'ready') serveData(lake.lake, search, res, tiers);
  else if (lake.state === 'opening') sendJson(res, 503, { error: 'starting', message: 'The lake is opening (DuckDB and its catalogue); try again in a moment.' }, { 'retry-after': '1' });
  else sendJson(res, 503, { error: 'lake unavailable', message: `The lake could not be opened: ${lake.message}` });
}

/** `/dashboard/data`: 400 for parameters the named query refuses, else the data (or 500). */
function serveData(lake: LocalLake, search: URLSearchParams, res: ServerResponse, tiers: Readonly<Record<TierName, TierPolicy>>): void {
  let window: TimeWindow;
  try {
    window = dataWindow(lake, search);
  } catch (error) {
    if (error instanceof QueryParameterError) sendJson(res, 400, { message: `${error.message}.`, problems: error.problems });
    else sendJson(res, 500, { message: `Could not read the dashboard's parameters: ${messageOf(error)}` });
    return;
  }
  dashboardData(lake, window, new Date(), tiers).then(
    (data) => { sendJson(res, 200, data); },
    (error: unknown) => { sendJson(res, 500, { message: `Could not run the dashboard queries: ${messageOf(error)}` }); },
  );
}
