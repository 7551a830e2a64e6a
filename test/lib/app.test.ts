import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { CONTEXT_PARAMETERS } from '../../lib/stack-config';
import { createUsageTrackerApp } from '../../lib/app';
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
