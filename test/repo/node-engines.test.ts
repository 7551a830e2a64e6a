import { readFileSync } from 'node:fs';
import path from 'node:path';
import semver from 'semver';

const root = path.join(__dirname, '..', '..');
const packageJson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> };
const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
const oldestSupported = semver.minVersion(packageJson.engines.node)!;

describe('The Node.js version the project states', () => {
  it('is the one the README states', () => {
    expect(readme).toContain(`Node.js ${oldestSupported.major}.${oldestSupported.minor} or later`);
  });

  it('meets every installed package’s engines range, from the oldest stated version on', () => {
    const unmet = Object.entries(lock.packages)
      .filter(([name]) => name !== '')
      .flatMap(([name, entry]) => {
        const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        return range && !semver.satisfies(oldestSupported, range) ? [`${name}@${entry.version ?? '?'} wants node ${range}`] : [];
      });
    expect(unmet).toEqual([]);
  });

  it('is the version this suite runs on', () => {
    expect(semver.satisfies(process.version, packageJson.engines.node)).toBe(true);
  });
});
