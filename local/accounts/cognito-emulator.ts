import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { COGNITO_IDENTITY_PROVIDER } from '../../lambdas/accounts/cognito-accounts';
import { AwsJsonClient } from '../../lambdas/runtime/aws-json-client';
import type { AccountsPool } from '../../lambdas/runtime/runtime-config';
import { KeptPool, ensurePool, keptPoolOnDisk, readKeptPool } from './emulator-pool';
import { EMULATOR_LOG_FILE, Runner, RunnerMessage, choosePort, forkRunner, stopRunner } from './emulator-process';
import { Mailbox } from './mailbox';

export interface CognitoEmulatorOptions {
  /** Where the emulator keeps its data (`.cognito/`), the pool's ids (`pool.json`) and its log (`cognito-local.log`). */
  readonly dir: string;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /**
   * The port; 0 takes the one this folder's pool had (its issuer's), when free, else any free one.
   * @default 0
   */
  readonly port?: number;
  /** Where the emulator's own lines go: each verification code, and an unexpected exit. */
  readonly log?: (line: string) => void;
  /** How long the emulator may take to listen. @default 20000 */
  readonly startTimeoutMs?: number;
  /**
   * Resolve as soon as the pool is known (kept in `pool.json`, its data on disk), while the
   * emulator's process is still starting; `ready` says when it answers (calls made meanwhile find
   * no listener). A folder without a pool waits for the emulator to make one either way.
   * @default false
   */
  readonly early?: boolean;
}

/** `starting` until it answers (with `early`), then `running`; `failed` when it did not start, `exited` when it ended unasked. */
export type CognitoEmulatorState = 'starting' | 'running' | 'failed' | 'exited' | 'stopped';

