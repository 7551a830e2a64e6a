import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { launchChromium } from '../../support/chromium';
import { USAGE_EVENT_DETAIL_TYPE } from '../../../contracts/usage-event';
import { LAKE_PREFIXES } from '../../../contracts/lake-layout';
import { CompactionResult, listFiles } from '../../../local/lake/local-lake';
import { LocalStack, startLocalStack } from '../../../local/stack/local-stack';


const month = () => new Date().toISOString().slice(0, 7);

/** A usage event as a producer's PutEvents entry. */
function usageEvent(stack: LocalStack, tenantId: string, eventId: string = randomUUID(), statusCode = 200) {
  return {
    EventBusName: stack.busName,
    Source: stack.source,
    DetailType: USAGE_EVENT_DETAIL_TYPE,
    Detail: JSON.stringify({ schemaVersion: '1', eventId, occurredAt: new Date().toISOString(), service: 'orders-service', tenantId, operation: 'POST /v1/orders', method: 'POST', statusCode, latencyMs: 42.5 }),
  };
}

/** An event any EventBridge client can send but the contract refuses: its detail is JSON, with fields out of range. */
function invalidEvent(stack: LocalStack, detail: Record<string, unknown>) {
  const entry = usageEvent(stack, 'tenant-sdk');
  return { ...entry, Detail: JSON.stringify({ ...(JSON.parse(entry.Detail) as Record<string, unknown>), ...detail }) };
}

/**
 * What services send through the real EventBridge client: 25 distinct events in batches of ten, a
 * producer's retry of five of them, a batch with two bad entries among good ones (a 503 and an
 * unlisted source among them), a batch over PutEvents' limit of ten, and two events the contract refuses.
 */
async function sendSdkTraffic(stack: LocalStack, client: EventBridgeClient) {
  const ids = Array.from({ length: 25 }, () => randomUUID());
  const batches = [];
  for (let i = 0; i < ids.length; i += 10) batches.push(await client.send(new PutEventsCommand({ Entries: ids.slice(i, i + 10).map((id) => usageEvent(stack, 'tenant-sdk', id)) })));
  const retry = await client.send(new PutEventsCommand({ Entries: ids.slice(0, 5).map((id) => usageEvent(stack, 'tenant-sdk', id)) }));
  const mixed = await client.send(
    new PutEventsCommand({
      Entries: [
        usageEvent(stack, 'tenant-sdk'),
        { ...usageEvent(stack, 'tenant-sdk'), Detail: '{"eventId": ' },
        { ...usageEvent(stack, 'tenant-sdk'), Source: undefined },
        usageEvent(stack, 'tenant-sdk', randomUUID(), 503),
        { ...usageEvent(stack, 'tenant-sdk'), Source: 'com.example.not-allowed' },
      ],
    }),
  );
  const tooMany = await client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => usageEvent(stack, 'tenant-sdk')) })).catch((e: unknown) => e);
  const refused = await client.send(new PutEventsCommand({ Entries: [invalidEvent(stack, { billableUnits: -5 }), invalidEvent(stack, { statusCode: 700 })] }));
  return { batches, retry, mixed, tooMany, refused };
}

/**
 * What API consumers do: a free and a premium tenant, each with a key; eight concurrent calls of
 * the free tenant (burst 5), ten of the premium one, a token minted and used; and refused credentials.
 */
