import {
  STATEMENT_TABLES,
  closingRecordKey,
  isBillingMonth,
  monthOfStatementKey,
  nextMonth,
  previousMonth,
  statementKey,
  tenantOfStatementKey,
} from '../../../contracts/billing-statements';
import {
  BILLABLE_MONTHS_BEFORE_SQL,
  BILLED_USAGE_SQL,
  BillingLedger,
  BillingRow,
  PRICE_LIST_SQL,
  UNBILLED_EVENTS_SQL,
  closeMonth,
  readStatement,
} from '../../../local/billing/month-closing';
import {
  BilledUsage,
  MonthNotClosableError,
  PriceListError,
  StatementFormatError,
  StatementNotFoundError,
  buildStatements,
  parseClosing,
  parseStatement,
  serializeClosing,
  serializeStatement,
  settlePriceList,
} from '../../../local/billing/statements';

const PRICES = settlePriceList([
  { operation: '*', unitPrice: 0.0004, currency: 'USD' },
  { operation: 'POST /v1/orders', unitPrice: 0.0125, currency: 'USD' },
]);
const CONTEXT = { month: '2026-11', closingId: 'c-1', closedAt: '2026-12-01T08:00:00.000Z', currency: PRICES.currency, priceList: PRICES.entries };
const usage = (tenantId: string, usageMonth: string, operation: string, calls: number, billableUnits = calls): BilledUsage => ({
  tenantId,
  usageMonth,
  operation,
  calls,
  billableUnits,
});

describe('Function: settlePriceList', () => {
  it('keeps one price per operation, the highest, sorted by operation', () => {
    const settled = settlePriceList([
      { operation: 'GET /v1/a', unitPrice: 0.002, currency: 'EUR' },
      { operation: '*', unitPrice: 0.001, currency: 'EUR' },
      { operation: 'GET /v1/a', unitPrice: 0.003, currency: 'EUR' },
      { operation: null, unitPrice: null, currency: null },
    ]);
    expect(settled).toEqual({
      currency: 'EUR',
      entries: [
        { operation: '*', unitPrice: 0.001, currency: 'EUR' },
        { operation: 'GET /v1/a', unitPrice: 0.003, currency: 'EUR' },
      ],
    });
  });

  it.each([
    ['an empty list', [], 'it is empty'],
    ['mixed currencies', [{ operation: '*', unitPrice: 1, currency: 'USD' }, { operation: 'x', unitPrice: 1, currency: 'EUR' }], 'every row needs the same currency (a statement has one); got EUR, USD.'],
    ['a negative price', [{ operation: '*', unitPrice: -1, currency: 'USD' }], 'unit_price must be a number of at least 0; got -1 for "*".'],
    ['a missing price', [{ operation: '*', unitPrice: null, currency: 'USD' }], 'unit_price must be a number of at least 0; got null for "*".'],
  ])('refuses %s', (_label, rows, message) => {
    expect(() => settlePriceList(rows)).toThrow(PriceListError);
    expect(() => settlePriceList(rows)).toThrow(message);
  });
});

describe('Function: buildStatements', () => {
  it('prices each operation (its own row, else "*"), one statement per tenant, usage first then adjustments by month', () => {
    const statements = buildStatements(CONTEXT, [
      usage('globex', '2026-11', 'GET /v1/users', 3, 4.5),
      usage('acme', '2026-10', 'POST /v1/orders', 1),
      usage('acme', '2026-11', 'POST /v1/orders', 2),
      usage('acme', '2026-09', 'GET /v1/users', 7),
      usage('acme', '2026-11', 'GET /v1/users', 10),
    ]);
    expect(statements.map((s) => s.tenantId)).toEqual(['acme', 'globex']);
    expect(statements[0].lines).toEqual([
      { kind: 'usage', usageMonth: '2026-11', calls: 12, billableUnits: 12, amount: 0.029 },
      { kind: 'adjustment', usageMonth: '2026-09', calls: 7, billableUnits: 7, amount: 0.0028 },
      { kind: 'adjustment', usageMonth: '2026-10', calls: 1, billableUnits: 1, amount: 0.0125 },
    ]);
    expect(statements[0].total).toEqual({ calls: 20, billableUnits: 20, amount: 0.0443 });
    expect(statements[1]).toMatchObject({ lines: [{ kind: 'usage', calls: 3, billableUnits: 4.5, amount: 0.0018 }], currency: 'USD', closingId: 'c-1' });
  });

  it('rounds each line to 6 decimals', () => {
    const [statement] = buildStatements({ ...CONTEXT, priceList: [{ operation: '*', unitPrice: 0.0000003, currency: 'USD' }] }, [usage('acme', '2026-11', 'x', 5)]);
    expect(statement.lines[0].amount).toBe(0.000002);
  });

  it('refuses an operation the price list cannot price', () => {
    const list = [{ operation: 'POST /v1/orders', unitPrice: 0.0125, currency: 'USD' }];
    expect(() => buildStatements({ ...CONTEXT, priceList: list }, [usage('acme', '2026-11', 'GET /v1/users', 1)])).toThrow('no price for "GET /v1/users" and no "*" row');
  });
});

