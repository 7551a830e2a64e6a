import { usageEventPattern } from '../../../contracts/event-pattern';
import { DEFAULT_EVENT_SOURCE, USAGE_EVENT_DETAIL_TYPE } from '../../../contracts/usage-event';
import { InvalidEventPatternError, matchesEventPattern, parseEventPattern, validateEventPattern } from '../../../local/events/event-pattern';
import { MAX_OR_COMBINATIONS } from '../../../local/events/event-pattern-compiler';
import { FILTERING_PAGE, ec2Event as caseEvent, matchCases, refusalCases } from './event-pattern-cases';

// The example event of the EventBridge user guide ("Event patterns"), with the fields its
// content-filtering examples refer to.
const ec2Event = {
  ...caseEvent,
  detail: {
    ...caseEvent.detail,
    'c-count': 5,
    'd-count': 12,
    'x-limit': 301.8,
    'source-ip': '10.0.0.123',
    responseElements: null,
    FileName: 'photo.png',
  },
};

describe('matchesEventPattern: examples on an event with every kind of value', () => {
  it.each([
    ['exact source', { source: ['aws.ec2'] }, true],
    ['one of several values', { source: ['aws.s3', 'aws.ec2'] }, true],
    ['a value not listed', { source: ['aws.s3'] }, false],
    ['nested field', { detail: { state: ['terminated'] } }, true],
    ['all fields must match', { source: ['aws.ec2'], detail: { state: ['running'] } }, false],
    ['array value: any element', { resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'] }, true],
    ['null', { detail: { responseElements: [null] } }, true],
    ['null is not missing', { detail: { missingField: [null] } }, false],
    ['prefix', { time: [{ prefix: '2017-12-22' }] }, true],
    ['prefix, no match', { time: [{ prefix: '2018' }] }, false],
    ['prefix ignoring case', { source: [{ prefix: { 'equals-ignore-case': 'AWS.' } }] }, true],
    ['suffix', { detail: { FileName: [{ suffix: '.png' }] } }, true],
    ['suffix ignoring case', { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.PNG' } }] } }, true],
    ['anything-but a value', { detail: { state: [{ 'anything-but': 'initializing' }] } }, true],
    ['anything-but that value', { detail: { state: [{ 'anything-but': 'terminated' }] } }, false],
    ['anything-but a list', { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, true],
    ['anything-but a prefix', { detail: { state: [{ 'anything-but': { prefix: 'term' } }] } }, false],
    ['anything-but a suffix', { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } }, true],
    ['anything-but ignoring case', { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['TERMINATED'] } }] } }, false],
    ['anything-but on a missing field', { detail: { missing: [{ 'anything-but': 'x' }] } }, false],
    ['numeric range', { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }] } }, true],
    ['numeric range, outside', { detail: { 'd-count': [{ numeric: ['<', 10] }] } }, false],
    ['numeric equals', { detail: { 'x-limit': [{ numeric: ['=', 3.018e2] }] } }, true],
    ['numeric on a string', { detail: { state: [{ numeric: ['>', 0] }] } }, false],
    ['exists', { detail: { state: [{ exists: true }] } }, true],
    ['exists, missing', { detail: { 'no-such': [{ exists: true }] } }, false],
    ['does not exist', { detail: { 'no-such': [{ exists: false }] } }, true],
    ['does not exist, present', { detail: { state: [{ exists: false }] } }, false],
    ['equals-ignore-case', { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] }, true],
    ['wildcard', { resources: [{ wildcard: 'arn:aws:ec2:us-west-1:*:instance/*' }] }, true],
    ['wildcard, no match', { detail: { FileName: [{ wildcard: '*.jpg' }] } }, false],
    ['$or: one alternative holds', { detail: { $or: [{ 'c-count': [{ numeric: ['>', 0, '<=', 5] }] }, { 'd-count': [{ numeric: ['<', 10] }] }] } }, true],
    ['$or: none holds', { detail: { $or: [{ 'c-count': [{ numeric: ['>', 5] }] }, { 'd-count': [{ numeric: ['<', 10] }] }] } }, false],
    ['$or at the top', { $or: [{ source: ['aws.s3'] }, { 'detail-type': ['EC2 Instance State-change Notification'] }] }, true],
  ])('%s', (_name, pattern, expected) => {
    expect(matchesEventPattern(pattern, ec2Event)).toBe(expected);
  });

});

describe('the stack’s own rule pattern', () => {
  const pattern = usageEventPattern([DEFAULT_EVENT_SOURCE, 'com.example.orders']);
  const envelope = (source: string, detailType: string) => ({ version: '0', source, 'detail-type': detailType, detail: { eventId: 'e-1' } });

  it('routes usage events from an allowed source', () => {
    expect(matchesEventPattern(pattern, envelope('com.example.orders', USAGE_EVENT_DETAIL_TYPE))).toBe(true);
  });

  it.each([
    ['a source outside the allow-list', envelope('com.example.unknown', USAGE_EVENT_DETAIL_TYPE)],
    ['another detail-type', envelope(DEFAULT_EVENT_SOURCE, 'order-placed')],
    ['a detail-type differing in case', envelope(DEFAULT_EVENT_SOURCE, USAGE_EVENT_DETAIL_TYPE.toUpperCase())],
  ])('drops %s', (_name, event) => {
    expect(matchesEventPattern(pattern, event)).toBe(false);
  });
});

