import { mkdtempSync, rmSync } from 'node:fs';
import { Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { launchChromium } from '../../support/chromium';
import { FIREHOSE_RAW_PREFIX, renderFirehosePrefix } from '../../../contracts/lake-layout';
import { resolveTierPolicies } from '../../../contracts/tiers';
import { createDashboardHandler, dashboardData, quotaPeriodStarts } from '../../../local/dashboard/dashboard';
import { LocalLake } from '../../../local/lake/local-lake';
import { openGeneratedLake, GeneratedLake } from '../../support/generated-lake';
import { CuratedEvent, isBillable } from '../../support/expected-answers';
import { DatasetEvent, envelopeLine, writeRawObjects } from '../../support/usage-dataset';

/** A Wednesday: its ISO week began on Monday the 23rd, its month on the 1st. */
const NOW = new Date('2026-11-25T12:00:00Z');

let sequence = 0;
/** A call of `tenantId` (on `tier`) at `occurredAt`, answered `statusCode`. */
function call(tenantId: string, tier: string, occurredAt: string, statusCode = 200): DatasetEvent {
  sequence++;
  return {
    detail: { schemaVersion: '1', eventId: `evt-quota-${String(sequence).padStart(4, '0')}`, occurredAt, service: 'metered-api', tenantId, tier, operation: 'GET /v1/users', method: 'GET', statusCode, latencyMs: 5 },
    receivedAt: occurredAt,
    source: 'com.example.metered-api',
  };
}

const times = (count: number, make: () => DatasetEvent) => Array.from({ length: count }, make);

describe('Dashboard: quota use per tenant (quota_use_by_tenant on the local lake, DuckDB)', () => {
  let dataDir: string;
  let lake: LocalLake;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'dashboard-quota-'));
    const events = [
      // acme (basic): 3 admitted today, 2 on Monday, 4 earlier this month, 1 last month; refusals and a 5xx today.
      ...times(3, () => call('acme', 'basic', '2026-11-25T09:00:00.000Z')),
      ...times(2, () => call('acme', 'basic', '2026-11-23T00:00:00.000Z')),
      ...times(4, () => call('acme', 'basic', '2026-11-05T10:00:00.000Z')),
      call('acme', 'basic', '2026-10-31T23:59:59.000Z'),
      call('acme', 'basic', '2026-11-25T09:30:00.000Z', 429),
      call('acme', 'basic', '2026-11-25T09:30:00.000Z', 403),
      call('acme', 'basic', '2026-11-25T09:30:00.000Z', 500),
      // globex: free until Sunday, basic since; 1 today.
      call('globex', 'free', '2026-11-22T12:00:00.000Z'),
      call('globex', 'basic', '2026-11-25T08:00:00.000Z'),
      // no tenant's traffic
      call('anonymous', 'free', '2026-11-25T08:00:00.000Z', 200),
    ];
    writeRawObjects(dataDir, [{ key: `${renderFirehosePrefix(FIREHOSE_RAW_PREFIX, NOW)}quota.gz`, lines: events.map(envelopeLine) }]);
    lake = await LocalLake.open(dataDir);
    expect((await lake.compact()).rows).toBe(events.length);
  });

  afterAll(async () => {
    await lake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("counts each tenant's admitted calls today, this ISO week and this month, and the share of its tier's quota used in the quota's period", async () => {
    // Prepare: basic has a weekly quota of 10, free a daily one of 1, the others none.
    const tiers = resolveTierPolicies({ basic: { quota: { period: 'week', requests: 10 } }, free: { quota: { period: 'day', requests: 1 } } });
    // Act
    const { quotaUse } = await dashboardData(lake, 'all', NOW, tiers);
    // Assess
    expect(quotaUse).toEqual([
      { tenantId: 'acme', tier: 'basic', used: { day: 3, week: 5, month: 9 }, quota: { period: 'week', requests: 10 }, percentUsed: 50 },
      { tenantId: 'globex', tier: 'basic', used: { day: 1, week: 1, month: 2 }, quota: { period: 'week', requests: 10 }, percentUsed: 10 },
    ]);
  });

  it('shows the counts without a quota (null, no percentage) for tiers that have none: the default tiers', async () => {
    const { quotaUse } = await dashboardData(lake, 'all', NOW);
    expect(quotaUse.map(({ tenantId, quota, percentUsed }) => [tenantId, quota, percentUsed])).toEqual([
      ['acme', null, null],
      ['globex', null, null],
    ]);
  });

  it('uses the quota period of the tier, over 100 % when the count passed it (a daily quota of 2 for basic)', async () => {
    const tiers = resolveTierPolicies({ basic: { quota: { period: 'day', requests: 2 } } });
    const { quotaUse } = await dashboardData(lake, 'all', NOW, tiers);
    expect(quotaUse.find((row) => row.tenantId === 'acme')).toMatchObject({ quota: { period: 'day', requests: 2 }, percentUsed: 150 });
  });
});

