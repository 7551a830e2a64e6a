import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Stack, Stage } from 'aws-cdk-lib';
import { createUsageTrackerApp } from '../../lib/app';
import { DeliveryEnvironment } from '../../lib/delivery-config';
import { nagStackArn } from '../../lib/nag-acknowledgements';
import { UsageTrackerStage } from '../../lib/usage-tracker-stage';
import { CDK_JSON_CONTEXT } from './fixtures';

// Bundling on: the Lambda code's asset hashes then come from the bundles' contents, so equal code
// gives equal S3 keys and equal Lambda version ids in both synths (skipped bundling hashes the path).
const APP_CONTEXT = { ...CDK_JSON_CONTEXT, eventSources: 'orders,billing' };
const QUICK_CONTEXT = { ...APP_CONTEXT, 'aws:cdk:bundling-stacks': [] };

/**
 * The one normalisation: names and logical ids CDK derives from a construct's path (Names.uniqueId:
 * the path's components and a hash of it), which in a stage starts with the stage's id, e.g. the
 * event bus's generated name `productionApiUsageTrackerIngestionBus27B42E22` against
 * `ApiUsageTrackerIngestionBusDA341D47`, the CloudFront origin's id, and the ids of the Lambda
 * permissions and event source mappings CDK names after the API and table.
 */
const PATH_DERIVED = /(?:production)?ApiUsageTracker[A-Za-z0-9]*[0-9A-F]{8}/g;
const normalised = (template: Record<string, unknown>) => JSON.parse(JSON.stringify(template).replace(PATH_DERIVED, '<path-derived>')) as unknown;
const ENVIRONMENT: DeliveryEnvironment = {
  name: 'production',
  account: '333333333333',
  region: 'eu-central-1',
  approval: true,
  context: {
    alarmEmail: 'oncall@example.com',
    glueSchedule: 'cron(10 * * * ? *)',
    edgeProtection: true,
    edgeOriginDomainName: 'api-origin.example.com',
    edgeOriginCertificateArn: 'arn:aws:acm:eu-central-1:333333333333:certificate/0f3c5a2e-1111-2222-3333-444455556666',
  },
};

const outdir = () => mkdtempSync(path.join(tmpdir(), 'cdk-out-'));

/** The stack's template as the synth wrote it (read from the assembly: a synth with a concrete env may still stop on cdk-nag findings after writing it). */
function writtenTemplate(app: App, stack: Stack): Record<string, unknown> {
  try {
    app.synth();
  } catch {
    // the templates are written before the validation plugins run
  }
  return JSON.parse(readFileSync(path.join(Stage.of(stack)!.outdir, stack.templateFile), 'utf8')) as Record<string, unknown>;
}

describe('UsageTrackerStage', () => {
  it('deploys the very template a single-stack synth gives for the same context and env', () => {
    // Prepare: a stage in its own app, and the single stack with the environment's context and env.
    const stageApp = new App({ outdir: outdir(), context: APP_CONTEXT });
    const stage = new UsageTrackerStage(stageApp, ENVIRONMENT.name, { environment: ENVIRONMENT });
    const env = { account: ENVIRONMENT.account, region: ENVIRONMENT.region };
    const single = createUsageTrackerApp({ outdir: outdir(), context: { ...APP_CONTEXT, ...ENVIRONMENT.context } }, { env });
    // Act
    const staged = writtenTemplate(stageApp, stage.stacks.stack);
    const alone = writtenTemplate(single.app, single.stack);
    // Assess: equal once path-derived names are normalised; the edge stacks too.
    expect(JSON.stringify(staged)).toContain('productionApiUsageTrackerIngestionBus');
    expect(normalised(staged)).toEqual(normalised(alone));
    expect(stage.stacks.edgeStack).toBeDefined();
    if (!stage.stacks.edgeStack || !single.edgeStack) throw new Error('edgeProtection asks for the edge stack in both');
    expect(normalised(writtenTemplate(stageApp, stage.stacks.edgeStack))).toEqual(normalised(writtenTemplate(single.app, single.edgeStack)));
    expect(stage.stacks.stack.resolve(stage.stacks.stack.account)).toBe(ENVIRONMENT.account);
    expect(stage.stacks.edgeStack.region).toBe('us-east-1');
    expect(stage.stacks.edgeStack.account).toBe(ENVIRONMENT.account);
    expect(stage.stackName).toBe('ApiUsageTracker');
  });

  it('reads the environment\'s context, not only the app\'s', () => {
    const stageApp = new App({ outdir: outdir(), context: QUICK_CONTEXT });
    const stage = new UsageTrackerStage(stageApp, 'staging', { environment: { ...ENVIRONMENT, name: 'staging', context: { alarmEmail: 'ops@example.com' } } });
    const template = JSON.stringify(writtenTemplate(stageApp, stage.stacks.stack));
    expect(template).toContain('ops@example.com');
    expect(template).not.toContain('oncall@example.com');
    expect(stage.stacks.edgeStack).toBeUndefined();
  });
});

describe('nagStackArn', () => {
  it('writes an ARN as cdk-nag does: pseudo parameters for an environment-agnostic stack, literals for a stage\'s', () => {
    const app = new App({ context: QUICK_CONTEXT });
    expect(nagStackArn(new Stack(app, 'Agnostic'), 'glue', 'table/*')).toBe('arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:table/*');
    expect(nagStackArn(new Stack(app, 'Concrete', { env: { account: ENVIRONMENT.account, region: ENVIRONMENT.region } }), 'glue', 'table/*')).toBe(
      'arn:aws:glue:eu-central-1:333333333333:table/*',
    );
  });
});
