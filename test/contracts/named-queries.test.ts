import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Parser } from 'node-sql-parser';
import {
  NamedQuery,
  NamedQueryFormatError,
  QueryParameterError,
  TIME_WINDOWS,
  countPositionalParameters,
  describeParameterType,
  isValidParameterValue,
  loadNamedQueries,
  orderViewsByDependency,
  parseNamedQuery,
  parseParameterType,
  positionalValues,
  validateQueryParameters,
} from '../../contracts/named-queries';
import { RESERVED_TENANT_IDS } from '../../contracts/tenants';

describe('Function: countPositionalParameters', () => {
  it('counts placeholders outside strings, identifiers and comments', () => {
    const sql = `SELECT '?' AS "a?", x -- why?\nFROM t /* ? */ WHERE a = ? AND b = ?`;
    expect(countPositionalParameters(sql)).toBe(2);
  });
});

describe('Function: parseNamedQuery', () => {
  const file = '/q/calls_by_tenant.sql';
  const header = '-- name: calls_by_tenant\n-- description: x\n';

  it('reads the header, the typed parameters and the SQL', () => {
    const query = parseNamedQuery(
      file,
      [
        '-- name: calls_by_tenant',
        '-- description: Calls per tenant.',
        '-- param: month (month): Billing month',
        '-- param: day (date): A day',
        '-- param: top (integer 1..1000): How many rows',
        '-- param: at_least (integer 0..): Fewest calls',
        '-- param: window (enum last_hour | all): The window',
        '-- param: service (string): A service',
        'SELECT 1 WHERE m = ? AND d = ? LIMIT ? OFFSET ? AND w = ? AND s = ?;',
        '',
      ].join('\n'),
    );
    expect(query).toMatchObject({
      name: 'calls_by_tenant',
      description: 'Calls per tenant.',
      parameters: [
        { name: 'month', type: { kind: 'month' }, description: 'Billing month' },
        { name: 'day', type: { kind: 'date' }, description: 'A day' },
        { name: 'top', type: { kind: 'integer', min: 1, max: 1000 }, description: 'How many rows' },
        { name: 'at_least', type: { kind: 'integer', min: 0 }, description: 'Fewest calls' },
        { name: 'window', type: { kind: 'enum', values: ['last_hour', 'all'] }, description: 'The window' },
        { name: 'service', type: { kind: 'string' }, description: 'A service' },
      ],
      isView: false,
      sql: 'SELECT 1 WHERE m = ? AND d = ? LIMIT ? OFFSET ? AND w = ? AND s = ?',
    });
  });

  it('recognises views', () => {
    const query = parseNamedQuery(file, '-- name: calls_by_tenant\n-- description: A view.\nCREATE OR REPLACE VIEW calls_by_tenant AS SELECT 1');
    expect(query.isView).toBe(true);
  });

  it.each([
    ['no name', '-- description: x\nSELECT 1', 'calls_by_tenant.sql: the header needs exactly one "-- name:" line.'],
    ['a name that is not the file name', '-- name: other\n-- description: x\nSELECT 1', 'calls_by_tenant.sql: the header name "other" must equal the file name "calls_by_tenant" (lower_snake_case).'],
    ['no description', '-- name: calls_by_tenant\nSELECT 1', 'calls_by_tenant.sql: the header needs exactly one "-- description:" line.'],
    ['an undeclared placeholder', `${header}SELECT ?`, 'calls_by_tenant.sql: the SQL has 1 "?" placeholder(s) but the header declares 0 parameter(s).'],
    [
      'a parameter without a type',
      `${header}-- param: month: Billing month\nSELECT ?`,
      'calls_by_tenant.sql: "-- param: month: Billing month" must read "-- param: <name> (<type>): <description>", the name lower_snake_case, the type month, date, string, integer (optionally MIN..MAX) or enum (values separated by |).',
    ],
    ['an unknown type', `${header}-- param: month (yearmonth): Billing month\nSELECT ?`, 'calls_by_tenant.sql: parameter "month": unknown parameter type "yearmonth"; the types are month, date, string, integer (optionally MIN..MAX) or enum (values separated by |).'],
    ['reversed integer bounds', `${header}-- param: top (integer 10..1): Rows\nSELECT ?`, 'calls_by_tenant.sql: parameter "top": integer bounds must not be reversed; got "integer 10..1".'],
    ['an empty integer range', `${header}-- param: top (integer ..): Rows\nSELECT ?`, 'calls_by_tenant.sql: parameter "top": integer bounds need a minimum, a maximum or both ("integer 1..1000"); got "integer ..".'],
    ['an enum value with a space', `${header}-- param: w (enum last hour | all): Window\nSELECT ?`, 'calls_by_tenant.sql: parameter "w": enum values are letters, digits and _ . : - separated by "|"; got "last hour" in "enum last hour | all".'],
    ['a repeated enum value', `${header}-- param: w (enum all | all): Window\nSELECT ?`, 'calls_by_tenant.sql: parameter "w": enum values must differ; got "enum all | all".'],
    ['a parameter declared twice', `${header}-- param: day (date): A\n-- param: day (date): B\nSELECT ?, ?`, 'calls_by_tenant.sql: the header declares parameter "day" more than once.'],
    ['a view named after another file', `${header}CREATE VIEW other_view AS SELECT 1`, 'calls_by_tenant.sql: the view is named "other_view" but the query "calls_by_tenant": name it after its file.'],
    ['no SQL', '-- name: calls_by_tenant\n-- description: x\n', 'calls_by_tenant.sql: the file has a header but no SQL.'],
  ])('refuses %s', (_label, text, message) => {
    expect(() => parseNamedQuery(file, text)).toThrow(NamedQueryFormatError);
    expect(() => parseNamedQuery(file, text)).toThrow(message);
  });
});

