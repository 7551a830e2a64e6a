import { Environment, Stage, StageProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DEFAULT_STACK_NAME } from '../contracts/stack-outputs';
import { ApiUsageTrackerStack } from './api-usage-tracker-stack';
import { DeliveryEnvironment } from './delivery-config';
import { MeteredApiEdgeStack } from './metered-api-edge';
import { readUsageTrackerConfig } from './stack-config';

/** The stack's construct id and default CloudFormation stack name. */
export const STACK_ID = DEFAULT_STACK_NAME;

/** The usage tracker's stacks: the main stack and, when `edgeProtection` asks for it, the edge stack. */
export interface UsageTrackerStacks {
  readonly stack: ApiUsageTrackerStack;
  readonly edgeStack?: MeteredApiEdgeStack;
}

/**
 * Adds the usage tracker's stacks to `scope` (the app, or a pipeline stage), configured from the
 * context `scope` sees: one way of building them, whether `cdk deploy` or a pipeline deploys them.
 * `env` pins the main stack's account and region (a pipeline stage's environment); without it the
 * stack is environment-agnostic, as `cdk deploy` of the single stack has always made it.
 */
export function addUsageTrackerStacks(scope: Construct, env?: Environment): UsageTrackerStacks {
  const config = readUsageTrackerConfig(scope.node);
  const stack = new ApiUsageTrackerStack(scope, STACK_ID, {
    config,
    ...(env ? { env } : {}),
    // The same CloudFormation name in every environment: the stack's names (API, dashboard,
    // token issuer) and the CLI's default `--stack` stay the same as a `cdk deploy` of it.
    stackName: STACK_ID,
    description: 'api-usage-tracker: usage events → EventBridge → Firehose → S3 → Glue → Athena',
  });
  // A web ACL for CloudFront must be created in us-east-1, whatever the API's region; the edge
  // stack takes the origin's name from context, so it needs no cross-region reference.
  const edgeStack = config.edge
    ? new MeteredApiEdgeStack(scope, `${STACK_ID}-Edge`, {
        env: { account: env?.account ?? process.env.CDK_DEFAULT_ACCOUNT, region: 'us-east-1' },
        stackName: `${STACK_ID}-Edge`,
        description: 'api-usage-tracker: CloudFront and AWS WAF rate-based rules in front of the metered API',
        originDomainName: config.edge.originDomainName,
        rateLimitPerIp: config.edge.rateLimitPerIp,
        unauthenticatedRateLimitPerIp: config.edge.tokenRateLimitPerIp,
      })
    : undefined;
  return { stack, ...(edgeStack ? { edgeStack } : {}) };
}


/** Properties of a {@link UsageTrackerStage}. */
export interface UsageTrackerStageProps extends Omit<StageProps, 'env' | 'stageName'> {
  readonly environment: DeliveryEnvironment;
}

/**
 * One environment of the delivery pipeline: the usage tracker's stacks, built exactly as
 * `cdk deploy` builds the single stack (the same function), in the environment's account and
 * region, with the environment's context overrides on top of the app's context.
 *
 * A Stage is a unit of deployment that CDK Pipelines deploys together, in its own cloud assembly
 * (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.Stage.html); context set on the stage's
 * node before its children exist is what they read (`node.tryGetContext` walks up the tree:
 * https://docs.aws.amazon.com/cdk/v2/guide/context.html).
 */
export class UsageTrackerStage extends Stage {
  public readonly environment: DeliveryEnvironment;
  public readonly stacks: UsageTrackerStacks;

  constructor(scope: Construct, id: string, props: UsageTrackerStageProps) {
    const { environment, ...stageProps } = props;
    const env = { account: environment.account, region: environment.region };
    super(scope, id, { ...stageProps, env, stageName: environment.name });
    this.environment = environment;
    for (const [key, value] of Object.entries(environment.context)) {
      this.node.setContext(key, value);
    }
    this.stacks = addUsageTrackerStacks(this, env);
  }

  /** The main stack's CloudFormation name (what `usage-tracker status --stack` takes). */
  get stackName(): string {
    return this.stacks.stack.stackName;
  }
}
