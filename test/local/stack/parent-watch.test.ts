import { ChildProcess, spawn } from 'node:child_process';
import { launcherProcesses, watchLauncher } from '../../../local/stack/parent-watch';
import { processStat } from '../../../local/stack/process-table';

describe('watchLauncher: the stack stops when what started it has gone', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  function sleeper(): ChildProcess {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    children.push(child);
    return child;
  }

  it('started other than by npm, watches its parent only, with its start time', () => {
    const chain = launcherProcesses({});
    expect(chain.map((p) => p.pid)).toEqual([process.ppid]);
    expect(chain[0]?.startTicks).toBe(processStat(process.ppid)?.startTicks);
  });

  it('says when a watched process ends (killed, then reaped), naming its pid; never before', async () => {
    const child = sleeper();
    const pid = child.pid!;
    const said: string[] = [];
    const stop = watchLauncher((d) => said.push(d), { intervalMs: 20, watched: [{ pid: process.ppid }, { pid, startTicks: processStat(pid)?.startTicks, name: 'sleeper' }] });
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(said).toEqual([]);
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      for (let i = 0; i < 100 && said.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(said).toEqual([`the process that started this one has ended (pid ${pid}, sleeper)`]);
    } finally {
      stop();
    }
  });

  it('counts a pid given to another process as gone (its start time differs), on Linux', async () => {
    const child = sleeper();
    const stat = processStat(child.pid!);
    const said: string[] = [];
    const stop = watchLauncher((d) => said.push(d), { intervalMs: 20, watched: [{ pid: process.ppid }, { pid: child.pid!, startTicks: stat ? `${stat.startTicks}0` : 'unknown' }] });
    try {
      for (let i = 0; i < 100 && said.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(said).toHaveLength(1);
      expect(said[0]).toContain(`(pid ${child.pid!}`);
    } finally {
      stop();
    }
  });
});
