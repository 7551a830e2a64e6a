import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { FIRST_STATEMENT_MONTH, STATEMENT_TABLES, billedEventsPrefix, closingRecordKey, statementKey } from '../../contracts/billing-statements';
import { BillingStatements } from '../../lib/billing-statements';
import { UsageAnalytics } from '../../lib/usage-analytics';
import { UsageLake } from '../../lib/usage-lake';
import { ResolvedCall, TemplatePolicies, evaluateCall } from '../support/template-policies';
import { lakeStack } from './fixtures';

function billingStack() {
  const { stack, lakeBucket } = lakeStack();
  const lake = new UsageLake(stack, 'Lake', { lakeBucket: lakeBucket.bucket, encryptionKey: lakeBucket.encryptionKey });
  const analytics = new UsageAnalytics(stack, 'Analytics', { lake, encryptionKey: lakeBucket.encryptionKey, refreshViewsAfterCrawl: false });
  const statements = new BillingStatements(stack, 'BillingStatements', { lake, analytics, encryptionKey: lakeBucket.encryptionKey });
  const closer = new iam.Role(stack, 'Closer', { assumedBy: new iam.AccountRootPrincipal() });
  statements.grantCloseMonth(closer);
  const reader = new iam.Role(stack, 'Reader', { assumedBy: new iam.AccountRootPrincipal() });
  statements.grantReadStatements(reader);
  return { stack, lakeBucket, statements, closer, reader };
}

