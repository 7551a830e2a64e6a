import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Stage, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { createApp } from '../../lib/app';
import { BUILD_IMAGE, DeliveryPipelineStack, SYNTH_COMMANDS, lookupRoleArn, statusCommand } from '../../lib/delivery-pipeline-stack';
import { CDK_JSON_CONTEXT } from './fixtures';

const DELIVERY = {
  connectionArn: 'arn:aws:codeconnections:eu-west-1:111111111111:connection/abcd-1234',
  repository: 'my-org/api-usage-tracker',
  branch: 'main',
  account: '111111111111',
  region: 'eu-west-1',
  environments: [
    { name: 'staging', account: '222222222222', region: 'eu-west-1', context: { alarmEmail: 'ops@example.com' } },
    { name: 'production', account: '333333333333', region: 'eu-central-1', approval: true, context: { alarmEmail: 'oncall@example.com' } },
  ],
};

type Action = {
  Name: string;
  RunOrder?: number;
  ActionTypeId: { Category: string; Provider: string };
  Configuration?: Record<string, unknown>;
  InputArtifacts?: { Name: string }[];
  OutputArtifacts?: { Name: string }[];
};
type PipelineStage = { Name: string; Actions: Action[] };

// One synthesized pipeline for every test here (a synth of the stack and its stages costs seconds).
const { app, deliveryStack } = createApp({ outdir: mkdtempSync(path.join(tmpdir(), 'cdk-out-')), context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], deliveryPipeline: DELIVERY } });
if (!(deliveryStack instanceof DeliveryPipelineStack)) throw new Error('the deliveryPipeline context must give the delivery stack');
// The whole pipeline app synthesizes: cdk-nag (registered on every synth) finds nothing unacknowledged,
// in the delivery stack or in its stages' stacks (their acknowledgements name ARNs as cdk-nag prints
// them for a concrete env, see nagStackArn); a finding would throw here.
app.synth();
const template = Template.fromJSON(JSON.parse(readFileSync(path.join(app.outdir, deliveryStack.templateFile), 'utf8')) as Record<string, unknown>);
const pipelineStages = (Object.values(template.findResources('AWS::CodePipeline::Pipeline'))[0] as { Properties: { Stages: PipelineStage[] } }).Properties.Stages;
const projects = template.findResources('AWS::CodeBuild::Project') as Record<string, { Properties: { Source: { BuildSpec: string }; Environment: { Image: string } } }>;
const buildSpecOf = (commandFragment: string) => Object.values(projects).find((project) => project.Properties.Source.BuildSpec.includes(commandFragment));

