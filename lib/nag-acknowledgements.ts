import { CfnResource, Stack, Token, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * How cdk-nag names an ARN token in an IAM finding: `<LogicalId.Arn>`. Building it from the
 * construct keeps acknowledgements correct when logical ids change.
 */
export function nagArnToken(resource: IConstruct): string {
  const cfn = resource.node.defaultChild ?? resource;
  if (!CfnResource.isCfnResource(cfn)) {
    throw new Error(`${resource.node.path} has no CloudFormation resource to name in a cdk-nag finding.`);
  }
  return `<${Stack.of(resource).getLogicalId(cfn)}.Arn>`;
}

/** One acknowledged cdk-nag finding and why it is acceptable. */
export interface NagAcknowledgement {
  /** Rule id, optionally with the finding: `AwsSolutions-IAM5[Resource::*]`. */
  readonly id: string;
  readonly reason: string;
}

/** Acknowledges cdk-nag findings on a construct and its children, each with its reason. */
export function acknowledgeNagFindings(scope: IConstruct, acknowledgements: readonly NagAcknowledgement[]): void {
  for (const acknowledgement of acknowledgements) {
    if (acknowledgement.reason.trim().length < 20) {
      throw new Error(`The acknowledgement of ${acknowledgement.id} needs a reason a security reviewer can judge.`);
    }
    Validations.of(scope).acknowledge({ id: acknowledgement.id, reason: acknowledgement.reason });
  }
}

/**
 * Acknowledges the IAM5 findings of `grantRead`/`grantWrite` on an object prefix: the actions
 * CDK grants end in `*` (`s3:GetObject*`) and object ARNs under a prefix end in `/*`.
 */
export function acknowledgeBucketPrefixGrant(
  scope: IConstruct,
  bucket: IConstruct,
  findings: { readonly actions: readonly string[]; readonly prefixes: readonly string[]; readonly reason: string },
): void {
  const arn = nagArnToken(bucket);
  acknowledgeNagFindings(scope, [
    ...findings.actions.map((action) => ({ id: `AwsSolutions-IAM5[Action::${action}]`, reason: findings.reason })),
    ...findings.prefixes.map((prefix) => ({ id: `AwsSolutions-IAM5[Resource::${arn}/${prefix}*]`, reason: findings.reason })),
  ]);
}

/**
 * An ARN in this stack's account and region as cdk-nag writes it in a finding: pseudo parameters
 * as `<AWS::Region>` when the stack is environment-agnostic, literals when its env is concrete
 * (a pipeline stage's stack). Acknowledgements built with it hold in both.
 */
export function nagStackArn(scope: IConstruct, service: string, resource: string): string {
  const stack = Stack.of(scope);
  const literal = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
  return `arn:${literal(stack.partition, 'Partition')}:${service}:${literal(stack.region, 'Region')}:${literal(stack.account, 'AccountId')}:${resource}`;
}
