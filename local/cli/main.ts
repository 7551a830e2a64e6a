import { isatty } from 'node:tty';
import { runCli } from './usage-tracker';

/**
 * The `usage-tracker` process: wires the CLI to stdout/stderr and Ctrl-C. The first Ctrl-C stops
 * what is running (an Athena query, a workflow run) cleanly; a second one exits at once.
 */
export async function main(argv: readonly string[]): Promise<void> {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\nStopping... (again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await runCli(argv, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    interactive: isatty(process.stderr.fd),
    signal: controller.signal,
  });
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.exitCode = code;
}

if (require.main === module) void main(process.argv.slice(2));
