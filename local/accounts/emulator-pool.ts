import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { AwsJsonClient, AwsJsonError } from '../../lambdas/runtime/aws-json-client';
import { accountsAppClientSettings, accountsUserPoolSettings, accountsUserPoolUpdatableSettings } from './pool-settings';

/**
 * What `<dir>/pool.json` keeps of the emulator's pool: its ids, its issuer (the subject mappings
 * of registered accounts are keyed by it, so it must not change from one start to the next, nor
 * with the port), and a digest of the settings it was made with.
 */
export interface KeptPool {
  readonly userPoolId: string;
  readonly clientId: string;
  readonly issuer: string;
  readonly settings: string;
}

const POOL_FILE = 'pool.json';

const settingsDigest = (): string => createHash('sha256').update(JSON.stringify([accountsUserPoolSettings(), accountsAppClientSettings()])).digest('hex');

export async function readKeptPool(dir: string): Promise<KeptPool | undefined> {
  try {
    const kept = JSON.parse(await fs.readFile(path.join(dir, POOL_FILE), 'utf8')) as Partial<KeptPool>;
    const { userPoolId, clientId, issuer, settings } = kept;
    if (typeof userPoolId !== 'string' || typeof clientId !== 'string' || typeof issuer !== 'string' || !URL.canParse(issuer)) return undefined;
    return { userPoolId, clientId, issuer, settings: String(settings) };
  } catch {
    return undefined;
  }
}

/**
 * Whether the emulator's files still hold the kept pool and its client (cognito-local's layout:
 * `.cognito/db/<poolId>.json`, clients in `.cognito/db/clients.json`): then the pool can be used
 * before the emulator answers. Its data may have been deleted, or be another's.
 */
export function keptPoolOnDisk(dir: string, kept: KeptPool): boolean {
  const db = path.join(dir, '.cognito', 'db');
  if (!existsSync(path.join(db, `${kept.userPoolId}.json`))) return false;
  try {
    const clients = JSON.parse(readFileSync(path.join(db, 'clients.json'), 'utf8')) as { Clients?: Record<string, { UserPoolId?: string } | undefined> };
    return clients.Clients?.[kept.clientId]?.UserPoolId === kept.userPoolId;
  } catch {
    return false;
  }
}

/** Whether the emulator has the pool and its client. */
async function poolExists(client: AwsJsonClient, pool: KeptPool): Promise<boolean> {
  try {
    await client.call('DescribeUserPoolClient', { UserPoolId: pool.userPoolId, ClientId: pool.clientId });
    return true;
  } catch (error) {
    if (error instanceof AwsJsonError && error.name === 'ResourceNotFoundException') return false;
    throw error;
  }
}

async function writeKeptPool(dir: string, pool: KeptPool): Promise<KeptPool> {
  const file = path.join(dir, POOL_FILE);
  await fs.writeFile(`${file}.tmp`, `${JSON.stringify(pool, null, 2)}\n`, { mode: 0o600 });
  await fs.rename(`${file}.tmp`, file);
  return pool;
}

/**
 * The pool and its app client: the kept ones while the emulator has them (brought up to the
 * current settings when these changed since), otherwise new ones, kept in `pool.json`. A new
 * pool's issuer is `<issuerDomain>/<poolId>`, as the emulator signs it.
 * https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPool.html
 * https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html
 */
export async function ensurePool(client: AwsJsonClient, dir: string, kept: KeptPool | undefined, issuerDomain: string): Promise<KeptPool> {
  const settings = settingsDigest();
  if (kept && (await poolExists(client, kept))) {
    if (kept.settings === settings) return kept;
    // The name, the username attributes and the schema are fixed when a pool is made: the rest is updated.
    await client.call('UpdateUserPool', { UserPoolId: kept.userPoolId, ...accountsUserPoolUpdatableSettings() });
    await client.call('UpdateUserPoolClient', { UserPoolId: kept.userPoolId, ClientId: kept.clientId, ...accountsAppClientSettings() });
    return writeKeptPool(dir, { ...kept, settings });
  }
  const { UserPool } = await client.call<{ UserPool: { Id: string } }>('CreateUserPool', accountsUserPoolSettings());
  const { UserPoolClient } = await client.call<{ UserPoolClient: { ClientId: string } }>('CreateUserPoolClient', {
    UserPoolId: UserPool.Id,
    GenerateSecret: false,
    ...accountsAppClientSettings(),
  });
  return writeKeptPool(dir, { userPoolId: UserPool.Id, clientId: UserPoolClient.ClientId, issuer: `${issuerDomain}/${UserPool.Id}`, settings });
}
