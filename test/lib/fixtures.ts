import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { LakeBucket } from '../../lib/lake-bucket';
import { UsageIngestion, UsageIngestionProps } from '../../lib/usage-ingestion';
import { UsageLake, UsageLakeProps } from '../../lib/usage-lake';

/** The feature flags and context of cdk.json, so tests synthesize what `cdk synth` does. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = (
  JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }
).context;

/** An app with cdk.json's context plus `context`. */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...CDK_JSON_CONTEXT, ...context } });
}

/** A bare stack in an app with cdk.json's context. */
export function testStack(): Stack {
  return new Stack(testApp(), 'TestStack');
}

/** A stack with a lake bucket, for testing one construct at a time. */
export function lakeStack(): { stack: Stack; lakeBucket: LakeBucket } {
  const app = testApp();
  const stack = new Stack(app, 'TestStack');
  const lakeBucket = new LakeBucket(stack, 'LakeBucket');
  return { stack, lakeBucket };
}

export function ingestionTemplate(props: Partial<UsageIngestionProps> = {}): { template: Template; ingestion: UsageIngestion } {
  const { stack, lakeBucket } = lakeStack();
  const ingestion = new UsageIngestion(stack, 'Ingestion', { lakeBucket: lakeBucket.bucket, ...props });
  return { template: Template.fromStack(stack), ingestion };
}

export function lakeTemplate(props: Partial<UsageLakeProps> = {}): { template: Template; lake: UsageLake; stack: Stack } {
  const { stack, lakeBucket } = lakeStack();
  const lake = new UsageLake(stack, 'Lake', { lakeBucket: lakeBucket.bucket, encryptionKey: lakeBucket.encryptionKey, ...props });
  return { template: Template.fromStack(stack), lake, stack };
}

/** The resources of one type in a template, with the properties a test reads typed as it reads them. */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller states the shape it reads from the untyped template JSON
export function resourcesOf<Properties>(template: Template, type: string, props?: object): { Properties: Properties }[] {
  return Object.values(template.findResources(type, props)) as { Properties: Properties }[];
}
