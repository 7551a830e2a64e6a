#!/usr/bin/env node
// The `usage-tracker` command: runs the TypeScript CLI through tsx, so the local runtime uses
// the very modules the stack deploys, with no build step.
require('tsx/cjs');
require('../local/cli/main.ts')
  .main(process.argv.slice(2))
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