describe('Function: matchesEventPattern, every example of AWS’s pages', () => {
  it.each(matchCases.map((c) => [`${c.section} (${c.source})`, c] as const))('%s', (_name, c) => {
    // Prepare
    const pattern = validateEventPattern(c.pattern);

    // Act
    const matched = c.matches.map((event) => matchesEventPattern(pattern, event));
    const unmatched = c.doesNotMatch.map((event) => matchesEventPattern(pattern, event));

    // Assess
    expect(pattern).toBe(c.pattern);
    expect(matched).toEqual(c.matches.map(() => true));
    expect(unmatched).toEqual(c.doesNotMatch.map(() => false));
  });

  it('has a case for every section it claims', () => {
    expect(matchCases.length).toBeGreaterThanOrEqual(50);
    expect(matchCases.every((c) => c.matches.length > 0 && c.doesNotMatch.length > 0)).toBe(true);
  });
});

describe('Function: validateEventPattern, every restriction AWS states', () => {
  it.each(refusalCases.map((c) => [`${c.restriction} (${c.source})`, c] as const))('refuses: %s', (_name, c) => {
    // Act
    const refusal = catchError(() => validateEventPattern(c.pattern));

    // Assess
    expect(refusal).toBeInstanceOf(InvalidEventPatternError);
    expect(refusal?.name).toBe('InvalidEventPatternError');
    expect((refusal as InvalidEventPatternError).awsErrorType).toBe('InvalidEventPatternException');
    expect(refusal?.message.startsWith(`Event pattern is not valid. Reason: ${c.reason}`)).toBe(true);
  });

  it.each(refusalCases.map((c) => [c.restriction, c] as const))('refuses the JSON text too, and matching with it: %s', (_name, c) => {
    expect(() => parseEventPattern(JSON.stringify(c.pattern))).toThrow(`Event pattern is not valid. Reason: ${c.reason}`);
    expect(() => matchesEventPattern(c.pattern as Record<string, unknown>, {})).toThrow(InvalidEventPatternError);
  });

  it('refuses, as a local safeguard, $or alternatives that multiply beyond the limit', () => {
    const or = (field: string, count = 10) => ({ $or: Array.from({ length: count }, (_, i) => ({ [`${field}${i}`]: [i] })) });
    const pattern = { a: or('a'), b: or('b'), c: or('c'), d: or('d', 11) };
    expect(() => validateEventPattern({ a: or('a'), b: or('b'), c: or('c') })).not.toThrow();
    expect(() => validateEventPattern(pattern)).toThrow(`more than ${MAX_OR_COMBINATIONS} patterns`);
  });

  it('names the field path where the rule is broken', () => {
    expect(() => validateEventPattern({ detail: { responseElements: { items: [{ numeric: ['>', 5, '<', 1] }] } } })).toThrow(
      'Event pattern is not valid. Reason: Bottom must be less than top (at "detail.responseElements.items")',
    );
  });
});

describe('Function: parseEventPattern', () => {
  it('refuses text that is not JSON, keeping the parser’s error as the cause', () => {
    const refusal = catchError(() => parseEventPattern('{"source": ["aws.ec2"'));
    expect(refusal).toBeInstanceOf(InvalidEventPatternError);
    expect(refusal?.message).toMatch(/^Event pattern is not valid\. Reason: Filter is not valid JSON: /);
    expect(refusal?.cause).toBeInstanceOf(SyntaxError);
  });

  it(`uses the last of a key given twice (${FILTERING_PAGE}, note after the complex example)`, () => {
    const pattern = parseEventPattern('{"detail": {"location": [{"prefix": "us-"}], "location": [{"anything-but": "us-east"}]}}');
    expect(matchesEventPattern(pattern, { detail: { location: 'eu-west' } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { location: 'us-east' } })).toBe(false);
  });
});

describe('Function: matchesEventPattern, arrays and absence', () => {
  it.each([
    ['a null event', null, false],
    ['an event without the field', { source: 'aws.ec2' }, true],
    ['an empty array (no leaf)', { source: 'aws.ec2', detail: { tags: [] } }, true],
    ['an array of objects without it', { source: 'aws.ec2', detail: [{ a: 1 }, { b: 2 }] }, true],
    ['one element of an array having it', { source: 'aws.ec2', detail: [{ a: 1 }, { tags: 'x' }] }, false],
  ])('exists: false with %s', (_name, event, expected) => {
    expect(matchesEventPattern({ source: ['aws.ec2'], detail: { tags: [{ exists: false }] } }, event)).toBe(expected);
  });

  it('matches an array of numbers against a numeric range when any element is in it', () => {
    const pattern = { detail: { sizes: [{ numeric: ['>=', 10] }] } };
    expect(matchesEventPattern(pattern, { detail: { sizes: [1, 2, 30] } })).toBe(true);
    expect(matchesEventPattern(pattern, { detail: { sizes: [1, 2, 3] } })).toBe(false);
  });

  it('matches IPv6 and IPv4-mapped addresses by value, not by text', () => {
    expect(matchesEventPattern({ ip: [{ cidr: '2001:db8::/126' }] }, { ip: '2001:0DB8:0:0:0:0:0:3' })).toBe(true);
    expect(matchesEventPattern({ ip: [{ cidr: '::ffff:10.0.0.0/120' }] }, { ip: '::ffff:10.0.0.77' })).toBe(true);
    expect(matchesEventPattern({ ip: [{ cidr: '::ffff:10.0.0.0/120' }] }, { ip: '::ffff:10.0.1.77' })).toBe(false);
  });
});

function catchError(action: () => unknown): Error | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    return error as Error;
  }
}
