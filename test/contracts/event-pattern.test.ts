import { usageEventPattern } from '../../contracts/event-pattern';
import { DEFAULT_EVENT_SOURCE, USAGE_EVENT_DETAIL_TYPE, usageEventEnvelopeSchema } from '../../contracts/usage-event';

describe('Function: usageEventPattern', () => {
  it('defaults to the default event source and the detail-type the contract accepts', () => {
    const pattern = usageEventPattern();
    expect(pattern).toEqual({ source: [DEFAULT_EVENT_SOURCE], 'detail-type': [USAGE_EVENT_DETAIL_TYPE] });
    // The pattern routes what the envelope schema accepts, and nothing it refuses.
    const detailType = usageEventEnvelopeSchema.shape['detail-type'];
    expect(pattern['detail-type'].map((value) => detailType.safeParse(value).success)).toEqual([true]);
  });

  it('takes an allow-list and removes repeats', () => {
    expect(usageEventPattern(['orders', 'billing', 'orders']).source).toEqual(['orders', 'billing']);
  });

  it('refuses an empty allow-list, suggesting the default source', () => {
    expect(() => usageEventPattern([])).toThrow(
      `The event source allow-list is empty. Give at least one source, for example "${DEFAULT_EVENT_SOURCE}".`,
    );
  });

  it('refuses a source with spaces', () => {
    expect(() => usageEventPattern(['my apps'])).toThrow(
      'Invalid event source(s) "my apps": a source is 1-256 printable characters without spaces.',
    );
  });
});
