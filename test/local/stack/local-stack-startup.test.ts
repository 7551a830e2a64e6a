import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freeLoopbackPort } from '../../../local/loopback-server';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'usage-tracker.js');

/** What one GET answered: refused at connect, an HTTP status with its JSON body, or no answer in time (a hang). */
type Outcome = { kind: 'refused' } | { kind: 'answered'; status: number; body: Record<string, unknown> } | { kind: 'hung'; error: string };

async function get(url: string): Promise<Outcome> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    return { kind: 'answered', status: response.status, body: (await response.json()) as Record<string, unknown> };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return cause?.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'hung', error: String(error) };
  }
}

interface Phase {
  readonly phase: string;
  readonly atMs: number;
}

describe('npm start, from its first millisecond', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'local-startup-'));
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers every /health poll (refused, 503 "starting" as JSON, or healthy) and never leaves one waiting; "ready in" counts from the process start', async () => {
    const [apiPort, eventsPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
    const spawned = performance.now();
    child = spawn(process.execPath, [BIN, 'local', '--no-demo', '--data-dir', dataDir, '--api-port', String(apiPort), '--events-port', String(eventsPort), '--etl-seconds', '3600'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    const exited = new Promise<number | null>((resolve) => child?.once('exit', resolve));
    const outcomes: Outcome[] = [];
    let healthy: Record<string, unknown> | undefined;
    while (!healthy && performance.now() - spawned < 60_000 && child.exitCode === null) {
      const outcome = await get(`http://127.0.0.1:${apiPort}/health`);
      outcomes.push(outcome);
      if (outcome.kind === 'answered' && outcome.status === 200) healthy = outcome.body;
    }
    const observedMs = performance.now() - spawned;
    expect(outcomes.filter((o) => o.kind === 'hung')).toEqual([]);
    const notYet = outcomes.filter((o) => o.kind === 'answered' && o.status !== 200);
    for (const answer of notYet) expect(answer).toMatchObject({ status: 503, body: { status: 'starting', error: 'starting' } });

    expect(healthy?.status).toBe('ok');
    expect(['opening', 'ready']).toContain(healthy?.lake);
    const startup = healthy?.startup as { readyMs: number; phases: Phase[] };
    const names = startup.phases.map((p) => p.phase);
    expect(names.slice(0, 2)).toEqual(['node ready', 'code loaded']);
    expect(names).toEqual(expect.arrayContaining(['dynamodb tables', 'event bus', 'healthy']));
    const at = (phase: string) => startup.phases.find((p) => p.phase === phase)?.atMs ?? NaN;
    // The figure includes loading the code, and is not later than what the caller saw.
    expect(startup.readyMs).toBe(at('healthy'));
    expect(startup.readyMs).toBeGreaterThanOrEqual(at('code loaded'));
    expect(startup.readyMs).toBeLessThanOrEqual(observedMs);

    // The banner says the same figure.
    for (let i = 0; i < 500 && !out.includes('Ctrl-C to stop.'); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(out).toContain(`(ready in ${(startup.readyMs / 1000).toFixed(2)} s)`);

    // The dashboard's data: 503 "starting" while the lake opens, then the data; never a hang.
    let data: Outcome;
    do {
      data = await get(`http://127.0.0.1:${apiPort}/dashboard/data`);
      if (data.kind === 'answered' && data.status === 503) expect(data.body).toMatchObject({ error: 'starting' });
    } while (data.kind === 'answered' && data.status === 503);
    expect(data).toMatchObject({ kind: 'answered', status: 200, body: { curatedRows: 0 } });
    const later = await get(`http://127.0.0.1:${apiPort}/health`);
    expect(later).toMatchObject({ kind: 'answered', status: 200, body: { lake: 'ready' } });
    const phases = later.kind === 'answered' ? (later.body.startup as { phases: Phase[] }).phases.map((p) => p.phase) : [];
    expect(phases.indexOf('lake open')).toBeGreaterThan(phases.indexOf('healthy'));

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 90_000);
});