async function callApi(stack: LocalStack, adminKey: string) {
  const api = async (method: string, route: string, authorization?: string, body?: unknown) => {
    const response = await fetch(`${stack.apiUrl}${route}`, {
      method,
      headers: { ...(authorization ? { authorization } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, json: (await response.json().catch(() => undefined)) as Record<string, unknown> };
  };
  const created = [];
  for (const [tenantId, tier] of [['acme-free', 'free'], ['globex-premium', 'premium']] as const) created.push((await api('POST', '/v1/admin/tenants', `ApiKey ${adminKey}`, { tenantId, name: tenantId, tier })).status);
  const freeKey = (await api('POST', '/v1/admin/tenants/acme-free/keys', `ApiKey ${adminKey}`)).json.apiKey as string;
  const premiumKey = (await api('POST', '/v1/admin/tenants/globex-premium/keys', `ApiKey ${adminKey}`)).json.apiKey as string;
  const free = await Promise.all(Array.from({ length: 8 }, () => api('GET', '/v1/users', `ApiKey ${freeKey}`)));
  const premium = await Promise.all(Array.from({ length: 10 }, () => api('GET', '/v1/products', `ApiKey ${premiumKey}`)));
  const token = await fetch(`${stack.apiUrl}/v1/auth/token`, { method: 'POST', headers: { 'x-api-key': premiumKey } });
  const { access_token: accessToken } = (await token.json()) as { access_token: string };
  return {
    created,
    free: free.map((r) => r.status),
    premium: premium.map((r) => r.status),
    token: token.status,
    usageWithToken: (await api('GET', '/v1/usage', `Bearer ${accessToken}`)).json,
    forgedToken: (await api('GET', '/v1/users', 'Bearer not.a.token')).status,
    anonymous: (await api('GET', '/v1/users')).status,
    tenantKeyOnAdminRoute: (await api('GET', '/v1/admin/tenants', `ApiKey ${freeKey}`)).status,
  };
}

/**
 * The billable calls the traffic above makes, per tenant: tenant-sdk's 25 distinct events and the
 * mixed batch's one good 200 (its 503 is not billed, the unlisted source never reaches the lake);
 * acme-free's five calls within its burst; globex-premium's ten products, the token and the usage read.
 */
const BILLABLE_CALLS = { 'tenant-sdk': 25 + 1, 'acme-free': 5, 'globex-premium': 10 + 1 + 1 };

describe('npm start, end to end: the real SDK and API against the local stack, then the ETL and billing', () => {
  let dataDir: string;
  let stack: LocalStack;
  let adminKey: string;
  // What the tests read, each recorded once by beforeAll: no test changes what another sees.
  let sdk: Awaited<ReturnType<typeof sendSdkTraffic>>;
  let consumers: Awaited<ReturnType<typeof callApi>>;
  let rawLines: string[];
  let etl: CompactionResult;
  // What beforeAll started, stopped in reverse order (only what did start, should a step fail).
  const stops: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'local-stack-'));
    stops.push(() => { rmSync(dataDir, { recursive: true, force: true }); });
    stack = await startLocalStack({ dataDir, apiPort: 0, eventsPort: 0, demo: false, bufferIntervalSeconds: 900, bufferSizeMiB: 1, etlIntervalSeconds: 3600 });
    stops.push(() => stack.stop());
    const client = new EventBridgeClient({ endpoint: stack.eventsUrl, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    stops.push(() => { client.destroy(); });
    adminKey = readFileSync(stack.adminKeyFile, 'utf8').trim();
    sdk = await sendSdkTraffic(stack, client);
    consumers = await callApi(stack, adminKey);
    await stack.flush();
    const rawFiles = await listFiles(path.join(dataDir, LAKE_PREFIXES.raw), '.gz');
    rawLines = rawFiles.flatMap((f) => gunzipSync(readFileSync(f)).toString('utf8').split('\n').filter(Boolean));
    etl = await stack.runEtl();
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  it('answers /health and keeps the admin credential in a file only its owner can read', async () => {
    const health = await fetch(`${stack.apiUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    expect(stack.adminKeyCreated).toBe(true);
    expect(statSync(stack.adminKeyFile).mode & 0o777).toBe(0o600);
    expect(adminKey).toMatch(/^aut_/);
  });

  it('takes events from the real EventBridge client: duplicates accepted (and deduplicated later), invalid entries refused per entry', () => {
    expect(sdk.batches.map((b) => b.FailedEntryCount)).toEqual([0, 0, 0]);
    expect(sdk.retry.FailedEntryCount).toBe(0);
    expect(sdk.mixed.Entries!.map((e) => e.ErrorCode ?? 'ok')).toEqual(['ok', 'MalformedDetail', 'InvalidArgument', 'ok', 'ok']);
    expect((sdk.tooMany as Error).name).toBe('ValidationException');
    // The bus takes events the contract refuses (their detail is JSON): the ETL refuses them.
    expect(sdk.refused.FailedEntryCount).toBe(0);
    expect(rawLines.some((line) => line.includes('com.example.not-allowed'))).toBe(false);
  });

  it('runs the metered API on dynalite: tiers, 429s beyond the burst, tokens, refused credentials', () => {
    expect(consumers.created).toEqual([201, 201]);
    expect([...consumers.free].sort()).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    expect(consumers.premium.every((status) => status === 200)).toBe(true);
    expect(consumers.token).toBe(200);
    expect(consumers.usageWithToken).toMatchObject({ tenantId: 'globex-premium', tier: 'premium' });
    expect(consumers.forgedToken).toBe(403);
    expect(consumers.anonymous).toBe(401);
    expect(consumers.tenantKeyOnAdminRoute).toBe(403);
  });

  it('the ETL curates what was accepted, and billing_by_tenant counts exactly that', async () => {
    expect(etl).toMatchObject({ malformed: 2, duplicates: 5 });
    const today = new Date().toISOString().slice(0, 10);
    const rejects = await (await stack.lake()).runNamedQuery('rejected_records', { start_date: today, end_date: today });
    expect(rejects.rows.map((r) => [r.reason, r.service, r.records]).sort()).toEqual([
      ['detail.billableUnits: below the minimum of 0', 'orders-service', 1],
      ['detail.statusCode: above the maximum of 599', 'orders-service', 1],
    ]);

    const billing = await (await stack.lake()).runNamedQuery('billing_by_tenant', { month: month() });
    const calls = new Map(billing.rows.map((row) => [row.tenant_id, row.calls]));
    for (const [tenant, expected] of Object.entries(BILLABLE_CALLS)) expect([tenant, calls.get(tenant)]).toEqual([tenant, expected]);
    // Refused calls are tracked but never billed.
    // Dates are real calendar dates: the month's own last day, not a 31st it may not have.
    const lastDay = new Date(Date.UTC(Number(month().slice(0, 4)), Number(month().slice(5, 7)), 0)).toISOString().slice(0, 10);
    const limited = await (await stack.lake()).runNamedQuery('rate_limited_by_tenant', { start_date: `${month()}-01`, end_date: lastDay });
    expect(limited.rows.find((r) => r.tenant_id === 'acme-free')).toMatchObject({ rate_limited: 3, tier: 'free' });
    const all = await (await stack.lake()).query(`SELECT count(*) AS n FROM usage_events WHERE status_code IN (401, 403)`);
    expect(all.rows[0].n).toBe(3);
  });

  it('the dashboard draws every chart from the named queries, in a real browser', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
      await page.goto(stack.dashboardUrl);
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 15_000 });
      // Runs in the page; this project's TypeScript has no DOM types, so the element's one method used is typed here.
      const points = await page.$$eval('[data-chart]', (sections: { getAttribute(name: string): string | null }[]) =>
        Object.fromEntries(sections.map((s) => [s.getAttribute('data-chart') ?? '', Number(s.getAttribute('data-points') ?? 0)])),
      );
      expect(Object.keys(points).sort()).toEqual(['billing', 'error-rate', 'latency', 'quota', 'rate-limited', 'rejects', 'requests', 'tenants']);
      for (const [chart, count] of Object.entries(points)) expect([chart, count > 0]).toEqual([chart, true]);
      expect(await page.$$eval('[data-chart="requests"] svg circle', (dots) => dots.length)).toBeGreaterThan(0);
      expect(await page.$$eval('[data-chart="tenants"] svg rect', (bars) => bars.length)).toBeGreaterThanOrEqual(3);
      expect(await page.textContent('[data-chart="billing"] table')).toContain('acme-free');
      expect(await page.textContent('#tile-requests')).toMatch(/^\d[\d,]*$/);
      // The two events the contract refused, from the rejected_records query.
      expect(await page.textContent('#tile-rejects')).toBe('2');
      expect(await page.$$eval('[data-chart="rejects"] svg rect', (bars) => bars.length)).toBe(2);
      // Switching the window refetches and redraws.
      await page.click('button[data-window="last_24h"]');
      await page.waitForSelector('button[data-window="last_24h"][aria-pressed="true"]');
      await page.waitForSelector('#status:not(:empty)');
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('answers bad dashboard requests with a JSON error', async () => {
    const response = await fetch(`${stack.apiUrl}/dashboard/data?window=forever`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ message: 'window=forever: window must be one of last_hour, last_24h, last_30d, all; got "forever".' });
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('refuses requests addressed to another name, as a rebound DNS name would be', async () => {
    const { port } = new URL(stack.apiUrl);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: Number(port), path: '/dashboard/data', headers: { host: 'attacker.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(403);
  });
});
