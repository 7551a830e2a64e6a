import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import MnemonistLRUCache from 'mnemonist/lru-cache';
import { HANDLERS_DIR, LAMBDA_ALIASES, PROJECT_ROOT, esbuildOptionsOf } from '../../lib/lambda-bundling';
import LRUCache from '../../lambdas/runtime/lru-cache';
import * as noEventStreams from '../../lambdas/runtime/no-event-streams';

/** Issue 13's bound on every function's minified bundle. */
const MAX_BYTES = 300 * 1024;

const functionNames = () =>
  readdirSync(HANDLERS_DIR)
    .filter((file) => file.endsWith('.ts') && file !== 'registry.ts')
    .map((file) => file.replace(/\.ts$/, ''));

describe('Lambda bundles: at most 300 KB each, without the SDK clients and modules they no longer need', () => {
  const outDir = mkdtempSync(path.join(tmpdir(), 'lambda-size-'));
  const bundles: { name: string; bytes: number; inputs: string[] }[] = [];

  beforeAll(async () => {
    for (const name of functionNames()) {
      const file = path.join(outDir, name, 'index.js');
      const result = await build(esbuildOptionsOf(name, file));
      // What the bundle holds: the inputs that left bytes in the output (esbuild lists trimmed ones with 0).
      const inputs = Object.values(result.metafile.outputs).flatMap((output) =>
        Object.entries(output.inputs)
          .filter(([, { bytesInOutput }]) => bytesInOutput > 0)
          .map(([input]) => input),
      );
      bundles.push({ name, bytes: statSync(file).size, inputs });
    }
  }, 120_000);
  afterAll(() => {
    rmSync(outDir, { recursive: true, force: true });
  });

  it('bundles every function within 300 KB minified', () => {
    expect(bundles.length).toBeGreaterThan(5);
    expect(bundles.filter((b) => b.bytes > MAX_BYTES).map((b) => `${b.name}: ${(b.bytes / 1024).toFixed(1)} KB`)).toEqual([]);
  });

  it('holds neither the KMS nor the Secrets Manager SDK client (AwsJsonClient instead), nor the SDK event streams, nor mnemonist, nor classic zod', () => {
    const unwanted = /node_modules\/(@aws-sdk\/client-kms|@aws-sdk\/client-secrets-manager|@smithy\/core\/dist-es\/submodules\/event-streams|mnemonist|zod\/v4\/classic)\//;
    expect(bundles.flatMap((b) => b.inputs.filter((input) => unwanted.test(input)).map((input) => `${b.name}: ${input}`))).toEqual([]);
  });

  it('uses the replacements: the functions that read the tenant secret, call KMS or speak to Cognito (auth) carry AwsJsonClient', () => {
    const withClient = bundles.filter((b) => b.inputs.includes('lambdas/runtime/aws-json-client.ts')).map((b) => b.name);
    expect(withClient.sort()).toEqual(['admin-token', 'auth', 'authorizer', 'token']);
  });
});

describe('Alias: @smithy/core/event-streams (lambdas/runtime/no-event-streams.ts)', () => {
  it('provides every name the SDK protocol imports from it, so the alias cannot silently drop one after an SDK upgrade', () => {
    // Prepare: the dynamic import in the SDK's HttpProtocol (the only importer in the bundles).
    const source = readFileSync(path.join(PROJECT_ROOT, 'node_modules/@smithy/core/dist-es/submodules/protocols/HttpProtocol.js'), 'utf8');
    const imported = /const \{([^}]+)\} = await import\("@smithy\/core\/event-streams"\)/.exec(source)?.[1].split(',').map((name) => name.trim()).filter(Boolean);
    // Assess
    expect(LAMBDA_ALIASES['@smithy/core/event-streams']).toBe('./lambdas/runtime/no-event-streams.ts');
    expect(imported).toEqual(['EventStreamSerde', 'eventStreamSerdeProvider']);
    expect(imported?.filter((name) => !(name in noEventStreams))).toEqual([]);
  });

  it('fails, saying why, if an event-stream operation is ever called', () => {
    expect(() => new noEventStreams.EventStreamSerde()).toThrow(noEventStreams.EventStreamsNotBundledError);
    expect(() => noEventStreams.eventStreamSerdeProvider()).toThrow(/Event streams are not bundled in the Lambda functions/);
  });
});

describe('Alias: mnemonist/lru-cache (lambdas/runtime/lru-cache.ts)', () => {
  it('answers as mnemonist does for the calls of the SDK endpoint cache (get, set, has, peek, clear), step by step', () => {
    // Prepare: one random sequence of operations applied to both.
    const ours = new LRUCache<string, number>(3);
    const theirs = new MnemonistLRUCache<string, number>(3);
    let seed = 7;
    const next = () => (seed = (seed * 48271) % 2147483647);
    const answers: [unknown, unknown][] = [];
    // Act
    for (let step = 0; step < 400; step++) {
      const key = `k${next() % 6}`;
      switch (next() % 6) {
        case 0:
        case 1:
          ours.set(key, step);
          theirs.set(key, step);
          break;
        case 2:
          answers.push([ours.get(key), theirs.get(key)]);
          break;
        case 3:
          answers.push([ours.peek(key), theirs.peek(key)]);
          break;
        case 4:
          answers.push([ours.has(key), theirs.has(key)]);
          break;
        default:
          if (step % 50 === 0) {
            ours.clear();
            theirs.clear();
          }
      }
      answers.push([ours.size, theirs.size]);
    }
    // Assess
    expect(answers.filter(([a, b]) => a !== b)).toEqual([]);
    expect(answers.some(([a]) => typeof a === 'number' && a > 2)).toBe(true);
  });

  it('forgets the least recently used entry, where a get refreshes and a peek does not', () => {
    const cache = new LRUCache<string, number>(2);
    cache.set('a', 1).set('b', 2);
    cache.get('a');
    cache.set('c', 3);
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([true, false, true]);
    cache.peek('a');
    cache.set('d', 4);
    expect([cache.has('a'), cache.has('c'), cache.has('d')]).toEqual([false, true, true]);
  });
});
