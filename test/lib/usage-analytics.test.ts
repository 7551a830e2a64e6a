import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Duration, Size } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { LAKE_PREFIXES, PRICE_LIST } from '../../contracts/lake-layout';
import { loadNamedQueries } from '../../contracts/named-queries';
import { GLUE_ENTITY_NOT_FOUND, UsageAnalytics, UsageAnalyticsProps } from '../../lib/usage-analytics';
import { UsageLake } from '../../lib/usage-lake';
import { lakeStack, resourcesOf } from './fixtures';

const synth = (props: Partial<UsageAnalyticsProps> = {}) => {
  const { stack, lakeBucket } = lakeStack();
  const lake = new UsageLake(stack, 'Lake', { lakeBucket: lakeBucket.bucket, encryptionKey: lakeBucket.encryptionKey });
  const analytics = new UsageAnalytics(stack, 'Analytics', {
    lake,
    encryptionKey: lakeBucket.encryptionKey,
    serverAccessLogsBucket: lakeBucket.serverAccessLogsBucket,
    ...props,
  });
  return { template: Template.fromStack(stack), analytics };
};

describe('Construct: UsageAnalytics', () => {
  const { template } = synth();

  it('enforces the workgroup configuration with encrypted results and a 10 GiB cutoff', () => {
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      State: 'ENABLED',
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: 10 * 1024 ** 3,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: {
          OutputLocation: Match.anyValue(),
          EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: Match.anyValue() },
        },
      },
    });
  });

  it('keeps results in their own encrypted bucket that expires them', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) })] },
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ Id: 'ExpireResults', ExpirationInDays: 30 })]) },
      LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: 'athena-results/' },
    });
  });

  it('publishes one named query per file in queries/', () => {
    const queries = loadNamedQueries();
    template.resourceCountIs('AWS::Athena::NamedQuery', queries.length);
    for (const query of queries) {
      template.hasResourceProperties('AWS::Athena::NamedQuery', {
        Name: query.name,
        QueryString: query.sql,
        Database: 'api_usage',
        WorkGroup: { Ref: Match.stringLikeRegexp('WorkGroup') },
      });
    }
  });

  it('lists parameters with their types in the description', () => {
    template.hasResourceProperties('AWS::Athena::NamedQuery', {
      Name: 'billing_by_tenant',
      Description: Match.stringLikeRegexp('Execution parameters, each a quoted string literal: \\?1 month: Billing month of event time \\(UTC\\), e\\.g\\. 2026-11 \\[a month as YYYY-MM \\(01-12\\)\\]\\.$'),
    });
    template.hasResourceProperties('AWS::Athena::NamedQuery', {
      Name: 'error_rates',
      Description: Match.stringLikeRegexp('\\?1 start_date: First day of event time \\(UTC\\), inclusive \\[a date as YYYY-MM-DD \\(a real calendar date\\)\\]; \\?2 end_date: Last day'),
    });
  });

  it('cuts a long description, never a parameter, to fit Athena', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'queries-'));
    writeFileSync(path.join(dir, 'long.sql'), `-- name: long\n-- description: ${'word '.repeat(300)}\n-- param: window (enum last_hour | all): The window\nSELECT ?`);
    const { template: custom } = synth({ queriesDir: dir, refreshViewsAfterCrawl: false });
    const description = resourcesOf<{ Description: string }>(custom, 'AWS::Athena::NamedQuery')[0].Properties.Description;
    expect(description).toHaveLength(1024);
    expect(description).toMatch(/^word word .*\.\.\. Execution parameters, each a quoted string literal: \?1 window: The window \[one of last_hour, all\]\.$/);
  });

  it('recreates the views after each successful crawl', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.glue'],
        'detail-type': ['Glue Crawler State Change'],
        detail: { crawlerName: [{ Ref: Match.stringLikeRegexp('Crawler') }], state: ['Succeeded'] },
      },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('ViewRefresher') } })],
    });
    const machine = resourcesOf<{ DefinitionString: unknown }>(template, 'AWS::StepFunctions::StateMachine')[0];
    expect(JSON.stringify(machine.Properties.DefinitionString)).toContain('CREATE OR REPLACE VIEW usage_events_deduped');
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL' }),
    });
  });

  it('creates each view after the views it reads', () => {
    const machine = resourcesOf<{ DefinitionString: { 'Fn::Join': [string, unknown[]] } }>(template, 'AWS::StepFunctions::StateMachine')[0];
    const parts = machine.Properties.DefinitionString['Fn::Join'][1];
    const definition = JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('')) as {
      StartAt: string;
      States: Record<string, { Parameters?: { QueryString?: string }; Next?: string }>;
    };
    const created: string[] = [];
    for (let state: string | undefined = definition.StartAt; state; state = definition.States[state].Next) {
      const view = /^CREATE OR REPLACE VIEW (\w+)/.exec(definition.States[state].Parameters?.QueryString ?? '');
      if (view) created.push(view[1]);
    }
    expect(created).toEqual(loadNamedQueries().filter((q) => q.isView).map((q) => q.name));
    expect(created.slice(0, 2)).toEqual(['usage_events_deduped', 'billable_usage_events']);
  });

  // Glue reports "Crawler Succeeded" also when no table was created; CREATE VIEW would then fail every hour.
  it('refreshes the views only when the usage table exists, and otherwise ends cleanly', () => {
    const machine = resourcesOf<{ DefinitionString: { 'Fn::Join': [string, unknown[]] } }>(template, 'AWS::StepFunctions::StateMachine')[0];
    const parts = machine.Properties.DefinitionString['Fn::Join'][1];
    const definition = JSON.parse(parts.map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('')) as {
      StartAt: string;
      States: Record<string, { Type: string; Resource?: string; Parameters?: Record<string, unknown>; Catch?: { ErrorEquals: string[]; Next: string }[]; Next?: string }>;
    };
    const first = definition.States[definition.StartAt];
    expect(first.Resource).toBe('arn:TOKEN:states:::aws-sdk:glue:getTable');
    expect(first.Parameters).toEqual({ DatabaseName: 'api_usage', Name: 'usage_events' });
    expect(first.Catch).toEqual([expect.objectContaining({ ErrorEquals: [GLUE_ENTITY_NOT_FOUND] })]);
    expect(definition.States[first.Catch![0].Next].Type).toBe('Succeed');
    expect(definition.States[first.Next!].Parameters).toEqual(expect.objectContaining({ QueryString: expect.stringContaining('CREATE OR REPLACE VIEW') as unknown }));
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('ViewRefresher') } }));
    expect(policies).toContain(':table/api_usage/usage_events"');
    expect(policies).toContain('"glue:GetTable"');
  });

  it('reads queries from another folder and skips the refresher when asked', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'queries-'));
    writeFileSync(path.join(dir, 'calls.sql'), '-- name: calls\n-- description: All calls.\nSELECT count(*) FROM usage_events');
    const { template: custom } = synth({ queriesDir: dir, refreshViewsAfterCrawl: false, bytesScannedCutoffPerQuery: Size.gibibytes(1) });
    custom.resourceCountIs('AWS::Athena::NamedQuery', 1);
    custom.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    custom.hasResourceProperties('AWS::Athena::WorkGroup', {
      WorkGroupConfiguration: Match.objectLike({ BytesScannedCutoffPerQuery: 1024 ** 3 }),
    });
  });

  it('grantQuery lets a grantee run queries and read the lake the construct holds', () => {
    // Prepare
    const { stack, lakeBucket } = lakeStack();
    const lake = new UsageLake(stack, 'Lake', { lakeBucket: lakeBucket.bucket, encryptionKey: lakeBucket.encryptionKey });
    const analytics = new UsageAnalytics(stack, 'Analytics', { lake, encryptionKey: lakeBucket.encryptionKey, refreshViewsAfterCrawl: false });
    const analyst = new iam.Role(stack, 'Analyst', { assumedBy: new iam.AccountRootPrincipal() });
    // Act
    analytics.grantQuery(analyst);
    // Assess
    const policy = JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('Analyst') } }));
    for (const granted of ['athena:StartQueryExecution', 'athena:GetQueryResults', `/${LAKE_PREFIXES.curated}*`, `/${PRICE_LIST.prefix}*`, `/${LAKE_PREFIXES.glueErrors}*`, 'glue:GetPartitions']) {
      expect({ granted, inPolicy: policy.includes(granted) }).toEqual({ granted, inPolicy: true });
    }
  });

  it('refuses a results retention that is not whole days', () => {
    expect(() => synth({ resultsRetention: Duration.hours(12) })).toThrow('resultsRetention must be a whole number of days, at least 1; got 12 hours.');
  });

  it('refuses a cutoff under Athena minimum', () => {
    expect(() => synth({ bytesScannedCutoffPerQuery: Size.mebibytes(5) })).toThrow(
      "bytesScannedCutoffPerQuery must be at least 10 MB (10000000 bytes), Athena's minimum; got 5242880 bytes.",
    );
  });
});
