/**
 * Start-up benchmark: `usage-tracker local` (what `npm start` runs) from process spawn to the first
 * 200 on /health (polled every 10 ms), on an existing data folder and on a fresh one, for the CLI
 * bundle (dist/cli/main.js, `npm run build:cli`) beside today's path (the TypeScript sources
 * through tsx), in paired interleaved rounds. The banner's own "ready in" figure leaves out
 * loading the code, so it is not used.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fmtSpread, pairedRounds, printTable, spread } from './support/measure';

const ROOT = path.join(__dirname, '..');
const ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS ?? 6);
/** A start that takes longer than this is a failure, not a figure. */
const TIMEOUT_MS = 30_000;

type Path = 'bundle' | 'tsx';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => { resolve(port); });
    });
  });
}

/** Stops a child: SIGTERM (which flushes and stops the stack), SIGKILL if it has not exited in 10 s. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve(); }));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function healthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/** Milliseconds from spawning `usage-tracker local` on `dataDir` to its first healthy /health. */
async function startOnce(which: Path, dataDir: string): Promise<number> {
  const [apiPort, eventsPort] = [await freePort(), await freePort()];
  const args = [path.join(ROOT, 'bin', 'usage-tracker.js'), 'local', '--data-dir', dataDir, '--api-port', String(apiPort), '--events-port', String(eventsPort), '--no-demo'];
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, USAGE_TRACKER_CLI: which === 'tsx' ? 'tsx' : '' } });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  try {
    const url = `http://127.0.0.1:${apiPort}/health`;
    while (!(await healthy(url))) {
      if (child.exitCode !== null) throw new Error(`usage-tracker local exited (${child.exitCode}): ${stderr}`);
      if (performance.now() - started > TIMEOUT_MS) throw new Error(`not healthy within ${TIMEOUT_MS} ms: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return performance.now() - started;
  } finally {
    await stop(child);
  }
}

const freshDir = () => mkdtempSync(path.join(tmpdir(), 'startup-fresh-'));

export async function startupBenchmark(): Promise<void> {
  if (!existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) {
    console.log('No CLI bundle (dist/cli/main.js): run `npm run build:cli` first; measuring tsx only would compare nothing.');
    return;
  }
  const made: string[] = [];
  const fresh = () => {
    const dir = freshDir();
    made.push(dir);
    return dir;
  };
  // Existing data: one folder per path, started once before the rounds (the first start fills it).
  const existing: Record<Path, string> = { bundle: fresh(), tsx: fresh() };
  try {
    await startOnce('tsx', existing.tsx);
    await startOnce('tsx', existing.bundle);
    const rows: string[][] = [];
    for (const [label, dirOf] of [
      ['existing data', (which: Path) => existing[which]],
      ['fresh folder', () => fresh()],
    ] as const) {
      const result = await pairedRounds({ rounds: ROUNDS, a: () => startOnce('bundle', dirOf('bundle')), b: () => startOnce('tsx', dirOf('tsx')) });
      rows.push([label, 'bundle (dist/cli)', fmtSpread(spread(result.a), 0)]);
      rows.push([label, 'tsx (today)', fmtSpread(spread(result.b), 0)]);
      rows.push([label, 'bundle / tsx', fmtSpread(result.ratio((ms) => ms), 2)]);
    }
    printTable(`npm start: spawn to first healthy /health, ms (min / median / max over ${Math.max(6, ROUNDS)} paired interleaved rounds, no demo)`, ['data', 'path', 'ms'], rows);
  } finally {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  }
}
