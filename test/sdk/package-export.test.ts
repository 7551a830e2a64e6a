import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');

describe('Package: api-usage-tracker/sdk', () => {
  it('resolves the subpath to the built SDK with its type declarations (npm run build:sdk)', () => {
    // Act: a consumer's require, through package.json "exports".
    const output = execFileSync(process.execPath, ['-e', "const sdk = require('api-usage-tracker/sdk'); console.log(JSON.stringify(Object.keys(sdk).sort()))"], { cwd: root, encoding: 'utf8' });
    // Assess
    const names = JSON.parse(output.trim().split('\n').at(-1)!) as string[];
    expect(names).toEqual(expect.arrayContaining(['UsagePublisher', 'usageMiddleware', 'usageFastifyPlugin', 'withUsageTracking', 'trackUsage', 'UsageEventValidationError']));
    expect(existsSync(path.join(root, 'dist', 'sdk', 'index.d.ts'))).toBe(true);
  });
});
