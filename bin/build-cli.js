#!/usr/bin/env node
// Bundles the CLI (local/cli/main.ts and what it imports) into dist/cli/main.js with esbuild, so
// that `usage-tracker` starts without compiling TypeScript at run time (bin/usage-tracker.js loads
// the bundle when it is there, tsx otherwise). Run by `npm run build:cli` (and `prepare`, after
// build:sdk: the SDK's sender thread runs from dist/sdk).
//
// Native and large packages stay external, loaded from node_modules as they are. Modules that find
// files next to themselves (`__dirname`: queries/, contracts/generated/, the dashboard's public/)
// get their own folder back, relative to the bundle, so the build can move with the repository.
const path = require('node:path');
const fs = require('node:fs');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
// `node bin/build-cli.js [outfile]`: dist/cli/main.js unless another file is named (the start-up
// benchmark builds its own copy, so that what it measures is the sources as they are).
const outfile = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'cli', 'main.js'));
const EXTERNAL = ['@duckdb/node-api', 'dynalite', 'tsx', 'esbuild', 'aws-cdk-lib', 'constructs'];

/** `__dirname`/`__filename` of a source file, as expressions valid in the bundle. */
const ownLocation = {
  name: 'own-location',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      let contents = await fs.promises.readFile(args.path, 'utf8');
      if (/\b__(dirname|filename)\b/.test(contents)) {
        const relative = path.relative(root, args.path);
        // The SDK's thread script runs as compiled JavaScript, from dist/sdk (build:sdk).
        const file = relative.startsWith(`sdk${path.sep}`) ? path.join('dist', relative.replace(/\.ts$/, '.js')) : relative;
        const fromBundle = path.relative(path.dirname(outfile), path.join(root, file)).split(path.sep).join('/');
        const filename = `require("node:path").join(__dirname, ${JSON.stringify(fromBundle)})`;
        contents = contents.replace(/\b__filename\b/g, `(${filename})`).replace(/\b__dirname\b/g, `require("node:path").dirname(${filename})`);
      }
      return { contents, loader: 'ts' };
    });
  },
};

esbuild
  .build({
    absWorkingDir: root,
    entryPoints: [path.join(root, 'local', 'cli', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: EXTERNAL,
    plugins: [ownLocation],
    // Readable stack traces without a run-time cost: names kept, no source map loaded unless asked.
    keepNames: true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    // Written below, each file through a rename: a `usage-tracker` starting meanwhile reads the
    // old bundle or the new one, never half of one.
    write: false,
  })
  .then(({ metafile, outputFiles }) => {
    fs.mkdirSync(path.dirname(outfile), { recursive: true });
    for (const file of outputFiles) {
      fs.writeFileSync(`${file.path}.tmp`, file.contents);
      fs.renameSync(`${file.path}.tmp`, file.path);
    }
    // V8's code cache of the previous bundle (bin/usage-tracker.js): named after that bundle, so
    // never read for this one, but no longer of use.
    fs.rmSync(path.join(path.dirname(outfile), 'v8-cache'), { recursive: true, force: true });
    // The sources it was built from, which bin/usage-tracker.js checks: an edited source means tsx.
    const inputs = Object.keys(metafile.inputs).filter((input) => !input.startsWith('node_modules/'));
    fs.writeFileSync(path.join(path.dirname(outfile), 'inputs.json'), JSON.stringify(inputs));
  })
  .catch((error) => {
    // esbuild has printed its own errors; anything else (writing the files) is printed here.
    if (!error?.errors) console.error(error);
    process.exit(1);
  });