describe('Function: parseParameterType', () => {
  it.each([
    ['month', { kind: 'month' }],
    ['date', { kind: 'date' }],
    ['string', { kind: 'string' }],
    ['integer', { kind: 'integer' }],
    ['integer -5..5', { kind: 'integer', min: -5, max: 5 }],
    ['integer ..100', { kind: 'integer', max: 100 }],
    ['enum a|b.c|d-e', { kind: 'enum', values: ['a', 'b.c', 'd-e'] }],
  ])('reads "%s"', (spec, type) => {
    expect(parseParameterType(spec)).toEqual(type);
  });

  it.each(['Month', 'timestamp', 'integer 1.5..2', 'enum', ''])('refuses "%s" with a message', (spec) => {
    expect(typeof parseParameterType(spec)).toBe('string');
  });
});

describe('Function: isValidParameterValue', () => {
  it.each([
    ['month', ['2026-01', '2026-12', '1999-07'], ['2026-13', '2026-00', '2026-1', '26-11', '2026-11-01', '2026-11 ', ' 2026-11', '202611', '']],
    [
      'date',
      ['2026-11-05', '2024-02-29', '2000-02-29', '2026-12-31'],
      ['2026-11-5', '2026-1-05', '2026-02-29', '1900-02-29', '2026-04-31', '2026-13-01', '2026-11-00', '2026-11-05T00:00:00Z', '20261105', 'yesterday'],
    ],
  ] as const)('%s takes only padded, real values', (kind, good, bad) => {
    for (const value of good) expect([value, isValidParameterValue({ kind }, value)]).toEqual([value, true]);
    for (const value of bad) expect([value, isValidParameterValue({ kind }, value)]).toEqual([value, false]);
  });

  it('integer takes whole numbers within its bounds, written plainly', () => {
    const type = { kind: 'integer', min: 1, max: 1000 } as const;
    expect(['1', '999', '1000'].map((v) => isValidParameterValue(type, v))).toEqual([true, true, true]);
    expect(['0', '1001', '-1', '01', '1.0', '1e3', '+5', ' 5', '', '0x10', '99999999999999999999'].map((v) => isValidParameterValue(type, v))).toEqual(Array(11).fill(false));
    expect(isValidParameterValue({ kind: 'integer' }, '-42')).toBe(true);
  });

  it('enum takes exactly its values; string takes short text without control characters', () => {
    expect(isValidParameterValue({ kind: 'enum', values: ['a', 'b'] }, 'a')).toBe(true);
    expect(isValidParameterValue({ kind: 'enum', values: ['a', 'b'] }, 'A')).toBe(false);
    expect(isValidParameterValue({ kind: 'string' }, 'orders-service')).toBe(true);
    expect(['', 'x'.repeat(257), 'a\nb', 'a\u0000'].map((v) => isValidParameterValue({ kind: 'string' }, v))).toEqual([false, false, false, false]);
  });
});

