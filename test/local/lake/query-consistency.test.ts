import { RESERVED_TENANT_IDS } from '../../../contracts/tenants';
import { LocalLake, QueryResult } from '../../../local/lake/local-lake';
import { openGeneratedLake, GeneratedLake } from '../../support/generated-lake';
import { CuratedEvent, expectedRateLimited, isBillable } from '../../support/expected-answers';

/** The last day of a month given as YYYY-MM. */
const lastDay = (month: string) => {
  const [year, mm] = month.split('-').map(Number);
  return `${month}-${String(new Date(Date.UTC(year, mm, 0)).getUTCDate()).padStart(2, '0')}`;
};
const sum = (rows: readonly Record<string, unknown>[], column: string) => rows.reduce((total, row) => total + Number(row[column]), 0);
const reserved = Object.values(RESERVED_TENANT_IDS) as string[];

describe('The named queries agree where they overlap (billing_by_tenant, usage_by_api_key, rate_limited_by_tenant)', () => {
  let generated: GeneratedLake;
  let lake: LocalLake;
  let events: CuratedEvent[];

  beforeAll(async () => {
    generated = await openGeneratedLake('query-consistency');
    ({ lake, events } = generated);
  });

  afterAll(async () => {
    await generated.close();
  });

  describe.each(['2026-10', '2026-11'])('for %s', (month) => {
    let billing: QueryResult;
    let byKey: QueryResult;
    let limited: QueryResult;
    let inMonth: CuratedEvent[];

    beforeAll(async () => {
      billing = await lake.runNamedQuery('billing_by_tenant', { month });
      byKey = await lake.runNamedQuery('usage_by_api_key', { month });
      limited = await lake.runNamedQuery('rate_limited_by_tenant', { start_date: `${month}-01`, end_date: lastDay(month) });
      inMonth = events.filter((e) => e.month === month);
    });

    it('the data holds what could make them disagree: refused calls with keys, and reserved-tenant calls answered 2xx', () => {
      expect(inMonth.filter((e) => [401, 403, 429].includes(e.statusCode) && e.apiKeyId !== '').length).toBeGreaterThan(0);
      expect(inMonth.filter((e) => reserved.includes(e.tenantId) && e.statusCode < 300).length).toBeGreaterThan(0);
      expect(billing.rows.length).toBeGreaterThan(1);
    });

    it('per tenant, billing_by_tenant calls and units equal the sum of usage_by_api_key over its keys', () => {
      const tenants = [...new Set(byKey.rows.map((row) => row.tenant_id as string))].sort();
      expect(billing.rows.map((row) => row.tenant_id as string).sort()).toEqual(tenants);
      for (const bill of billing.rows) {
        const keys = byKey.rows.filter((row) => row.tenant_id === bill.tenant_id);
        expect([bill.tenant_id, bill.calls]).toEqual([bill.tenant_id, sum(keys, 'calls')]);
        expect(Number(bill.billable_units)).toBeCloseTo(sum(keys, 'billable_units'), 9);
      }
    });

    it('billing_by_tenant bills exactly the billable calls of an independent count, and no reserved tenant', () => {
      expect(sum(billing.rows, 'calls')).toBe(inMonth.filter(isBillable).length);
      expect(billing.rows.map((row) => row.tenant_id).filter((tenant) => reserved.includes(tenant as string))).toEqual([]);
      expect(byKey.rows.map((row) => row.tenant_id).filter((tenant) => reserved.includes(tenant as string))).toEqual([]);
    });

    it('rate_limited_by_tenant counts calls and 429s as an independent computation does', () => {
      const expected = expectedRateLimited(events, `${month}-01`, lastDay(month));
      const counts = (rows: readonly { tenant_id?: unknown; calls?: unknown; rate_limited?: unknown }[]) =>
        rows.map(({ tenant_id, calls, rate_limited }) => ({ tenant_id, calls, rate_limited })).sort((a, b) => String(a.tenant_id).localeCompare(String(b.tenant_id)));
      expect(counts(limited.rows)).toEqual(counts(expected));
    });

    it('per tenant, rate_limited_by_tenant calls = billed calls + the calls not billed (refused or server errors)', () => {
      for (const row of limited.rows) {
        const bill = billing.rows.find((b) => b.tenant_id === row.tenant_id);
        const notBilled = inMonth.filter((e) => e.tenantId === row.tenant_id && !isBillable(e)).length;
        expect([row.tenant_id, Number(row.calls)]).toEqual([row.tenant_id, Number(bill?.calls ?? 0) + notBilled]);
        expect(Number(row.calls) - Number(row.rate_limited)).toBeGreaterThanOrEqual(Number(bill?.calls ?? 0));
      }
    });
  });
});
