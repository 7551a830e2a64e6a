/**
 * Event-pattern cases taken from AWS's pages, each with its source and section: every example
 * pattern with the events the page shows it matching and not matching, and one refusal for each
 * restriction stated. Where a page shows only a matching event, the non-matching one changes the
 * single value the example is about (marked "counter-example").
 *
 * The user-guide pages were read from their source (the awsdocs/amazon-eventbridge-user-guide
 * repository, doc_source/*.md) and the current site's "Comparison operators" table; AWS's matcher
 * event-ruler documents the same grammar in its README and states the refusals in JsonRuleCompiler.java.
 */

const GUIDE = 'https://docs.aws.amazon.com/eventbridge/latest/userguide';
export const PATTERNS_PAGE = `${GUIDE}/eb-event-patterns.html`;
export const FILTERING_PAGE = `${GUIDE}/eb-event-patterns-content-based-filtering.html`;
export const OPERATORS_PAGE = `${GUIDE}/eb-create-pattern-operators.html`;
export const ARRAYS_PAGE = `${GUIDE}/eb-event-patterns-arrays.html`;
export const NULL_PAGE = `${GUIDE}/eb-event-patterns-null-values.html`;
export const RULER_README = 'https://github.com/aws/event-ruler/blob/main/README.md';
export const RULER_COMPILER = 'https://github.com/aws/event-ruler/blob/main/src/main/software/amazon/event/ruler/JsonRuleCompiler.java';
export const RULER_WILDCARD = 'https://github.com/aws/event-ruler/blob/main/src/main/software/amazon/event/ruler/input/WildcardParser.java';

export interface MatchCase {
  readonly source: string;
  readonly section: string;
  readonly pattern: Record<string, unknown>;
  readonly matches: readonly unknown[];
  readonly doesNotMatch: readonly unknown[];
}

export interface RefusalCase {
  readonly source: string;
  readonly restriction: string;
  readonly pattern: unknown;
  /** AWS's reason, as the message must state it. */
  readonly reason: string;
}

/** The EC2 event of "Creating event patterns". */
export const ec2Event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated' },
};

/** The Auto Scaling event of "Field matching" and "Null values and empty strings". */
const autoscalingEvent = {
  version: '0',
  id: '3e3c153a-8339-4e30-8c35-687ebef853fe',
  'detail-type': 'EC2 Instance Launch Successful',
  source: 'aws.autoscaling',
  account: '123456789012',
  time: '2015-11-11T21:31:47Z',
  region: 'us-east-1',
  resources: [],
  detail: { eventVersion: '', responseElements: null },
};

/** The (truncated) Macie event of "Value matching". */
const macieEvent = {
  'detail-type': 'Macie Alert',
  source: 'aws.macie',
  detail: {
    'notification-type': 'ALERT_CREATED',
    tags: ['Custom_Alert', 'Insider'],
    'risk-score': 80,
    trigger: { 'alert-type': 'basic', risk: 8 },
  },
};

/** The event of event-ruler's README ("Ruler by Example"). */
const rulerEvent = {
  version: '0',
  id: 'ddddd4-aaaa-7777-4444-345dd43cc333',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '012345679012',
  time: '2017-10-02T16:24:49Z',
  region: 'us-east-1',
  resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
  detail: { 'c-count': 5, 'd-count': 3, 'x-limit': 301.8, 'source-ip': '10.0.0.33', 'instance-id': 'i-000000aaaaaa00000', state: 'running' },
};

const withDetail = (base: { detail: object }, detail: Record<string, unknown>) => ({ ...base, detail: { ...base.detail, ...detail } });

