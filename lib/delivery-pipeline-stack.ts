import { Stack, StackProps } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as pipelines from 'aws-cdk-lib/pipelines';
import { Construct } from 'constructs';
import { DeliveryEnvironment, DeliveryPipelineConfig } from './delivery-config';
import { acknowledgeNagFindings, nagArnToken } from './nag-acknowledgements';
import { UsageTrackerStage } from './usage-tracker-stage';

/**
 * The synth step's commands: the README's two commands for a fresh clone (`npm ci`, `npm test`:
 * types, lint, every jest suite, the Glue job's tests), then the synth that the pipeline deploys.
 */
export const SYNTH_COMMANDS = ['npm ci', 'npm test', 'npx cdk synth'] as const;

/**
 * The build image: Debian bookworm with Node 20, from the Docker official images' mirror on
 * Amazon ECR Public (no Docker Hub pull limits). CodeBuild runs a build in any publicly available
 * image named `registry/repository:tag`, pulled with CodeBuild's own credentials
 * (https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref.html,
 * https://docs.aws.amazon.com/codebuild/latest/APIReference/API_ProjectEnvironment.html). Debian,
 * because `npm test`'s browser test needs Debian's chromium (Ubuntu's apt package is a snap stub).
 */
export const BUILD_IMAGE = 'public.ecr.aws/docker/library/node:20-bookworm';

/** What the synth installs first, as `.ci/run` does: Debian's chromium (and python3 for the Glue job's tests). */
export const SYNTH_INSTALL_COMMANDS = [
  'apt-get update -qq',
  'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium python3',
] as const;

/**
 * The lookup role `cdk bootstrap` creates in every bootstrapped environment: named
 * `cdk-<qualifier>-lookup-role-<account>-<region>`, with the ReadOnlyAccess managed policy, and
 * assumable from the accounts given to `--trust` (TrustedAccounts) or `--trust-for-lookup`
 * (bootstrap template, LookupRole: https://app.unpkg.com/aws-cdk@2.1101.0/files/lib/api/bootstrap/bootstrap-template.yaml;
 * https://docs.aws.amazon.com/cdk/v2/guide/bootstrapping-env.html). The post-deployment check
 * reads the deployed stack through it, so the pipeline needs no role of its own in the target.
 */
export function lookupRoleArn(environment: Pick<DeliveryEnvironment, 'account' | 'region'>, partition = 'aws', qualifier = 'hnb659fds'): string {
  return `arn:${partition}:iam::${environment.account}:role/cdk-${qualifier}-lookup-role-${environment.account}-${environment.region}`;
}

/** The post-deployment check of one stage: `usage-tracker status` on the deployed stack, exit 1 when any part is unhealthy. */
export function statusCommand(stackName: string, environment: Pick<DeliveryEnvironment, 'account' | 'region'>, partition = 'aws'): string {
  return `npx usage-tracker status --aws --stack ${stackName} --region ${environment.region} --role-arn ${lookupRoleArn(environment, partition)}`;
}

/** Properties of a {@link DeliveryPipelineStack}. */
export interface DeliveryPipelineStackProps extends StackProps {
  readonly config: DeliveryPipelineConfig;
}

/**
 * The delivery pipeline (CDK Pipelines,
 * https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.pipelines-readme.html), in the tools
 * account: source from a CodeConnections connection, a synth that runs the README's `npm ci` and
 * `npm test` before `npx cdk synth`, self-mutation, then one stage per environment in order, each
 * behind a manual approval when the environment asks for one and checked by `usage-tracker status`
 * after it deploys (a failing step fails the stage, and the pipeline stops there).
 */
export class DeliveryPipelineStack extends Stack {
  public readonly pipeline: pipelines.CodePipeline;
  public readonly stages: readonly UsageTrackerStage[];

