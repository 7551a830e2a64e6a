/**
 * Lambda bundle benchmark: every function of the metered API bundled with the stack's own options
 * (lib/lambda-bundling.ts), its minified bytes and its cold init: a fresh `node` that `require`s
 * the bundle with the environment a deployed function has (the stack's variables, AWS_REGION,
 * credentials), beside an empty `node` in the same rounds. Rounds are interleaved and alternate
 * their order (baseline first, then last), so drift in the machine falls on every contender alike.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { lambdaEnvironment } from '../contracts/lambda-environment';
import { DEFAULT_TOKEN_AUDIENCE } from '../contracts/metered-api';
import { tierOverridesOf } from '../contracts/tiers';
import { HANDLERS_DIR, esbuildOptionsOf } from '../lib/lambda-bundling';
import { fmt, printTable } from './support/measure';

const execFileAsync = promisify(execFile);
/** At least 6, and even: as many rounds in each order (baseline first, baseline last). */
const ROUNDS = 2 * Math.ceil(Math.max(6, Number(process.env.BENCH_LAMBDA_ROUNDS ?? 8)) / 2);
/** Issue 13's bounds: bytes per function, and cold init above an empty `node`. */
const MAX_BYTES = 300 * 1024;
const MAX_INIT_ABOVE_NODE_MS = 150;
const BASELINE = '(empty node)';
const WITH_SOURCE_MAPS = ' + --enable-source-maps';

interface Bundle {
  readonly name: string;
  readonly file: string;
  readonly bytes: number;
  readonly mapBytes: number;
  /** The packages (or project folders) that weigh most, with their bytes in the bundle. */
  readonly heaviest: readonly (readonly [string, number])[];
}

/** The functions: one entry file per function under lambdas/handlers (the registry is no entry). */
function functionNames(): string[] {
  return readdirSync(HANDLERS_DIR)
    .filter((file) => file.endsWith('.ts') && file !== 'registry.ts')
    .map((file) => file.replace(/\.ts$/, ''))
    .sort();
}

async function bundle(name: string, outDir: string): Promise<Bundle> {
  const file = path.join(outDir, name, 'index.js');
  const result = await build(esbuildOptionsOf(name, file));
  const byOwner = new Map<string, number>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const owner = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? input.split('/').slice(0, 2).join('/');
      byOwner.set(owner, (byOwner.get(owner) ?? 0) + bytesInOutput);
    }
  }
  const heaviest = [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, 4);
  return { name, file, bytes: statSync(file).size, mapBytes: statSync(`${file}.map`).size, heaviest };
}

