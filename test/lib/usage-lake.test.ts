import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { renderCuratedColumnsJson } from '../../contracts/generated-artifacts';
import { CURATION_ERRORS, LAKE_PREFIXES, PRICE_LIST, curationErrorsPartitionPrefix } from '../../contracts/lake-layout';
import { CURATION_METRICS } from '../../contracts/pipeline-metrics';
import { DEFAULT_GLUE_SCHEDULE, folderMarkerKeys, validateGlueSchedule } from '../../lib/usage-lake';
import { lakeTemplate, resourcesOf } from './fixtures';

/** The job role's policy, as the tests read it. */
type JobPolicy = { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[] } };

describe('Construct: UsageLake', () => {
  const { template } = lakeTemplate();

  it('registers the price list billing reads as a CSV table under reference/', () => {
    template.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: 'api_usage',
      TableInput: Match.objectLike({
        Name: PRICE_LIST.table,
        Parameters: { classification: 'csv', 'skip.header.line.count': '1' },
        StorageDescriptor: Match.objectLike({
          Columns: PRICE_LIST.columns.map((c) => ({ Name: c.name, Type: c.type })),
          Location: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([`/${PRICE_LIST.prefix}`])]) }),
        }),
      }),
    });
  });

  it('creates the database', () => {
    template.hasResourceProperties('AWS::Glue::Database', { DatabaseInput: Match.objectLike({ Name: 'api_usage' }) });
  });

  it('encrypts S3 output, CloudWatch logs and bookmarks with the lake key', () => {
    const keyArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('LakeBucketKey'), 'Arn'] };
    template.hasResourceProperties('AWS::Glue::SecurityConfiguration', {
      EncryptionConfiguration: {
        S3Encryptions: [{ S3EncryptionMode: 'SSE-KMS', KmsKeyArn: keyArn }],
        CloudWatchEncryption: { CloudWatchEncryptionMode: 'SSE-KMS', KmsKeyArn: keyArn },
        JobBookmarksEncryption: { JobBookmarksEncryptionMode: 'CSE-KMS', KmsKeyArn: keyArn },
      },
    });
  });

  it('runs the PySpark script from glue-scripts/ with bookmarks and the contracts as arguments', () => {
    template.hasResourceProperties('AWS::Glue::Job', {
      GlueVersion: '5.0',
      WorkerType: 'G.1X',
      NumberOfWorkers: 2,
      ExecutionProperty: { MaxConcurrentRuns: 1 },
      SecurityConfiguration: { Ref: Match.stringLikeRegexp('SecurityConfiguration') },
      Command: { Name: 'glueetl', PythonVersion: '3', ScriptLocation: Match.anyValue() },
      DefaultArguments: Match.objectLike({
        '--job-bookmark-option': 'job-bookmark-enable',
        '--lake_bucket': { Ref: Match.stringLikeRegexp('LakeBucket') },
        '--curated_columns': JSON.stringify(JSON.parse(renderCuratedColumnsJson())),
      }),
    });
  });

  it('lets the job read raw/, write curated/ and errors/glue/ only', () => {
    const statements = JSON.stringify(template.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('LakeJobRole') } }));
    expect(statements).toContain('/raw/*');
    expect(statements).toContain('/curated/usage_events/*');
    expect(statements).toContain('/errors/glue/*');
    expect(statements).not.toMatch(/"Arn"\]\},"\/\*"/);
  });

  // Spark's commit protocol renames (copy + delete) every output, error records included; with
  // put alone the run fails after the curated append and the bookmark never advances.
  it.each(['curated/usage_events/', 'index/usage_events_event_ids/', 'errors/glue/'])('lets the job list, get, put and delete what Spark writes under %s', (prefix) => {
    const statements = resourcesOf<JobPolicy>(template, 'AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('LakeJobRole') } })
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement);
    const actionsOn = (suffix: string) =>
      statements
        .filter((s) => JSON.stringify(s.Resource).includes(`"${suffix}"`))
        .flatMap((s) => [s.Action].flat());
    for (const target of [`/${prefix}*`, ...folderMarkerKeys(prefix).map((key) => `/${key}`)]) {
      expect(actionsOn(target)).toEqual(expect.arrayContaining(['s3:GetObject*', 's3:PutObject', 's3:DeleteObject*']));
    }
  });

  // Schema evolution: the crawler's incremental mode never adds columns, so a column added to the
  // contract reaches usage_events through the job's next run (the column list is its argument).
  it('passes the database to the job and lets it sync the usage table with the contract', () => {
    template.hasResourceProperties('AWS::Glue::Job', { DefaultArguments: Match.objectLike({ '--database_name': 'api_usage' }) });
    const statements = JSON.stringify(template.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('LakeJobRole') } }));
    expect(statements).toContain('"Action":["glue:GetTable","glue:UpdateTable"]');
    expect(statements).toContain(':table/api_usage/usage_events"');
  });

  it('crawls curated/ into one table, new folders only, never splitting it', () => {
    template.hasResourceProperties('AWS::Glue::Crawler', {
      Targets: { S3Targets: [Match.objectLike({ Path: { 'Fn::Join': ['', ['s3://', Match.anyValue(), '/curated/usage_events/']] } })] },
      RecrawlPolicy: { RecrawlBehavior: 'CRAWL_NEW_FOLDERS_ONLY' },
      SchemaChangePolicy: { UpdateBehavior: 'LOG', DeleteBehavior: 'LOG' },
      CrawlerSecurityConfiguration: Match.anyValue(),
    });
    const crawler = resourcesOf<{ Configuration: string }>(template, 'AWS::Glue::Crawler')[0];
    expect(JSON.parse(crawler.Properties.Configuration)).toEqual({
      Version: 1,
      Grouping: { TableGroupingPolicy: 'CombineCompatibleSchemas', TableLevelConfiguration: 3 },
      CrawlerOutput: {
        Partitions: { AddOrUpdateBehavior: 'InheritFromTable' },
        Tables: { TableThreshold: 1 },
      },
      CreatePartitionIndex: true,
    });
  });

  it('schedules the job hourly and starts the crawler when the job succeeded', () => {
    template.hasResourceProperties('AWS::Glue::Trigger', {
      Type: 'SCHEDULED',
      Schedule: DEFAULT_GLUE_SCHEDULE,
      StartOnCreation: true,
      WorkflowName: { Ref: Match.stringLikeRegexp('Workflow') },
      Actions: [{ JobName: { Ref: Match.stringLikeRegexp('LakeJob') } }],
    });
    template.hasResourceProperties('AWS::Glue::Trigger', {
      Type: 'CONDITIONAL',
      WorkflowName: { Ref: Match.stringLikeRegexp('Workflow') },
      Predicate: { Conditions: [{ LogicalOperator: 'EQUALS', State: 'SUCCEEDED', JobName: { Ref: Match.stringLikeRegexp('LakeJob') } }] },
      Actions: [{ CrawlerName: { Ref: Match.stringLikeRegexp('Crawler') } }],
    });
  });

  it('takes schedule, workers, timeout and database from props', () => {
    const custom = lakeTemplate({ schedule: 'cron(0 2 * * ? *)', numberOfWorkers: 4, jobTimeout: Duration.minutes(30), databaseName: 'usage_prod' }).template;
    custom.hasResourceProperties('AWS::Glue::Trigger', { Type: 'SCHEDULED', Schedule: 'cron(0 2 * * ? *)' });
    custom.hasResourceProperties('AWS::Glue::Job', { NumberOfWorkers: 4, Timeout: 30 });
    custom.hasResourceProperties('AWS::Glue::Crawler', { DatabaseName: 'usage_prod' });
  });

  it('registers curation_errors over errors/glue/, its run-day partitions projected (no crawler)', () => {
    template.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: 'api_usage',
      TableInput: Match.objectLike({
        Name: CURATION_ERRORS.table,
        PartitionKeys: [{ Name: 'year', Type: 'string' }, { Name: 'month', Type: 'string' }, { Name: 'day', Type: 'string' }],
        Parameters: Match.objectLike({
          'projection.enabled': 'true',
          'projection.year.type': 'integer',
          'projection.year.range': `${CURATION_ERRORS.projectedYears.first},${CURATION_ERRORS.projectedYears.last}`,
          'projection.month.range': '1,12',
          'projection.month.digits': '2',
          'projection.day.range': '1,31',
          'projection.day.digits': '2',
        }),
        StorageDescriptor: Match.objectLike({
          Columns: CURATION_ERRORS.columns.map((c) => ({ Name: c.name, Type: c.type, Comment: c.comment })),
          Location: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([`/${LAKE_PREFIXES.glueErrors}`])]) }),
          SerdeInfo: { SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
        }),
      }),
    });
    expect(JSON.stringify(template.findResources('AWS::Glue::Crawler'))).not.toContain(LAKE_PREFIXES.glueErrors);
  });

  it('projects exactly the run-day folders the job writes its rejects to', () => {
    const table = resourcesOf<{ TableInput: { Name: string; Parameters: Record<string, string>; PartitionKeys: { Name: string }[] } }>(template, 'AWS::Glue::Table')
      .map((t) => t.Properties.TableInput)
      .find((input) => input.Name === CURATION_ERRORS.table)!;
    const runAt = new Date('2026-01-05T23:59:00Z');
    const values = { year: runAt.getUTCFullYear(), month: runAt.getUTCMonth() + 1, day: runAt.getUTCDate() };
    const projected = table.PartitionKeys.map(({ Name }) => {
      const [low, high] = table.Parameters[`projection.${Name}.range`].split(',').map(Number);
      const value = values[Name as keyof typeof values];
      expect({ Name, inRange: value >= low && value <= high }).toEqual({ Name, inRange: true });
      return `${Name}=${String(value).padStart(Number(table.Parameters[`projection.${Name}.digits`] ?? 0), '0')}/`;
    });
    expect(`${LAKE_PREFIXES.glueErrors}${projected.join('')}`).toBe(curationErrorsPartitionPrefix(runAt));
  });

  it('lets the job publish its curation metrics in their own namespace only', () => {
    const statements = resourcesOf<JobPolicy>(template, 'AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('LakeJobRole') } })
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .filter((statement) => [statement.Action].flat().includes('cloudwatch:PutMetricData'));
    expect(statements.map((statement) => statement.Condition)).toEqual([
      { StringEquals: { 'cloudwatch:namespace': 'Glue' } },
      { StringEquals: { 'cloudwatch:namespace': CURATION_METRICS.namespace } },
    ]);
  });

  it('passes its late event window to the job in the curation spec', () => {
    const custom = lakeTemplate({ lateEventWindowDays: 7 }).template;
    const job = resourcesOf<{ DefaultArguments: Record<string, string> }>(custom, 'AWS::Glue::Job')[0];
    expect(JSON.parse(job.Properties.DefaultArguments['--curated_columns'])).toMatchObject({ eventTimeWindow: { lateEventWindowDays: 7 } });
    // Glue refuses job arguments above 260 KB.
    expect(Buffer.byteLength(job.Properties.DefaultArguments['--curated_columns'])).toBeLessThan(260 * 1024);
    expect(() => lakeTemplate({ lateEventWindowDays: 0 })).toThrow('lateEventWindowDays must be a whole number of days from 1 to 3650; got 0.');
  });

  it.each([
    [{ schedule: 'rate(1 hour)' }, 'schedule "rate(1 hour)" is not a Glue cron expression'],
    [{ numberOfWorkers: 1 }, "numberOfWorkers must be a whole number from 2 to 299 (Glue's limits for G.1X); got 1."],
    [{ databaseName: 'Usage-DB' }, 'databaseName "Usage-DB" is not usable by Athena: use lower-case letters, digits and underscores (1-255 characters).'],
  ])('validates %o', (props, message) => {
    expect(() => lakeTemplate(props)).toThrow(message);
  });
});

describe('Function: folderMarkerKeys', () => {
  it('names the marker of the prefix and of every folder above it', () => {
    expect(folderMarkerKeys('errors/glue/')).toEqual(['errors_$folder$', 'errors/glue_$folder$']);
    expect(folderMarkerKeys('curated/usage_events/')).toEqual(['curated_$folder$', 'curated/usage_events_$folder$']);
  });
});

describe('Function: validateGlueSchedule', () => {
  it('accepts Glue cron with one "?" day field and refuses five-field cron', () => {
    expect(() => { validateGlueSchedule('cron(15 12 * * ? *)'); }).not.toThrow();
    expect(() => { validateGlueSchedule('cron(0 * * * *)'); }).toThrow('is not a Glue cron expression');
    expect(() => { validateGlueSchedule('cron(0 * * * * *)'); }).toThrow('with "?" in one of the day fields');
  });
});