  constructor(scope: Construct, id: string, props: DeliveryPipelineStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.pipeline = new pipelines.CodePipeline(this, 'Pipeline', {
      // Cross-account deployments need customer managed KMS keys on the artifact buckets, so that
      // the target accounts' roles can decrypt artifacts; rotation on for those keys
      // (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.pipelines.CodePipeline.html).
      crossAccountKeys: true,
      enableKeyRotation: true,
      selfMutation: true,
      synth: this.synthStep(config),
    });
    this.stages = config.environments.map((environment) => this.addEnvironment(environment));
    refuseCollidingStacks(this.stages);
    // Build now rather than at synth, so that the CodePipeline, its roles and its cross-region
    // support stacks exist to be acknowledged by name.
    this.pipeline.buildPipeline();
    acknowledgePipelineFindings(this.pipeline, this.pipeline.pipeline);
    this.acknowledgeBuildProjectFindings();
  }

  /** CodeBuild's log groups and report groups per project, and the Debian image (CB5), acknowledged per project. */
  private acknowledgeBuildProjectFindings(): void {
    const arn = (service: string, resource: string) => `arn:${this.partition}:${service}:${this.region}:${this.account}:${resource}`;
    const logs =
      'CDK\'s codebuild.Project grants each project\'s role writes to its own log group and its own test report groups only; the names end in * because ' +
      'CodeBuild creates one log stream and one report per build.';
    for (const project of this.node.findAll().filter((c): c is codebuild.CfnProject => c instanceof codebuild.CfnProject)) {
      const id = `<${this.getLogicalId(project)}>`;
      acknowledgeNagFindings(this.pipeline, [
        { id: `AwsSolutions-IAM5[Resource::${arn('logs', `log-group:/aws/codebuild/${id}:*`)}]`, reason: logs },
        { id: `AwsSolutions-IAM5[Resource::${arn('codebuild', `report-group/${id}-*`)}]`, reason: logs },
      ]);
    }
    acknowledgeNagFindings(this.pipeline, [
      { id: `AwsSolutions-IAM5[Resource::${arn('logs', 'log-group:/aws/codebuild/*')}]`, reason: logs },
      { id: `AwsSolutions-IAM5[Resource::${arn('codebuild', 'report-group/*')}]`, reason: logs },
      {
        id: `AwsSolutions-IAM5[Resource::arn:*:iam::${this.account}:role/*]`,
        reason:
          'CDK Pipelines\' self-mutation and asset roles assume the CDK bootstrap roles (deploy, file-publishing, image-publishing) only: the statement is ' +
          'conditioned on the iam:ResourceTag/aws-cdk:bootstrap-role tag the bootstrap template puts on exactly those roles.',
      },
      {
        id: 'AwsSolutions-CB5',
        reason:
          'The synth and status steps run in the Debian bookworm Node 20 image of the Docker official images (ECR Public mirror), because npm test\'s browser test ' +
          'needs Debian\'s chromium; CodeBuild\'s curated images are Amazon Linux or Ubuntu (https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-available.html), ' +
          'and Ubuntu\'s apt chromium is a snap stub that does not run in containers.',
      },
    ]);
  }

  private synthStep(config: DeliveryPipelineConfig): pipelines.CodeBuildStep {
    return new pipelines.CodeBuildStep('Synth', {
      // CodePipelineSource.connection: a CodeStarSourceConnection action that starts the pipeline
      // on every push to the branch (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.pipelines.ConnectionSourceOptions.html).
      input: pipelines.CodePipelineSource.connection(config.repository, config.branch, { connectionArn: config.connectionArn }),
      installCommands: [...SYNTH_INSTALL_COMMANDS],
      commands: [...SYNTH_COMMANDS],
      buildEnvironment: {
        buildImage: codebuild.LinuxBuildImage.fromDockerRegistry(BUILD_IMAGE),
        // `npm test` runs local engines and a browser: 7 GB and 4 vCPUs rather than the default 3 GB.
        computeType: codebuild.ComputeType.MEDIUM,
      },
    });
  }

  private addEnvironment(environment: DeliveryEnvironment): UsageTrackerStage {
    const stage = new UsageTrackerStage(this, environment.name, { environment });
    const roleArn = lookupRoleArn(environment, this.partition);
    this.pipeline.addStage(stage, {
      // ManualApprovalStep: a CodePipeline manual approval action before the stage's deployments.
      pre: environment.approval ? [new pipelines.ManualApprovalStep(`Approve-${environment.name}`, { comment: `Deploy to ${environment.name}?` })] : [],
      post: [
        new pipelines.CodeBuildStep(`Status-${environment.name}`, {
          commands: ['npm ci', statusCommand(stage.stackName, environment, this.partition)],
          buildEnvironment: { buildImage: codebuild.LinuxBuildImage.fromDockerRegistry(BUILD_IMAGE) },
          // The only grant: assuming the environment's lookup role, whose ReadOnlyAccess does the reads.
          rolePolicyStatements: [new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: [roleArn] })],
        }),
      ],
    });
    return stage;
  }
}

