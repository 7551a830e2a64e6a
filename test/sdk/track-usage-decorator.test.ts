import { setDefaultUsagePublisher, trackUsage } from '../../sdk/track-usage-decorator';
import { capturingPublisher } from './helpers';

describe('Decorator: trackUsage', () => {
  const { publisher, sent, mock } = capturingPublisher();

  class ExportService {
    @trackUsage({ feature: 'reports.export', billableUnits: 3, caller: (tenantId) => ({ tenantId: String(tenantId) }) })
    async export(tenantId: string, fail = false): Promise<string> {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (fail) throw new Error('export failed');
      return `report for ${tenantId}`;
    }

    @trackUsage({ operation: 'pricing.quote' })
    quote(amount: number): number {
      if (amount < 0) throw new RangeError('negative');
      return amount * 2;
    }
  }

  beforeAll(() => { setDefaultUsagePublisher(publisher); });
  afterAll(async () => {
    setDefaultUsagePublisher(undefined);
    await publisher.close();
    mock.restore();
  });
  beforeEach(() => mock.resetHistory());

  it('records a call outside any request as an INVOKE of Class.method, keeping the return value', async () => {
    // Act
    const result = await new ExportService().export('acme');
    await publisher.flush();
    // Assess
    expect(result).toBe('report for acme');
    const [event] = sent();
    expect(event).toMatchObject({ operation: 'ExportService.export', method: 'INVOKE', statusCode: 200, tenantId: 'acme', feature: 'reports.export', billableUnits: 3 });
    expect(event.latencyMs).toBeGreaterThanOrEqual(4);
  });

  it('records a rejected promise as 500 and passes the rejection on', async () => {
    await expect(new ExportService().export('acme', true)).rejects.toThrow('export failed');
    await publisher.flush();
    expect(sent()[0]).toMatchObject({ statusCode: 500 });
  });

  it('tracks synchronous methods and throws as they would', async () => {
    const service = new ExportService();
    expect(service.quote(2)).toBe(4);
    expect(() => service.quote(-1)).toThrow(RangeError);
    await publisher.flush();
    expect(sent().map((e) => [e.operation, e.statusCode, e.tenantId])).toEqual([
      ['pricing.quote', 200, 'anonymous'],
      ['pricing.quote', 500, 'anonymous'],
    ]);
  });

  it('leaves methods untouched when no publisher is set', async () => {
    setDefaultUsagePublisher(undefined);
    expect(new ExportService().quote(1)).toBe(2);
    setDefaultUsagePublisher(publisher);
    await publisher.flush();
    expect(sent()).toHaveLength(0);
  });

  it('supports legacy (experimentalDecorators) descriptors', () => {
    const descriptor = { value: function legacy(this: unknown) { return 42; }, writable: true, configurable: true, enumerable: false };
    const decorated = trackUsage({ operation: 'legacy.call' })({}, 'legacy', descriptor) as PropertyDescriptor;
    expect((decorated.value as () => number)()).toBe(42);
    expect(publisher.stats().queued).toBeGreaterThan(0);
  });
});
