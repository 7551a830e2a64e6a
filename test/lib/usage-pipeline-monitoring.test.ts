import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { UsageAnalytics } from '../../lib/usage-analytics';
import { UsageIngestion } from '../../lib/usage-ingestion';
import { UsageLake } from '../../lib/usage-lake';
import { CURATION_METRICS } from '../../contracts/pipeline-metrics';
import { DEFAULT_REJECTED_RECORDS_ALARM_THRESHOLD, GLUE_JOB_FAILURE_STATES, UsagePipelineMonitoring, UsagePipelineMonitoringProps } from '../../lib/usage-pipeline-monitoring';
import { lakeStack, resourcesOf } from './fixtures';

const synth = (props: Partial<UsagePipelineMonitoringProps> = {}, bufferInterval = Duration.seconds(900)) => {
  const { stack, lakeBucket } = lakeStack();
  const ingestion = new UsageIngestion(stack, 'Ingestion', { lakeBucket: lakeBucket.bucket, bufferInterval });
  const lake = new UsageLake(stack, 'Lake', { lakeBucket: lakeBucket.bucket, encryptionKey: lakeBucket.encryptionKey });
  const analytics = new UsageAnalytics(stack, 'Analytics', { lake, encryptionKey: lakeBucket.encryptionKey });
  const topic = props.alarmTopic === undefined ? undefined : new sns.Topic(stack, 'OwnTopic');
  new UsagePipelineMonitoring(stack, 'Monitoring', { ingestion, lake, analytics, ...props, ...(topic ? { alarmTopic: topic } : {}) });
  return Template.fromStack(stack);
};

describe('Construct: UsagePipelineMonitoring', () => {
  const template = synth({ alarmEmail: 'ops@example.com' });
  const topicRef = { Ref: Match.stringLikeRegexp('AlarmTopic') };

  it('sends alarms to an encrypted, TLS-only topic with the e-mail subscribed', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  // The topic policy replaces SNS's default one: without this statement no alarm reaches anyone.
  it('lets this account\'s CloudWatch alarms publish to the topic', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: topicRef,
            Condition: {
              ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', Match.arrayWith([':cloudwatch:', ':alarm:*'])] } },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          }),
        ]),
      },
    });
  });

  it('alarms, to the topic, when a view refresh fails, times out or is aborted', () => {
    const alarm = resourcesOf<{ AlarmActions: unknown; Threshold: number; Metrics: unknown }>(template, 'AWS::CloudWatch::Alarm').find((a) => JSON.stringify(a).includes('view refreshes failed'));
    expect(alarm).toBeDefined();
    expect(alarm!.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/AlarmTopic/) as unknown }]);
    expect(alarm!.Properties.Threshold).toBe(0);
    const metrics = (alarm!.Properties.Metrics as { MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string; Value: { Ref: string } }[] } } }[])
      .filter((m) => m.MetricStat)
      .map((m) => [m.MetricStat!.Metric.MetricName, m.MetricStat!.Metric.Dimensions[0].Value.Ref]);
    expect(metrics.map(([name]) => name).sort()).toEqual(['ExecutionsAborted', 'ExecutionsFailed', 'ExecutionsTimedOut']);
    expect(metrics.every(([, ref]) => /ViewRefresher/.test(ref))).toBe(true);
  });

  it('alarms when messages are visible in the dead-letter queue', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [topicRef],
    });
  });

  it('alarms when Firehose data is older than twice the buffer interval', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DeliveryToS3.DataFreshness',
      Namespace: 'AWS/Firehose',
      Threshold: 1800,
      AlarmActions: [topicRef],
    });
    synth({}, Duration.seconds(300)).hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DeliveryToS3.DataFreshness',
      Threshold: 600,
    });
  });

  it('alarms on Firehose delivery failures and failed rule invocations', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'DeliveryToS3.Success',
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      AlarmActions: [topicRef],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'FailedInvocations', Namespace: 'AWS/Events', AlarmActions: [topicRef] });
  });

  it('notifies on Glue job and crawler failures through EventBridge rules', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.glue'],
        'detail-type': ['Glue Job State Change'],
        detail: { jobName: [{ Ref: Match.stringLikeRegexp('LakeJob') }], state: [...GLUE_JOB_FAILURE_STATES] },
      },
      Targets: [Match.objectLike({ Arn: topicRef })],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.glue'],
        'detail-type': ['Glue Crawler State Change'],
        detail: { crawlerName: [{ Ref: Match.stringLikeRegexp('Crawler') }], state: ['Failed'] },
      },
      Targets: [Match.objectLike({ Arn: topicRef })],
    });
  });

  it('alarms, to the topic, when the Glue job refuses more records in an hour than the threshold', () => {
    const alarm = resourcesOf<{ MetricName?: string }>(template, 'AWS::CloudWatch::Alarm').find((a) => a.Properties.MetricName === CURATION_METRICS.rejectedRecords);
    expect(alarm).toBeDefined();
    expect(alarm!.Properties).toMatchObject({
      Namespace: CURATION_METRICS.namespace,
      Statistic: 'Sum',
      Period: 3600,
      Threshold: DEFAULT_REJECTED_RECORDS_ALARM_THRESHOLD,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      Dimensions: [{ Name: CURATION_METRICS.jobNameDimension, Value: { Ref: expect.stringMatching(/LakeJob/) as unknown } }],
      AlarmActions: [{ Ref: expect.stringMatching(/AlarmTopic/) as unknown }],
    });
    const strict = synth({ rejectedRecordsAlarmThreshold: 0 });
    strict.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: CURATION_METRICS.rejectedRecords, Threshold: 0 });
    expect(() => synth({ rejectedRecordsAlarmThreshold: -1 })).toThrow('rejectedRecordsAlarmThreshold must be a whole number of records, 0 or more; got -1.');
  });

  it('draws a dashboard', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  it('validates the e-mail and refuses a topic together with an e-mail', () => {
    expect(() => synth({ alarmEmail: 'not-an-address' })).toThrow('alarmEmail "not-an-address" is not an e-mail address.');
    expect(() => synth({ alarmTopic: {} as sns.ITopic, alarmEmail: 'ops@example.com' })).toThrow(
      'Give either alarmTopic or alarmEmail: subscribe the address to your own topic yourself.',
    );
  });
});
