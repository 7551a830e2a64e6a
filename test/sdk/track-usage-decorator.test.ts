import { performance } from 'node:perf_hooks';
import { setDefaultUsagePublisher, trackUsage } from '../../sdk/track-usage-decorator';
import { CapturingPublisher, capturingPublisher } from './helpers';

/** A clock the decorator reads (performance.now), moved by hand. */
class ManualClock {
  public now = 1_000;
}

function exportService(clock: ManualClock) {
  class ExportService {
    @trackUsage({ feature: 'reports.export', billableUnits: 3, caller: (tenantId) => ({ tenantId: String(tenantId) }) })
    async export(tenantId: string, fail = false): Promise<string> {
      await Promise.resolve();
      clock.now += 7.25; // the work takes 7.25 ms
      if (fail) throw new Error('export failed');
      return `report for ${tenantId}`;
    }

    @trackUsage({ operation: 'pricing.quote' })
    quote(amount: number): number {
      if (amount < 0) throw new RangeError('negative');
      return amount * 2;
    }
  }
  return new ExportService();
}

describe('Decorator: trackUsage', () => {
  let capturing: CapturingPublisher;
  let clock: ManualClock;

  beforeEach(() => {
    capturing = capturingPublisher();
    setDefaultUsagePublisher(capturing.publisher);
    clock = new ManualClock();
    jest.spyOn(performance, 'now').mockImplementation(() => clock.now);
  });
  afterEach(async () => {
    jest.restoreAllMocks();
    setDefaultUsagePublisher(undefined);
    await capturing.dispose();
  });

  it('records a call outside any request as an INVOKE of Class.method with its latency, keeping the return value', async () => {
    // Act
    const result = await exportService(clock).export('acme');
    await capturing.publisher.flush();
    // Assess
    expect(result).toBe('report for acme');
    expect(capturing.sent()).toEqual([
      expect.objectContaining({
        operation: 'ExportService.export',
        method: 'INVOKE',
        statusCode: 200,
        tenantId: 'acme',
        feature: 'reports.export',
        billableUnits: 3,
        latencyMs: 7.25,
      }),
    ]);
  });

  it('records a rejected promise as 500 and passes the rejection on', async () => {
    await expect(exportService(clock).export('acme', true)).rejects.toThrow('export failed');
    await capturing.publisher.flush();
    expect(capturing.sent()).toEqual([expect.objectContaining({ operation: 'ExportService.export', statusCode: 500, latencyMs: 7.25 })]);
  });

  it('records synchronous methods as 200, or 500 when they throw, and throws as they would', async () => {
    const service = exportService(clock);
    expect(service.quote(2)).toBe(4);
    expect(() => service.quote(-1)).toThrow(RangeError);
    await capturing.publisher.flush();
    expect(capturing.sent().map((e) => [e.operation, e.statusCode, e.tenantId])).toEqual([
      ['pricing.quote', 200, 'anonymous'],
      ['pricing.quote', 500, 'anonymous'],
    ]);
  });

  it('records nothing, and leaves the method working, when no publisher is set', async () => {
    setDefaultUsagePublisher(undefined);
    expect(exportService(clock).quote(1)).toBe(2);
    await capturing.publisher.flush();
    expect(capturing.publisher.stats().recorded).toBe(0);
  });

  it('decorates legacy (experimentalDecorators) descriptors, which then record their calls', async () => {
    // Prepare
    const descriptor = { value: function legacy(this: unknown) { return 42; }, writable: true, configurable: true, enumerable: false };
    // Act
    const decorated: PropertyDescriptor = trackUsage({ operation: 'legacy.call' })({}, 'legacy', descriptor);
    const result = (decorated.value as () => number)();
    await capturing.publisher.flush();
    // Assess
    expect(result).toBe(42);
    expect(capturing.sent()).toEqual([expect.objectContaining({ operation: 'legacy.call', method: 'INVOKE', statusCode: 200 })]);
  });

  it('refuses to decorate anything but a method', () => {
    const decorate = trackUsage();
    const getter = () => 42;
    expect(() => decorate(getter as never, { kind: 'getter', name: 'answer' } as never)).toThrow('@trackUsage decorates methods only.');
  });
});
