import { App, AppProps, Environment, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_STACK_NAME } from '../contracts/stack-outputs';
import { readDeliveryPipelineConfig } from './delivery-config';
import { DeliveryPipelineStack } from './delivery-pipeline-stack';
import { addUsageTrackerStacks, UsageTrackerStacks } from './usage-tracker-stage';

export { STACK_ID, addUsageTrackerStacks } from './usage-tracker-stage';
export type { UsageTrackerStacks } from './usage-tracker-stage';

/** The delivery pipeline stack's construct id and CloudFormation stack name (in the tools account). */
export const DELIVERY_STACK_ID = `${DEFAULT_STACK_NAME}-Delivery`;

/** Options of {@link createUsageTrackerApp}. */
export interface UsageTrackerAppOptions {
  /** The main stack's account and region (e.g. to compare it with a pipeline stage's). @default environment-agnostic */
  readonly env?: Environment;
}

/** Registers cdk-nag's AwsSolutions checks, so that every synth fails on an unacknowledged finding. */
function checkAwsSolutions(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/** The single stack (and the edge stack when asked for) in `app`, checked by cdk-nag. */
function addSingleStack(app: App, env?: Environment): UsageTrackerStacks {
  const stacks = addUsageTrackerStacks(app, env);
  checkAwsSolutions(app);
  return stacks;
}

/**
 * The CDK app: the usage tracker stack configured from context, with cdk-nag's AwsSolutions
 * checks registered so that every synth fails on an unacknowledged finding.
 */
export function createUsageTrackerApp(props: AppProps = {}, options: UsageTrackerAppOptions = {}): { app: App } & UsageTrackerStacks {
  const app = new App(props);
  return { app, ...addSingleStack(app, options.env) };
}

/**
 * What `cdk synth` synthesizes (bin/app.ts): with the `deliveryPipeline` context, the delivery
 * pipeline stack, which deploys the usage tracker's stacks to each environment in turn (its
 * stages hold them); without it, exactly the single stack of {@link createUsageTrackerApp}.
 */
export function createApp(props: AppProps = {}): { app: App; deliveryStack?: DeliveryPipelineStack } {
  const app = new App(props);
  const delivery = readDeliveryPipelineConfig(app.node);
  if (!delivery) {
    addSingleStack(app);
    return { app };
  }
  const deliveryStack = new DeliveryPipelineStack(app, DELIVERY_STACK_ID, {
    config: delivery,
    env: { account: delivery.account, region: delivery.region },
    description: 'api-usage-tracker: the delivery pipeline (CDK Pipelines) deploying the usage tracker to each environment',
  });
  checkAwsSolutions(app);
  return { app, deliveryStack };
}
