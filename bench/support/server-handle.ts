import { ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';

export interface ServerCounts {
  readonly requests: number;
  readonly entries: number;
  readonly accepted: number;
  /** CPU time the server process used since it started. */
  readonly cpuMicros: number;
}

/** A loopback PutEvents server running in a child process. */
export class PutEventsServerProcess {
  private nextId = 0;
  private constructor(
    private readonly child: ChildProcess,
    public readonly url: string,
  ) {}

  static async start(): Promise<PutEventsServerProcess> {
    const child = fork(path.join(__dirname, 'put-events-server-process.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const url = await new Promise<string>((resolve) => child.once('message', (message: { url: string }) => { resolve(message.url); }));
    return new PutEventsServerProcess(child, url);
  }

  command(cmd: 'stats' | 'down' | 'blackhole' | 'up' | 'reset'): Promise<ServerCounts> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      const listener = (message: ServerCounts & { id?: number }) => {
        if (message.id !== id) return;
        this.child.off('message', listener);
        resolve(message);
      };
      this.child.on('message', listener);
      this.child.send({ cmd, id });
    });
  }

  stop(): void {
    this.child.disconnect();
  }
}
