import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../local/cli/usage-tracker';
import { DEFAULT_DATA_DIR } from '../../../local/data-dir';
import { capturingCliContext } from '../../support/cli-context';
import { deduplicate, expectedBilling } from '../../support/expected-answers';
import { generateUsageDataset, writePriceList, writeRawObjects } from '../../support/usage-dataset';

const context = capturingCliContext;

/** `usage-tracker` in-process: its exit code and what it printed. */
async function usageTracker(argv: readonly string[]) {
  const c = context();
  const code = await runCli(argv, c);
  return { code, out: c.out, err: c.err };
}

describe('usage-tracker CLI on the local lake', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'usage-cli-'));
  const dataset = generateUsageDataset(new Date('2026-11-23T12:00:00Z'), 300);
  // The lake every test reads: raw/ written, then curated by the CLI's own ETL, run twice.
  let etlRuns: { first: { code: number; out: string }; again: { code: number; out: string } };
  beforeAll(async () => {
    writePriceList(dataDir, dataset.prices);
    writeRawObjects(dataDir, [...dataset.firstBatch, ...dataset.secondBatch]);
    const first = await usageTracker(['etl', '--local', '--data-dir', dataDir]);
    const again = await usageTracker(['etl', '--data-dir', dataDir]);
    etlRuns = { first, again };
  });
  afterAll(() => { rmSync(dataDir, { recursive: true, force: true }); });

  it('etl --local curates raw/, then says there is nothing new', () => {
    const { first, again } = etlRuns;
    expect(first.code).toBe(0);
    const duplicates = dataset.duplicates.firstBatch + dataset.duplicates.secondBatch;
    expect(first.out).toMatch(new RegExp(`^Read 3 raw objects \\(\\d+ lines\\): wrote \\d+ rows to \\d+ day partitions, dropped ${duplicates} duplicates, rejected ${dataset.malformed.length} malformed lines \\(see errors/glue/\\)`));
    expect({ code: again.code, out: again.out }).toEqual({ code: 0, out: 'No new raw objects since the last run.\n' });
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

  /** The rows of a table as `formatResult` prints them: cells by column name (columns split on two spaces or more). */
  const tableRows = (out: string) => {
    const lines = out.trimEnd().split('\n');
    const header = lines[0].split(/\s{2,}/);
    return lines.slice(2, -1).map((line) => Object.fromEntries(line.trim().split(/\s{2,}/).map((cell, i) => [header[i], cell])));
  };

  it('query prints fractions rounded in a table, and exact with --format json', async () => {
    const args = ['query', 'latency_by_operation', '--data-dir', dataDir, '--param', 'start_date=2026-10-01', '--param', 'end_date=2026-11-30'];
    const json = context();
    expect(await runCli([...args, '--format', 'json'], json)).toBe(0);
    const exact = JSON.parse(json.out) as Record<string, number>[];
    const table = context();
    expect(await runCli(args, table)).toBe(0);
    const shown = tableRows(table.out);
    expect(shown).toHaveLength(exact.length);
    // The dataset's percentiles have more than 2 decimals: JSON keeps them, the table shows 2.
    const fractional = exact.filter((row) => (String(row.p95_ms).split('.')[1] ?? '').length > 2);
    expect(fractional.length).toBeGreaterThan(0);
    for (const [i, row] of exact.entries()) {
      expect(shown[i].p95_ms).toMatch(/^\d+\.\d{2}$/);
      expect(Math.abs(Number(shown[i].p95_ms) - row.p95_ms)).toBeLessThanOrEqual(0.005 + 1e-9);
      expect(shown[i].calls).toBe(String(row.calls));
    }
    expect(json.out).toContain(`"p95_ms": ${fractional[0].p95_ms}`);
  });

  it('query shows amounts of money in a table with every decimal they have', async () => {
    const args = ['query', 'billing_by_tenant', '--data-dir', dataDir, '--param', 'month=2026-11'];
    const json = context();
    expect(await runCli([...args, '--format', 'json'], json)).toBe(0);
    const table = context();
    expect(await runCli(args, table)).toBe(0);
    const exact = JSON.parse(json.out) as { amount: number }[];
    expect(tableRows(table.out).map((row) => Number(row.amount))).toEqual(exact.map((row) => row.amount));
  });

  it('status with no flag reports on the local lake (the default data folder), as the other commands do', async () => {
    // A working folder whose default data folder (.usage-tracker) is this lake.
    const workingDir = mkdtempSync(path.join(tmpdir(), 'usage-cli-cwd-'));
    symlinkSync(dataDir, path.join(workingDir, DEFAULT_DATA_DIR));
    const before = process.cwd();
    process.chdir(workingDir);
    try {
      const byDefault = context();
      expect(await runCli(['status', '--format', 'json'], byDefault)).toBe(0);
      const explicit = context();
      expect(await runCli(['status', '--local', '--data-dir', dataDir, '--format', 'json'], explicit)).toBe(0);
      const components = (out: string) => (JSON.parse(out) as { component: string }[]).map((check) => check.component);
      expect(components(byDefault.out)).toEqual(['raw/', 'curated/usage_events/', 'errors/glue/', 'last ETL run']);
      expect(byDefault.out).toBe(explicit.out);
    } finally {
      process.chdir(before);
      rmSync(workingDir, { recursive: true, force: true });
    }
  });

  it('runs as the installed bin: lists the queries (exit 0), refuses a missing or malformed parameter (exit 2)', () => {
    const bin = path.join(__dirname, '..', '..', '..', 'bin', 'usage-tracker.js');
    const listed = spawnSync(process.execPath, [bin, 'queries'], { encoding: 'utf8' });
    expect(listed.status).toBe(0);
    expect(listed.stdout).toContain('billing_by_tenant --param month=YYYY-MM\n');
    expect(listed.stdout).toContain('    start_date: First day of event time (UTC), inclusive [a date as YYYY-MM-DD (a real calendar date)]\n');
    const wrong = spawnSync(process.execPath, [bin, 'query', 'billing_by_tenant', '--data-dir', dataDir], { encoding: 'utf8' });
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toContain('billing_by_tenant needs --param month=YYYY-MM: Billing month of event time (UTC), e.g. 2026-11 [a month as YYYY-MM (01-12)].\n');
    const malformed = spawnSync(process.execPath, [bin, 'query', 'billing_by_tenant', '--data-dir', dataDir, '--param', 'month=2026-13'], { encoding: 'utf8' });
    expect(malformed.status).toBe(2);
    expect(malformed.stderr).toContain('usage-tracker: --param month=2026-13: month must be a month as YYYY-MM (01-12); got "2026-13".\n');
    expect(malformed.stdout).toBe('');
  });

  it.each([
    ['month=2026-1', /--param month=2026-1: month must be a month as YYYY-MM \(01-12\); got "2026-1"/],
    ['month=2026-00', /--param month=2026-00: month must be a month/],
  ])('query on the local lake refuses %s with exit code 2 before DuckDB runs', async (param, message) => {
    const c = context();
    expect(await runCli(['query', 'billing_by_tenant', '--data-dir', dataDir, '--param', param], c)).toBe(2);
    expect(c.err).toMatch(message);
    expect(c.err).not.toContain('local lake');
    expect(c.out).toBe('');
  });

  it('refuses unpadded dates, which would compare wrongly as text', async () => {
    const c = context();
    expect(await runCli(['query', 'rate_limited_by_tenant', '--data-dir', dataDir, '--param', 'start_date=2026-11-1', '--param', 'end_date=2026-11-30'], c)).toBe(2);
    expect(c.err).toContain('--param start_date=2026-11-1: start_date must be a date as YYYY-MM-DD (a real calendar date); got "2026-11-1".');
  });

  describe('a --data-dir that does not exist', () => {
    const missing = path.join(dataDir, 'no-such-folder');

    it.each([
      ['query', ['query', 'billing_by_tenant', '--param', 'month=2026-11', '--data-dir', missing]],
      ['etl', ['etl', '--local', '--data-dir', missing]],
      ['status', ['status', '--local', '--data-dir', missing]],
      ['status (the folder alone selects local)', ['status', '--data-dir', missing]],
    ])('is refused by %s with exit code 2, naming the folder, and is not created', async (_command, argv) => {
      const c = context();
      expect(await runCli(argv, c)).toBe(2);
      expect(c.err).toContain(`usage-tracker: --data-dir "${missing}" does not exist. Give the folder the local stack keeps its data in`);
      expect(c.out).toBe('');
      expect(existsSync(missing)).toBe(false);
    });

    it('is refused by local, which creates only its default folder', async () => {
      const c = context();
      expect(await runCli(['local', '--no-demo', '--api-port', '0', '--events-port', '0', '--data-dir', missing], c)).toBe(2);
      expect(c.err).toContain(`usage-tracker: --data-dir "${missing}" does not exist. Create it first to start a new lake there, or leave --data-dir out to use ${DEFAULT_DATA_DIR} (created on the first start).`);
      expect(existsSync(missing)).toBe(false);
    });

    it.each([
      ['not JSON', '{free', '--tiers must be JSON'],
      ['not an object', '[1]', '--tiers must be a JSON object of tier names.'],
      ['a bad quota', '{"free":{"quota":{"period":"year","requests":10}}}', '--tiers: Tier "free": quota.period must be one of'],
    ])('local refuses --tiers that is %s with exit code 2 before anything starts', async (_what, tiers, message) => {
      const c = context();
      expect(await runCli(['local', '--no-demo', '--api-port', '0', '--events-port', '0', '--tiers', tiers], c)).toBe(2);
      expect(c.err).toContain(message);
    });

    it('nor is a file taken for a folder', async () => {
      const elsewhere = mkdtempSync(path.join(tmpdir(), 'usage-cli-file-'));
      const file = path.join(elsewhere, 'a-file');
      writeFileSync(file, '');
      try {
        const c = context();
        expect(await runCli(['status', '--local', '--data-dir', file], c)).toBe(2);
        expect(c.err).toContain(`--data-dir "${file}" is not a folder.`);
      } finally {
        rmSync(elsewhere, { recursive: true, force: true });
      }
    });
  });
});
