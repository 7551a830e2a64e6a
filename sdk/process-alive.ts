/**
 * Whether a process with this pid exists on this machine: signal 0 checks without signalling.
 * `EPERM` means it exists under another user; any other error (`ESRCH`) means it does not.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
