import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'usage-tracker.js');
const BUNDLE = path.join(ROOT, 'dist', 'cli', 'main.js');
const CACHE_DIR = path.join(ROOT, 'dist', 'cli', 'v8-cache');

/** `usage-tracker queries` from the bundle, with or without V8's code cache. */
function queries(codeCache: 'on' | 'off' = 'on') {
  return spawnSync(process.execPath, [BIN, 'queries'], { encoding: 'utf8', env: { ...process.env, USAGE_TRACKER_CLI: 'bundle', USAGE_TRACKER_CODE_CACHE: codeCache } });
}

describe('bin/usage-tracker.js runs the CLI bundle with V8’s code cache', () => {
  beforeAll(() => {
    // As `npm ci` does (prepare → build:cli), when this checkout has no bundle yet.
    if (!existsSync(BUNDLE)) execFileSync(process.execPath, [path.join(ROOT, 'bin', 'build-cli.js')], { stdio: 'inherit' });
  }, 120_000);

  it('writes the cache on the first run, named after the bundle and this Node; later runs, a corrupt cache and no cache all print the same', () => {
    rmSync(CACHE_DIR, { recursive: true, force: true });
    const plain = queries('off');
    expect(plain.status).toBe(0);
    expect(plain.stdout).toContain('billing_by_tenant --param month=YYYY-MM\n');
    expect(existsSync(CACHE_DIR)).toBe(false);

    const first = queries();
    const { size, mtimeMs } = statSync(BUNDLE);
    const name = `main-${size}-${Math.round(mtimeMs)}-${process.version}-${process.arch}.bin`;
    expect(readdirSync(CACHE_DIR)).toEqual([name]);
    const second = queries();
    expect([first.status, first.stdout, second.status, second.stdout]).toEqual([0, plain.stdout, 0, plain.stdout]);

    // Data V8 refuses (here: not a cache at all) is no failure: the bundle compiles, the cache is written anew.
    writeFileSync(path.join(CACHE_DIR, name), 'not a code cache');
    const corrupt = queries();
    expect([corrupt.status, corrupt.stdout]).toEqual([0, plain.stdout]);
    expect(statSync(path.join(CACHE_DIR, name)).size).toBeGreaterThan(10_000);
  }, 60_000);
});
