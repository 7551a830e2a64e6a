import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { STATEMENT_TABLES, closingRecordKey, statementKey, statementPartitionPrefix } from '../../../contracts/billing-statements';
import { BillingLedger, closeMonth } from '../../../local/billing/month-closing';
import { LocalStatementObjects, localBillingLedger } from '../../../local/lake/billing-statements';
import { LocalLake } from '../../../local/lake/local-lake';
import { runCli } from '../../../local/cli/usage-tracker';
import { PRICES_BEFORE, expectedClosing, generateBillingDataset } from '../../support/billing-dataset';
import { capturingCliContext } from '../../support/cli-context';
import { writePriceList, writeRawObjects } from '../../support/usage-dataset';

const OCTOBER_CLOSED_AT = new Date('2026-11-05T09:00:00Z');

/** A data folder with October's traffic curated and a price list. */
async function octoberLake(): Promise<{ dataDir: string; deliveries: ReturnType<typeof generateBillingDataset>['beforeOctober']['deliveries'] }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'billing-lake-'));
  const { beforeOctober } = generateBillingDataset();
  writePriceList(dataDir, PRICES_BEFORE);
  writeRawObjects(dataDir, beforeOctober.objects);
  const lake = await LocalLake.open(dataDir);
  await lake.compact(OCTOBER_CLOSED_AT);
  await lake.close();
  return { dataDir, deliveries: beforeOctober.deliveries };
}

describe('Class: LocalStatementObjects', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'billing-objects-'));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('creates an object once: a second write of the key changes nothing, and the file is read-only', async () => {
    const objects = new LocalStatementObjects(dataDir);
    const key = statementKey('2026-10', 'acme');
    expect(await objects.putIfAbsent(key, 'first\n')).toBe(true);
    expect(await objects.putIfAbsent(key, 'second\n')).toBe(false);
    expect(await objects.get(key)).toBe('first\n');
    expect(statSync(path.join(dataDir, key)).mode & 0o222).toBe(0);
    expect(await objects.list(statementPartitionPrefix(STATEMENT_TABLES.statements, '2026-10'))).toEqual([key]);
    expect(readdirSync(path.dirname(path.join(dataDir, key)))).toEqual([path.basename(key)]);
  });

  it('refuses a key outside the data folder', async () => {
    await expect(new LocalStatementObjects(dataDir).get('../outside.json')).rejects.toThrow('"../outside.json" is outside the data folder.');
  });
});

describe('Function: closeMonth on DuckDB', () => {
  it('lets one of two concurrent closings of a month commit; the other answers with its statements and leaves no billed events behind', async () => {
    const { dataDir, deliveries } = await octoberLake();
    const tenants = expectedClosing(deliveries, new Set(), '2026-10', PRICES_BEFORE).statements.size;
    const [first, second] = [await LocalLake.open(dataDir), await LocalLake.open(dataDir)];
    try {
      // Both find October open and record their billed events; the first commits, then the second tries.
      let secondStaged!: () => void;
      const staged = new Promise<void>((resolve) => (secondStaged = resolve));
      const commitAfter = (ledger: BillingLedger, before: () => Promise<unknown>): BillingLedger => ({
        engine: ledger.engine,
        objects: {
          get: (key) => ledger.objects.get(key),
          list: (prefix) => ledger.objects.list(prefix),
          putIfAbsent: async (key, body) => (key === closingRecordKey('2026-10') && (await before()), ledger.objects.putIfAbsent(key, body)),
        },
      });
      const winner = closeMonth(commitAfter(localBillingLedger(first), () => staged), { month: '2026-10', now: OCTOBER_CLOSED_AT, closingId: 'c-first' });
      const raced = localBillingLedger(second);
      const unload = raced.engine.unload.bind(raced.engine);
      raced.engine.unload = async (...args) => {
        await unload(...args);
        secondStaged();
      };
      const [won, lost] = await Promise.all([winner, closeMonth(commitAfter(raced, () => winner), { month: '2026-10', now: OCTOBER_CLOSED_AT, closingId: 'c-second' })]);
      expect(won).toMatchObject({ outcome: 'closed', written: tenants, closing: { closingId: 'c-first' } });
      expect(lost).toMatchObject({ outcome: 'already-closed', written: 0, closing: { closingId: 'c-first' } });
      expect(lost.statements).toEqual(won.statements);
      expect(readdirSync(path.join(dataDir, statementPartitionPrefix(STATEMENT_TABLES.billedEvents, '2026-10')))).toEqual(['closing=c-first']);
    } finally {
      await first.close();
      await second.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('completes, on the next close, the statements a closing stopped before writing: the same ones, from what it recorded', async () => {
    const { dataDir, deliveries } = await octoberLake();
    const lake = await LocalLake.open(dataDir);
    try {
      const ledger = localBillingLedger(lake);
      let statementsWritten = 0;
      const stopping: BillingLedger = {
        engine: ledger.engine,
        objects: {
          get: (key) => ledger.objects.get(key),
          list: (prefix) => ledger.objects.list(prefix),
          putIfAbsent: async (key, body) => {
            if (key.startsWith(STATEMENT_TABLES.statements.prefix) && ++statementsWritten > 1) throw new Error('the process was stopped');
            return ledger.objects.putIfAbsent(key, body);
          },
        },
      };
      await expect(closeMonth(stopping, { month: '2026-10', now: OCTOBER_CLOSED_AT, closingId: 'c-stopped' })).rejects.toThrow('the process was stopped');
      expect(await ledger.objects.list(statementPartitionPrefix(STATEMENT_TABLES.statements, '2026-10'))).toHaveLength(1);
    } finally {
      await lake.close();
    }

    try {
      const context = Object.assign(capturingCliContext(), { now: () => new Date('2026-11-06T00:00:00Z') });
      expect(await runCli(['billing', 'close', '--month', '2026-10', '--data-dir', dataDir, '--format', 'json'], context)).toBe(0);
      const expected = expectedClosing(deliveries, new Set(), '2026-10', PRICES_BEFORE);
      const tenants = expected.statements.size;
      expect(context.err).toContain(`2026-10 was closed already at 2026-11-05T09:00:00.000Z (closing c-stopped): ${tenants} statements`);
      expect(context.err).toContain(`completed ${tenants - 1} statements a stopped closing had not written.`);
      const printed = JSON.parse(context.out) as { statements: { tenant_id: string; lines: { calls: number }[] }[] };
      const callsByTenant = [...expected.statements].sort(([a], [b]) => a.localeCompare(b)).map(([tenant, lines]) => [tenant, lines.map((l) => l.calls)]);
      expect(printed.statements.map((s) => [s.tenant_id, s.lines.map((l) => l.calls)])).toEqual(callsByTenant);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
