#!/usr/bin/env node
// The `usage-tracker` command. It runs the CLI bundle (dist/cli/main.js, built by `npm run
// build:cli`, which `npm ci` runs through `prepare`) when it is there and no source it was built
// from has changed since; otherwise the TypeScript sources through tsx, so the local runtime uses
// the very modules the stack deploys, with no build step. Either way the same code runs; the
// bundle only saves compiling it at start-up.
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
    const inputs = JSON.parse(fs.readFileSync(path.join(path.dirname(bundle), 'inputs.json'), 'utf8'));
    return inputs.every((input) => fs.statSync(path.join(root, input)).mtimeMs <= built);
  } catch {
    return false;
  }
}

let cli;
if (bundleIsCurrent()) {
  cli = require(bundle);
} else {
  require('tsx/cjs');
  cli = require('../local/cli/main.ts');
}
cli.main(process.argv.slice(2)).catch((error) => {
  console.error(error);
  process.exit(1);
});
