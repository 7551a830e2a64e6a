import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { LoopbackPutEventsServer } from '../support/put-events-server';

describe('Integration: UsagePublisher on SIGTERM', () => {
  it('flushes queued events, then lets the signal end the process', async () => {
    // Prepare
    const server = new LoopbackPutEventsServer();
    const endpoint = await server.start();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'support', 'publisher-child.ts'), '25'], {
      env: { ...process.env, AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve) => child.stdout.on('data', (data: Buffer) => data.toString().includes('ready') && resolve()));
    // 25 events: two full batches went out at once, a partial batch of 5 waits for the (10-minute) interval.
    const before = await waitFor(() => server.entries >= 20, () => server.entries);
    // Act
    child.kill('SIGTERM');
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => { resolve({ code, signal }); }),
    );
    // Assess
    expect(before).toBe(20);
    expect(server.accepted.size).toBe(25);
    expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    await server.stop();
  }, 30_000);
});

async function waitFor(done: () => boolean, value: () => number, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, 100));
  return value();
}
