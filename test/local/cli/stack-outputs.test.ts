import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { STACK_OUTPUTS } from '../../../contracts/stack-outputs';
import { createUsageTrackerApp } from '../../../lib/app';

const CDK_JSON_CONTEXT = (JSON.parse(readFileSync(path.join(__dirname, '..', '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

/** The stack's outputs as the template declares them, for the keys the CLI reads. */
function outputsOf(context: Record<string, unknown>): Record<string, Record<string, unknown>> {
  const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-out-'));
  try {
    const { stack } = createUsageTrackerApp({ outdir, context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...context } });
    return Template.fromStack(stack).findOutputs('*');
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('the stack outputs usage-tracker reads', () => {
  it('declares every output key of the contract', () => {
    const outputs = outputsOf({});
    for (const outputKey of Object.values(STACK_OUTPUTS)) expect({ outputKey, declared: outputKey in outputs }).toEqual({ outputKey, declared: true });
  });

  it.each([
    ['900', '1800'],
    ['60', '300'],
  ])('gives the data-freshness alarm threshold as plain seconds (buffer interval %s s → %s s)', (bufferIntervalSeconds, threshold) => {
    expect(outputsOf({ bufferIntervalSeconds })[STACK_OUTPUTS.dataFreshnessThresholdSeconds].Value).toBe(threshold);
  });
});
