import { formatResult } from '../../../local/cli/output-format';
import { MAX_DECIMALS, columnDecimals, isMoneyColumn, tableNumber } from '../../../local/cli/output-numbers';

/** The cells of one column of a table as `formatResult` prints it (header and rule line skipped, the row count dropped). */
function tableColumn(columns: readonly string[], rows: readonly Record<string, unknown>[], column: string): string[] {
  const lines = formatResult({ columns, rows }, 'table').split('\n').slice(2, 2 + rows.length);
  const index = columns.indexOf(column);
  return lines.map((line) => line.trim().split(/\s{2,}/)[index]);
}

const shown = (column: string, values: readonly number[]) => {
  const decimals = columnDecimals(column, values);
  return values.map((value) => tableNumber(value, decimals));
};

describe('table output: numbers rounded to sensible digits per column', () => {
  it('shows an average latency of 14.056760330578511 as 14.06', () => {
    expect(shown('avg_latency_ms', [14.056760330578511])).toEqual(['14.06']);
  });

  it('shows a column of integers (counts) as it is, however large', () => {
    expect(columnDecimals('calls', [1187, 3, 0])).toBeUndefined();
    expect(shown('calls', [1187, 3, 0, 9_007_199_254_740_991])).toEqual(['1187', '3', '0', '9007199254740991']);
  });

  it('gives every value of a column with fractions the same decimals, so the decimal points line up', () => {
    expect(shown('p95_ms', [14.056760330578511, 3.5, 2])).toEqual(['14.06', '3.50', '2.00']);
    const cells = tableColumn(['operation', 'p95_ms'], [{ operation: 'GET /a', p95_ms: 14.056760330578511 }, { operation: 'GET /bb', p95_ms: 120 }, { operation: 'x', p95_ms: 3.5 }], 'p95_ms');
    expect(cells).toEqual(['14.06', '120.00', '3.50']);
    const table = formatResult({ columns: ['operation', 'p95_ms'], rows: [{ operation: 'GET /a', p95_ms: 14.056760330578511 }, { operation: 'GET /bb', p95_ms: 120 }] }, 'table');
    const points = table.split('\n').slice(2, 4).map((line) => line.indexOf('.', line.indexOf('  ')));
    expect(points[0]).toBe(points[1]);
  });

  it('shows no more decimals than a column needs: 15.5 and 8.5 billable units keep one', () => {
    expect(shown('billable_units', [15, 15.5, 8.5])).toEqual(['15.0', '15.5', '8.5']);
  });

  it('shows a fraction below 1 with 2 significant digits, at most 6 decimals', () => {
    expect(shown('error_rate', [0.25, 0.5])).toEqual(['0.25', '0.50']);
    expect(shown('error_rate', [0.012345, 0])).toEqual(['0.012', '0.000']);
    expect(shown('error_rate', [0.000123456])).toEqual(['0.00012']);
    expect(columnDecimals('growth', [0.0000012345])).toBe(MAX_DECIMALS);
    expect(shown('growth', [-0.375, 1.125])).toEqual(['-0.38', '1.13']);
  });

  it('never shows a value that is not zero as zero', () => {
    expect(shown('share', [1.234e-9])).toEqual(['1.2e-9']);
    expect(shown('share', [0, 1.234e-9])).toEqual(['0.000000', '1.2e-9']);
  });

  describe('money columns keep their micro-unit precision', () => {
    it.each(['amount', 'adjustment_amount', 'unit_price', 'cost'])('%s is a money column', (name) => {
      expect(isMoneyColumn(name)).toBe(true);
    });
    it.each(['amount_of_calls', 'calls', 'avg_latency_ms', 'error_rate', 'billable_units'])('%s is not', (name) => {
      expect(isMoneyColumn(name)).toBe(false);
    });

    it('shows every decimal an amount has, at least 2, the same for the whole column', () => {
      expect(shown('amount', [0.225, 0.0505, 0.0015, 0.00425])).toEqual(['0.22500', '0.05050', '0.00150', '0.00425']);
      expect(shown('amount', [12.5, 3])).toEqual(['12.50', '3.00']);
      expect(shown('amount', [0.123456])).toEqual(['0.123456']);
    });

    it('is not rounded like other columns: 0.004251 USD stays 0.004251 where a rate would show 0.0043', () => {
      expect(shown('amount', [0.004251])).toEqual(['0.004251']);
      expect(shown('rate', [0.004251])).toEqual(['0.0043']);
    });

    it('drops floating-point noise below a micro-unit, never a micro-unit', () => {
      expect(shown('amount', [0.1 + 0.2, 1])).toEqual(['0.30', '1.00']);
      expect(shown('amount', [1.2345674999])).toEqual(['1.234567']);
    });
  });

  it('leaves text, booleans, nulls and bigints given as text as they are', () => {
    const rows = [{ tenant_id: 'acme', healthy: true, p95: null, big: '9007199254740993' }];
    expect(formatResult({ columns: ['tenant_id', 'healthy', 'p95', 'big'], rows }, 'table').split('\n')[2].split(/\s+/)).toEqual(['acme', 'true', '9007199254740993']);
  });
});

describe('CSV and JSON output: for programs, every value exact', () => {
  const result = { columns: ['operation', 'avg_latency_ms', 'amount', 'calls'], rows: [{ operation: 'GET /a, b', avg_latency_ms: 14.056760330578511, amount: 0.30000000000000004, calls: 3 }] };

  it('JSON keeps every digit', () => {
    expect(JSON.parse(formatResult(result, 'json'))).toEqual(result.rows);
    expect(formatResult(result, 'json')).toContain('14.056760330578511');
  });

  it('CSV keeps every digit, as JavaScript writes the number', () => {
    expect(formatResult(result, 'csv')).toBe('operation,avg_latency_ms,amount,calls\r\n"GET /a, b",14.056760330578511,0.30000000000000004,3\r\n');
  });

  it('while the table of the same result rounds', () => {
    expect(formatResult(result, 'table').split('\n')[2]).toBe('GET /a, b           14.06    0.30      3');
  });
});
