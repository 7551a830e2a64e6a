import { Duration, Size } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { renderUsageEventJsonSchema } from '../../contracts/generated-artifacts';
import { usageEventPattern } from '../../contracts/event-pattern';
import { FIREHOSE_ERROR_PREFIX, FIREHOSE_RAW_PREFIX } from '../../contracts/lake-layout';
import { ingestionTemplate } from './fixtures';

describe('Construct: UsageIngestion', () => {
  const { template } = ingestionTemplate();

  it('creates a bus and an archive of usage events with 30 days retention', () => {
    template.resourceCountIs('AWS::Events::EventBus', 1);
    template.hasResourceProperties('AWS::Events::Archive', {
      RetentionDays: 30,
      EventPattern: usageEventPattern(),
    });
  });

  it("builds the rule from the contracts' pattern with a DLQ and an explicit retry policy", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: usageEventPattern(),
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeliveryStream'), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeadLetterQueue'), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        }),
      ],
    });
  });

  it('encrypts the dead-letter queue, requires TLS and lets only the rule send to it', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp('ToFirehose'), 'Arn'] } } },
          }),
        ]),
      },
    });
  });

  it('buffers 900 s / 128 MiB, gzips, appends newlines, and uses the lake prefixes', () => {
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
      ExtendedS3DestinationConfiguration: Match.objectLike({
        BufferingHints: { IntervalInSeconds: 900, SizeInMBs: 128 },
        CompressionFormat: 'GZIP',
        Prefix: FIREHOSE_RAW_PREFIX,
        ErrorOutputPrefix: FIREHOSE_ERROR_PREFIX,
        ProcessingConfiguration: { Enabled: true, Processors: [Match.objectLike({ Type: 'AppendDelimiterToRecord' })] },
        CloudWatchLoggingOptions: Match.objectLike({ Enabled: true }),
      }),
    });
  });

  it('registers the generated usage event schema', () => {
    template.hasResourceProperties('AWS::EventSchemas::Schema', {
      Type: 'JSONSchemaDraft4',
      SchemaName: 'ApiUsageEvent',
      Content: renderUsageEventJsonSchema(),
    });
    template.resourceCountIs('AWS::EventSchemas::Discoverer', 0);
  });

  it('turns on schema discovery when asked', () => {
    ingestionTemplate({ schemaDiscovery: true }).template.resourceCountIs('AWS::EventSchemas::Discoverer', 1);
  });

  it('takes buffering, sources and retention from props', () => {
    const custom = ingestionTemplate({
      bufferInterval: Duration.seconds(60),
      bufferSize: Size.mebibytes(5),
      eventSources: ['orders', 'billing'],
      archiveRetention: Duration.days(7),
      retryAttempts: 10,
      maxEventAge: Duration.hours(2),
    }).template;
    custom.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({ BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 5 } }),
    });
    custom.hasResourceProperties('AWS::Events::Archive', { RetentionDays: 7, EventPattern: { source: ['orders', 'billing'] } });
    custom.hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 7200 } })],
    });
  });

  it.each([
    [{ bufferInterval: Duration.seconds(901) }, "bufferInterval must be from 0 to 900 seconds (Firehose's limits for an S3 destination); got 901 seconds."],
    [{ bufferSize: Size.mebibytes(129) }, "bufferSize must be from 1 to 128 MiB (Firehose's limits for an S3 destination); got 129 MiB."],
    [{ retryAttempts: 200 }, "retryAttempts must be a whole number from 0 to 185 (EventBridge's limit); got 200."],
    [{ maxEventAge: Duration.seconds(30) }, "maxEventAge must be from 1 minute to 24 hours (EventBridge's limit); got 30 seconds."],
    [{ eventSources: [] }, 'The event source allow-list is empty.'],
  ])('validates %o', (props, message) => {
    expect(() => ingestionTemplate(props)).toThrow(message);
  });
});
