#!/usr/bin/env node
// `npm start` until the local stack exists: synthesize the CloudFormation template offline, with
// cdk-nag's AwsSolutions checks, and say where it went and what it holds.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const outdir = path.resolve('cdk.out');
const env = { ...process.env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: 'true' };
console.log('Synthesizing the ApiUsageTracker stack (cdk synth, cdk-nag AwsSolutions checks)...');
const started = Date.now();
const result = spawnSync('npx', ['cdk', 'synth', '--no-notices', '--quiet', '--output', outdir], { stdio: 'inherit', env });
if (result.status !== 0) {
  console.error('cdk synth failed: see the messages above.');
  process.exit(result.status ?? 1);
}
const templateFile = path.join(outdir, 'ApiUsageTracker.template.json');
const template = JSON.parse(readFileSync(templateFile, 'utf8'));
const counts = {};
for (const resource of Object.values(template.Resources)) counts[resource.Type] = (counts[resource.Type] ?? 0) + 1;
console.log(`\nTemplate written to ${path.relative(process.cwd(), templateFile)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${Object.keys(template.Resources).length} resources, cdk-nag AwsSolutions: no unacknowledged findings`);
for (const [type, count] of Object.entries(counts).sort()) console.log(`  ${String(count).padStart(3)}  ${type}`);
console.log('\nOutputs after deploy:', Object.keys(template.Outputs ?? {}).join(', '));
console.log('Deploy with: npx cdk bootstrap && npx cdk deploy   (see README.md, "Deploy")');
