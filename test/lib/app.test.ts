import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CONTEXT_PARAMETERS } from '../../lib/stack-config';
import { createApp, createUsageTrackerApp, DELIVERY_STACK_ID, STACK_ID } from '../../lib/app';
import { CDK_JSON_CONTEXT } from './fixtures';

const newApp = (context: Record<string, unknown> = {}) =>
  createUsageTrackerApp({ outdir: mkdtempSync(path.join(tmpdir(), 'cdk-out-')), context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } });

describe('App: cdk-nag AwsSolutions', () => {
  it('synthesizes with zero unacknowledged findings, every acknowledgement with a reason', () => {
    // Prepare
    const { app } = newApp();
    // Act: synth runs the registered AwsSolutions plugin and throws on any unacknowledged finding.
    const assembly = app.synth();
    // Assess
    const report = JSON.parse(readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: { pluginName: string; violations: unknown[] }[] };
    for (const plugin of report.pluginReports) {
      expect({ plugin: plugin.pluginName, violations: plugin.violations }).toEqual({ plugin: plugin.pluginName, violations: [] });
    }
    const acknowledgements = app.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acknowledgements.length).toBeGreaterThan(10);
    for (const [rule, reason] of acknowledgements) {
      expect({ rule, reasonLength: reason.length >= 40 }).toEqual({ rule, reasonLength: true });
    }
  });

  it('synthesizes the notifier (notificationsFrom) with zero unacknowledged findings', () => {
    // Prepare
    const { app, stack } = newApp({ notificationsFrom: 'notifications@usage.example.com', notificationOperators: 'ops@example.com' });
    // Act
    const assembly = app.synth();
    // Assess
    const report = JSON.parse(readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: { pluginName: string; violations: unknown[] }[] };
    expect(stack.accountNotifications).toBeDefined();
    expect(report.pluginReports.flatMap((plugin) => plugin.violations)).toEqual([]);
  });

  it('fails the synth on a finding nobody acknowledged', () => {
    // Prepare: a bucket without TLS enforcement or access logs.
    const { app, stack } = newApp();
    new s3.Bucket(stack, 'CarelessBucket');
    // Act / Assess
    expect(() => app.synth()).toThrow(/AwsSolutions-S1[\s\S]*CarelessBucket|CarelessBucket[\s\S]*AwsSolutions-S1/);
  });
});

describe('Stack: ApiUsageTrackerStack', () => {
  const { stack } = newApp({ alarmEmail: 'ops@example.com', eventSources: 'orders,billing' });
  const template = Template.fromStack(stack);

  it('outputs what producers, operators and analysts need', () => {
    for (const output of ['EventBusName', 'EventBusArn', 'LakeBucketName', 'GlueDatabaseName', 'GlueTableName', 'AthenaWorkGroupName', 'GlueWorkflowName']) {
      template.hasOutput(output, { Value: Match.anyValue() });
    }
    template.hasOutput('GlueTableName', { Value: 'usage_events' });
  });

  it('wires context into the constructs', () => {
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: { source: ['orders', 'billing'], 'detail-type': ['api-usage-event'] } });
    template.hasResourceProperties('AWS::SNS::Subscription', { Endpoint: 'ops@example.com' });
  });

  it('documents its context parameters in the README', () => {
    const readme = readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
    for (const parameter of CONTEXT_PARAMETERS) {
      expect(readme).toContain(`\`${parameter.key}\``);
    }
  });
});

describe('App: with or without the deliveryPipeline context (createApp, what bin/app.ts synthesizes)', () => {
  const outdir = () => mkdtempSync(path.join(tmpdir(), 'cdk-out-'));

  it('without it, holds exactly the single stack createUsageTrackerApp builds', () => {
    const { app, deliveryStack } = createApp({ outdir: outdir(), context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
    const { app: single } = newApp();
    expect(deliveryStack).toBeUndefined();
    expect(app.node.children.map((child) => child.node.id)).toEqual(single.node.children.map((child) => child.node.id));
    expect(app.node.children.map((child) => child.node.id)).toEqual([STACK_ID]);
  });

  it('with it, holds only the delivery stack, whose stages hold the usage tracker stacks', () => {
    const deliveryPipeline = {
      connectionArn: 'arn:aws:codeconnections:eu-west-1:111111111111:connection/abcd-1234',
      repository: 'my-org/api-usage-tracker',
      branch: 'main',
      account: '111111111111',
      region: 'eu-west-1',
      environments: [{ name: 'staging', account: '222222222222', region: 'eu-west-1' }],
    };
    const { app, deliveryStack } = createApp({ outdir: outdir(), context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], deliveryPipeline } });
    expect(app.node.children.filter((child) => Stack.isStack(child)).map((child) => child.node.id)).toEqual([DELIVERY_STACK_ID]);
    expect(deliveryStack?.stages.map((stage) => [stage.stageName, stage.stacks.stack.node.path])).toEqual([['staging', `${DELIVERY_STACK_ID}/staging/${STACK_ID}`]]);
  });
});