describe('DeliveryPipelineStack (CDK Pipelines: https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.pipelines-readme.html)', () => {
  it('sources the repository and branch through the CodeConnections connection', () => {
    const source = pipelineStages[0];
    expect(source.Actions).toEqual([
      expect.objectContaining({
        ActionTypeId: expect.objectContaining({ Category: 'Source', Provider: 'CodeStarSourceConnection' }) as unknown,
        Configuration: expect.objectContaining({ ConnectionArn: DELIVERY.connectionArn, FullRepositoryId: DELIVERY.repository, BranchName: DELIVERY.branch }) as unknown,
      }),
    ]);
  });

  it('synthesizes with the README\'s fresh-clone commands (npm ci, npm test) in that order, then npx cdk synth, on the Debian image with chromium', () => {
    const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    const opening = /^```bash\n([\s\S]*?)```/m.exec(readme)?.[1] ?? '';
    const readmeCommands = opening.split('\n').flatMap((line) => line.replace(/#.*$/, '').split('&&')).map((command) => command.trim()).filter((command) => command.startsWith('npm ci') || command === 'npm test');
    expect(readmeCommands).toEqual(['npm ci', 'npm test']);
    expect(SYNTH_COMMANDS).toEqual([...readmeCommands, 'npx cdk synth']);
    const synth = buildSpecOf('npx cdk synth');
    if (!synth) throw new Error('no synth project');
    const spec = JSON.parse(synth.Properties.Source.BuildSpec) as { phases: { install: { commands: string[] }; build: { commands: string[] } } };
    expect(spec.phases.build.commands).toEqual([...SYNTH_COMMANDS]);
    expect(spec.phases.install.commands.join('\n')).toMatch(/apt-get install .*chromium/);
    expect(synth.Properties.Environment.Image).toBe(BUILD_IMAGE);
  });

  it('mutates itself before deploying, then deploys one stage per environment in order', () => {
    expect(pipelineStages.map((stage) => stage.Name)).toEqual(['Source', 'Build', 'UpdatePipeline', 'Assets', 'staging', 'production']);
  });

  it('asks for a manual approval before production only, ahead of its deployments', () => {
    const approvals = pipelineStages.flatMap((stage) => stage.Actions.filter((action) => action.ActionTypeId.Category === 'Approval').map((action) => ({ stage: stage.Name, action })));
    expect(approvals.map(({ stage }) => stage)).toEqual(['production']);
    const production = pipelineStages.find((stage) => stage.Name === 'production');
    const firstDeploy = Math.min(...(production?.Actions.filter((action) => action.ActionTypeId.Category === 'Deploy').map((action) => action.RunOrder ?? 1) ?? []));
    expect(approvals[0]?.action.RunOrder ?? 1).toBeLessThan(firstDeploy);
  });

  it('checks each stage after its deployments with usage-tracker status through the environment\'s lookup role, which is all its role may assume', () => {
    for (const environment of DELIVERY.environments) {
      const stage = pipelineStages.find((candidate) => candidate.Name === environment.name);
      const lastDeploy = Math.max(...(stage?.Actions.filter((action) => action.ActionTypeId.Category === 'Deploy').map((action) => action.RunOrder ?? 1) ?? []));
      const check = stage?.Actions.find((action) => action.ActionTypeId.Category === 'Build');
      expect(check?.RunOrder ?? 0).toBeGreaterThan(lastDeploy);
      // It runs `npm ci` on the repository's files: its input is the source action's output.
      expect(check?.InputArtifacts).toEqual(pipelineStages[0].Actions[0].OutputArtifacts);
      const command = statusCommand('ApiUsageTracker', environment);
      expect(command).toBe(`npx usage-tracker status --aws --stack ApiUsageTracker --region ${environment.region} --role-arn ${lookupRoleArn(environment)}`);
      const project = buildSpecOf(command);
      expect((JSON.parse(project?.Properties.Source.BuildSpec ?? '{}') as { phases?: { build?: { commands?: string[] } } }).phases?.build?.commands).toEqual(['npm ci', command]);
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: { Statement: Match.arrayWith([{ Action: 'sts:AssumeRole', Effect: 'Allow', Resource: `arn:aws:iam::${environment.account}:role/cdk-hnb659fds-lookup-role-${environment.account}-${environment.region}` }]) },
      });
    }
    const assumeRoles = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: { Action: unknown; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement.filter((statement) => statement.Action === 'sts:AssumeRole' && String(statement.Resource).includes('lookup-role')),
    );
    expect(assumeRoles).toHaveLength(DELIVERY.environments.length);
  });

  it('encrypts artifacts with customer managed keys that rotate (cross-account keys)', () => {
    const keys = template.findResources('AWS::KMS::Key');
    expect(Object.keys(keys).length).toBeGreaterThan(0);
    for (const key of Object.values(keys)) expect((key as { Properties: { EnableKeyRotation?: boolean } }).Properties.EnableKeyRotation).toBe(true);
  });

  it('has no unacknowledged cdk-nag finding in the delivery stack or its cross-region support stacks', () => {
    type Report = { pluginReports: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[] };
    const report = JSON.parse(readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8')) as Report | undefined;
    const pipelineFindings = (report?.pluginReports ?? []).flatMap((plugin) =>
      plugin.violations.flatMap((violation) =>
        violation.violatingConstructs.filter((construct) => !/^[^/]+\/(staging|production)\/ApiUsageTracker\//.test(construct.constructPath)).map((construct) => `${violation.ruleName} ${construct.constructPath}`),
      ),
    );
    expect(pipelineFindings).toEqual([]);
    // The pipeline's own acknowledgements (the stages' stacks carry the usage tracker's, tested in app.test.ts).
    const acknowledgements = deliveryStack.node
      .findAll()
      .filter((construct) => Stage.of(construct) === app)
      .flatMap((construct) => construct.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>));
    expect(acknowledgements.map(([rule]) => rule)).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-CB5', 'AwsSolutions-IAM5[Resource::*]'].map((rule) => `Annotation::${rule}`)));
    for (const [rule, reason] of acknowledgements) {
      expect({ rule, reasonLength: reason.length >= 80 }).toEqual({ rule, reasonLength: true });
    }
  });
});

describe('DeliveryPipelineStack: environments whose stacks would collide', () => {
  const newDeliveryApp = (environments: unknown[]) =>
    createApp({ outdir: mkdtempSync(path.join(tmpdir(), 'cdk-out-')), context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], deliveryPipeline: { ...DELIVERY, environments } } });
  const edge = {
    edgeProtection: true,
    edgeOriginDomainName: 'api-origin.example.com',
    edgeOriginCertificateArn: 'arn:aws:acm:eu-west-1:222222222222:certificate/0f3c5a2e-1111-2222-3333-444455556666',
  };

  it('refuses two environments in one account and region (the same stack name)', () => {
    expect(() =>
      newDeliveryApp([
        { name: 'staging', account: '222222222222', region: 'eu-west-1' },
        { name: 'qa', account: '222222222222', region: 'eu-west-1' },
      ]),
    ).toThrow('staging and qa would both deploy ApiUsageTracker in 222222222222/eu-west-1');
  });

  it('refuses two environments of one account whose edge stacks would both be ApiUsageTracker-Edge in us-east-1', () => {
    expect(() =>
      newDeliveryApp([
        { name: 'staging', account: '222222222222', region: 'eu-west-1', context: edge },
        { name: 'qa', account: '222222222222', region: 'eu-central-1', context: { ...edge, edgeOriginCertificateArn: edge.edgeOriginCertificateArn.replace('eu-west-1', 'eu-central-1') } },
      ]),
    ).toThrow('staging and qa would both deploy ApiUsageTracker-Edge in 222222222222/us-east-1');
  });
});
