import { CliContext } from '../../local/cli/usage-tracker';

/** A CLI context that collects what the command prints, for running `usage-tracker` in-process. */
export function capturingCliContext(): CliContext & { out: string; err: string } {
  const context = {
    out: '',
    err: '',
    interactive: false,
    signal: new AbortController().signal,
    stdout: (text: string) => void (context.out += text),
    stderr: (text: string) => void (context.err += text),
  };
  return context;
}
