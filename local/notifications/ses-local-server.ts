import { ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';

const RUNNER = path.join(__dirname, 'ses-local-runner.cjs');

/** A mail as aws-ses-v2-local keeps it (`GET /store`, `emails[]`). */
export interface LocalMail {
  readonly messageId: string;
  readonly from: string;
  readonly replyTo: readonly string[];
  readonly destination: { readonly to: readonly string[]; readonly cc: readonly string[]; readonly bcc: readonly string[] };
  readonly subject: string;
  readonly body: { readonly text?: string; readonly html?: string };
  /** When it was received, in epoch seconds. */
  readonly at: number;
}

export interface SesLocalServerOptions {
  /** @default '127.0.0.1' - aws-ses-v2-local binds every interface (`::`) unless given a host */
  readonly host?: string;
  /** @default 0 - a free port */
  readonly port?: number;
  /** @default 10_000 */
  readonly startTimeoutMs?: number;
}

/** The local SES server, listening. */
export interface SesLocalServer {
  /** Its endpoint: what `AWS_ENDPOINT_URL_SESV2` (or the sender's `endpoint`) points at; its web UI is at `/`. */
  readonly url: string;
  readonly port: number;
  /** The mails received, oldest first; `sinceSeconds` keeps those received at or after it (epoch seconds). */
  mails(sinceSeconds?: number): Promise<LocalMail[]>;
  /** Forgets every mail (`POST /clear-store`). */
  clear(): Promise<void>;
  /** Stops it: SIGTERM, SIGKILL after `graceMs`. Its mails are gone with it. */
  stop(graceMs?: number): Promise<void>;
}

type RunnerMessage = { readonly kind: 'ready'; readonly port: number } | { readonly kind: 'failed'; readonly message: string; readonly code?: string };

/**
 * Starts aws-ses-v2-local (https://github.com/domdomegg/aws-ses-v2-local, MIT) in a child process
 * (ses-local-runner.cjs): SES v2's SendEmail at `POST /v2/email/outbound-emails`, the mails as JSON
 * at `GET /store`, a web UI at `/`. A process of its own because the package keeps its mails in a
 * module-level store (two servers in one process would share one mailbox) and brings Express 5,
 * nodemailer and mailparser, which the stack's process need not load; it starts in about 0.4 s.
 * It checks that requests carry an `Authorization: AWS…` header, not their signature.
 */
export async function startSesLocalServer(options: SesLocalServerOptions = {}): Promise<SesLocalServer> {
  const host = options.host ?? '127.0.0.1';
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const env: NodeJS.ProcessEnv = { ...process.env, HOST: host, PORT: String(options.port ?? 0) };
  // Its SMTP relay (SMTP_TRANSPORT) would send the mails on for real: never from the local stack.
  delete env.SMTP_TRANSPORT;
  // No execArgv: the parent's loaders (ts-jest, tsx) are not needed by a CommonJS script.
  const child = fork(RUNNER, [], { env, execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve(); }));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString('utf8')).slice(-2000); });
  let port: number;
  try {
    port = await listening(child, exited, timeoutMs, () => stderr);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    throw error;
  }
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${String(port)}`;
  return {
    url,
    port,
    mails: async (sinceSeconds) => {
      const answer = await fetch(`${url}/store${sinceSeconds === undefined ? '' : `?since=${String(sinceSeconds)}`}`);
      if (!answer.ok) throw new Error(`GET ${url}/store answered ${String(answer.status)}.`);
      return ((await answer.json()) as { emails: LocalMail[] }).emails;
    },
    clear: async () => {
      const answer = await fetch(`${url}/clear-store`, { method: 'POST' });
      if (!answer.ok) throw new Error(`POST ${url}/clear-store answered ${String(answer.status)}.`);
    },
    stop: async (graceMs = 2000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => { child.kill('SIGKILL'); }, graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Resolves with the port once the runner listens; rejects when it fails, exits or times out first. */
function listening(child: ChildProcess, exited: Promise<void>, timeoutMs: number, stderr: () => string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`The local SES server did not listen within ${String(timeoutMs)} ms. ${stderr()}`)); }, timeoutMs);
    child.on('message', (message: RunnerMessage) => {
      clearTimeout(timer);
      if (message.kind === 'ready') resolve(message.port);
      else reject(Object.assign(new Error(`The local SES server failed to start: ${message.message}`), { code: message.code }));
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`The local SES server exited before it listened (exit code ${String(child.exitCode)}). ${stderr().trim()}`));
    });
  });
}
