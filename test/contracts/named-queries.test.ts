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
