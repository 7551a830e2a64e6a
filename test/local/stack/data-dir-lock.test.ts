import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { DataDirInUseError, StackLockHolder, acquireStackLock, holderRuns } from '../../../local/stack/data-dir-lock';
import { processStat } from '../../../local/stack/process-table';

describe('acquireStackLock: one data directory, one stack', () => {
  let dataDir: string;
  let lockFile: string;
  const children: ChildProcess[] = [];
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'stack-lock-'));
    lockFile = path.join(dataDir, 'state', 'stack.lock');
  });
  afterEach(() => { rmSync(dataDir, { recursive: true, force: true }); });
  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });

  const holderIn = () => JSON.parse(readFileSync(lockFile, 'utf8')) as StackLockHolder;

  /** A pid that has just been freed: a child that has exited. */
  function deadPid(): number {
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    return Number(child.stdout);
  }

  /** A process that runs until the test ends. */
  function liveProcess(): number {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    children.push(child);
    return child.pid!;
  }

  function preset(holder: StackLockHolder | string): void {
    mkdirSync(path.dirname(lockFile), { recursive: true });
    writeFileSync(lockFile, typeof holder === 'string' ? holder : JSON.stringify(holder));
  }

  it('holds this process’s pid, start time and host; a second start is refused naming the folder and the pid', async () => {
    const release = await acquireStackLock(dataDir, lockFile);
    expect(holderIn()).toMatchObject({ pid: process.pid, host: hostname(), startTicks: processStat(process.pid)?.startTicks });
    const second = acquireStackLock(dataDir, lockFile);
    await expect(second).rejects.toThrow(DataDirInUseError);
    await expect(second).rejects.toThrow(`the data directory ${dataDir} is in use by another local stack (pid ${process.pid}, running since `);
    await release();
    expect(existsSync(lockFile)).toBe(false);
    const again = await acquireStackLock(dataDir, lockFile);
    expect(holderIn().pid).toBe(process.pid);
    await again();
  });

  it('takes over a stale lock whose process has gone (a crash, a SIGKILL)', async () => {
    const pid = deadPid();
    preset({ pid, since: '2026-11-01T00:00:00.000Z', host: hostname() });
    const release = await acquireStackLock(dataDir, lockFile);
    expect(holderIn().pid).toBe(process.pid);
    expect(readdirSync(path.dirname(lockFile))).toEqual(['stack.lock']); // nothing left aside
    await release();
  });

  it('takes over a lock whose pid now belongs to another process (its start time differs), on Linux', async () => {
    const pid = liveProcess();
    const stat = processStat(pid);
    if (stat === undefined) return; // no /proc: a live pid is all there is to know (next test)
    preset({ pid, since: '2026-11-01T00:00:00.000Z', startTicks: String(Number(stat.startTicks) - 1), host: hostname() });
    const release = await acquireStackLock(dataDir, lockFile);
    expect(holderIn().pid).toBe(process.pid);
    await release();
  });

  it('refuses while the holder runs (same pid and start time), and where the start time is unknown', async () => {
    const pid = liveProcess();
    const live: StackLockHolder = { pid, since: '2026-11-30T08:00:00.000Z', startTicks: processStat(pid)?.startTicks, host: hostname() };
    expect(holderRuns(live)).toBe(true);
    preset(live);
    await expect(acquireStackLock(dataDir, lockFile)).rejects.toThrow(`(pid ${pid}, running since 2026-11-30T08:00:00.000Z)`);
    preset({ pid, since: 'then', host: hostname() });
    await expect(acquireStackLock(dataDir, lockFile)).rejects.toThrow(DataDirInUseError);
    expect(holderIn().pid).toBe(pid); // the holder's lock is left as it was
  });

  it('refuses a lock from another host (its pid cannot be checked here), naming the host', async () => {
    preset({ pid: deadPid(), since: 'then', host: 'another-host' });
    await expect(acquireStackLock(dataDir, lockFile)).rejects.toThrow('on host another-host');
  });

  it('takes over a lock file that is not one (empty, not JSON)', async () => {
    preset('');
    const release = await acquireStackLock(dataDir, lockFile);
    expect(holderIn().pid).toBe(process.pid);
    await release();
  });

  it('gives back only its own lock: a release after another start took it over leaves that one', async () => {
    const release = await acquireStackLock(dataDir, lockFile);
    const other: StackLockHolder = { pid: liveProcess(), since: 'now', host: hostname() };
    writeFileSync(lockFile, JSON.stringify(other));
    await release();
    expect(holderIn()).toEqual(other);
  });
});
