import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { marshall } from '@aws-sdk/util-dynamodb';
import { build } from 'esbuild';
import { esbuildOptionsOf } from '../../lib/lambda-bundling';
import { BUS_NAME, CapturingBus, startCapturingBus } from './support';

const execFileAsync = promisify(execFile);

/**
 * Issue 16, item 2: the audit-stream function as the stack bundles it (esbuild with the stack's
 * options and aliases), run in a Node process of its own with a Lambda-like environment, puts the
 * event of a stream batch on the real LocalEventBus, signing with the environment's credentials.
 */
describe('Bundle: audit-stream', () => {
  let bus: CapturingBus;
  const outDir = mkdtempSync(path.join(tmpdir(), 'audit-stream-bundle-'));

  beforeAll(async () => {
    bus = await startCapturingBus();
  });
  afterAll(async () => {
    await bus.stop();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('bundles within the 300 KB bound and answers a batch with its event on the bus', async () => {
    // Prepare
    const bundle = path.join(outDir, 'index.js');
    await build(esbuildOptionsOf('audit-stream', bundle));
    const item = { pk: 'AUDIT#2026-11', sk: '2026-11-23T10:00:00.000Z#0011223344556677', at: '2026-11-23T10:00:00.000Z', actor: 'admin:ops', action: 'tenant.block', target: 'acme' };
    const event = { Records: [{ eventID: '1', eventName: 'INSERT', eventSource: 'aws:dynamodb', dynamodb: { NewImage: marshall(item), SequenceNumber: '4200', StreamViewType: 'NEW_IMAGE' } }] };
    const env = {
      PATH: process.env.PATH,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_LAMBDA_FUNCTION_NAME: 'audit-stream',
      USAGE_EVENT_BUS_NAME: BUS_NAME,
      AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    };
    const before = bus.details().length;
    // Act
    const { stdout } = await execFileAsync(
      process.execPath,
      ['-e', `require(${JSON.stringify(bundle)}).handler(${JSON.stringify(event)}).then((r) => { process.stdout.write(JSON.stringify(r)); process.exit(0); })`],
      { env, encoding: 'utf8', timeout: 60_000 },
    );
    // Assess
    expect(statSync(bundle).size).toBeLessThanOrEqual(300 * 1024);
    expect(JSON.parse(stdout)).toEqual({ batchItemFailures: [] });
    expect(bus.details().slice(before)).toEqual([
      { schemaVersion: '1', eventId: 'audit.2026-11-23T10:00:00.000Z.0011223344556677', kind: 'tenant-blocked', tenantId: 'acme', occurredAt: item.at, data: {} },
    ]);
  });
});
