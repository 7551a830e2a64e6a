import { usageEventPattern } from '../../../contracts/event-pattern';
import { DEFAULT_EVENT_SOURCE, USAGE_EVENT_DETAIL_TYPE } from '../../../contracts/usage-event';
import { InvalidEventPatternError, matchesEventPattern } from '../../../local/events/event-pattern';

// The example event of the EventBridge user guide ("Event patterns"), with the fields its
// content-filtering examples refer to.
const ec2Event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: {
    'instance-id': 'i-1234567890abcdef0',
    state: 'terminated',
    'c-count': 5,
    'd-count': 12,
    'x-limit': 301.8,
    'source-ip': '10.0.0.123',
    responseElements: null,
    FileName: 'photo.png',
  },
};

describe('matchesEventPattern: the EventBridge user guide’s examples', () => {
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

  it.each([
    [{ source: 'aws.ec2' }, /must be an array or an object/],
    [{ source: [{ numeric: ['>'] }] }, /numeric takes pairs/],
    [{ source: [{ 'starts-with': 'a' }] }, /unknown operator "starts-with"/],
    [{ $or: [{ source: ['a'] }] }, /\$or must be an array of at least two/],
    [{ source: [{ 'anything-but': {} }] }, /anything-but takes a value, a list or one operator/],
  ])('refuses the invalid pattern %j', (pattern, message) => {
    expect(() => matchesEventPattern(pattern, ec2Event)).toThrow(InvalidEventPatternError);
    expect(() => matchesEventPattern(pattern, ec2Event)).toThrow(message);
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