describe('Stored form', () => {
  const [statement] = buildStatements(CONTEXT, [usage('acme', '2026-11', 'POST /v1/orders', 2), usage('acme', '2026-10', 'GET /v1/users', 1)]);

  it('writes a statement as one JSON line per statement line, with the contract columns, and reads it back', () => {
    const text = serializeStatement(statement);
    const rows = text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((row) => Object.keys(row))).toEqual(rows.map(() => STATEMENT_TABLES.statements.columns.map((c) => c.name)));
    expect(rows.map((row) => [row.line_no, row.line, row.usage_month])).toEqual([
      [1, 'usage', '2026-11'],
      [2, 'adjustment', '2026-10'],
    ]);
    expect(JSON.parse(rows[0].price_list as string)).toEqual([
      { operation: '*', unit_price: 0.0004, currency: 'USD' },
      { operation: 'POST /v1/orders', unit_price: 0.0125, currency: 'USD' },
    ]);
    expect(parseStatement('k', '2026-11', text)).toEqual(statement);
  });

  it('writes the closing record as one JSON line with the contract columns, and reads it back', () => {
    const closing = { ...CONTEXT, statements: 1, calls: 3, billableUnits: 3, amount: 0.0254, billedEvents: 3 };
    const text = serializeClosing(closing);
    expect(Object.keys(JSON.parse(text) as Record<string, unknown>)).toEqual(STATEMENT_TABLES.closings.columns.map((c) => c.name));
    expect(parseClosing('k', '2026-11', text)).toEqual(closing);
  });

  it.each([
    ['not JSON', 'nope\n', 'k: a line is not a JSON object'],
    ['no lines', '\n', 'k: the statement has no lines.'],
    ['a bad field', '{"tenant_id":"a","line":"refund"}\n', 'k: field "line" is "refund".'],
  ])('refuses a statement object that is %s', (_label, text, message) => {
    expect(() => parseStatement('k', '2026-11', text)).toThrow(StatementFormatError);
    expect(() => parseStatement('k', '2026-11', text)).toThrow(message);
  });
});

describe('Contract: billing months and statement keys', () => {
  it.each(['2026-13', '2026-1', '2026-00', '26-11', '2026-11-01', ' 2026-11'])('refuses the month "%s"', (month) => {
    expect(isBillingMonth(month)).toBe(false);
  });

  it('steps months across years', () => {
    expect([nextMonth('2026-12'), previousMonth('2027-01'), nextMonth('2026-09')]).toEqual(['2027-01', '2026-12', '2026-10']);
  });

  it.each(['acme', '_hidden', '.dot', 'a/b', 'Tenant Ü 1'])('keeps the tenant id "%s" in one safe, visible object name', (tenant) => {
    const key = statementKey('2026-11', tenant);
    expect(key.startsWith('statements/lines/month=2026-11/statement-')).toBe(true);
    expect(key.slice('statements/lines/month=2026-11/'.length)).not.toContain('/');
    expect(tenantOfStatementKey(key)).toBe(tenant);
    expect(monthOfStatementKey(STATEMENT_TABLES.statements, key)).toBe('2026-11');
  });

  it('names the closing record after its month', () => {
    expect(closingRecordKey('2026-11')).toBe('statements/closings/month=2026-11/closing.json');
  });
});