/**
 * Every stage deploys its stacks under the same names (the usage tracker's, and `-Edge` in
 * us-east-1): two environments may not put a stack of the same name in one account and region.
 */
function refuseCollidingStacks(stages: readonly UsageTrackerStage[]): void {
  const seen = new Map<string, string>();
  for (const stage of stages) {
    for (const stack of [stage.stacks.stack, stage.stacks.edgeStack].filter((candidate) => candidate !== undefined)) {
      const key = `${stack.stackName} in ${stack.account}/${stack.region}`;
      const other = seen.get(key);
      if (other !== undefined) {
        throw new Error(`deliveryPipeline.environments: ${other} and ${stage.environment.name} would both deploy ${key}; give each environment its own account or region`);
      }
      seen.set(key, stage.environment.name);
    }
  }
}

const ARTIFACT_STORE_LOGS =
  'A CodePipeline artifact store: only the pipeline\'s own roles read and write it (TLS enforced by its bucket policy), objects are encrypted with the pipeline\'s ' +
  'customer managed KMS key (rotation on), and every write is a pipeline action recorded in the execution history and CloudTrail; server access logs would ' +
  'add a second bucket of logs about transient build artifacts.';

/**
 * The findings CDK Pipelines' own constructs raise, each acknowledged where it arises: the
 * artifact buckets' access logs and the wildcards of CDK's standard grants on the pipeline's own
 * bucket and keys (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.pipelines-readme.html).
 */
function acknowledgePipelineFindings(scope: pipelines.CodePipeline, pipeline: codepipeline.Pipeline): void {
  acknowledgeNagFindings(pipeline.artifactBucket, [{ id: 'AwsSolutions-S1', reason: ARTIFACT_STORE_LOGS }]);
  const replicationObjects: string[] = [];
  for (const support of Object.values(pipeline.crossRegionSupport)) {
    acknowledgeNagFindings(support.replicationBucket, [{ id: 'AwsSolutions-S1', reason: `The cross-region replica of the artifact store. ${ARTIFACT_STORE_LOGS}` }]);
    replicationObjects.push(`AwsSolutions-IAM5[Resource::${Stack.of(pipeline).resolve(support.replicationBucket.arnForObjects('*')) as string}]`);
  }
  const grants =
    'CDK Pipelines grants each action\'s role read/write on the pipeline\'s own artifact bucket and its objects (the grantReadWrite action groups s3:GetObject*, ' +
    's3:GetBucket*, s3:List*, s3:DeleteObject*, s3:Abort*) and use of the pipeline\'s own artifact keys (kms:GenerateDataKey*, kms:ReEncrypt*): artifact object ' +
    'names are chosen per execution, so the grant is the bucket\'s objects, and no other bucket or key is named.';
  acknowledgeNagFindings(scope, [
    ...['s3:GetObject*', 's3:GetBucket*', 's3:List*', 's3:DeleteObject*', 's3:Abort*', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'].map((action) => ({
      id: `AwsSolutions-IAM5[Action::${action}]`,
      reason: grants,
    })),
    { id: `AwsSolutions-IAM5[Resource::${nagArnToken(pipeline.artifactBucket)}/*]`, reason: grants },
    ...replicationObjects.map((id) => ({ id, reason: `The cross-region replica of the artifact store. ${grants}` })),
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Two statements CDK Pipelines writes: the self-mutation role\'s cloudformation:DescribeStacks and s3:ListBucket (it reads the bootstrap stacks of the target ' +
        'environments, whose names it does not know in advance), and, when an environment is in another region, the pipeline role\'s use of the replication ' +
        'bucket\'s key, which it names by alias because the key lives in the support stack; the tools account should hold the pipeline and nothing else.',
    },
  ]);
}
