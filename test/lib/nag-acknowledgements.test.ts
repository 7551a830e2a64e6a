import { Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { acknowledgeBucketPrefixGrant, acknowledgeNagFindings, nagArnToken } from '../../lib/nag-acknowledgements';
import { lakeStack, testStack } from './fixtures';

const acknowledged = (scope: Construct): Record<string, string>[] =>
  scope.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY).map((m) => m.data as Record<string, string>);

describe('Function: acknowledgeNagFindings', () => {
  it('records each finding with its reason', () => {
    const queue = new sqs.Queue(testStack(), 'Queue');
    acknowledgeNagFindings(queue, [{ id: 'AwsSolutions-SQS3', reason: 'This queue is a dead-letter queue for a rule target.' }]);
    expect(acknowledged(queue)).toEqual([{ 'Annotation::AwsSolutions-SQS3': 'This queue is a dead-letter queue for a rule target.' }]);
  });

  it('refuses an acknowledgement without a reason a reviewer can judge', () => {
    const queue = new sqs.Queue(testStack(), 'Queue');
    expect(() => { acknowledgeNagFindings(queue, [{ id: 'AwsSolutions-SQS3', reason: 'ok' }]); }).toThrow(
      'The acknowledgement of AwsSolutions-SQS3 needs a reason a security reviewer can judge.',
    );
  });
});

describe('Function: acknowledgeBucketPrefixGrant', () => {
  it('names the bucket ARN token the way cdk-nag prints it', () => {
    const { stack, lakeBucket } = lakeStack();
    const scope = new Construct(stack, 'Grantee');
    acknowledgeBucketPrefixGrant(scope, lakeBucket.bucket, { actions: ['s3:List*'], prefixes: ['raw/'], reason: 'Reads every new raw object under raw/.' });
    const token = nagArnToken(lakeBucket.bucket);
    expect(token).toMatch(/^<LakeBucket[0-9A-F]{8}\.Arn>$/);
    expect(Object.keys(Object.fromEntries(acknowledged(scope).flatMap((m) => Object.entries(m))))).toEqual([
      'Annotation::AwsSolutions-IAM5[Action::s3:List*]',
      `Annotation::AwsSolutions-IAM5[Resource::${token}/raw/*]`,
    ]);
  });

  it('refuses a construct without a CloudFormation resource', () => {
    const stack = testStack();
    expect(() => nagArnToken(new Construct(stack, 'Empty'))).toThrow('TestStack/Empty has no CloudFormation resource to name in a cdk-nag finding.');
  });
});