describe('Function: validateQueryParameters', () => {
  const query = parseNamedQuery(
    '/q/report.sql',
    '-- name: report\n-- description: x\n-- param: month (month): Billing month\n-- param: top (integer 1..100): Rows\n-- param: window (enum last_hour | all): Window\nSELECT ?, ?, ?',
  );
  const problems = (given: [string, string][]) => {
    try {
      validateQueryParameters(query, given, { prefix: '--param ' });
    } catch (error) {
      expect(error).toBeInstanceOf(QueryParameterError);
      return (error as QueryParameterError).problems.map((p) => [p.kind, p.parameter, p.message]);
    }
    throw new Error('no problem found');
  };
  const valid: [string, string][] = [
    ['month', '2026-11'],
    ['top', '10'],
    ['window', 'all'],
  ];

  it('returns the values by name, and positionalValues orders them as the placeholders', () => {
    const values = validateQueryParameters(query, [valid[2], valid[0], valid[1]]);
    expect(values).toEqual({ month: '2026-11', top: '10', window: 'all' });
    expect(positionalValues(query, values)).toEqual(['2026-11', '10', 'all']);
  });

  it('refuses a malformed value, naming the parameter and the form expected', () => {
    expect(problems([['month', '2026-13'], valid[1], valid[2]])).toEqual([['malformed', 'month', '--param month=2026-13: month must be a month as YYYY-MM (01-12); got "2026-13"']]);
    expect(problems([['month', '2026-1'], valid[1], valid[2]])).toEqual([['malformed', 'month', '--param month=2026-1: month must be a month as YYYY-MM (01-12); got "2026-1"']]);
    expect(problems([valid[0], ['top', '0'], valid[2]])).toEqual([['malformed', 'top', '--param top=0: top must be a whole number from 1 to 100; got "0"']]);
    expect(problems([valid[0], valid[1], ['window', 'forever']])).toEqual([['malformed', 'window', '--param window=forever: window must be one of last_hour, all; got "forever"']]);
  });

  it('refuses missing, unknown and repeated parameters, all at once', () => {
    expect(problems([['mnth', '2026-11'], ['top', '1'], ['top', '2']])).toEqual([
      ['unknown', 'mnth', '--param mnth is not a parameter of report; it takes month=YYYY-MM, top=N, window=last_hour|all'],
      ['repeated', 'top', '--param top is given 2 times ("1", "2"); give it once, as a whole number from 1 to 100'],
      ['missing', 'month', 'report needs --param month=YYYY-MM: Billing month [a month as YYYY-MM (01-12)]'],
      ['missing', 'window', 'report needs --param window=last_hour|all: Window [one of last_hour, all]'],
    ]);
  });

  it('refuses a repeated parameter even when both values are the same', () => {
    expect(problems([...valid, ['month', '2026-11']])).toEqual([['repeated', 'month', '--param month is given 2 times ("2026-11", "2026-11"); give it once, as a month as YYYY-MM (01-12)']]);
  });

  it('says without a prefix what a URL caller gave', () => {
    expect(() => validateQueryParameters(query, [['month', '2026-13'], valid[1], valid[2]])).toThrow('month=2026-13: month must be a month as YYYY-MM (01-12); got "2026-13"');
    expect(() => validateQueryParameters(parseNamedQuery('/q/plain.sql', '-- name: plain\n-- description: x\nSELECT 1'), [['a', '1']])).toThrow('a is not a parameter of plain; it takes no parameters');
  });
});

