import { App, AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULT_STACK_NAME } from '../contracts/stack-outputs';
import { ApiUsageTrackerStack } from './api-usage-tracker-stack';
import { MeteredApiEdgeStack } from './metered-api-edge';
import { readUsageTrackerConfig } from './stack-config';

/** The stack's construct id and default CloudFormation stack name. */
export const STACK_ID = DEFAULT_STACK_NAME;

/**
 * The CDK app: the usage tracker stack configured from context, with cdk-nag's AwsSolutions
 * checks registered so that every synth fails on an unacknowledged finding.
 */
export function createUsageTrackerApp(props: AppProps = {}): { app: App; stack: ApiUsageTrackerStack; edgeStack?: MeteredApiEdgeStack } {
  const app = new App(props);
  const config = readUsageTrackerConfig(app.node);
  const stack = new ApiUsageTrackerStack(app, STACK_ID, {
    config,
    description: 'api-usage-tracker: usage events → EventBridge → Firehose → S3 → Glue → Athena',
  });
  // A web ACL for CloudFront must be created in us-east-1, whatever the API's region; the edge
  // stack takes the origin's name from context, so it needs no cross-region reference.
  const edgeStack = config.edge
    ? new MeteredApiEdgeStack(app, `${STACK_ID}-Edge`, {
        env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: 'us-east-1' },
        description: 'api-usage-tracker: CloudFront and AWS WAF rate-based rules in front of the metered API',
        originDomainName: config.edge.originDomainName,
        rateLimitPerIp: config.edge.rateLimitPerIp,
        unauthenticatedRateLimitPerIp: config.edge.tokenRateLimitPerIp,
      })
    : undefined;
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, ...(edgeStack ? { edgeStack } : {}) };
}
