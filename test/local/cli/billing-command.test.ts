import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LAKE_PREFIXES } from '../../../contracts/lake-layout';
import { STATEMENT_PARTITION_KEY, STATEMENT_TABLES } from '../../../contracts/billing-statements';
import { runCli } from '../../../local/cli/usage-tracker';
import { LocalLake, listFiles } from '../../../local/lake/local-lake';
import { ExpectedLine, PRICES_AFTER, PRICES_BEFORE, Prices, expectedClosing, generateBillingDataset } from '../../support/billing-dataset';
import { capturingCliContext } from '../../support/cli-context';
import { DatasetEvent, writePriceList, writeRawObjects } from '../../support/usage-dataset';

interface StatementJson {
  tenant_id: string;
  month: string;
  currency: string;
  closing_id: string;
  lines: { line_no: number; line: string; usage_month: string; calls: number; billable_units: number; amount: number }[];
  total: { calls: number; billable_units: number; amount: number };
  price_list: { operation: string; unit_price: number; currency: string }[];
}
interface CloseJson {
  outcome: string;
  written: number;
  closing: { month: string; closing_id: string; statements: number; calls: number; amount: number; billed_events: number; price_list: StatementJson['price_list'] };
  statements: StatementJson[];
}

/** `usage-tracker` in-process, on a fixed clock. */
async function usageTracker(argv: readonly string[], now = '2027-06-01T00:00:00Z') {
  const context = Object.assign(capturingCliContext(), { now: () => new Date(now) });
  const code = await runCli(argv, context);
  return { code, out: context.out, err: context.err };
}

/** Every file under statements/ with its bytes and modification time. */
async function statementFiles(dataDir: string): Promise<Map<string, string>> {
  const files = await listFiles(path.join(dataDir, LAKE_PREFIXES.statements), '');
  return new Map(files.map((file) => [path.relative(dataDir, file), `${statSync(file).mtimeMs}:${readFileSync(file).toString('base64')}`]));
}

const priceListOf = (prices: Prices) =>
  [...prices].sort((a, b) => a.operation.localeCompare(b.operation)).map((p) => ({ operation: p.operation, unit_price: p.unitPrice, currency: p.currency }));

/** The statements printed match the independent computation, line by line. */
function expectStatements(printed: readonly StatementJson[], expected: Map<string, ExpectedLine[]>): void {
  expect(printed.map((s) => s.tenant_id)).toEqual([...expected.keys()].sort());
  for (const statement of printed) {
    const lines = expected.get(statement.tenant_id)!;
    expect(statement.lines.map((l) => ({ kind: l.line, usageMonth: l.usage_month, calls: l.calls, billableUnits: l.billable_units }))).toEqual(
      lines.map((l) => ({ kind: l.kind, usageMonth: l.usageMonth, calls: l.calls, billableUnits: l.billableUnits })),
    );
    statement.lines.forEach((line, i) => { expect(line.amount).toBeCloseTo(lines[i].amount, 6); });
    expect(statement.total.amount).toBeCloseTo(lines.reduce((sum, l) => sum + l.amount, 0), 6);
  }
}

type Run = Awaited<ReturnType<typeof usageTracker>>;
type Closing = ReturnType<typeof expectedClosing>;

/** A closing that must have succeeded: what it printed (JSON). */
function printedOf(run: Run): CloseJson {
  expect({ code: run.code, err: run.code === 0 ? '' : run.err }).toEqual({ code: 0, err: '' });
  return JSON.parse(run.out) as CloseJson;
}

