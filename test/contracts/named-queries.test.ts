import { Parser } from 'node-sql-parser';
import { countPositionalParameters, loadNamedQueries, parseNamedQuery } from '../../contracts/named-queries';

describe('Function: countPositionalParameters', () => {
  it('counts placeholders outside strings, identifiers and comments', () => {
    const sql = `SELECT '?' AS "a?", x -- why?\nFROM t /* ? */ WHERE a = ? AND b = ?`;
    expect(countPositionalParameters(sql)).toBe(2);
  });
});

describe('Function: parseNamedQuery', () => {
  const file = '/q/calls_by_tenant.sql';

  it('reads the header and the SQL', () => {
    const query = parseNamedQuery(
      file,
      '-- name: calls_by_tenant\n-- description: Calls per tenant.\n-- param: month: Month as YYYY-MM\nSELECT 1 WHERE m = ?;\n',
    );
    expect(query).toMatchObject({
      name: 'calls_by_tenant',
      description: 'Calls per tenant.',
      parameters: [{ name: 'month', description: 'Month as YYYY-MM' }],
      isView: false,
      sql: 'SELECT 1 WHERE m = ?',
    });
  });

  it('recognises views', () => {
    const query = parseNamedQuery(file, '-- name: calls_by_tenant\n-- description: A view.\nCREATE OR REPLACE VIEW v AS SELECT 1');
    expect(query.isView).toBe(true);
  });

  it.each([
    ['no name', '-- description: x\nSELECT 1', 'calls_by_tenant.sql: the header needs exactly one "-- name:" line.'],
    ['a name that is not the file name', '-- name: other\n-- description: x\nSELECT 1', 'calls_by_tenant.sql: the header name "other" must equal the file name "calls_by_tenant" (lower_snake_case).'],
    ['no description', '-- name: calls_by_tenant\nSELECT 1', 'calls_by_tenant.sql: the header needs exactly one "-- description:" line.'],
    ['an undeclared placeholder', '-- name: calls_by_tenant\n-- description: x\nSELECT ?', 'calls_by_tenant.sql: the SQL has 1 "?" placeholder(s) but the header declares 0 parameter(s).'],
    ['a malformed param', '-- name: calls_by_tenant\n-- description: x\n-- param: month\nSELECT ?', 'calls_by_tenant.sql: "-- param: month" must read "-- param: <name>: <description>".'],
    ['no SQL', '-- name: calls_by_tenant\n-- description: x\n', 'calls_by_tenant.sql: the file has a header but no SQL.'],
  ])('refuses %s', (_label, text, message) => {
    expect(() => parseNamedQuery(file, text)).toThrow(message);
  });
});

describe('Function: loadNamedQueries', () => {
  it("loads the project's queries, views first", () => {
    const queries = loadNamedQueries();
    expect(queries[0]).toMatchObject({ name: 'usage_events_deduped', isView: true });
    expect(queries.map((q) => q.name)).toContain('billing_by_tenant');
    expect(queries.find((q) => q.name === 'billing_by_tenant')?.parameters.map((p) => p.name)).toEqual(['month']);
  });
});

describe('queries/*.sql as Athena (Trino) SQL', () => {
  const parser = new Parser();
  const queries = loadNamedQueries();

  it('holds the whole set analysts rely on', () => {
    expect(queries.map((q) => q.name).sort()).toEqual(
      [
        'billing_by_tenant',
        'duplicate_event_ids',
        'error_rates',
        'feature_usage',
        'latency_by_operation',
        'rate_limited_by_tenant',
        'traffic_summary',
        'traffic_timeline',
        'trending_features',
        'usage_by_api_key',
        'usage_events_deduped',
      ].sort(),
    );
  });

  it.each(queries.map((q) => [q.name, q] as const))('%s parses as Trino SQL', (_name, query) => {
    expect(() => parser.astify(query.sql, { database: 'trino' })).not.toThrow();
  });

  it('a parser that rejects broken SQL (the check can fail)', () => {
    expect(() => parser.astify('SELECT FROM WHERE ?', { database: 'trino' })).toThrow();
  });

  it.each(queries.filter((q) => !q.isView).map((q) => [q.name, q] as const))('%s reads the deduplicated view, never the raw table', (_name, query) => {
    if (query.name === 'duplicate_event_ids') return expect(query.sql).toMatch(/FROM usage_events\b(?!_)/);
    expect(query.sql).toMatch(/FROM usage_events_deduped\b/);
    expect(query.sql).not.toMatch(/FROM usage_events\b(?!_)/);
  });
});