export const matchCases: readonly MatchCase[] = [
  // "Creating event patterns" / "Amazon EventBridge event patterns"
  {
    source: PATTERNS_PAGE,
    section: 'the instance-termination pattern (counter-example: state running)',
    pattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'], detail: { state: ['terminated'] } },
    matches: [ec2Event],
    doesNotMatch: [withDetail(ec2Event, { state: 'running' }), { ...ec2Event, source: 'aws.s3' }],
  },
  {
    source: PATTERNS_PAGE,
    section: 'Match values: one of several values',
    pattern: { source: ['aws.ec2', 'aws.fargate'] },
    matches: [ec2Event, { ...ec2Event, source: 'aws.fargate' }],
    doesNotMatch: [{ ...ec2Event, source: 'aws.s3' }],
  },
  {
    source: PATTERNS_PAGE,
    section: 'Field matching: responseElements null',
    pattern: { source: ['aws.autoscaling'], 'detail-type': ['EC2 Instance Launch Successful'], detail: { responseElements: [null] } },
    matches: [autoscalingEvent],
    doesNotMatch: [withDetail(autoscalingEvent, { responseElements: {} }), { ...autoscalingEvent, detail: { eventVersion: '' } }],
  },
  {
    source: PATTERNS_PAGE,
    section: 'Value matching: risk score 80 and trigger risk 8 (counter-example: risk 9)',
    pattern: { source: ['aws.macie'], 'detail-type': ['Macie Alert'], detail: { 'risk-score': [80], trigger: { risk: [8] } } },
    matches: [macieEvent],
    doesNotMatch: [withDetail(macieEvent, { trigger: { risk: 9 } }), withDetail(macieEvent, { 'risk-score': '80' })],
  },
  {
    source: PATTERNS_PAGE,
    section: 'strings match character by character, without case folding',
    pattern: { source: ['aws.ec2'] },
    matches: [ec2Event],
    doesNotMatch: [{ ...ec2Event, source: 'AWS.EC2' }, { ...ec2Event, source: 'aws.ec2 ' }],
  },
  // "Null values and empty strings"
  {
    source: NULL_PAGE,
    section: 'empty string',
    pattern: { detail: { eventVersion: [''] } },
    matches: [autoscalingEvent],
    doesNotMatch: [withDetail(autoscalingEvent, { eventVersion: null }), { ...autoscalingEvent, detail: {} }],
  },
  {
    source: NULL_PAGE,
    section: 'null (null and "" are not interchangeable; null is not absence)',
    pattern: { detail: { responseElements: [null] } },
    matches: [autoscalingEvent],
    doesNotMatch: [withDetail(autoscalingEvent, { responseElements: '' }), { ...autoscalingEvent, detail: { eventVersion: '' } }],
  },
  // "Arrays"
  {
    source: ARRAYS_PAGE,
    section: 'an event array matches when it intersects the pattern array',
    pattern: {
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
        'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
      ],
    },
    matches: [
      {
        resources: [
          'arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate',
          'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
        ],
      },
    ],
    doesNotMatch: [{ resources: ['arn:aws:ec2:us-east-1:999999999999:instance/i-b188560f'] }, { resources: [] }],
  },
  // "Comparison operators" table
  {
    source: OPERATORS_PAGE,
    section: 'And',
    pattern: { Location: ['New York'], Day: ['Monday'] },
    matches: [{ Location: 'New York', Day: 'Monday' }],
    doesNotMatch: [{ Location: 'New York', Day: 'Tuesday' }, { Location: 'New York' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Anything-but',
    pattern: { state: [{ 'anything-but': 'initializing' }] },
    matches: [{ state: 'running' }, { state: null }, { state: 5 }],
    doesNotMatch: [{ state: 'initializing' }, {}],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Anything-but (begins with)',
    pattern: { Region: [{ 'anything-but': { prefix: 'us-' } }] },
    matches: [{ Region: 'eu-west-1' }, { Region: 'US-EAST-1' }],
    doesNotMatch: [{ Region: 'us-east-1' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Anything-but (ends with)',
    pattern: { FileName: [{ 'anything-but': { suffix: '.png' } }] },
    matches: [{ FileName: 'photo.jpg' }],
    doesNotMatch: [{ FileName: 'photo.png' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Anything-but (ignore case)',
    pattern: { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] },
    matches: [{ state: 'running' }],
    doesNotMatch: [{ state: 'INITIALIZING' }, { state: 'Initializing' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Anything-but using a wildcard',
    pattern: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] },
    matches: [{ FilePath: '/usr/bin/node' }],
    doesNotMatch: [{ FilePath: '/usr/lib/node' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Begins with',
    pattern: { Region: [{ prefix: 'us-' }] },
    matches: [{ Region: 'us-east-1' }],
    doesNotMatch: [{ Region: 'eu-west-1' }, { Region: 'US-EAST-1' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Begins with (ignore case)',
    pattern: { service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] },
    matches: [{ service: 'EventBridge' }, { service: 'EVENTBRIDGE' }],
    doesNotMatch: [{ service: 'Lambda' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Empty',
    pattern: { LastName: [''] },
    matches: [{ LastName: '' }],
    doesNotMatch: [{ LastName: null }, { LastName: 'Doe' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Equals',
    pattern: { Name: ['Alice'] },
    matches: [{ Name: 'Alice' }],
    doesNotMatch: [{ Name: 'alice' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Equals (ignore case)',
    pattern: { Name: [{ 'equals-ignore-case': 'alice' }] },
    matches: [{ Name: 'Alice' }, { Name: 'ALICE' }],
    doesNotMatch: [{ Name: 'Alicia' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Ends with',
    pattern: { FileName: [{ suffix: '.png' }] },
    matches: [{ FileName: 'photo.png' }],
    doesNotMatch: [{ FileName: 'photo.PNG' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Ends with (ignore case)',
    pattern: { service: [{ suffix: { 'equals-ignore-case': 'tbridge' } }] },
    matches: [{ service: 'EventBridge' }, { service: 'EVENTBRIDGE' }],
    doesNotMatch: [{ service: 'EventBus' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Exists',
    pattern: { ProductName: [{ exists: true }] },
    matches: [{ ProductName: 'Widget' }, { ProductName: null }],
    doesNotMatch: [{}, { ProductName: { en: 'Widget' } }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Does not exist',
    pattern: { ProductName: [{ exists: false }] },
    matches: [{}, { ProductName: { en: 'Widget' } }],
    doesNotMatch: [{ ProductName: 'Widget' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Not',
    pattern: { Weather: [{ 'anything-but': ['Raining'] }] },
    matches: [{ Weather: 'Sunny' }],
    doesNotMatch: [{ Weather: 'Raining' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Null',
    pattern: { UserID: [null] },
    matches: [{ UserID: null }],
    doesNotMatch: [{}, { UserID: '' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Numeric (equals)',
    pattern: { Price: [{ numeric: ['=', 100] }] },
    matches: [{ Price: 100 }, { Price: 100.0 }],
    doesNotMatch: [{ Price: '100' }, { Price: 101 }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Numeric (range)',
    pattern: { Price: [{ numeric: ['>', 10, '<=', 20] }] },
    matches: [{ Price: 20 }, { Price: 10.5 }],
    doesNotMatch: [{ Price: 10 }, { Price: 20.01 }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Or (alternatives of one field)',
    pattern: { PaymentType: ['Credit', 'Debit'] },
    matches: [{ PaymentType: 'Debit' }],
    doesNotMatch: [{ PaymentType: 'Cash' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Or (multiple fields, $or)',
    pattern: { $or: [{ Location: ['New York'] }, { Day: ['Monday'] }] },
    matches: [{ Location: 'New York', Day: 'Sunday' }, { Location: 'Boston', Day: 'Monday' }],
    doesNotMatch: [{ Location: 'Boston', Day: 'Sunday' }],
  },
  {
    source: OPERATORS_PAGE,
    section: 'Wildcard: a .png file within the folder "dir"',
    pattern: { FileName: [{ wildcard: 'dir/*.png' }] },
    matches: [{ FileName: 'dir/photo.png' }, { FileName: 'dir/sub/photo.png' }],
    doesNotMatch: [{ FileName: 'other/photo.png' }, { FileName: 'dir/photo.jpg' }],
  },
  // "Content filtering in Amazon EventBridge event patterns"
  {
    source: FILTERING_PAGE,
    section: 'Prefix matching',
    pattern: { time: [{ prefix: '2017-10-02' }] },
    matches: [{ time: '2017-10-02T18:43:48Z' }],
    doesNotMatch: [{ time: '2017-10-03T18:43:48Z' }],
  },
  {
    source: FILTERING_PAGE,
    section: 'Prefix matching while ignoring case',
    pattern: { detail: { service: [{ prefix: { 'equals-ignore-case': 'EventB' } }] } },
    matches: [{ detail: { service: 'EventBridge' } }, { detail: { service: 'EVENTB' } }, { detail: { service: 'eventb' } }],
    doesNotMatch: [{ detail: { service: 'SQS' } }],
  },
  {
    source: FILTERING_PAGE,
    section: 'Suffix matching',
    pattern: { FileName: [{ suffix: '.png' }] },
    matches: [{ FileName: 'image.png' }],
    doesNotMatch: [{ FileName: 'image.jpg' }],
  },
  {
    source: FILTERING_PAGE,
    section: 'Suffix matching while ignoring case',
    pattern: { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } },
    matches: [{ detail: { FileName: 'image.png' } }, { detail: { FileName: 'image.PNG' } }],
    doesNotMatch: [{ detail: { FileName: 'image.gif' } }],
  },
  {
    source: FILTERING_PAGE,
    section: 'Anything-but matching with a string',
    pattern: { detail: { state: [{ 'anything-but': 'initializing' }] } },
    matches: [rulerEvent],
    doesNotMatch: [withDetail(rulerEvent, { state: 'initializing' })],
  },
  {
    source: FILTERING_PAGE,
    section: 'Anything-but matching with a number (a string or null is not the number)',
    pattern: { detail: { 'x-limit': [{ 'anything-but': 123 }] } },
    matches: [rulerEvent, withDetail(rulerEvent, { 'x-limit': '123' }), withDetail(rulerEvent, { 'x-limit': null })],
    doesNotMatch: [withDetail(rulerEvent, { 'x-limit': 123 })],
  },
  {
    source: FILTERING_PAGE,
    section: 'Anything-but matching with a list of strings',
    pattern: { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } },
    matches: [rulerEvent],
    doesNotMatch: [withDetail(rulerEvent, { state: 'stopped' }), withDetail(rulerEvent, { state: 'overloaded' })],
  },
  {
    source: FILTERING_PAGE,
    section: 'Anything-but matching with a list of numbers',
    pattern: { detail: { 'x-limit': [{ 'anything-but': [100, 200, 300] }] } },
    matches: [rulerEvent],
    doesNotMatch: [withDetail(rulerEvent, { 'x-limit': 200 })],
  },
  {
    source: FILTERING_PAGE,
    section: 'Anything-but matching with a prefix',
    pattern: { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } },
    matches: [rulerEvent],
    doesNotMatch: [withDetail(rulerEvent, { state: 'initializing' })],
  },
  {
    source: FILTERING_PAGE,
    section: 'Numeric matching (true for all fields)',
    pattern: { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }], 'd-count': [{ numeric: ['<', 10] }], 'x-limit': [{ numeric: ['=', 3.018e2] }] } },
    matches: [withDetail(rulerEvent, { 'x-limit': 301.8 })],
    doesNotMatch: [withDetail(rulerEvent, { 'c-count': 0 }), withDetail(rulerEvent, { 'd-count': 10 }), withDetail(rulerEvent, { 'x-limit': 301.9 })],
  },
  {
    source: FILTERING_PAGE,
    section: 'IP address matching: 10.0.0.0/24',
    pattern: { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } },
    matches: [{ detail: { sourceIPAddress: '10.0.0.0' } }, { detail: { sourceIPAddress: '10.0.0.255' } }],
    doesNotMatch: [{ detail: { sourceIPAddress: '10.0.1.0' } }, { detail: { sourceIPAddress: 'not-an-ip' } }, { detail: { sourceIPAddress: 167772160 } }],
  },
  {
    source: FILTERING_PAGE,
    section: 'Exists matching: detail.state exists',
    pattern: { detail: { state: [{ exists: true }] } },
    matches: [
      {
        version: '0',
        id: '7bf73129-1428-4cd3-a780-95db273d1602',
        'detail-type': 'EC2 Instance State-change Notification',
        source: 'aws.ec2',
        account: '123456789012',
        time: '2015-11-11T21:29:54Z',
        region: 'us-east-1',
        resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111'],
        detail: { 'instance-id': 'i-abcd1111', state: 'pending' },
      },
    ],
    doesNotMatch: [
      {
        'detail-type': ['EC2 Instance State-change Notification'],
        resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341'],
        detail: { 'c-count': { c1: 100 } },
      },
    ],
  },
  {
    source: FILTERING_PAGE,
    section: 'Exists matching works on leaf nodes only: detail.c-count does not exist (earlier version of the page)',
    pattern: { detail: { 'c-count': [{ exists: false }] } },
    matches: [
      {
        'detail-type': ['EC2 Instance State-change Notification'],
        resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341'],
        detail: { state: ['initializing', 'running'] },
      },
      {
        'detail-type': ['EC2 Instance State-change Notification'],
        resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341'],
        detail: { state: ['initializing', 'running'], 'c-count': { c1: 100 } },
      },
    ],
    doesNotMatch: [rulerEvent],
  },
  {
    source: FILTERING_PAGE,
    section: 'Complex example with multiple matching',
    pattern: {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
      },
    },
    matches: [rulerEvent],
    doesNotMatch: [{ ...rulerEvent, time: '2017-10-03T00:00:00Z' }, withDetail(rulerEvent, { 'x-limit': 300 })],
  },
  // event-ruler's README (the same grammar, with what the guide leaves out)
  {
    source: RULER_README,
    section: 'Simple matching (an event array intersects the rule array)',
    pattern: {
      'detail-type': ['EC2 Instance State-change Notification'],
      resources: ['arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000'],
      detail: { state: ['initializing', 'running'] },
    },
    matches: [rulerEvent, withDetail(rulerEvent, { state: 'initializing' })],
    doesNotMatch: [withDetail(rulerEvent, { state: 'stopped' })],
  },
  {
    source: RULER_README,
    section: 'Suffix matching',
    pattern: { source: [{ suffix: 'ec2' }] },
    matches: [rulerEvent],
    doesNotMatch: [{ ...rulerEvent, source: 'aws.s3' }, { ...rulerEvent, source: 'aws.EC2' }],
  },
  {
    source: RULER_README,
    section: 'Equals-ignore-case matching',
    pattern: { source: [{ 'equals-ignore-case': 'EC2' }] },
    matches: [{ source: 'ec2' }, { source: 'Ec2' }],
    doesNotMatch: [rulerEvent],
  },
  {
    source: RULER_README,
    section: 'Wildcard matching (only string-valued fields; \\* is a literal asterisk)',
    pattern: { source: [{ wildcard: 'Simple*Service' }] },
    matches: [{ source: 'SimpleService' }, { source: 'SimpleNotificationService' }],
    doesNotMatch: [{ source: 'SimpleServices' }, { source: 'simpleService' }],
  },
  {
    source: RULER_README,
    section: 'Wildcard matching: escaped asterisk and backslash',
    pattern: { key: [{ wildcard: 'a\\*b\\\\*' }] },
    matches: [{ key: 'a*b\\' }, { key: 'a*b\\tail' }],
    doesNotMatch: [{ key: 'axb\\' }],
  },
  {
    source: RULER_README,
    section: 'IP Address Matching (also works with IPv6)',
    pattern: { detail: { 'source-ip': [{ cidr: '2001:db8::/32' }] } },
    matches: [{ detail: { 'source-ip': '2001:db8::1' } }, { detail: { 'source-ip': '2001:0db8:ffff::' } }],
    doesNotMatch: [{ detail: { 'source-ip': '2001:db9::1' } }, { detail: { 'source-ip': '10.0.0.1' } }],
  },
  {
    source: RULER_README,
    section: 'Exists matching: c-count present',
    pattern: { detail: { 'c-count': [{ exists: true }] } },
    matches: [rulerEvent],
    doesNotMatch: [{ detail: { state: 'running' } }, { detail: { 'c-count': { c1: 100 } } }],
  },
  {
    source: RULER_README,
    section: 'Complex example (with cidr)',
    pattern: {
      time: [{ prefix: '2017-10-02' }],
      detail: {
        state: [{ 'anything-but': 'initializing' }],
        'c-count': [{ numeric: ['>', 0, '<=', 5] }],
        'd-count': [{ numeric: ['<', 10] }],
        'x-limit': [{ 'anything-but': [100, 200, 300] }],
        'source-ip': [{ cidr: '10.0.0.0/8' }],
      },
    },
    matches: [rulerEvent],
    doesNotMatch: [withDetail(rulerEvent, { 'source-ip': '192.168.0.1' })],
  },
  {
    source: RULER_README,
    section: '"$or": Normal "Or"',
    pattern: { source: ['aws.cloudwatch'], $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }] },
    matches: [{ source: 'aws.cloudwatch', metricName: 'ReadLatency' }, { source: 'aws.cloudwatch', namespace: 'AWS/ES' }],
    doesNotMatch: [{ source: 'aws.cloudwatch', metricName: 'Other' }, { source: 'aws.ec2', metricName: 'ReadLatency' }],
  },
  {
    source: RULER_README,
    section: '"$or": Parallel "Or"',
    pattern: {
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { namespace: ['AWS/EC2', 'AWS/ES'] }],
      detail: { $or: [{ source: ['aws.cloudwatch'] }, { 'detail-type': ['CloudWatch Alarm State Change'] }] },
    },
    matches: [
      { metricName: 'CPUUtilization', detail: { source: 'aws.cloudwatch' } },
      { namespace: 'AWS/EC2', detail: { 'detail-type': 'CloudWatch Alarm State Change' } },
    ],
    doesNotMatch: [{ metricName: 'CPUUtilization', detail: { source: 'aws.ec2' } }, { detail: { source: 'aws.cloudwatch' } }],
  },
  {
    source: RULER_README,
    section: '"$or": "Or" has an "And" inside',
    pattern: {
      source: ['aws.cloudwatch'],
      $or: [{ metricName: ['CPUUtilization', 'ReadLatency'] }, { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'] }, { scope: ['Service'] }],
    },
    matches: [{ source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/EC2' }, { source: 'aws.cloudwatch', scope: 'Service' }],
    doesNotMatch: [{ source: 'aws.cloudwatch', metricType: 'MetricType' }],
  },
  {
    source: RULER_README,
    section: '"$or": Nested "Or" and "And"',
    pattern: {
      source: ['aws.cloudwatch'],
      $or: [
        { metricName: ['CPUUtilization', 'ReadLatency'] },
        { metricType: ['MetricType'], namespace: ['AWS/EC2', 'AWS/ES'], $or: [{ metricId: [1234] }, { spaceId: [1000] }] },
        { scope: ['Service'] },
      ],
    },
    matches: [{ source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/ES', spaceId: 1000 }],
    doesNotMatch: [{ source: 'aws.cloudwatch', metricType: 'MetricType', namespace: 'AWS/ES', spaceId: 1001 }],
  },
  {
    source: RULER_README,
    section: 'JSON Array Matching: objects in an array, fields from one element',
    pattern: { employees: { firstName: ['Anna'] } },
    matches: [
      { employees: [{ firstName: 'John', lastName: 'Doe' }, { firstName: 'Anna', lastName: 'Smith' }, { firstName: 'Peter', lastName: 'Jones' }] },
      { employees: [[{ firstName: 'John', lastName: 'Doe' }, { firstName: 'Anna', lastName: 'Smith' }], [{ firstName: 'Peter', lastName: 'Jones' }]] },
    ],
    doesNotMatch: [{ employees: [{ firstName: 'John', lastName: 'Doe' }] }],
  },
  {
    source: RULER_README,
    section: 'JSON Array Matching: fields from different elements do not combine',
    pattern: { employees: { firstName: ['Anna'], lastName: ['Jones'] } },
    matches: [{ employees: [{ firstName: 'Anna', lastName: 'Jones' }] }],
    doesNotMatch: [{ employees: [{ firstName: 'John', lastName: 'Doe' }, { firstName: 'Anna', lastName: 'Smith' }, { firstName: 'Peter', lastName: 'Jones' }] }],
  },
  {
    source: RULER_README,
    section: 'JSON keys with dots: nested and dot-joined keys are the same field',
    pattern: { detail: { state: { status: ['running'] } } },
    matches: [{ detail: { state: { status: 'running' } } }, { detail: { 'state.status': 'running' } }],
    doesNotMatch: [{ detail: { state: { status: 'stopped' } } }],
  },
  {
    source: RULER_README,
    section: 'JSON keys with dots: a dot-joined key in the pattern',
    pattern: { detail: { 'state.status': ['running'] } },
    matches: [{ detail: { state: { status: 'running' } } }, { detail: { 'state.status': 'running' } }],
    doesNotMatch: [{ detail: { state: { status: 'stopped' } } }, { detail: { state: 'running' } }],
  },
  {
    source: RULER_README,
    section: 'Anything-but works with lists of prefixes, suffixes and wildcards (event-ruler AnythingBut value sets)',
    pattern: {
      key: [{ 'anything-but': { prefix: ['init', 'stop'] } }],
      file: [{ 'anything-but': { suffix: ['.tmp', '.bak'] } }],
      path: [{ 'anything-but': { wildcard: ['*/lib/*', '*/bin/*'] } }],
    },
    matches: [{ key: 'running', file: 'a.txt', path: '/usr/share/x' }, { key: null, file: 5, path: true }],
    doesNotMatch: [
      { key: 'stopping', file: 'a.txt', path: '/usr/share/x' },
      { key: 'running', file: 'a.bak', path: '/usr/share/x' },
      { key: 'running', file: 'a.txt', path: '/usr/bin/x' },
    ],
  },
];

export const refusalCases: readonly RefusalCase[] = [
  { source: RULER_COMPILER, restriction: 'a pattern is a JSON object', pattern: ['source'], reason: 'Filter is not an object' },
  { source: RULER_COMPILER, restriction: 'no empty object', pattern: {}, reason: 'Empty objects are not allowed' },
  { source: RULER_COMPILER, restriction: 'no empty nested object', pattern: { detail: {} }, reason: 'Empty objects are not allowed (at "detail")' },
  { source: PATTERNS_PAGE, restriction: 'a value to match is in a JSON array', pattern: { source: 'aws.ec2' }, reason: '"source" must be an object or an array (at "source")' },
  { source: RULER_COMPILER, restriction: 'no empty array', pattern: { detail: { state: [] } }, reason: 'Empty arrays are not allowed (at "detail.state")' },
  {
    source: PATTERNS_PAGE,
    restriction: 'values follow JSON rules: strings, numbers, true, false, null',
    pattern: { source: [['aws.ec2']] },
    reason: 'Match value must be String, number, true, false, or null (at "source")',
  },
  { source: RULER_COMPILER, restriction: 'a match expression names an operator', pattern: { source: [{}] }, reason: 'Match expression name not found' },
  { source: RULER_COMPILER, restriction: 'one operator per match expression', pattern: { source: [{ prefix: 'a', suffix: 'b' }] }, reason: 'Only one key allowed in match expression' },
  { source: OPERATORS_PAGE, restriction: 'only the documented operators', pattern: { source: [{ 'starts-with': 'aws.' }] }, reason: 'Unrecognized match type starts-with' },
  { source: FILTERING_PAGE, restriction: 'prefix matching is for string values', pattern: { time: [{ prefix: 2017 }] }, reason: 'prefix match pattern must be a string' },
  { source: FILTERING_PAGE, restriction: 'prefix takes only equals-ignore-case', pattern: { time: [{ prefix: { wildcard: '2017*' } }] }, reason: 'Unsupported prefix pattern: wildcard' },
  {
    source: FILTERING_PAGE,
    restriction: 'prefix equals-ignore-case takes a string',
    pattern: { time: [{ prefix: { 'equals-ignore-case': 1 } }] },
    reason: 'equals-ignore-case match pattern must be a string',
  },
  { source: FILTERING_PAGE, restriction: 'suffix matching is for string values', pattern: { FileName: [{ suffix: ['.png'] }] }, reason: 'suffix match pattern must be a string' },
  { source: FILTERING_PAGE, restriction: 'suffix takes only equals-ignore-case', pattern: { FileName: [{ suffix: { prefix: 'a' } }] }, reason: 'Unsupported suffix pattern: prefix' },
  { source: RULER_README, restriction: 'equals-ignore-case takes a string', pattern: { source: [{ 'equals-ignore-case': null }] }, reason: 'equals-ignore-case match pattern must be a string' },
  { source: RULER_README, restriction: 'wildcard takes a string', pattern: { source: [{ wildcard: 5 }] }, reason: 'wildcard match pattern must be a string' },
  { source: RULER_README, restriction: 'consecutive wildcard characters are not allowed', pattern: { source: [{ wildcard: 'a**b' }] }, reason: 'Consecutive wildcard characters at pos 2' },
  {
    source: RULER_WILDCARD,
    restriction: 'a backslash escapes only an asterisk or a backslash',
    pattern: { source: [{ wildcard: 'a\\b*' }] },
    reason: 'Invalid escape character at pos 2',
  },
  { source: FILTERING_PAGE, restriction: 'exists is true or false', pattern: { state: [{ exists: 'true' }] }, reason: 'exists match pattern must be either true or false.' },
  { source: RULER_COMPILER, restriction: 'numeric takes an array', pattern: { price: [{ numeric: '>5' }] }, reason: 'Value of numeric must be an array.' },
  { source: RULER_COMPILER, restriction: 'numeric is not empty', pattern: { price: [{ numeric: [] }] }, reason: 'Invalid member in numeric match: ]' },
  { source: RULER_COMPILER, restriction: 'numeric starts with an operator', pattern: { price: [{ numeric: [5, '>'] }] }, reason: 'Invalid member in numeric match: 5' },
  { source: OPERATORS_PAGE, restriction: 'numeric operators are =, <, <=, >, >=', pattern: { price: [{ numeric: ['≤', 20] }] }, reason: 'Unrecognized numeric range operator: ≤' },
  { source: FILTERING_PAGE, restriction: 'numeric matching works with JSON numbers', pattern: { price: [{ numeric: ['=', '100'] }] }, reason: 'Value of equals must be numeric' },
  { source: RULER_COMPILER, restriction: 'an operator needs its number', pattern: { price: [{ numeric: ['>'] }] }, reason: 'Value of > must be numeric' },
  { source: RULER_COMPILER, restriction: 'a range starts with its lower bound', pattern: { price: [{ numeric: ['<', 10, '>', 0] }] }, reason: 'Too many elements in numeric expression' },
  { source: RULER_COMPILER, restriction: 'a range ends with its upper bound', pattern: { price: [{ numeric: ['>', 0, '>', 10] }] }, reason: 'Bad numeric range operator: >' },
  { source: RULER_COMPILER, restriction: 'a range is inverted', pattern: { price: [{ numeric: ['>', 10, '<=', 5] }] }, reason: 'Bottom must be less than top' },
  { source: RULER_COMPILER, restriction: 'a range is empty', pattern: { price: [{ numeric: ['>=', 5, '<', 5] }] }, reason: 'Bottom must be less than top' },
  { source: RULER_COMPILER, restriction: 'a range has two bounds at most', pattern: { price: [{ numeric: ['>', 0, '<', 5, '<', 6] }] }, reason: 'Too many terms in numeric range expression' },
  {
    source: RULER_README,
    restriction: 'numeric matching is limited to -5.0e9 … +5.0e9',
    pattern: { price: [{ numeric: ['>', 6e9] }] },
    reason: 'Value must be between -5.0E9 and 5.0E9, inclusive',
  },
  { source: RULER_COMPILER, restriction: 'cidr takes a string', pattern: { ip: [{ cidr: 10 }] }, reason: 'prefix match pattern must be a string' },
  { source: FILTERING_PAGE, restriction: 'a CIDR block has a mask', pattern: { ip: [{ cidr: '10.0.0.0' }] }, reason: "Malformed CIDR, one '/' required" },
  { source: FILTERING_PAGE, restriction: 'a CIDR mask is an integer', pattern: { ip: [{ cidr: '10.0.0.0/x' }] }, reason: 'Malformed CIDR, mask bits must be an integer' },
  { source: FILTERING_PAGE, restriction: 'a CIDR block is an IPv4 or IPv6 address', pattern: { ip: [{ cidr: '300.0.0.0/8' }] }, reason: 'Nonstandard IP address: 300.0.0.0' },
  { source: FILTERING_PAGE, restriction: 'an IPv4 mask is at most 32 bits', pattern: { ip: [{ cidr: '10.0.0.0/33' }] }, reason: 'Malformed CIDR, mask bits must be between 0 and 32' },
  {
    source: FILTERING_PAGE,
    restriction: 'anything-but takes strings and numbers',
    pattern: { state: [{ 'anything-but': null }] },
    reason: 'Value of anything-but must be an array or single string/number value.',
  },
  {
    source: FILTERING_PAGE,
    restriction: 'anything-but lists contain only strings, or only numbers',
    pattern: { state: [{ 'anything-but': ['stopped', 5] }] },
    reason: 'Inside anything but list, either all values are number or string, mixed type is not supported',
  },
  {
    source: RULER_COMPILER,
    restriction: 'an anything-but list is not empty',
    pattern: { state: [{ 'anything-but': [] }] },
    reason: 'Inside anything but list, either all values are number or string, mixed type is not supported',
  },
  {
    source: FILTERING_PAGE,
    restriction: 'no null or boolean in an anything-but list',
    pattern: { state: [{ 'anything-but': [null] }] },
    reason: 'Inside anything but list, start|null|boolean is not supported.',
  },
  { source: RULER_COMPILER, restriction: 'an anything-but object names an operator', pattern: { state: [{ 'anything-but': {} }] }, reason: 'Anything-But expression name not found' },
  {
    source: OPERATORS_PAGE,
    restriction: 'anything-but takes prefix, suffix, equals-ignore-case or wildcard',
    pattern: { state: [{ 'anything-but': { numeric: ['>', 1] } }] },
    reason: 'Unsupported anything-but pattern: numeric',
  },
  { source: RULER_COMPILER, restriction: 'no empty anything-but prefix', pattern: { state: [{ 'anything-but': { prefix: '' } }] }, reason: 'Null prefix/suffix not allowed' },
  {
    source: RULER_COMPILER,
    restriction: 'anything-but suffix takes strings',
    pattern: { state: [{ 'anything-but': { suffix: ['.png', 1] } }] },
    reason: 'prefix/suffix match pattern must be a string',
  },
  {
    source: RULER_COMPILER,
    restriction: 'anything-but equals-ignore-case takes strings',
    pattern: { state: [{ 'anything-but': { 'equals-ignore-case': [1] } }] },
    reason: 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.',
  },
  {
    source: RULER_README,
    restriction: 'anything-but wildcard: no consecutive wildcard characters',
    pattern: { path: [{ 'anything-but': { wildcard: ['*/lib/**'] } }] },
    reason: 'Consecutive wildcard characters at pos 7',
  },
  {
    source: RULER_COMPILER,
    restriction: 'an anything-but operator takes a string or a list, not an object',
    pattern: { state: [{ 'anything-but': { prefix: { 'equals-ignore-case': 'init' } } }] },
    reason: 'Value of anything-but must be an array or single string/number value.',
  },
  { source: RULER_README, restriction: '$or is followed by an array', pattern: { $or: { a: ['b'] } }, reason: 'It must be an Array followed with $or.' },
  { source: RULER_README, restriction: '$or has at least 2 objects', pattern: { $or: [{ a: ['b'] }] }, reason: 'There must have at least 2 Objects in $or relationship.' },
  { source: RULER_README, restriction: '$or holds objects only', pattern: { $or: [{ a: ['b'] }, ['c']] }, reason: 'Only JSON object is allowed in array of $or relationship.' },
  {
    source: RULER_README,
    restriction: 'no Ruler keyword as a field name inside $or',
    pattern: { $or: [{ numeric: [123] }, { prefix: ['abc'] }] },
    reason: 'numeric is Ruler reserved fieldName which cannot be used inside $or.',
  },
  { source: RULER_COMPILER, restriction: 'the restrictions hold inside $or too', pattern: { detail: { $or: [{ a: [] }, { b: ['c'] }] } }, reason: 'Empty arrays are not allowed (at "detail.a")' },
];
