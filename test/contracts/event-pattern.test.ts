import { usageEventPattern } from '../../contracts/event-pattern';

describe('Function: usageEventPattern', () => {
  it('defaults to the original service source and the usage detail-type', () => {
    expect(usageEventPattern()).toEqual({ source: ['my-applications'], 'detail-type': ['api-usage-event'] });
  });

  it('takes an allow-list and removes repeats', () => {
    expect(usageEventPattern(['orders', 'billing', 'orders']).source).toEqual(['orders', 'billing']);
  });

  it('refuses an empty allow-list', () => {
    expect(() => usageEventPattern([])).toThrow(
      'The event source allow-list is empty. Give at least one source, for example "my-applications".',
    );
  });

  it('refuses a source with spaces', () => {
    expect(() => usageEventPattern(['my apps'])).toThrow(
      'Invalid event source(s) "my apps": a source is 1-256 printable characters without spaces.',
    );
  });
});
