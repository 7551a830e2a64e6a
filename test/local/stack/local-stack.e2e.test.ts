import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { chromium } from 'playwright-core';
import { USAGE_EVENT_DETAIL_TYPE } from '../../../contracts/usage-event';
import { listFiles } from '../../../local/lake/local-lake';
import { LocalStack, startLocalStack } from '../../../local/stack/local-stack';

/** Debian's chromium (`.ci/run` installs it), driven by playwright-core. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const month = () => new Date().toISOString().slice(0, 7);

describe('npm start, end to end: the real SDK and API against the local stack, then the ETL and billing', () => {
  let dataDir: string;
  let stack: LocalStack;
  let client: EventBridgeClient;
  let adminKey: string;
  const accepted = new Map<string, number>(); // tenant -> billable calls the pipeline accepted

  const api = async (method: string, route: string, authorization?: string, body?: unknown) => {
    const response = await fetch(`${stack.apiUrl}${route}`, {
      method,
      headers: { ...(authorization ? { authorization } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, json: (await response.json().catch(() => undefined)) as Record<string, unknown> };
  };

  const usageEvent = (tenantId: string, eventId = randomUUID(), statusCode = 200) => ({
    EventBusName: stack.busName,
    Source: stack.source,
    DetailType: USAGE_EVENT_DETAIL_TYPE,
    Detail: JSON.stringify({ schemaVersion: '1', eventId, occurredAt: new Date().toISOString(), service: 'orders-service', tenantId, operation: 'POST /v1/orders', method: 'POST', statusCode, latencyMs: 42.5 }),
  });

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'local-stack-'));
    stack = await startLocalStack({ dataDir, apiPort: 0, eventsPort: 0, demo: false, bufferIntervalSeconds: 900, bufferSizeMiB: 1, etlIntervalSeconds: 3600 });
    client = new EventBridgeClient({ endpoint: stack.eventsUrl, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    adminKey = readFileSync(stack.adminKeyFile, 'utf8').trim();
  });

  afterAll(async () => {
    client?.destroy();
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers /health and keeps the admin credential in a file only its owner can read', async () => {
    const health = await fetch(`${stack.apiUrl}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    expect(stack.adminKeyCreated).toBe(true);
    expect(statSync(stack.adminKeyFile).mode & 0o777).toBe(0o600);
    expect(adminKey).toMatch(/^aut_/);
  });

  it('takes events from the real EventBridge client: duplicates accepted (and deduplicated later), invalid entries refused per entry', async () => {
    const ids = Array.from({ length: 25 }, () => randomUUID());
    for (let i = 0; i < ids.length; i += 10) {
      const result = await client.send(new PutEventsCommand({ Entries: ids.slice(i, i + 10).map((id) => usageEvent('tenant-sdk', id)) }));
      expect(result.FailedEntryCount).toBe(0);
    }
    // A producer's retry of five events, and a batch with two bad entries among good ones.
    const retry = await client.send(new PutEventsCommand({ Entries: ids.slice(0, 5).map((id) => usageEvent('tenant-sdk', id)) }));
    expect(retry.FailedEntryCount).toBe(0);
    const mixed = await client.send(
      new PutEventsCommand({
        Entries: [
          usageEvent('tenant-sdk'),
          { ...usageEvent('tenant-sdk'), Detail: '{"eventId": ' },
          { ...usageEvent('tenant-sdk'), Source: undefined },
          usageEvent('tenant-sdk', randomUUID(), 503),
          { ...usageEvent('tenant-sdk'), Source: 'com.example.not-allowed' },
        ],
      }),
    );
    expect(mixed.Entries!.map((e) => e.ErrorCode ?? 'ok')).toEqual(['ok', 'MalformedDetail', 'InvalidArgument', 'ok', 'ok']);
    // Billable: 25 distinct + 1 good; the 503 is not billed; the unlisted source never reaches the lake.
    accepted.set('tenant-sdk', 26);
    const tooMany = await client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => usageEvent('tenant-sdk')) })).catch((e: Error) => e);
    expect((tooMany as Error).name).toBe('ValidationException');
  });

  it('runs the metered API on dynalite: tiers, 429s beyond the burst, refused credentials', async () => {
    for (const [tenantId, tier] of [['acme-free', 'free'], ['globex-premium', 'premium']] as const) {
      expect((await api('POST', '/v1/admin/tenants', `ApiKey ${adminKey}`, { tenantId, name: tenantId, tier })).status).toBe(201);
    }
    const freeKey = (await api('POST', '/v1/admin/tenants/acme-free/keys', `ApiKey ${adminKey}`)).json.apiKey as string;
    const premiumKey = (await api('POST', '/v1/admin/tenants/globex-premium/keys', `ApiKey ${adminKey}`)).json.apiKey as string;
    const free = await Promise.all(Array.from({ length: 8 }, () => api('GET', '/v1/users', `ApiKey ${freeKey}`)));
    expect(free.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    const premium = await Promise.all(Array.from({ length: 10 }, () => api('GET', '/v1/products', `ApiKey ${premiumKey}`)));
    expect(premium.every((r) => r.status === 200)).toBe(true);
    const token = await fetch(`${stack.apiUrl}/v1/auth/token`, { method: 'POST', headers: { 'x-api-key': premiumKey } });
    expect(token.status).toBe(200);
    const { access_token: accessToken } = (await token.json()) as { access_token: string };
    expect((await api('GET', '/v1/usage', `Bearer ${accessToken}`)).json).toMatchObject({ tenantId: 'globex-premium', tier: 'premium' });
    expect((await api('GET', '/v1/users', 'Bearer not.a.token')).status).toBe(403);
    expect((await api('GET', '/v1/users')).status).toBe(401);
    expect((await api('GET', '/v1/admin/tenants', `ApiKey ${freeKey}`)).status).toBe(403);
    accepted.set('acme-free', 5);
    accepted.set('globex-premium', 10 + 1 + 1); // products, the token, the usage read
  });

  it('the ETL curates what was accepted, and billing_by_tenant counts exactly that', async () => {
    // Events any EventBridge client can send but the contract refuses: the bus takes them (their
    // detail is JSON), the ETL refuses them to errors/glue/, and nobody is billed for them.
    const invalid = (detail: Record<string, unknown>) => {
      const entry = usageEvent('tenant-sdk');
      return { ...entry, Detail: JSON.stringify({ ...JSON.parse(entry.Detail), ...detail }) };
    };
    const refused = await client.send(new PutEventsCommand({ Entries: [invalid({ billableUnits: -5 }), invalid({ statusCode: 700 })] }));
    expect(refused.FailedEntryCount).toBe(0);
    await stack.flush();
    const rawFiles = await listFiles(path.join(dataDir, 'raw'), '.gz');
    const rawLines = rawFiles.flatMap((f) => gunzipSync(readFileSync(f)).toString('utf8').split('\n').filter(Boolean));
    expect(rawLines.some((line) => line.includes('com.example.not-allowed'))).toBe(false);
    const result = await stack.runEtl();
    expect(result).toMatchObject({ malformed: 2, duplicates: 5 });
    const rejects = await stack.lake.runNamedQuery('rejected_records', { start_date: new Date().toISOString().slice(0, 10), end_date: new Date().toISOString().slice(0, 10) });
    expect(rejects.rows.map((r) => [r.reason, r.service, r.records]).sort()).toEqual([
      ['detail.billableUnits: below the minimum of 0', 'orders-service', 1],
      ['detail.statusCode: above the maximum of 599', 'orders-service', 1],
    ]);

    const billing = await stack.lake.runNamedQuery('billing_by_tenant', { month: month() });
    const calls = Object.fromEntries(billing.rows.map((row) => [row.tenant_id, row.calls]));
    for (const [tenant, expected] of accepted) expect([tenant, calls[tenant]]).toEqual([tenant, expected]);
    // Refused calls are tracked but never billed.
    // Dates are real calendar dates: the month's own last day, not a 31st it may not have.
    const lastDay = new Date(Date.UTC(Number(month().slice(0, 4)), Number(month().slice(5, 7)), 0)).toISOString().slice(0, 10);
    const limited = await stack.lake.runNamedQuery('rate_limited_by_tenant', { start_date: `${month()}-01`, end_date: lastDay });
    expect(limited.rows.find((r) => r.tenant_id === 'acme-free')).toMatchObject({ rate_limited: 3, tier: 'free' });
    const all = await stack.lake.query(`SELECT count(*) AS n FROM usage_events WHERE status_code IN (401, 403)`);
    expect(all.rows[0].n).toBe(3);
  });

  it('the dashboard draws every chart from the named queries, in a real browser', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`The browser test needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it) or CHROMIUM_PATH.`);
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
      await page.goto(stack.dashboardUrl);
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 15_000 });
      const points: Record<string, number> = await page.$$eval('[data-chart]', (sections) => Object.fromEntries(sections.map((s) => [s.getAttribute('data-chart'), Number(s.getAttribute('data-points') ?? 0)])));
      expect(Object.keys(points).sort()).toEqual(['billing', 'error-rate', 'latency', 'rate-limited', 'rejects', 'requests', 'tenants']);
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
