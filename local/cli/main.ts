import { isatty } from 'node:tty';
import { STOP_SIGNALS, StopSignalPolicy } from '../stack/stop-signals';
import { runCli } from './usage-tracker';

/**
 * Once the command has returned, nothing should keep the process: if something still does (a
 * socket a stopped server left), it exits anyway after this long rather than hold its ports.
 */
const EXIT_GRACE_MS = 1000;

/**
 * The `usage-tracker` process: wires the CLI to stdout/stderr and the stop signals. The first
 * Ctrl-C, SIGTERM or SIGHUP stops what is running (an Athena query, a workflow run, the local
 * stack with its flush) cleanly; one that comes again later exits at once. Signals within a
 * moment of the first are the same stop (a process group's signal and npm's forwarded copy), see StopSignalPolicy.
 */
export async function main(argv: readonly string[]): Promise<void> {
  const controller = new AbortController();
  const policy = new StopSignalPolicy();
  const onSignal = () => {
    const verdict = policy.receive();
    if (verdict === 'quit') process.exit(130);
    if (verdict === 'same-stop') return;
    process.stderr.write('\nStopping... (again to quit at once)\n');
    controller.abort();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  // A closed terminal or pipe (EPIPE, EIO) must not crash a stop that is flushing: what cannot be written is dropped.
  process.stdout.on('error', () => undefined);
  process.stderr.on('error', () => undefined);
  const code = await runCli(argv, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    interactive: isatty(process.stderr.fd),
    signal: controller.signal,
  });
  for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  process.exitCode = code;
  setTimeout(() => { process.exit(); }, EXIT_GRACE_MS).unref();
}

if (require.main === module) void main(process.argv.slice(2));
