import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PUBLIC_ROUTES } from '../../contracts/metered-api';
import { resolveTierPolicies } from '../../contracts/tiers';
import { USAGE_LOG_LINE } from '../../contracts/usage-log-line';
import type { SourceIpPolicy } from '../../lambdas/limiter/source-ip-guard';
import { createAuthHandler } from '../../lambdas/routes/auth-route';
import { MeteredApiDependencies, createDependencies } from '../../lambdas/runtime/dependencies';
import type { AccountsPool, RuntimeConfig } from '../../lambdas/runtime/runtime-config';
import { CognitoEmulator, startCognitoEmulator } from '../../local/accounts/cognito-emulator';
import { GatewayRoute, LocalHttpApiGateway } from '../../local/http-api-gateway';
import { startDynalite } from '../support/dynalite';

/** A password the pool's policy accepts (contracts/accounts.ts PASSWORD_POLICY). */
export const GOOD_PASSWORD = 'Correct-Horse-42-battery';

let addresses = 0;
/** A new address for each registration, so that tests never share an account. */
export const newEmail = (label = 'user'): string => `${label}-${String(process.pid)}-${String(++addresses)}@example.test`;

/** A port nothing listens on: Cognito "down". */
export const UNREACHABLE_ENDPOINT = 'http://127.0.0.1:9';

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

/** A POST with a JSON body (or raw text) from a chosen loopback address (all of 127.0.0.0/8 is this host). */
export function post(url: string, route: string, body: unknown, localAddress = '127.0.0.1'): Promise<Answer> {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(`${url}${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> = {};
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          // Not JSON: the test reads `text`.
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The functions' configuration with the emulator's pool (or none), as the stack's environment gives it. */
export function configWith(tables: RuntimeConfig['tables'], dir: string, accounts: AccountsPool | undefined): RuntimeConfig {
  writeFileSync(path.join(dir, 'tenant-secret'), 'tenant-secret-for-tests-0123456789abcdef0123456789', { mode: 0o600 });
  return {
    tables,
    tokenIssuer: 'https://api-usage-tracker.test',
    tokenAudience: 'api-usage-tracker',
    tenantSecret: { kind: 'file', path: path.join(dir, 'tenant-secret') },
    adminKey: { kind: 'file', path: path.join(dir, 'admin-key.pem') },
    ...(accounts ? { accounts } : {}),
    tiers: resolveTierPolicies(),
    demo: { latencyMs: 0, errorRate: 0 },
  };
}

/**
 * The account routes as `npm start` serves them: the local gateway (the socket's address as
 * `sourceIp`), the `auth` function composed by the handler registry, dynalite, and a real
 * cognito-local started by the local stack's emulator (local/accounts/cognito-emulator.ts).
 */
export async function startAccountRoutes(options: { readonly sourceIpPolicy?: Partial<SourceIpPolicy>; readonly cognitoEndpoint?: string; readonly pool?: false } = {}) {
  const dynamo = await startDynalite();
  const dir = mkdtempSync(path.join(tmpdir(), 'accounts-'));
  let cognito: CognitoEmulator | undefined;
  try {
    cognito = await startCognitoEmulator({ dir: path.join(dir, 'cognito') });
  } catch (error) {
    await dynamo.stop();
    throw error;
  }
  const usageLines: string[] = [];
  const config = configWith(dynamo.tables, dir, options.pool === false ? undefined : cognito.pool);
  const deps: MeteredApiDependencies = createDependencies(config, {
    dynamodb: dynamo.client,
    usageLog: (line) => { usageLines.push(line); },
    cognitoEndpoint: options.cognitoEndpoint ?? cognito.endpoint,
    ...(options.sourceIpPolicy ? { sourceIpPolicy: options.sourceIpPolicy } : {}),
  });
  const handler = createAuthHandler(deps) as unknown as GatewayRoute['handler'];
  const gateway = new LocalHttpApiGateway({ routes: PUBLIC_ROUTES.filter((route) => route.handler === 'auth').map((route) => ({ routeKey: route.routeKey, handler })) });
  const url = await gateway.listen(0);
  const emulator = cognito;
  return {
    url,
    deps,
    cognito: emulator,
    dynamodb: dynamo.client,
    tables: dynamo.tables,
    /** The details of the usage events the function wrote (one JSON line each). */
    usage: () => usageLines.map((line) => (JSON.parse(line) as Record<string, Record<string, unknown>>)[USAGE_LOG_LINE.detailKey]),
    post: (route: string, body: unknown, from?: string) => post(url, route, body, from),
    stop: async () => {
      await gateway.close();
      await emulator.stop();
      await dynamo.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type AccountRoutes = Awaited<ReturnType<typeof startAccountRoutes>>;