/** The lake in memory: objects in a map, SQL answered per statement text. */
function memoryLedger(answers: { billableBefore?: BillingRow[]; prices?: BillingRow[]; usage?: BillingRow[] } = {}) {
  const objects = new Map<string, string>();
  const unloads: { parameters: readonly string[]; prefix: string }[] = [];
  const discarded: string[] = [];
  const selects: string[] = [];
  const ledger: BillingLedger = {
    objects: {
      get: (key) => Promise.resolve(objects.get(key)),
      putIfAbsent: (key, body) => {
        if (objects.has(key)) return Promise.resolve(false);
        objects.set(key, body);
        return Promise.resolve(true);
      },
      list: (prefix) => Promise.resolve([...objects.keys()].filter((key) => key.startsWith(prefix)).sort()),
    },
    engine: {
      select: (sql) => {
        selects.push(sql);
        if (sql === BILLABLE_MONTHS_BEFORE_SQL) return Promise.resolve(answers.billableBefore ?? []);
        if (sql === PRICE_LIST_SQL) return Promise.resolve(answers.prices ?? [{ operation: '*', unit_price: 0.001, currency: 'USD' }]);
        if (sql === BILLED_USAGE_SQL) return Promise.resolve(answers.usage ?? []);
        return Promise.reject(new Error(`unexpected SQL ${sql}`));
      },
      unload: (select, parameters, prefix) => {
        if (select !== UNBILLED_EVENTS_SQL) return Promise.reject(new Error(`unexpected unload ${select}`));
        unloads.push({ parameters, prefix });
        return Promise.resolve();
      },
      discard: (prefix) => {
        discarded.push(prefix);
        return Promise.resolve();
      },
    },
  };
  return { ledger, objects, unloads, discarded, selects };
}

const USAGE_ROWS = [
  { tenant_id: 'acme', usage_month: '2026-10', operation: 'GET /v1/a', calls: 4, events: 4, billable_units: 4 },
  { tenant_id: 'globex', usage_month: '2026-10', operation: 'GET /v1/a', calls: 1, events: 1, billable_units: 2 },
];