/** What a deployed function's environment holds: the stack's variables (fake values), region, credentials. */
function lambdaLikeEnvironment(outDir: string): NodeJS.ProcessEnv {
  const secretFile = path.join(outDir, 'tenant-secret');
  writeFileSync(secretFile, 't'.repeat(64));
  return {
    PATH: process.env.PATH,
    ...lambdaEnvironment({
      tables: { credentials: 'bench-credentials', limiter: 'bench-limiter', audit: 'bench-audit' },
      tokenIssuer: 'urn:api-usage-tracker:bench',
      tokenAudience: DEFAULT_TOKEN_AUDIENCE,
      sourceIpGuard: true,
      tenantTokenSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-AbCdEf',
      adminTokenKeyId: 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000',
      tiers: tierOverridesOf({}),
      usageBus: { eventBusName: 'bench-usage-bus', source: 'my-applications' },
      demo: { latencyMs: 0, errorRate: 0 },
    }),
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_SESSION_TOKEN: 'bench',
    AWS_LAMBDA_FUNCTION_NAME: 'bench',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** Milliseconds from spawning `node` to its exit, after it required `file` (nothing for the baseline). */
async function coldInit(file: string | undefined, env: NodeJS.ProcessEnv): Promise<number> {
  const script = file ? `require(${JSON.stringify(file)}); process.exit(0)` : 'process.exit(0)';
  const started = process.hrtime.bigint();
  await execFileAsync(process.execPath, ['-e', script], { env, encoding: 'utf8', timeout: 60_000 });
  return Number(process.hrtime.bigint() - started) / 1e6;
}

interface Contender {
  readonly label: string;
  readonly file?: string;
  readonly env: NodeJS.ProcessEnv;
}

/** Every contender once per round; odd rounds run the list backwards. Returns each one's times by label. */
async function interleavedRounds(contenders: readonly Contender[]): Promise<Map<string, number[]>> {
  const times = new Map(contenders.map((c) => [c.label, [] as number[]]));
  for (const contender of contenders) await coldInit(contender.file, contender.env); // warm the file cache
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? contenders : [...contenders].reverse();
    for (const contender of order) times.get(contender.label)?.push(await coldInit(contender.file, contender.env));
  }
  return times;
}

const sorted = (values: readonly number[]) => [...values].sort((a, b) => a - b);
const medianOf = (values: readonly number[]) => {
  const s = sorted(values);
  const middle = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[middle] : (s[middle - 1] + s[middle]) / 2;
};
const spreadText = (values: readonly number[]) => `${fmt(Math.min(...values), 0)} / ${fmt(medianOf(values), 0)} / ${fmt(Math.max(...values), 0)}`;
const kb = (bytes: number) => `${fmt(bytes / 1024, 1)} KB`;

function printFigures(bundles: readonly Bundle[], times: Map<string, number[]>): void {
  const baseline = times.get(BASELINE) ?? [];
  // Paired: each round's function time minus the same round's empty node.
  const above = (label: string) => (times.get(label) ?? []).map((t, round) => t - baseline[round]);
  const rows = bundles.flatMap((b) => {
    const row = (label: string) => {
      const extra = above(label);
      const verdict = b.bytes <= MAX_BYTES && medianOf(extra) <= MAX_INIT_ABOVE_NODE_MS ? 'ok' : 'OVER';
      return [label, kb(b.bytes), kb(b.mapBytes), spreadText(times.get(label) ?? []), spreadText(extra), verdict];
    };
    return times.has(`${b.name}${WITH_SOURCE_MAPS}`) ? [row(b.name), row(`${b.name}${WITH_SOURCE_MAPS}`)] : [row(b.name)];
  });
  rows.push([BASELINE, '', '', spreadText(baseline), '0', '']);
  printTable(
    `Lambda bundles (stack's esbuild options) and cold init, ${ROUNDS} interleaved rounds, ms min / median / max; bounds: ${kb(MAX_BYTES)}, +${MAX_INIT_ABOVE_NODE_MS} ms`,
    ['function', 'bytes', 'source map', 'init (ms)', 'above node (ms)', 'bounds'],
    rows,
  );
  printTable('What weighs most in each bundle', ['function', 'heaviest'], bundles.map((b) => [b.name, b.heaviest.map(([owner, bytes]) => `${owner} ${kb(bytes)}`).join(', ')]));
}

export async function lambdaBenchmark(): Promise<void> {
  const outDir = mkdtempSync(path.join(tmpdir(), 'bench-lambda-'));
  try {
    const bundles: Bundle[] = [];
    for (const name of functionNames()) bundles.push(await bundle(name, outDir));
    const env = lambdaLikeEnvironment(outDir);
    // What `--enable-source-maps` would add, shown on the authorizer (every tenant request's first function).
    const withMaps = bundles.find((b) => b.name === 'authorizer');
    const contenders: Contender[] = [
      { label: BASELINE, env },
      ...bundles.map((b) => ({ label: b.name, file: b.file, env })),
      ...(withMaps ? [{ label: `${withMaps.name}${WITH_SOURCE_MAPS}`, file: withMaps.file, env: { ...env, NODE_OPTIONS: '--enable-source-maps' } }] : []),
    ];
    const times = await interleavedRounds(contenders);
    printFigures(bundles, times);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}
