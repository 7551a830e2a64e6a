#!/usr/bin/env node
// The `usage-tracker` command. It runs the CLI bundle (dist/cli/main.js, built by `npm run
// build:cli`, which `npm ci` runs through `prepare`) when it is there and no source it was built
// from has changed since; otherwise the TypeScript sources through tsx, so the local runtime uses
// the very modules the stack deploys, with no build step. Either way the same code runs; the
// bundle only saves compiling it at start-up.
// USAGE_TRACKER_CLI=tsx forces the sources; USAGE_TRACKER_CLI=bundle the bundle even if a source
// is newer (the start-up benchmark, which builds the bundle itself, measures it so).
// The AWS SDK's notice that its releases after January 2027 need Node 22 concerns versions this
// project does not install: package.json pins exact ones, and test/repo/node-engines.test.ts fails
// on any locked package whose engines range the stated Node version (20.19+) does not meet.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const bundle = path.join(root, 'dist', 'cli', 'main.js');

/** Whether the bundle is there and newer than every source it was built from. */
function bundleIsCurrent() {
  if (process.env.USAGE_TRACKER_CLI === 'tsx') return false;
  try {
    const built = fs.statSync(bundle).mtimeMs;
    if (process.env.USAGE_TRACKER_CLI === 'bundle') return true;
    const inputs = JSON.parse(fs.readFileSync(path.join(path.dirname(bundle), 'inputs.json'), 'utf8'));
    return inputs.every((input) => fs.statSync(path.join(root, input)).mtimeMs <= built);
  } catch {
    return false;
  }
}

/**
 * The bundle, loaded with V8's code cache: compiling its 6 MB of JavaScript (and then each function
 * the command runs) is most of what loading it costs, and V8 can keep that work
 * (https://nodejs.org/docs/latest-v20.x/api/vm.html#scriptcreatecacheddata). The cache is kept
 * beside the bundle under a name made of the bundle's size and time and Node's version, so a
 * rebuilt bundle or another Node never reads a stale one (V8 itself refuses data made by another
 * V8 or for other flags: `cachedDataRejected`). It is written when the process exits, with the
 * functions this run compiled, when there was none or V8 refused it. Anything unexpected (no vm
 * loader for `import()`, a folder that cannot be written) means a plain `require`, or no cache.
 * USAGE_TRACKER_CODE_CACHE=off turns it off.
 */
function loadBundleWithCodeCache() {
  const vm = require('node:vm');
  const Module = require('node:module');
  const importModuleDynamically = vm.constants?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  // Node maps stack traces through the bundle's source map (--enable-source-maps) for modules it loads itself.
  if (!importModuleDynamically || process.sourceMapsEnabled || process.env.USAGE_TRACKER_CODE_CACHE === 'off') return require(bundle);
  const stat = fs.statSync(bundle);
  const cacheDir = path.join(path.dirname(bundle), 'v8-cache');
  const cacheFile = path.join(cacheDir, `main-${stat.size}-${Math.round(stat.mtimeMs)}-${process.version}-${process.arch}.bin`);
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(fs.readFileSync(bundle, 'utf8')), { filename: bundle, cachedData, importModuleDynamically });
  const loaded = new Module(bundle, module);
  loaded.filename = bundle;
  script.runInThisContext().call(loaded.exports, loaded.exports, Module.createRequire(bundle), loaded, bundle, path.dirname(bundle));
  loaded.loaded = true;
  if (cachedData === undefined || script.cachedDataRejected) process.once('exit', () => writeCodeCache(script, cacheDir, cacheFile));
  return loaded.exports;
}

/** Writes the code cache (through a rename: a reader never sees half of it) and drops older ones. */
function writeCodeCache(script, cacheDir, cacheFile) {
  try {
    fs.mkdirSync(cacheDir, { recursive: true });
    const temporary = `${cacheFile}.${process.pid}.tmp`;
    fs.writeFileSync(temporary, script.createCachedData());
    fs.renameSync(temporary, cacheFile);
    for (const name of fs.readdirSync(cacheDir)) {
      if (name !== path.basename(cacheFile) && !name.endsWith('.tmp')) fs.rmSync(path.join(cacheDir, name), { force: true });
    }
  } catch {
    // A cache is an optimisation: without one, the next start compiles again.
  }
}

let cli;
if (bundleIsCurrent()) {
  cli = loadBundleWithCodeCache();
} else {
  require('tsx/cjs');
  cli = require('../local/cli/main.ts');
}
cli.main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});