export interface CognitoEmulator {
  /** The Cognito API's endpoint (`AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`). */
  readonly endpoint: string;
  readonly userPoolId: string;
  /** The public app client (no secret) the account routes sign in with. */
  readonly clientId: string;
  /**
   * The `iss` of the pool's tokens: `http://<host>:<port>/<userPoolId>`, with the port the pool
   * was made on (kept across restarts, as the accounts' subject mappings are keyed by it).
   */
  readonly issuer: string;
  /** Where the pool's signing keys are: on the endpoint, `/<userPoolId>/.well-known/jwks.json`. */
  readonly jwksUrl: string;
  /** The pool as the functions' configuration names it (RuntimeConfig.accounts). */
  readonly pool: AccountsPool;
  /** Where the emulator logs (its pino lines, its errors). */
  readonly logFile: string;
  /** The emulator's process, once forked. */
  readonly pid: number | undefined;
  /** Resolves once the emulator answers with its pool; rejects when it could not start. */
  readonly ready: Promise<void>;
  state(): CognitoEmulatorState;
  /**
   * The latest confirmation code sent to `email` (as the address was given), waiting up to `timeoutMs`
   * (default 5000) for one when none has come yet; rejects when none comes.
   */
  verificationCode(email: string, options?: { timeoutMs?: number }): Promise<string>;
  /** Stops the emulator's process and waits for it to end. */
  stop(): Promise<void>;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** A start's settings, resolved. */
interface Start {
  readonly dir: string;
  readonly host: string;
  /** The port asked for (0: none). */
  readonly askedPort: number;
  readonly log: (line: string) => void;
  readonly timeoutMs: number;
  readonly kept: KeptPool | undefined;
  readonly issuerDomain: string;
  readonly onMessage: (message: RunnerMessage) => void;
}

/** Forks the runner on `port`; with no port asked for, on another free one should that one have been taken meanwhile. */
async function forkOnFreePort(start: Start, firstPort: number): Promise<{ runner: Runner; port: number }> {
  for (let attempt = 1, port = firstPort; ; attempt++, port = await choosePort(start.host, 0)) {
    try {
      return { runner: await forkRunner({ ...start, port }), port };
    } catch (error) {
      if (start.askedPort !== 0 || attempt >= 3 || (error as { code?: unknown }).code !== 'EADDRINUSE') throw error;
    }
  }
}

/** Makes sure the emulator listening on `port` has the pool: the kept one, or a new one. */
async function poolOn(start: Start, port: number): Promise<KeptPool> {
  const endpoint = `http://${start.host}:${port}`;
  const client = new AwsJsonClient(COGNITO_IDENTITY_PROVIDER, {
    region: 'us-east-1',
    credentials: () => Promise.resolve(LOCAL_CREDENTIALS),
    env: { [`AWS_ENDPOINT_URL_${COGNITO_IDENTITY_PROVIDER.endpointEnvName}`]: endpoint },
  });
  try {
    return await ensurePool(client, start.dir, start.kept, start.issuerDomain);
  } finally {
    client.destroy();
  }
}

/** The start's settings: the kept pool (if any) and the port its issuer names, preferred when no port is asked for. */
async function resolveStart(options: CognitoEmulatorOptions, mailbox: Mailbox): Promise<Start & { readonly firstPort: number }> {
  const { host = '127.0.0.1', port: askedPort = 0, log = () => undefined, startTimeoutMs: timeoutMs = 20_000 } = options;
  const dir = path.resolve(options.dir);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const kept = await readKeptPool(dir);
  const keptIssuer = kept ? new URL(kept.issuer) : undefined;
  const firstPort = askedPort > 0 ? askedPort : await choosePort(host, Number(keptIssuer?.port ?? 0));
  const onMessage = (message: RunnerMessage) => {
    if (message.kind !== 'code') return;
    mailbox.deliver(message.email, message.code);
    log(`accounts: verification code for ${message.email}: ${message.code}`);
  };
  return { dir, host, askedPort, log, timeoutMs, kept, issuerDomain: keptIssuer?.origin ?? `http://${host}:${firstPort}`, onMessage, firstPort };
}

/**
 * Starts cognito-local (https://github.com/jagregory/cognito-local, MIT) in a process of its own,
 * with its data in `<dir>`, and makes sure it has the accounts' user pool and app client, set up
 * as the stack's (pool-settings.ts). Codes it "sends" reach {@link CognitoEmulator.verificationCode}
 * and `log`. The process ends with {@link CognitoEmulator.stop}, and with this one however it ends
 * (its IPC channel closes; on a normal exit it is also killed).
 *
 * Where cognito-local 5.3.0 differs from Cognito (the routes must not depend on these):
 * - PreventUserExistenceErrors is kept but not applied: a wrong password is `InvalidPasswordException`,
 *   an unknown user `NotAuthorizedException`; Cognito answers `NotAuthorizedException` for both
 *   (https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-managing-errors.html).
 * - The password policy, ExplicitAuthFlows and `UsernameConfiguration.CaseSensitive: false` are kept
 *   but not enforced (the routes check the policy themselves); codes never expire; ConfirmSignUp does
 *   not set `email_verified`; AuthenticationResult has no `ExpiresIn` nor `TokenType`
 *   (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html).
 * - Tokens are signed with a key shipped in the package (kid `CognitoLocal`): acceptable only
 *   because a JWKS over http is accepted on a loopback address alone (contracts/external-issuer.ts).
 */
export async function startCognitoEmulator(options: CognitoEmulatorOptions): Promise<CognitoEmulator> {
  const mailbox = new Mailbox();
  const start = await resolveStart(options, mailbox);
  let runner: Runner | undefined;
  let port = start.firstPort;
  let state: CognitoEmulatorState = 'starting';
  let stopping: Promise<void> | undefined;
  const killOnExit = () => { runner?.child.kill('SIGKILL'); };
  process.once('exit', killOnExit);
  const launched = (async () => {
    ({ runner, port } = await forkOnFreePort(start, start.firstPort));
    const forked = runner;
    void forked.exited.then(() => {
      if (stopping || state === 'failed') return;
      state = 'exited';
      // A SIGTERM to the whole process group (a supervisor stopping the stack) ends it cleanly first: nothing to say.
      if (forked.child.exitCode === 0) return;
      start.log(`accounts: the Cognito emulator exited unexpectedly (exit code ${forked.child.exitCode}); see ${path.join(start.dir, EMULATOR_LOG_FILE)}`);
    });
    return poolOn(start, port);
  })();
  const stop = () =>
    (stopping ??= (async () => {
      process.removeListener('exit', killOnExit);
      await launched.catch(() => undefined);
      if (runner) await stopRunner(runner, 3000);
      state = 'stopped';
    })());
  const early = options.early === true && start.kept !== undefined && keptPoolOnDisk(start.dir, start.kept) ? start.kept : undefined;
  let pool: KeptPool;
  try {
    pool = early ?? (await launched);
  } catch (error) {
    state = 'failed';
    await stop();
    throw error;
  }
  const ready = launched.then((made) => {
    if (made.userPoolId !== pool.userPoolId) throw new Error(`The Cognito emulator has no pool ${pool.userPoolId} (it made ${made.userPoolId}): restart to use it.`);
    if (state === 'starting') state = 'running';
  });
  ready.catch((error: unknown) => {
    if (stopping) return;
    state = 'failed';
    start.log(`accounts: ${error instanceof Error ? error.message : String(error)}`);
  });
  return emulatorOf({ ...start, port, pool, mailbox, ready, stop }, () => runner, () => state);
}

/** The emulator's handle: its pool's names and endpoints, its mailbox, its state. */
function emulatorOf(
  parts: { dir: string; host: string; port: number; pool: KeptPool; mailbox: Mailbox; ready: Promise<void>; stop: () => Promise<void> },
  runner: () => Runner | undefined,
  state: () => CognitoEmulatorState,
): CognitoEmulator {
  const { userPoolId, clientId, issuer } = parts.pool;
  const endpoint = `http://${parts.host}:${parts.port}`;
  const jwksUrl = `${endpoint}/${userPoolId}/.well-known/jwks.json`;
  return {
    endpoint,
    userPoolId,
    clientId,
    issuer,
    jwksUrl,
    pool: { userPoolId, clientId, issuer, clientIds: [clientId], jwks: new URL(jwksUrl), algorithms: ['RS256'] },
    logFile: path.join(parts.dir, EMULATOR_LOG_FILE),
    get pid() {
      return runner()?.child.pid;
    },
    ready: parts.ready,
    state,
    verificationCode: (email, o) => parts.mailbox.latest(email, o?.timeoutMs ?? 5000),
    stop: parts.stop,
  };
}
