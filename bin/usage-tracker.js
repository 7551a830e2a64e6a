#!/usr/bin/env node
// The `usage-tracker` command: runs the TypeScript CLI through tsx, so the local runtime uses
// the very modules the stack deploys, with no build step.
// The AWS SDK's notice that its releases after January 2027 need Node 22 concerns versions this
// project does not install: package.json pins exact ones, and test/repo/node-engines.test.ts fails
// on any locked package whose engines range the stated Node version (20.19+) does not meet.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs');
require('../local/cli/main.ts')
  .main(process.argv.slice(2))
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