describe('Function: orderViewsByDependency', () => {
  const view = (name: string, sql: string): NamedQuery => parseNamedQuery(`/q/${name}.sql`, `-- name: ${name}\n-- description: x\n${sql}`);

  it('puts a view after the views it reads, whatever their names', () => {
    const a = view('a_totals', 'CREATE OR REPLACE VIEW a_totals AS SELECT * FROM z_base JOIN "m_middle" USING (id)');
    const m = view('m_middle', 'CREATE OR REPLACE VIEW m_middle AS SELECT * FROM z_base');
    const z = view('z_base', "CREATE OR REPLACE VIEW z_base AS SELECT * FROM usage_events -- not a_totals\nWHERE x <> 'a_totals'");
    expect(orderViewsByDependency([a, m, z]).map((v) => v.name)).toEqual(['z_base', 'm_middle', 'a_totals']);
    expect(orderViewsByDependency([z, a, m]).map((v) => v.name)).toEqual(['z_base', 'm_middle', 'a_totals']);
  });

  it('keeps independent views in name order, and refuses a cycle', () => {
    expect(orderViewsByDependency([view('b_view', 'CREATE VIEW b_view AS SELECT 1'), view('a_view', 'CREATE VIEW a_view AS SELECT 1')]).map((v) => v.name)).toEqual(['a_view', 'b_view']);
    const cycle = [view('a_view', 'CREATE VIEW a_view AS SELECT * FROM b_view'), view('b_view', 'CREATE VIEW b_view AS SELECT * FROM a_view')];
    expect(() => orderViewsByDependency(cycle)).toThrow('a_view.sql: the views a_view, b_view read each other in a cycle; no order creates them.');
  });

  it('is what loadNamedQueries returns: views by dependency, then the others by name', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'queries-'));
    try {
      writeFileSync(path.join(dir, 'a_billable.sql'), '-- name: a_billable\n-- description: x\nCREATE OR REPLACE VIEW a_billable AS SELECT * FROM b_deduped');
      writeFileSync(path.join(dir, 'b_deduped.sql'), '-- name: b_deduped\n-- description: x\nCREATE OR REPLACE VIEW b_deduped AS SELECT * FROM usage_events');
      writeFileSync(path.join(dir, 'a_report.sql'), '-- name: a_report\n-- description: x\nSELECT * FROM a_billable');
      expect(loadNamedQueries(dir).map((q) => q.name)).toEqual(['b_deduped', 'a_billable', 'a_report']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Function: loadNamedQueries', () => {
  it("loads the project's queries: the views first, each after the views it reads", () => {
    const queries = loadNamedQueries();
    const views = queries.filter((q) => q.isView).map((q) => q.name);
    expect(queries.slice(0, views.length).every((q) => q.isView)).toBe(true);
    expect(views.indexOf('usage_events_deduped')).toBeLessThan(views.indexOf('billable_usage_events'));
    expect(views[0]).toBe('usage_events_deduped');
    expect(queries.find((q) => q.name === 'billing_by_tenant')?.parameters).toEqual([{ name: 'month', type: { kind: 'month' }, description: expect.any(String) as unknown }]);
  });
});

describe('queries/*.sql as Athena (Trino) SQL', () => {
  const parser = new Parser();
  const queries = loadNamedQueries();

  it('holds the whole set analysts rely on', () => {
    expect(queries.map((q) => q.name)).toEqual(
      expect.arrayContaining([
        'account_events_by_tenant',
        'billable_usage_events',
        'billing_by_tenant',
        'duplicate_event_ids',
        'error_rates',
        'feature_usage',
        'latency_by_operation',
        'rate_limited_by_tenant',
        'rejected_records',
        'traffic_summary',
        'traffic_timeline',
        'trending_features',
        'usage_by_api_key',
        'usage_events_deduped',
      ]),
    );
  });

  it.each(queries.map((q) => [q.name, q] as const))('%s parses as Trino SQL', (_name, query) => {
    expect(() => parser.astify(query.sql, { database: 'trino' })).not.toThrow();
  });

  it('a parser that rejects broken SQL (the check can fail)', () => {
    expect(() => parser.astify('SELECT FROM WHERE ?', { database: 'trino' })).toThrow();
  });

  it.each(queries.filter((q) => !q.isView).map((q) => [q.name, q] as const))('%s reads the deduplicated views, never the raw table', (_name, query) => {
    if (query.name === 'duplicate_event_ids') { expect(query.sql).toMatch(/FROM usage_events\b(?!_)/); return; }
    // The rejects are records that never became usage events.
    if (query.name === 'rejected_records') { expect(query.sql).toMatch(/FROM curation_errors\b/); return; }
    // Account events are not usage events: their table keeps every delivery, and the query one per detail.eventId.
    if (query.name === 'account_events_by_tenant') { expect(query.sql).toMatch(/FROM account_events\b[\s\S]*GROUP BY detail\.eventId\b/); return; }
    expect(query.sql).toMatch(/FROM (usage_events_deduped|billable_usage_events)\b/);
    expect(query.sql).not.toMatch(/FROM usage_events\b(?!_)/);
  });

  it('the windowed queries take exactly the windows of TIME_WINDOWS, and handle each', () => {
    const windowed = queries.filter((q) => q.parameters.some((p) => p.name === 'window'));
    expect(windowed.map((q) => q.name).sort()).toEqual(['traffic_summary', 'traffic_timeline']);
    for (const query of windowed) {
      expect(query.parameters.find((p) => p.name === 'window')!.type).toEqual({ kind: 'enum', values: [...TIME_WINDOWS] });
      for (const window of TIME_WINDOWS) expect(query.sql).toContain(`WHEN '${window}'`);
    }
  });

  it('names months "month" and dates *_date or as_of, typed so', () => {
    for (const parameter of queries.flatMap((q) => q.parameters)) {
      if (parameter.name === 'month') expect(parameter.type).toEqual({ kind: 'month' });
      if (/_date$|^as_of$/.test(parameter.name)) expect(parameter.type).toEqual({ kind: 'date' });
    }
  });
});

describe('One definition of "billable"', () => {
  const queries = loadNamedQueries();
  const billable = queries.find((q) => q.name === 'billable_usage_events')!;

  it('billable_usage_events is a view over the deduplicated events', () => {
    expect(billable.isView).toBe(true);
    expect(billable.sql).toMatch(/^CREATE OR REPLACE VIEW billable_usage_events AS\s+SELECT \*\s+FROM usage_events_deduped\s+WHERE /);
  });

  it('leaves out server errors and refused calls', () => {
    expect(billable.sql).toMatch(/status_code < 500/);
    expect(billable.sql).toMatch(/status_code NOT IN \(401, 403, 429\)/);
  });

  it("leaves out exactly the contract's reserved tenant ids", () => {
    const list = /tenant_id NOT IN \(([^)]*)\)/.exec(billable.sql);
    expect(list).not.toBeNull();
    const ids = list![1].split(',').map((id) => id.trim().replace(/^'(.*)'$/, '$1'));
    expect(ids.sort()).toEqual(Object.values(RESERVED_TENANT_IDS).sort());
  });

  it('billing_by_tenant and usage_by_api_key read it, and no other query restates it', () => {
    for (const name of ['billing_by_tenant', 'usage_by_api_key']) expect(queries.find((q) => q.name === name)!.sql).toMatch(/FROM billable_usage_events\b/);
    const restating = queries.filter((q) => q !== billable && /NOT IN \(401, 403, 429\)|NOT IN \('anonymous'/.test(q.sql)).map((q) => q.name);
    expect(restating).toEqual([]);
  });
});

describe('Function: describeParameterType', () => {
  it('says the form a value takes', () => {
    expect(describeParameterType({ kind: 'integer', max: 5 })).toBe('a whole number of at most 5');
    expect(describeParameterType({ kind: 'integer', min: 0 })).toBe('a whole number of at least 0');
    expect(describeParameterType({ kind: 'integer' })).toBe('a whole number');
    expect(describeParameterType({ kind: 'date' })).toBe('a date as YYYY-MM-DD (a real calendar date)');
  });
});