describe('Function: closeMonth (in memory)', () => {
  const now = new Date('2026-11-05T09:00:00Z');

  it('records the billed events, commits the closing record, then writes one statement per tenant', async () => {
    const { ledger, objects, unloads } = memoryLedger({ usage: USAGE_ROWS });
    const result = await closeMonth(ledger, { month: '2026-10', now, closingId: 'c-oct' });
    expect(result).toMatchObject({ outcome: 'closed', written: 2, closing: { month: '2026-10', closingId: 'c-oct', statements: 2, calls: 5, billableUnits: 6, amount: 0.006, billedEvents: 5 } });
    expect(unloads).toEqual([{ parameters: ['c-oct', '2026-10'], prefix: 'statements/billed_events/month=2026-10/closing=c-oct/' }]);
    expect([...objects.keys()].sort()).toEqual(['statements/closings/month=2026-10/closing.json', statementKey('2026-10', 'acme'), statementKey('2026-10', 'globex')].sort());
  });

  it('closes a month with nothing to bill: a closing record and no statement', async () => {
    const { ledger, objects } = memoryLedger({ usage: [] });
    const result = await closeMonth(ledger, { month: '2026-10', now, closingId: 'c-empty' });
    expect(result).toMatchObject({ outcome: 'closed', written: 0, statements: [], closing: { statements: 0, calls: 0, amount: 0, billedEvents: 0 } });
    expect([...objects.keys()]).toEqual([closingRecordKey('2026-10')]);
    expect(await closeMonth(ledger, { month: '2026-10', now })).toMatchObject({ outcome: 'already-closed', written: 0, statements: [] });
    await expect(readStatement(ledger.objects, '2026-10', 'acme')).rejects.toThrow('No statement for tenant "acme" in 2026-10: 2026-10 was closed with no billable calls.');
  });

  it('writes nothing for a month closed already, and returns its statements', async () => {
    const { ledger, objects, unloads, selects } = memoryLedger({ usage: USAGE_ROWS });
    await closeMonth(ledger, { month: '2026-10', now, closingId: 'c-oct' });
    const before = new Map(objects);
    const again = await closeMonth(ledger, { month: '2026-10', now: new Date('2026-12-20T00:00:00Z'), closingId: 'c-again' });
    expect(again).toMatchObject({ outcome: 'already-closed', written: 0, closing: { closingId: 'c-oct' } });
    expect(again.statements.map((s) => s.tenantId)).toEqual(['acme', 'globex']);
    expect(objects).toEqual(before);
    expect(unloads).toHaveLength(1);
    expect(selects.filter((sql) => sql === BILLED_USAGE_SQL)).toHaveLength(1);
  });

  it('loses a race to commit without a trace: the other closing is the month\'s', async () => {
    const { ledger, objects, discarded } = memoryLedger({ usage: USAGE_ROWS });
    const winner = memoryLedger({ usage: [USAGE_ROWS[0]] });
    await closeMonth(winner.ledger, { month: '2026-10', now, closingId: 'c-winner' });
    // The winner commits between this closing's check and its commit.
    const putIfAbsent = ledger.objects.putIfAbsent.bind(ledger.objects);
    ledger.objects.putIfAbsent = async (key, body) => {
      if (key === closingRecordKey('2026-10')) for (const [k, v] of winner.objects) objects.set(k, v);
      return putIfAbsent(key, body);
    };
    const result = await closeMonth(ledger, { month: '2026-10', now, closingId: 'c-loser' });
    expect(result).toMatchObject({ outcome: 'already-closed', written: 0, closing: { closingId: 'c-winner', statements: 1 } });
    expect(result.statements.map((s) => s.tenantId)).toEqual(['acme']);
    expect(discarded).toEqual(['statements/billed_events/month=2026-10/closing=c-loser/']);
  });

  it('completes the statements of a closing that stopped after its commit, from what it recorded', async () => {
    const { ledger, objects } = memoryLedger({ usage: USAGE_ROWS });
    await closeMonth(ledger, { month: '2026-10', now, closingId: 'c-oct' });
    const acme = objects.get(statementKey('2026-10', 'acme'));
    objects.delete(statementKey('2026-10', 'globex'));
    const again = await closeMonth(ledger, { month: '2026-10', now });
    expect(again).toMatchObject({ outcome: 'already-closed', written: 1 });
    expect(objects.get(statementKey('2026-10', 'acme'))).toBe(acme);
    expect(again.statements.map((s) => [s.tenantId, s.closingId, s.total.calls])).toEqual([
      ['acme', 'c-oct', 4],
      ['globex', 'c-oct', 1],
    ]);
  });

  it.each([
    ['the month is not over', '2026-11', [], 'it is not over yet (it is 2026-11 UTC)'],
    ['a later month is closed', '2026-08', ['2026-09', '2026-10'], 'billing starts with 2026-09 and runs to 2026-10, closed already'],
    ['a month is skipped', '2026-10', ['2026-08'], 'close 2026-09 first: months close in order'],
  ])('refuses to close when %s, before any query', async (_label, month, closed, message) => {
    const { ledger, objects, selects, unloads } = memoryLedger();
    for (const m of closed) objects.set(closingRecordKey(m), serializeClosing({ month: m, closingId: `c-${m}`, closedAt: '2026-11-01T00:00:00.000Z', currency: 'USD', priceList: [], statements: 0, calls: 0, billableUnits: 0, amount: 0, billedEvents: 0 }));
    const run = closeMonth(ledger, { month, now: new Date('2026-11-20T00:00:00Z') });
    await expect(run).rejects.toBeInstanceOf(MonthNotClosableError);
    await expect(run).rejects.toThrow(message);
    expect(selects).toEqual([]);
    expect(unloads).toEqual([]);
  });

  it('refuses a first closing while an earlier month has billable calls', async () => {
    const { ledger, unloads } = memoryLedger({ billableBefore: [{ usage_month: '2026-09', events: 12 }] });
    await expect(closeMonth(ledger, { month: '2026-10', now })).rejects.toThrow('2026-10 cannot be closed: 2026-09 has 12 billable calls and is not closed: close it first');
    expect(unloads).toEqual([]);
  });

  it('refuses to bill an event id the lake holds twice, and leaves nothing committed', async () => {
    const { ledger, objects, discarded } = memoryLedger({ usage: [{ ...USAGE_ROWS[0], calls: 5, events: 4 }] });
    await expect(closeMonth(ledger, { month: '2026-10', now, closingId: 'c-dup' })).rejects.toThrow('the lake holds an event id more than once (tenant acme, 2026-10, GET /v1/a)');
    expect(objects.size).toBe(0);
    expect(discarded).toEqual(['statements/billed_events/month=2026-10/closing=c-dup/']);
  });
});

describe('Function: readStatement (in memory)', () => {
  it('says when the month is not closed, or lists the tenants it has', async () => {
    const { ledger } = memoryLedger({ usage: USAGE_ROWS });
    await expect(readStatement(ledger.objects, '2026-10', 'acme')).rejects.toThrow('2026-10 is not closed, so it has no statements yet.');
    await closeMonth(ledger, { month: '2026-10', now: new Date('2026-11-05T09:00:00Z') });
    const missing = readStatement(ledger.objects, '2026-10', 'initech');
    await expect(missing).rejects.toBeInstanceOf(StatementNotFoundError);
    await expect(missing).rejects.toThrow('No statement for tenant "initech" in 2026-10: 2026-10 has statements for acme, globex.');
    expect((await readStatement(ledger.objects, '2026-10', 'globex')).statement.total).toEqual({ calls: 1, billableUnits: 2, amount: 0.002 });
  });
});
