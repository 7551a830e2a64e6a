import { ChildProcess, fork } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { AddressInfo, createServer } from 'node:net';
import * as path from 'node:path';

/** What the runner (cognito-local-runner.cjs) tells its parent. */
export type RunnerMessage =
  | { readonly kind: 'ready'; readonly port: number }
  | { readonly kind: 'code'; readonly email: string; readonly code: string }
  | { readonly kind: 'failed'; readonly message: string; readonly code?: string };

const RUNNER = path.join(__dirname, 'cognito-local-runner.cjs');

/** The emulator's log file in its folder: its pino lines, and whatever it writes to stdout and stderr. */
export const EMULATOR_LOG_FILE = 'cognito-local.log';

/** Whether `port` on `host` can be listened on now. */
async function portFree(host: string, port: number): Promise<number | undefined> {
  const server = createServer();
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => { resolve(false); });
    server.listen(port, host, () => { resolve(true); });
  });
  if (!listening) return undefined;
  const chosen = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  return chosen;
}

/** `preferred` when it is free (0: none), else a free port as the system hands one out. */
export async function choosePort(host: string, preferred: number): Promise<number> {
  const port = (preferred > 0 ? await portFree(host, preferred) : undefined) ?? (await portFree(host, 0));
  if (port === undefined) throw new Error(`No free port on ${host}.`);
  return port;
}

/** The last lines of the emulator's log, for an error that says why it did not start. */
function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '';
  }
}

export interface RunnerOptions {
  readonly dir: string;
  readonly host: string;
  readonly port: number;
  /** The issuer's origin (`TokenConfig.IssuerDomain`): a kept pool's, so that its `iss` does not change with the port. */
  readonly issuerDomain: string;
  readonly timeoutMs: number;
  readonly onMessage: (message: RunnerMessage) => void;
}

/** The runner's process, listening. */
export interface Runner {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

/** The environment of the runner: its port and issuer, no fixed code (cognito-local's `CODE`), no AWS SDK notice. */
function runnerEnv({ host, port, issuerDomain }: RunnerOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOST: host, PORT: String(port), ISSUER_DOMAIN: issuerDomain, AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1' };
  delete env.CODE;
  return env;
}

/** Resolves once the runner listens; rejects (with its `code`, e.g. EADDRINUSE) when it fails, exits or times out first. */
function listening(child: ChildProcess, exited: Promise<void>, logFile: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (error?: Error) => {
      clearTimeout(timer);
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => { settle(new Error(`The Cognito emulator did not listen within ${timeoutMs} ms. ${logTail(logFile)}`)); }, timeoutMs);
    child.on('message', (message: RunnerMessage) => {
      if (message.kind === 'ready') settle();
      if (message.kind === 'failed') settle(Object.assign(new Error(`The Cognito emulator failed to start: ${message.message}`), { code: message.code }));
    });
    void exited.then(() => { settle(new Error(`The Cognito emulator exited before it listened (exit code ${child.exitCode}). ${logTail(logFile)}`)); });
  });
}

/**
 * Forks the runner (cognito-local) in `dir` on `port`, its output in the log file; resolves once
 * it listens. Its IPC channel is how it learns that this process has ended, however it ended.
 */
export async function forkRunner(options: RunnerOptions): Promise<Runner> {
  const logFile = path.join(options.dir, EMULATOR_LOG_FILE);
  const logFd = openSync(logFile, 'w', 0o600);
  let child: ChildProcess;
  try {
    // No execArgv: the parent's loaders (tsx) are not needed by a CommonJS script and would slow its start.
    child = fork(RUNNER, [], { cwd: options.dir, env: runnerEnv(options), execArgv: [], stdio: ['ignore', logFd, logFd, 'ipc'], serialization: 'json' });
  } finally {
    closeSync(logFd);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve(); }));
  child.on('message', (message: RunnerMessage) => { options.onMessage(message); });
  try {
    await listening(child, exited, logFile, options.timeoutMs);
    return { child, exited };
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
}

/** Stops the runner: SIGTERM (it finishes what is in flight), SIGKILL if it has not ended after `graceMs`. */
export async function stopRunner({ child, exited }: Runner, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => { child.kill('SIGKILL'); }, graceMs);
  await exited;
  clearTimeout(timer);
}
