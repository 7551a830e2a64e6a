import { App, AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_STACK_NAME } from '../contracts/stack-outputs';
import { ApiUsageTrackerStack } from './api-usage-tracker-stack';
import { readUsageTrackerConfig } from './stack-config';

/** The stack's construct id and default CloudFormation stack name. */
export const STACK_ID = DEFAULT_STACK_NAME;

/**
 * The CDK app: the usage tracker stack configured from context, with cdk-nag's AwsSolutions
 * checks registered so that every synth fails on an unacknowledged finding.
 */
export function createUsageTrackerApp(props: AppProps = {}): { app: App; stack: ApiUsageTrackerStack } {
  const app = new App(props);
  const config = readUsageTrackerConfig(app.node);
  const stack = new ApiUsageTrackerStack(app, STACK_ID, {
    config,
    description: 'api-usage-tracker: usage events → EventBridge → Firehose → S3 → Glue → Athena',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
