import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { LoopbackPutEventsServer } from '../support/put-events-server';
import { waitUntil } from './helpers';

/**
 * Integration: a real child process and a real socket, which fake timers cannot drive; every wait
 * is bounded.
 */
describe('Integration: UsagePublisher on SIGTERM', () => {
  it('flushes the partial batch still in memory, then lets the signal end the process', async () => {
    // Prepare
    const server = new LoopbackPutEventsServer();
    const endpoint = await server.start();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, '..', 'support', 'publisher-child.ts'), '25'], {
      env: { ...process.env, AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.on('exit', (code, signal) => { resolve({ code, signal }); });
    });
    try {
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (data: Buffer) => { if (data.toString().includes('ready')) resolve(); });
      });
      // 25 events: two full batches go out at once; a partial batch of 5 waits for the (10-minute) interval.
      await waitUntil(() => server.entries >= 20, 'the two full batches arrive', 10_000);
      await new Promise((resolve) => setTimeout(resolve, 100)); // long enough for a premature partial batch to show
      const beforeSignal = server.entries;
      // Act
      child.kill('SIGTERM');
      const exit = await exited;
      // Assess
      expect(beforeSignal).toBe(20);
      expect(server.accepted.size).toBe(25);
      expect(exit).toEqual({ code: null, signal: 'SIGTERM' });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await server.stop();
    }
  }, 30_000);
});