describe('Function: quotaPeriodStarts', () => {
  it.each([
    ['2026-11-25T12:00:00Z', { day: '2026-11-25', week: '2026-11-23', month: '2026-11-01' }],
    ['2026-11-23T00:00:00Z', { day: '2026-11-23', week: '2026-11-23', month: '2026-11-01' }],
    // A Sunday belongs to the week that began 6 days before; a week may begin in the previous month or year.
    ['2026-11-29T23:59:59Z', { day: '2026-11-29', week: '2026-11-23', month: '2026-11-01' }],
    ['2027-01-01T08:00:00Z', { day: '2027-01-01', week: '2026-12-28', month: '2027-01-01' }],
  ])('at %s: the day, its ISO week\'s Monday and its month\'s 1st (UTC)', (at, starts) => {
    expect(quotaPeriodStarts(new Date(at))).toEqual(starts);
  });
});

describe('Dashboard page: the quota panel (in chromium)', () => {
  let dataDir: string;
  let lake: LocalLake;
  let server: Server;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'dashboard-quota-page-'));
    // A second ago: today (UTC) but for the second after midnight.
    const at = new Date(Date.now() - 1000);
    const events = [...times(4, () => call('acme', 'basic', at.toISOString())), call('initech', 'premium', at.toISOString())];
    writeRawObjects(dataDir, [{ key: `${renderFirehosePrefix(FIREHOSE_RAW_PREFIX, at)}page.gz`, lines: events.map(envelopeLine) }]);
    lake = await LocalLake.open(dataDir);
    expect((await lake.compact()).rows).toBe(events.length);
    // The stack's tiers: basic has 5 requests a day, premium none.
    const dashboard = createDashboardHandler(() => ({ state: 'ready', lake }), { tiers: resolveTierPolicies({ basic: { quota: { period: 'day', requests: 5 } } }) });
    server = createServer((req, res) => {
      if (!dashboard(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await lake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows each tenant\'s calls today, this week and this month, and the share of its quota, marked from 80 %', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`http://127.0.0.1:${String((server.address() as AddressInfo).port)}/dashboard`);
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 15_000 });
      const rows = await page.evaluate<string[][]>(
        `[...document.querySelectorAll('[data-chart="quota"] tbody tr')].map((tr) => [...tr.cells].map((td) => td.textContent + (td.className.startsWith('quota-') ? ' [' + td.className + ']' : '')))`,
      );
      expect(rows).toEqual([
        ['acme', 'basic', '4', '4', '4', '80.0% of 5 a day [quota-near]'],
        ['initech', 'premium', '1', '1', '1', 'no quota'],
      ]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});

describe('Named query: quota_use_by_tenant on the generated dataset (DuckDB)', () => {
  let generated: GeneratedLake;
  let lake: LocalLake;
  let events: CuratedEvent[];

  beforeAll(async () => {
    generated = await openGeneratedLake('quota-use');
    ({ lake, events } = generated);
  });

  afterAll(async () => {
    await generated.close();
  });

  it('over a month, counts per tenant the calls billing_by_tenant bills, and the billable calls an independent count finds', async () => {
    // Act
    const use = await lake.runNamedQuery('quota_use_by_tenant', { start_date: '2026-11-01', end_date: '2026-11-30' });
    const billing = await lake.runNamedQuery('billing_by_tenant', { month: '2026-11' });
    // Assess
    const byTenant = (rows: readonly Record<string, unknown>[], column: string) => Object.fromEntries(rows.map((row) => [String(row.tenant_id), Number(row[column])]));
    const expected: Record<string, number> = {};
    for (const event of events.filter((e) => e.month === '2026-11' && isBillable(e))) expected[event.tenantId] = (expected[event.tenantId] ?? 0) + 1;
    expect(use.rows.length).toBeGreaterThan(1);
    expect(byTenant(use.rows, 'admitted')).toEqual(byTenant(billing.rows, 'calls'));
    expect(byTenant(use.rows, 'admitted')).toEqual(expected);
  });
});
