#!/usr/bin/env node
// Bundles the consumer client (client/index.ts) for browsers with esbuild, minified, in two forms:
// an ES module (`import { ApiClient } from '…/api-client.js'`) and a classic script that defines
// the global `UsageTrackerClient` (`<script src="/sdk.js">`), and prints their sizes (raw and
// gzipped). Node uses the compiled client (tsconfig.client.json) instead.
//
// `node bin/build-client.js [outdir]`: dist/client unless another folder is named (the browser
// test builds its own copy, so that what it loads is the sources as they are).
const path = require('node:path');
const fs = require('node:fs');
const zlib = require('node:zlib');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
const outdir = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'client'));
/** Browsers of the last years (fetch, AbortController, private fields) and Node 20. */
const TARGET = ['es2020', 'chrome100', 'firefox100', 'safari15', 'node20'];
const FORMS = [
  { file: 'api-client.js', format: 'esm' },
  { file: 'api-client.global.js', format: 'iife', globalName: 'UsageTrackerClient' },
];

async function build() {
  fs.mkdirSync(outdir, { recursive: true });
  const sizes = [];
  for (const form of FORMS) {
    const outfile = path.join(outdir, form.file);
    const result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: [path.join(root, 'client', 'index.ts')],
      bundle: true,
      minify: true,
      // The browser platform: any import of a Node built-in fails the build.
      platform: 'browser',
      format: form.format,
      ...(form.globalName ? { globalName: form.globalName } : {}),
      target: TARGET,
      legalComments: 'none',
      logLevel: 'warning',
      write: false,
    });
    const contents = result.outputFiles[0].contents;
    // Through a rename: a server reading the file meanwhile gets the old bundle or the new one.
    fs.writeFileSync(`${outfile}.tmp`, contents);
    fs.renameSync(`${outfile}.tmp`, outfile);
    sizes.push({ file: path.relative(process.cwd(), outfile), bytes: contents.length, gzipBytes: zlib.gzipSync(contents, { level: 9 }).length });
  }
  for (const { file, bytes, gzipBytes } of sizes) console.log(`${file}: ${bytes} bytes, ${gzipBytes} gzipped`);
}

build().catch((error) => {
  // esbuild has printed its own errors; anything else (writing the files) is printed here.
  if (!error?.errors) console.error(error);
  process.exit(1);
});
