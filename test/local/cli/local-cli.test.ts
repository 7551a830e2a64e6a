import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../local/cli/usage-tracker';
import { capturingCliContext } from '../../support/cli-context';
import { deduplicate, expectedBilling } from '../../support/expected-answers';
import { generateUsageDataset, writePriceList, writeRawObjects } from '../../support/usage-dataset';

const context = capturingCliContext;

describe('usage-tracker CLI on the local lake', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'usage-cli-'));
  const dataset = generateUsageDataset(new Date('2026-11-23T12:00:00Z'), 300);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('etl --local curates raw/, then says there is nothing new', async () => {
    writePriceList(dataDir, dataset.prices);
    writeRawObjects(dataDir, [...dataset.firstBatch, ...dataset.secondBatch]);
    const first = context();
    expect(await runCli(['etl', '--local', '--data-dir', dataDir], first)).toBe(0);
    expect(first.out).toMatch(new RegExp(`^Read 3 raw objects \\(\\d+ lines\\): wrote \\d+ rows to \\d+ day partitions, dropped 100 duplicates, rejected ${dataset.malformed.length} malformed lines \\(see errors/glue/\\)`));
    const again = context();
    expect(await runCli(['etl', '--data-dir', dataDir], again)).toBe(0);
    expect(again.out).toBe('No new raw objects since the last run.\n');
  });

  it('query --format json prints an array of row objects with the query’s column names', async () => {
    const c = context();
    expect(await runCli(['query', 'billing_by_tenant', '--data-dir', dataDir, '--param', 'month=2026-11', '--format', 'json'], c)).toBe(0);
    const rows = JSON.parse(c.out) as Record<string, unknown>[];
    const expected = expectedBilling(deduplicate(dataset.deliveries), dataset.prices, '2026-11');
    expect(rows.map((r) => [r.tenant_id, r.calls]).sort()).toEqual(expected.map((r) => [r.tenant_id, r.calls]).sort());
    expect(Object.keys(rows[0])).toEqual(['tenant_id', 'calls', 'billable_units', 'amount', 'currency']);
  });

  it('query --format csv and table print a header and every row', async () => {
    const csv = context();
    expect(await runCli(['query', 'rate_limited_by_tenant', '--data-dir', dataDir, '--param', 'start_date=2026-10-01', '--param', 'end_date=2026-11-30', '--format', 'csv'], csv)).toBe(0);
    const lines = csv.out.trim().split('\r\n');
    expect(lines[0]).toBe('tenant_id,tier,calls,rate_limited,rate_limited_share');
    expect(lines.length).toBeGreaterThan(1);
    const table = context();
    expect(await runCli(['query', 'rate_limited_by_tenant', '--data-dir', dataDir, '--param', 'start_date=2026-10-01', '--param', 'end_date=2026-11-30'], table)).toBe(0);
    expect(table.out).toContain(`(${lines.length - 1} rows)`);
  });

  it('status --local shows the lake and exits 0', async () => {
    const c = context();
    expect(await runCli(['status', '--local', '--data-dir', dataDir, '--format', 'json'], c)).toBe(0);
    const checks = JSON.parse(c.out) as { component: string; state: string }[];
    expect(checks.map((check) => [check.component, check.state.split(' ')[0]])).toEqual([
      ['raw/', '0'],
      ['curated/usage_events/', String(deduplicate(dataset.deliveries).length)],
      ['errors/glue/', String(dataset.malformed.length)],
      ['last ETL run', expect.stringMatching(/^\d{4}-/)],
    ]);
  });

  it('runs as the installed bin', () => {
    const bin = path.join(__dirname, '..', '..', '..', 'bin', 'usage-tracker.js');
    const listed = spawnSync(process.execPath, [bin, 'queries'], { encoding: 'utf8' });
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain('billing_by_tenant --param month=...');
    const wrong = spawnSync(process.execPath, [bin, 'query', 'billing_by_tenant'], { encoding: 'utf8' });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('needs --param month=...');
  });
});
