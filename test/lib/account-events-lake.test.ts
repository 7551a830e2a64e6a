import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Duration, Size, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { accountEventPattern } from '../../contracts/account-events';
import {
  ACCOUNT_EVENTS_TABLE,
  CURATED_PARTITION_KEYS,
  FIREHOSE_ACCOUNT_EVENTS_ERROR_PREFIX,
  FIREHOSE_ACCOUNT_EVENTS_PREFIX,
  LAKE_PREFIXES,
  accountEventsPartitionPrefix,
  renderFirehosePrefix,
} from '../../contracts/lake-layout';
import { AccountEventsLake, AccountEventsLakeProps, accountEventsPartitionProjection } from '../../lib/account-events-lake';
import { ApiUsageTrackerStack } from '../../lib/api-usage-tracker-stack';
import { STACK_ID } from '../../lib/app';
import { LakeBucket } from '../../lib/lake-bucket';
import { readUsageTrackerConfig } from '../../lib/stack-config';
import { CDK_JSON_CONTEXT, resourcesOf, testApp } from './fixtures';

/** One AccountEventsLake on a bus, a lake bucket and a Glue database of its own. */
function build(app: App, props: Partial<AccountEventsLakeProps> = {}): { stack: Stack; lake: AccountEventsLake } {
  const stack = new Stack(app, 'TestStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const lakeBucket = new LakeBucket(stack, 'LakeBucket');
  const database = new glue.CfnDatabase(stack, 'Database', { catalogId: stack.account, databaseInput: { name: 'api_usage' } });
  const lake = new AccountEventsLake(stack, 'AccountEventsLake', {
    eventBus: new events.EventBus(stack, 'Bus'),
    lakeBucket: lakeBucket.bucket,
    lakeEncryptionKey: lakeBucket.encryptionKey,
    database,
    databaseName: 'api_usage',
    ...props,
  });
  return { stack, lake };
}

interface TableInput {
  readonly TableInput: {
    readonly Name: string;
    readonly Parameters: Record<string, string>;
    readonly PartitionKeys: { Name: string; Type: string }[];
    readonly StorageDescriptor: { Columns: { Name: string; Type: string }[]; Location: unknown; SerdeInfo: { SerializationLibrary: string } };
  };
}

describe('Construct: AccountEventsLake', () => {
  const { stack } = build(testApp());
  const template = Template.fromStack(stack);

  it("routes the contracts' account event pattern to its own stream, with a dead-letter queue and EventBridge's maximum retries", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: [...accountEventPattern().source], 'detail-type': [...accountEventPattern()['detail-type']] },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AccountEventsLakeDeliveryStream'), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AccountEventsLakeDeadLetterQueue'), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        }),
      ],
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
  });

  // https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html: arrival time (UTC) of the object's oldest record.
  it('buffers 300 s / 5 MiB, gzips, ends each record with a newline, under account-events/ by arrival day', () => {
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        BufferingHints: { IntervalInSeconds: 300, SizeInMBs: 5 },
        CompressionFormat: 'GZIP',
        Prefix: FIREHOSE_ACCOUNT_EVENTS_PREFIX,
        ErrorOutputPrefix: FIREHOSE_ACCOUNT_EVENTS_ERROR_PREFIX,
        EncryptionConfiguration: { KMSEncryptionConfig: { AWSKMSKeyARN: Match.anyValue() } },
        ProcessingConfiguration: { Enabled: true, Processors: [Match.objectLike({ Type: 'AppendDelimiterToRecord' })] },
      }),
    });
    expect(renderFirehosePrefix(FIREHOSE_ACCOUNT_EVENTS_PREFIX, new Date('2026-03-04T23:59:59Z'))).toBe('account-events/year=2026/month=03/day=04/');
    expect(renderFirehosePrefix(FIREHOSE_ACCOUNT_EVENTS_ERROR_PREFIX, new Date('2026-03-04T00:00:00Z'), 'processing-failed')).toBe('errors/account-events/processing-failed/year=2026/month=03/day=04/');
  });

  // https://docs.aws.amazon.com/athena/latest/ug/partition-projection-supported-types.html
  it('creates account_events over account-events/ with the OpenX JSON SerDe and projected integer day partitions, zero-padded', () => {
    const [table] = resourcesOf<TableInput>(template, 'AWS::Glue::Table');
    const input = table.Properties.TableInput;
    expect(input.Name).toBe(ACCOUNT_EVENTS_TABLE.table);
    expect(input.PartitionKeys).toEqual(CURATED_PARTITION_KEYS.map((key) => ({ Name: key, Type: 'string' })));
    expect(input.Parameters).toMatchObject({
      classification: 'json',
      'projection.enabled': 'true',
      'projection.year.type': 'integer',
      'projection.year.range': '2024,2099',
      'projection.month.range': '1,12',
      'projection.month.digits': '2',
      'projection.day.range': '1,31',
      'projection.day.digits': '2',
    });
    expect(input.StorageDescriptor.SerdeInfo.SerializationLibrary).toBe('org.openx.data.jsonserde.JsonSerDe');
    expect(input.StorageDescriptor.Columns.map((c) => [c.Name, c.Type])).toEqual([
      ['id', 'string'],
      ['time', 'string'],
      ['source', 'string'],
      ['detail', 'struct<schemaVersion:string,eventId:string,kind:string,tenantId:string,occurredAt:string,data:map<string,string>>'],
    ]);
    expect(JSON.stringify(input.StorageDescriptor.Location)).toContain(`/${LAKE_PREFIXES.accountEvents}`);
    template.hasResource('AWS::Glue::Table', { DependsOn: Match.arrayWith(['Database']) });
  });

  it('projects exactly the folders the stream writes: the projected values, padded, name the day Firehose files an object under', () => {
    const projection = accountEventsPartitionProjection();
    for (const at of [new Date('2024-01-01T00:00:00Z'), new Date('2026-11-30T13:00:00Z'), new Date('2099-12-31T23:59:59Z')]) {
      const values = { year: at.getUTCFullYear(), month: at.getUTCMonth() + 1, day: at.getUTCDate() };
      const folders = CURATED_PARTITION_KEYS.map((key) => {
        const [min, max] = projection[`projection.${key}.range`].split(',').map(Number);
        expect(values[key]).toBeGreaterThanOrEqual(min);
        expect(values[key]).toBeLessThanOrEqual(max);
        return `${key}=${String(values[key]).padStart(Number(projection[`projection.${key}.digits`] ?? '1'), '0')}/`;
      });
      expect(`${LAKE_PREFIXES.accountEvents}${folders.join('')}`).toBe(renderFirehosePrefix(FIREHOSE_ACCOUNT_EVENTS_PREFIX, at));
      expect(accountEventsPartitionPrefix(at)).toBe(renderFirehosePrefix(FIREHOSE_ACCOUNT_EVENTS_PREFIX, at));
    }
  });

  it('grantReadEvents gives reads of account-events/ only', () => {
    const app = testApp();
    const { stack: grantStack, lake } = build(app);
    const reader = new iam.Role(grantStack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
    lake.grantReadEvents(reader);
    const policies = JSON.stringify(Template.fromStack(grantStack).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Reader') }] } }));
    expect(policies).toContain('/account-events/*');
    expect(policies).not.toContain('/raw/*');
    expect(policies).toContain('s3:GetObject*');
    expect(policies).not.toContain('s3:PutObject');
  });

  it('refuses buffering hints Firehose would not take, naming the construct', () => {
    expect(() => build(testApp(), { bufferInterval: Duration.seconds(901) })).toThrow(
      "TestStack/AccountEventsLake: bufferInterval must be from 0 to 900 seconds (Firehose's limits for an S3 destination); got 901 seconds.",
    );
    expect(() => build(testApp(), { bufferSize: Size.mebibytes(129) })).toThrow(
      "TestStack/AccountEventsLake: bufferSize must be from 1 to 128 MiB (Firehose's limits for an S3 destination); got 129 MiB.",
    );
  });
});

