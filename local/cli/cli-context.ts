import { statSync } from 'node:fs';
import { DEFAULT_DATA_DIR } from '../data-dir';

/**
 * What every command of the CLI shares: where it writes, the error that means "called wrongly"
 * and the data-folder check. The commands import it from here, and `usage-tracker.ts` (which
 * dispatches to them) too, so that no command needs the dispatcher.
 */

/** Where the CLI writes, and what it may start: injectable so tests run it in-process. */
export interface CliContext {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** True when stderr is a terminal: progress rewrites one line instead of printing many. */
  readonly interactive: boolean;
  /** Aborted on Ctrl-C: running Athena queries and workflow runs are stopped. */
  readonly signal: AbortSignal;
  /**
   * The clock of commands that depend on the date (closing a month needs it to be over).
   * @default - the system clock
   */
  readonly now?: () => Date;
  /**
   * Temporary credentials of an assumed role, for `status --aws --role-arn` (the lookup role of
   * another account): `fromTemporaryCredentials` of @aws-sdk/credential-providers, which calls STS
   * AssumeRole when a client first needs credentials and again before they expire.
   * @default - `fromTemporaryCredentials` itself (tests give a stand-in)
   */
  readonly assumeRole?: (role: RoleToAssume) => AwsCredentialsProvider;
}

/** What `--role-arn` assumes: the role, the session name CloudTrail records, the region of STS's endpoint. */
export interface RoleToAssume {
  readonly roleArn: string;
  readonly sessionName: string;
  readonly region?: string;
}

/** Credentials as the AWS SDK's clients take them (`credentials`): resolved when a request needs them. */
export type AwsCredentialsProvider = () => Promise<{ readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string; readonly expiration?: Date }>;

/** A mistake in how the CLI was called: printed with the usage hint, exit code 2. */
export class UsageError extends Error {}

/**
 * The data folder a command reads: `--data-dir`, or the default. It must exist: a mistyped folder
 * would otherwise be created empty and answer every query with nothing.
 */
export function existingDataDir(
  values: { 'data-dir'?: string },
  advice = `Give the folder the local stack keeps its data in ("usage-tracker local" creates ${DEFAULT_DATA_DIR} on its first start).`,
): string {
  const dir = values['data-dir'] ?? DEFAULT_DATA_DIR;
  let isFolder: boolean;
  try {
    isFolder = statSync(dir).isDirectory();
  } catch (error) {
    const given = values['data-dir'] === undefined ? `the default data folder "${dir}" (--data-dir)` : `--data-dir "${dir}"`;
    throw new UsageError(`${given} does not exist. ${advice}`, { cause: error });
  }
  if (!isFolder) throw new UsageError(`--data-dir "${dir}" is not a folder.`);
  return dir;
}
