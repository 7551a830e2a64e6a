import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeDeliveryStreamCommand, FirehoseClient } from '@aws-sdk/client-firehose';
import { GetCrawlerCommand, GetJobRunsCommand, GetTableCommand, GetWorkflowRunsCommand, GlueClient } from '@aws-sdk/client-glue';
import { ListSubscriptionsByTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { STACK_OUTPUTS } from '../../../contracts/stack-outputs';
import { AwsCredentialsProvider, RoleToAssume } from '../../../local/cli/cli-context';
import { STATUS_ROLE_SESSION_NAME, runCli } from '../../../local/cli/usage-tracker';
import { capturingCliContext } from '../../support/cli-context';

const cloudformation = mockClient(CloudFormationClient);
const cloudwatch = mockClient(CloudWatchClient);
const firehose = mockClient(FirehoseClient);
const glue = mockClient(GlueClient);
const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);
const mocks = { cloudformation, cloudwatch, firehose, glue, sns, sqs };

const LOOKUP_ROLE = 'arn:aws:iam::222222222222:role/cdk-hnb659fds-lookup-role-222222222222-eu-west-1';
/** What STS would answer for the role: distinct from anything the default chain could find. */
const ROLE_CREDENTIALS = { accessKeyId: 'ASIAROLEEXAMPLE', secretAccessKey: 'role-secret', sessionToken: 'role-session-token', expiration: new Date('2026-11-30T16:00:00Z') };

/** A CLI context whose role assumption is recorded and answers ROLE_CREDENTIALS. */
function contextAssumingRoles() {
  const assumed: RoleToAssume[] = [];
  const assumeRole = (role: RoleToAssume): AwsCredentialsProvider => {
    assumed.push(role);
    return () => Promise.resolve(ROLE_CREDENTIALS);
  };
  return { context: Object.assign(capturingCliContext(), { assumeRole }), assumed };
}

/** The access key each client signed with, by client: read from the client that sent the command. */
const signedWith = new Map<string, string>();

function answerWithCredentials(name: keyof typeof mocks, output: object) {
  return async (_input: unknown, getClient: () => { config: { credentials: (...args: never[]) => Promise<{ accessKeyId: string }> } }) => {
    signedWith.set(name, (await getClient().config.credentials()).accessKeyId);
    return output;
  };
}

beforeEach(() => {
  signedWith.clear();
  for (const mock of Object.values(mocks)) mock.reset();
  const Outputs = Object.entries({ deliveryStreamName: 'usage-stream', deadLetterQueueUrl: 'https://sqs/dlq', glueWorkflowName: 'wf', glueJobName: 'job', glueCrawlerName: 'crawler', glueDatabaseName: 'api_usage', glueTableName: 'usage_events', alarmTopicArn: 'arn:aws:sns:eu-west-1:222222222222:alarms' }).map(
    ([key, value]) => ({ OutputKey: STACK_OUTPUTS[key as keyof typeof STACK_OUTPUTS], OutputValue: value }),
  );
  cloudformation.on(DescribeStacksCommand).callsFake(answerWithCredentials('cloudformation', { Stacks: [{ StackName: 'ApiUsageTracker', Outputs }] }));
  firehose.on(DescribeDeliveryStreamCommand).callsFake(answerWithCredentials('firehose', { DeliveryStreamDescription: { DeliveryStreamStatus: 'ACTIVE' } }));
  cloudwatch.on(GetMetricDataCommand).callsFake(answerWithCredentials('cloudwatch', { MetricDataResults: [] }));
  sqs.on(GetQueueAttributesCommand).callsFake(answerWithCredentials('sqs', { Attributes: { ApproximateNumberOfMessages: '0' } }));
  glue.on(GetWorkflowRunsCommand).callsFake(answerWithCredentials('glue', { Runs: [] }));
  glue.on(GetJobRunsCommand).resolves({ JobRuns: [] });
  glue.on(GetCrawlerCommand).resolves({ Crawler: { State: 'READY' } });
  glue.on(GetTableCommand).resolves({ Table: { Name: 'usage_events' } });
  sns.on(ListSubscriptionsByTopicCommand).callsFake(answerWithCredentials('sns', { Subscriptions: [] }));
});