describe('cdk-nag AwsSolutions on AccountEventsLake', () => {
  it('synthesizes with no unacknowledged finding', () => {
    const app = new App({ outdir: mkdtempSync(path.join(tmpdir(), 'cdk-out-')), context: CDK_JSON_CONTEXT });
    build(app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const assembly = app.synth();
    const report = JSON.parse(readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: { violations: unknown[] }[] };
    expect(report.pluginReports.flatMap((plugin) => plugin.violations)).toEqual([]);
  });
});

describe('Stack: ApiUsageTrackerStack with the account events lake', () => {
  it('puts account_events in the usage database and its rule on the usage bus, beside the usage rule', () => {
    const app = testApp({ 'aws:cdk:bundling-stacks': [] });
    const stack = new ApiUsageTrackerStack(app, STACK_ID, { config: readUsageTrackerConfig(app.node) });
    const template = Template.fromStack(stack);
    const busRef = stack.resolve(stack.ingestion.eventBus.eventBusName) as unknown;
    template.hasResourceProperties('AWS::Events::Rule', { EventBusName: busRef, EventPattern: Match.objectLike({ source: [...accountEventPattern().source] }) });
    template.hasResourceProperties('AWS::Glue::Table', { DatabaseName: stack.lake.databaseName, TableInput: Match.objectLike({ Name: ACCOUNT_EVENTS_TABLE.table }) });
    expect(stack.accountEventsLake.deliveryStream).not.toBe(stack.ingestion.deliveryStream);
  });
});