describe('usage-tracker billing on the local lake (DuckDB), across month boundaries', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'usage-billing-'));
  const dataset = generateBillingDataset();
  /**
   * The months closed one after another, as an operator would, each step's run and what it was
   * expected to bill recorded once by beforeAll: the tests only read it.
   */
  let timeline: {
    novemberFirst: { run: Run; files: Map<string, string> };
    october: { run: Run; expected: Closing };
    octoberAgain: { run: Run; before: Map<string, string>; after: Map<string, string> };
    november: { run: Run; expected: Closing };
    december: { run: Run; expected: Closing };
    /** Every event delivered, and every event id billed, by the end. */
    delivered: readonly DatasetEvent[];
    billed: ReadonlySet<string>;
  };

  beforeAll(async () => {
    const delivered: DatasetEvent[] = [];
    const billed = new Set<string>();
    const deliver = (batch: { deliveries: readonly DatasetEvent[]; objects: Parameters<typeof writeRawObjects>[1] }) => {
      writeRawObjects(dataDir, batch.objects);
      delivered.push(...batch.deliveries);
    };
    const close = async (month: string, now: string, prices: Prices) => {
      const expected = expectedClosing(delivered, billed, month, prices);
      const run = await usageTracker(['billing', 'close', '--month', month, '--data-dir', dataDir, '--format', 'json'], now);
      if (run.code === 0) for (const id of expected.billed) billed.add(id);
      return { run, expected };
    };

    writePriceList(dataDir, PRICES_BEFORE);
    deliver(dataset.beforeOctober);
    const novemberFirst = await usageTracker(['billing', 'close', '--month', '2026-11', '--data-dir', dataDir], '2026-12-02T00:00:00Z');
    const filesAfterRefusal = await statementFiles(dataDir);
    const october = await close('2026-10', '2026-11-05T09:00:00Z', PRICES_BEFORE);

    writePriceList(dataDir, PRICES_AFTER);
    deliver(dataset.beforeNovember);
    const before = await statementFiles(dataDir);
    const octoberAgain = await usageTracker(['billing', 'close', '--month', '2026-10', '--data-dir', dataDir], '2026-11-10T00:00:00Z');
    const after = await statementFiles(dataDir);
    const november = await close('2026-11', '2026-12-01T08:00:00Z', PRICES_AFTER);

    deliver(dataset.beforeDecember);
    const december = await close('2026-12', '2027-01-02T00:00:00Z', PRICES_AFTER);
    timeline = {
      novemberFirst: { run: novemberFirst, files: filesAfterRefusal },
      october,
      octoberAgain: { run: octoberAgain, before, after },
      november,
      december,
      delivered,
      billed,
    };
  });
  afterAll(() => { rmSync(dataDir, { recursive: true, force: true }); });

  /** What each closing printed, by month. */
  const closings = (): Record<string, CloseJson> => ({
    '2026-10': printedOf(timeline.october.run),
    '2026-11': printedOf(timeline.november.run),
    '2026-12': printedOf(timeline.december.run),
  });

  it('refuses to close November first: October has billable calls and is open (the ETL runs first)', () => {
    const { run, files } = timeline.novemberFirst;
    const batch = dataset.beforeOctober;
    expect(run.code).toBe(1);
    expect(run.err).toMatch(new RegExp(`curated \\d+ new rows from ${batch.objects.length} raw objects \\(${batch.duplicates} duplicates dropped, 0 rejected\\)`));
    expect(run.err).toMatch(/usage-tracker: 2026-11 cannot be closed: 2026-10 has \d+ billable calls and is not closed: close it first/);
    expect(files).toEqual(new Map());
  });

  it('closes October: one statement per tenant that made billable calls, amounts as computed independently', () => {
    const { run, expected } = timeline.october;
    const printed = printedOf(run);
    expect(run.err).toMatch(/^Closed 2026-10 at 2026-11-05T09:00:00.000Z \(closing [0-9a-f-]{36}\): 3 statements, \d+ calls/m);
    expect(printed).toMatchObject({ outcome: 'closed', written: 3, closing: { month: '2026-10', statements: 3, billed_events: expected.billed.size, price_list: priceListOf(PRICES_BEFORE) } });
    expectStatements(printed.statements, expected.statements);
    // Usage only: nothing before October was ever billable. The boundary events are October's.
    expect(printed.statements.flatMap((s) => s.lines.map((l) => l.line))).toEqual(printed.statements.map(() => 'usage'));
    expect(expected.billed.size).toBe(printed.statements.reduce((sum, s) => sum + s.total.calls, 0));
  });

  it('closing October again writes nothing and prints the same statements, though late October events are curated now', () => {
    const { run, before, after } = timeline.octoberAgain;
    const october = printedOf(timeline.october.run);
    const batch = dataset.beforeNovember;
    expect(run.code).toBe(0);
    expect(run.err).toMatch(new RegExp(`curated \\d+ new rows from ${batch.objects.length} raw objects \\(${batch.duplicates} duplicates dropped, 0 rejected\\)`));
    expect(run.out).toContain(`2026-10 was closed already at 2026-11-05T09:00:00.000Z (closing ${october.closing.closing_id}): 3 statements`);
    expect(run.out).toContain('nothing written.');
    for (const statement of october.statements) expect(run.out).toMatch(new RegExp(`^${statement.tenant_id}\\s+${statement.total.calls}\\s`, 'm'));
    expect(after).toEqual(before);
  });

  it('closes November: its usage, and October adjustments for exactly the late events, at the new prices', () => {
    const { run, expected } = timeline.november;
    const printed = printedOf(run);
    expectStatements(printed.statements, expected.statements);
    expect(printed.closing.price_list).toEqual(priceListOf(PRICES_AFTER));
    const hooli = printed.statements.find((s) => s.tenant_id === dataset.lateOnlyTenant)!;
    expect(hooli.lines.map((l) => [l.line, l.usage_month, l.calls])).toEqual([['adjustment', '2026-10', 2]]);
    // Received before October was closed, curated after: late all the same, billed once, in November.
    expect(expected.billed.has(dataset.receivedBeforeTheClose.detail.eventId)).toBe(true);
    const adjustments = printed.statements.flatMap((s) => s.lines.filter((l) => l.line === 'adjustment'));
    const occurredAt = new Map(timeline.delivered.map((d) => [d.detail.eventId, d.detail.occurredAt]));
    expect(adjustments.reduce((sum, l) => sum + l.calls, 0)).toBe([...expected.billed].filter((id) => occurredAt.get(id)! < '2026-11').length);
    expect(adjustments.length).toBeGreaterThanOrEqual(3);
  });

  it('closes December with no usage of its own: adjustment lines, each naming the month it adjusts', () => {
    const { run, expected } = timeline.december;
    const printed = printedOf(run);
    expectStatements(printed.statements, expected.statements);
    expect(printed.statements.map((s) => [s.tenant_id, s.lines.map((l) => `${l.line} ${l.usage_month} ${l.calls}`)])).toEqual([
      ['acme', ['adjustment 2026-11 1']],
      ['initech', ['adjustment 2026-10 1', 'adjustment 2026-11 1']],
    ]);
  });

  it('bills every event once across closings, and the closed statements never changed', async () => {
    const lake = await LocalLake.open(dataDir);
    try {
      const { rows } = await lake.query(
        `SELECT count(*) AS n, count(DISTINCT e.event_id) AS ids FROM ${STATEMENT_TABLES.billedEvents.table} e JOIN ${STATEMENT_TABLES.closings.table} c ON c.month = e.month AND c.closing_id = e.closing_id`,
      );
      expect(rows[0]).toEqual({ n: timeline.billed.size, ids: timeline.billed.size });
      const sums = await lake.query(`SELECT ${STATEMENT_PARTITION_KEY}, sum(calls) AS calls FROM ${STATEMENT_TABLES.statements.table} GROUP BY 1 ORDER BY 1`);
      expect(sums.rows).toEqual(['2026-10', '2026-11', '2026-12'].map((month) => ({ month, calls: closings()[month].closing.calls })));
      const view = await lake.query(`SELECT * FROM ${STATEMENT_TABLES.statements.table} LIMIT 1`);
      expect(view.columns).toEqual([...STATEMENT_TABLES.statements.columns.map((c) => c.name), STATEMENT_PARTITION_KEY]);
    } finally {
      await lake.close();
    }
    const october = await usageTracker(['billing', 'statement', '--tenant', 'acme', '--month', '2026-10', '--data-dir', dataDir, '--format', 'json']);
    expect(JSON.parse(october.out)).toEqual(closings()['2026-10'].statements.find((s) => s.tenant_id === 'acme'));
  });

  describe('billing statement', () => {
    const acmeNovember = () => closings()['2026-11'].statements.find((s) => s.tenant_id === 'acme')!;

    it('exports a statement as JSON: lines, total and the price list used', async () => {
      const run = await usageTracker(['billing', 'statement', '--tenant', 'acme', '--month', '2026-11', '--data-dir', dataDir, '--format', 'json']);
      expect(run.code).toBe(0);
      const statement = JSON.parse(run.out) as StatementJson;
      expect(statement).toEqual(acmeNovember());
      expect(statement).toMatchObject({ tenant_id: 'acme', month: '2026-11', currency: 'USD', price_list: priceListOf(PRICES_AFTER) });
      expect(statement.lines[0]).toMatchObject({ line_no: 1, line: 'usage', usage_month: '2026-11' });
    });

    it('exports a statement as CSV, one row per line', async () => {
      const run = await usageTracker(['billing', 'statement', '--tenant', 'acme', '--month', '2026-11', '--data-dir', dataDir, '--format', 'csv']);
      expect(run.code).toBe(0);
      const rows = run.out.trim().split('\r\n');
      expect(rows[0]).toBe('tenant_id,month,line_no,line,usage_month,calls,billable_units,amount,currency,closed_at,closing_id');
      expect(rows.slice(1).map((row) => row.split(',').slice(3, 6))).toEqual(acmeNovember().lines.map((l) => [l.line, l.usage_month, String(l.calls)]));
    });

    it('prints a statement as a table with its total and prices', async () => {
      const run = await usageTracker(['billing', 'statement', '--tenant', 'acme', '--month', '2026-11', '--data-dir', dataDir]);
      expect(run.code).toBe(0);
      expect(run.out).toContain(`Statement of acme for 2026-11, in USD: closed 2026-12-01T08:00:00.000Z (closing ${closings()['2026-11'].closing.closing_id})`);
      expect(run.out).toMatch(/^\s+1\s+usage\s+2026-11\s/m);
      expect(run.out).toMatch(/^\s+2\s+adjustment\s+2026-10\s/m);
      expect(run.out).toMatch(new RegExp(`^\\s+total\\s+${acmeNovember().total.calls}\\s`, 'm'));
      expect(run.out).toContain('Prices used (per unit): * 0.0005 USD; GET /v1/products/{id} 0.001 USD; POST /v1/orders 0.015 USD');
    });

    it.each([
      [['--tenant', 'nobody', '--month', '2026-11'], 'No statement for tenant "nobody" in 2026-11: 2026-11 has statements for acme, globex, hooli, initech.'],
      [['--tenant', 'acme', '--month', '2027-01'], '2027-01 is not closed, so it has no statements yet. Close it with "usage-tracker billing close --month 2027-01" (with --aws for the statements in AWS).'],
    ])('answers %j with exit 1 and what is known', async (args, message) => {
      const run = await usageTracker(['billing', 'statement', ...args, '--data-dir', dataDir]);
      expect(run).toEqual({ code: 1, out: '', err: `usage-tracker: ${message}\n` });
    });
  });

  it.each([
    ['the current month', '2027-01', '2027-01-15T00:00:00Z', '2027-01 cannot be closed: it is not over yet (it is 2027-01 UTC).'],
    ['a month after one not closed', '2027-03', '2027-04-02T00:00:00Z', '2027-03 cannot be closed: close 2027-01 first: months close in order'],
    ['a month before the first closed', '2026-09', '2027-04-02T00:00:00Z', '2026-09 cannot be closed: billing starts with 2026-10 and runs to 2026-12, closed already'],
  ])('refuses to close %s with exit 1, writing nothing', async (_label, month, now, message) => {
    const before = await statementFiles(dataDir);
    const run = await usageTracker(['billing', 'close', '--month', month, '--data-dir', dataDir], now);
    expect(run.code).toBe(1);
    expect(run.err).toContain(`usage-tracker: ${message}`);
    expect(await statementFiles(dataDir)).toEqual(before);
  });

  it.each([
    [['close', '--month', '2026-13'], '--month must be YYYY-MM (month 01-12), e.g. 2026-10; got "2026-13".'],
    [['close', '--month', '2026-1'], '--month must be YYYY-MM (month 01-12), e.g. 2026-10; got "2026-1".'],
    [['close'], 'billing needs --month YYYY-MM'],
    [['close', '--month', '2026-10', '--format', 'xml'], '--format must be one of table, csv, json; got "xml".'],
    [['close', '--month', '2026-10', '--tenant', 'acme'], '--tenant belongs to billing statement'],
    [['statement', '--month', '2026-10'], 'billing statement needs --tenant T'],
    [['statement', '--month', '2026-10', '--tenant', 'ac\u0007me'], '--tenant must be 1-128 characters without control characters'],
    [['statement', '--month', '2026-10', '--tenant', 'acme', '--stack', 'S'], 'not both'],
    [['refund'], 'Unknown billing subcommand "refund": close or statement.'],
    [['close', '--month', '2026-10', '--bogus'], "Unknown option '--bogus'"],
  ])('refuses billing %j with exit 2 before any engine runs', async (args, message) => {
    const run = await usageTracker(['billing', ...args, '--data-dir', path.join(dataDir, 'does-not-exist')]);
    expect(run.code).toBe(2);
    expect(run.err).toContain(message);
  });

  it('refuses a data folder that does not exist with exit 2', async () => {
    const run = await usageTracker(['billing', 'close', '--month', '2026-10', '--data-dir', path.join(dataDir, 'does-not-exist')]);
    expect(run.code).toBe(2);
    expect(run.err).toContain('does-not-exist" does not exist');
  });
});