describe('usage-tracker status --aws --role-arn', () => {
  it('assumes the role (session usage-tracker-status, the region given) and every client reads with its credentials', async () => {
    const { context, assumed } = contextAssumingRoles();
    await runCli(['status', '--aws', '--stack', 'ApiUsageTracker', '--region', 'eu-west-1', '--role-arn', LOOKUP_ROLE, '--format', 'json'], context);
    expect(context.err).toBe('');
    expect(assumed).toEqual([{ roleArn: LOOKUP_ROLE, sessionName: STATUS_ROLE_SESSION_NAME, region: 'eu-west-1' }]);
    expect(STATUS_ROLE_SESSION_NAME).toBe('usage-tracker-status');
    expect(Object.fromEntries(signedWith)).toEqual({
      cloudformation: ROLE_CREDENTIALS.accessKeyId,
      firehose: ROLE_CREDENTIALS.accessKeyId,
      cloudwatch: ROLE_CREDENTIALS.accessKeyId,
      sqs: ROLE_CREDENTIALS.accessKeyId,
      glue: ROLE_CREDENTIALS.accessKeyId,
      sns: ROLE_CREDENTIALS.accessKeyId,
    });
    expect(cloudformation.commandCalls(DescribeStacksCommand)[0]?.args[0].input).toEqual({ StackName: 'ApiUsageTracker' });
  });

  it('selects AWS by itself, as --stack and --region do', async () => {
    const { context, assumed } = contextAssumingRoles();
    await runCli(['status', '--role-arn', LOOKUP_ROLE], context);
    expect(assumed.map((role) => role.roleArn)).toEqual([LOOKUP_ROLE]);
    expect(cloudformation.commandCalls(DescribeStacksCommand)).toHaveLength(1);
  });

  it('accepts a role with a path and a role of another partition', async () => {
    for (const roleArn of ['arn:aws:iam::222222222222:role/deploy/checks/status-reader', 'arn:aws-us-gov:iam::222222222222:role/status@reader+1']) {
      const { context, assumed } = contextAssumingRoles();
      await runCli(['status', '--aws', '--role-arn', roleArn], context);
      expect(assumed.map((role) => role.roleArn)).toEqual([roleArn]);
    }
  });

  it.each([
    ['a user ARN', 'arn:aws:iam::222222222222:user/ops'],
    ['an account id', '222222222222'],
    ['a role name alone', 'cdk-hnb659fds-lookup-role-222222222222-eu-west-1'],
    ['an 11-digit account', 'arn:aws:iam::22222222222:role/reader'],
    ['a role name of 65 characters', `arn:aws:iam::222222222222:role/${'r'.repeat(65)}`],
    ['a region in an IAM ARN', 'arn:aws:iam:eu-west-1:222222222222:role/reader'],
  ])('refuses %s before any call, with exit code 2', async (_case, roleArn) => {
    const { context, assumed } = contextAssumingRoles();
    expect(await runCli(['status', '--aws', '--role-arn', roleArn], context)).toBe(2);
    expect(context.err).toContain(`usage-tracker: --role-arn must be an IAM role ARN such as arn:aws:iam::123456789012:role/cdk-hnb659fds-lookup-role-123456789012-eu-west-1; got "${roleArn}".`);
    expect(assumed).toEqual([]);
    expect(cloudformation.calls()).toHaveLength(0);
  });

  it('refuses --role-arn with the local lake', async () => {
    const { context, assumed } = contextAssumingRoles();
    expect(await runCli(['status', '--local', '--role-arn', LOOKUP_ROLE], context)).toBe(2);
    expect(context.err).toContain('--local cannot be combined with --aws/--stack/--region/--role-arn');
    expect(assumed).toEqual([]);
  });

  it('is in the usage text', async () => {
    const context = capturingCliContext();
    expect(await runCli(['status', '--help'], context)).toBe(0);
    expect(context.out).toMatch(/\[--role-arn ARN\]\s+Read with the credentials of this IAM role \(STS AssumeRole, session\s+usage-tracker-status\)/);
  });
});