describe('Construct: BillingStatements', () => {
  const { stack, lakeBucket, closer, reader } = billingStack();
  const template = Template.fromStack(stack);
  const bucketRef = { Ref: stack.getLogicalId(lakeBucket.bucket.node.defaultChild as never) };

  it.each(Object.entries(STATEMENT_TABLES))('creates the %s table over its folder, its months projected', (_key, table) => {
    const location = Match.objectLike({ 'Fn::Join': ['', ['s3://', bucketRef, `/${table.prefix}`]] });
    template.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: Match.anyValue(),
      TableInput: {
        Name: table.table,
        TableType: 'EXTERNAL_TABLE',
        PartitionKeys: [{ Name: 'month', Type: 'string', Comment: Match.anyValue() }],
        Parameters: {
          classification: table.format,
          'projection.enabled': 'true',
          'projection.month.type': 'date',
          'projection.month.format': 'yyyy-MM',
          'projection.month.range': `${FIRST_STATEMENT_MONTH},NOW`,
          'projection.month.interval': '1',
          'projection.month.interval.unit': 'MONTHS',
          'storage.location.template': { 'Fn::Join': ['', ['s3://', bucketRef, `/${table.prefix}month=\${month}/`]] },
        },
        StorageDescriptor: Match.objectLike({
          Location: location,
          Columns: table.columns.map((c) => ({ Name: c.name, Type: c.type, Comment: c.comment })),
          SerdeInfo: { SerializationLibrary: table.format === 'json' ? 'org.openx.data.jsonserde.JsonSerDe' : 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        }),
      },
    });
  });

  it('denies everyone deleting statements, overwriting them, and writing billed events outside Athena', () => {
    const objects = (prefix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketRef.Ref, 'Arn'] }, `/${prefix}*`]] });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Sid: 'DenyStatementDeletion', Effect: 'Deny', Principal: { AWS: '*' }, Action: ['s3:DeleteObject', 's3:DeleteObjectVersion'], Resource: objects('statements/') },
          {
            Sid: 'DenyStatementOverwrite',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:PutObject',
            Resource: [objects(STATEMENT_TABLES.closings.prefix), objects(STATEMENT_TABLES.statements.prefix)],
            Condition: { Null: { 's3:if-none-match': 'true' } },
          },
          {
            Sid: 'DenyBilledEventsOutsideAthena',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:PutObject',
            Resource: objects(STATEMENT_TABLES.billedEvents.prefix),
            Condition: { StringNotEquals: { 'aws:CalledViaFirst': 'athena.amazonaws.com' } },
          },
        ]),
      },
    });
  });

  it('grants closing months: writes under statements/ only, queries in the workgroup', () => {
    const policyOf = (role: iam.Role) => Template.fromStack(stack).findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: stack.getLogicalId(role.node.defaultChild as never) }] } });
    type Policy = { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } };
    const statementsOf = (role: iam.Role) => Object.values(policyOf(role)).flatMap((p) => (p as Policy).Properties.PolicyDocument.Statement);
    // Writes to the lake bucket (Athena's results bucket is written too, by grantQuery).
    const lakeWrites = (role: iam.Role) =>
      statementsOf(role)
        .filter((s) => [s.Action].flat().includes('s3:PutObject'))
        .flatMap((s) => [s.Resource].flat())
        .filter((resource) => JSON.stringify(resource).includes(bucketRef.Ref));
    expect(lakeWrites(closer)).toEqual([{ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketRef.Ref, 'Arn'] }, '/statements/*']] }]);
    expect(lakeWrites(reader)).toEqual([]);
    expect(statementsOf(closer).some((s) => [s.Action].flat().includes('athena:StartQueryExecution'))).toBe(true);
  });

  describe('evaluated with an IAM policy simulator', () => {
    const policies = new TemplatePolicies(Template.fromStack(stack).toJSON(), { stackName: stack.stackName });
    const arn = (value: unknown) => policies.resolver.resolveString(Stack.of(stack).resolve(value));
    const bucketArn = arn(lakeBucket.bucket.bucketArn);
    const viaAthena = { 'aws:CalledVia': ['athena.amazonaws.com'], 'aws:CalledViaFirst': 'athena.amazonaws.com' };
    const call = (role: iam.Role, action: string, key: string, context: ResolvedCall['context'] = {}): Promise<{ allowed: boolean; problem?: string }> =>
      evaluateCall(policies, { component: 'billing', principal: { kind: 'role', arn: arn(role.roleArn) }, action, resource: `${bucketArn}/${key}`, context, why: 'test' });

    it.each([
      ['commits a closing record with If-None-Match', 's3:PutObject', closingRecordKey('2026-10'), { 's3:if-none-match': '*' }],
      ['writes a statement with If-None-Match', 's3:PutObject', statementKey('2026-10', 'acme'), { 's3:if-none-match': '*' }],
      ['has Athena UNLOAD billed events', 's3:PutObject', `${billedEventsPrefix('2026-10', 'c-1')}part-0.parquet`, viaAthena],
      ['reads a statement', 's3:GetObject', statementKey('2026-10', 'acme'), {}],
    ])('lets the month closer: %s', async (_label, action, key, context) => {
      expect(await call(closer, action, key, context)).toMatchObject({ allowed: true });
    });

    it.each([
      ['overwrite a closing record (no If-None-Match)', 's3:PutObject', closingRecordKey('2026-10'), {}],
      ['overwrite a statement (no If-None-Match)', 's3:PutObject', statementKey('2026-10', 'acme'), {}],
      ['delete a statement', 's3:DeleteObject', statementKey('2026-10', 'acme'), {}],
      ['delete a version of a closing record', 's3:DeleteObjectVersion', closingRecordKey('2026-10'), {}],
      ['write billed events itself, not through Athena', 's3:PutObject', `${billedEventsPrefix('2026-10', 'c-1')}forged.parquet`, {}],
    ])('denies the month closer, explicitly: %s', async (_label, action, key, context) => {
      const verdict = await call(closer, action, key, context);
      expect(verdict.allowed).toBe(false);
      expect(verdict.problem).toMatch(/explicit deny in the bucket policy/);
    });

    it('lets a statement reader read but not write', async () => {
      expect(await call(reader, 's3:GetObject', statementKey('2026-10', 'acme'))).toMatchObject({ allowed: true });
      expect(await call(reader, 's3:PutObject', statementKey('2026-11', 'acme'), { 's3:if-none-match': '*' })).toMatchObject({ allowed: false });
    });
  });
});
