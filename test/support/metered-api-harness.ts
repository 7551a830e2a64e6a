import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as jose from 'jose';
import { TierName, TierPolicy, resolveTierPolicies } from '../../contracts/tiers';
import { usageOfGatewayAnswer } from '../../lambdas/access-log/gateway-answers';
import type { SourceIpPolicy } from '../../lambdas/limiter/source-ip-guard';
import { MeteredApiDependencies, createDependencies } from '../../lambdas/runtime/dependencies';
import { RuntimeConfig } from '../../lambdas/runtime/runtime-config';
import { startCognitoEmulator } from '../../local/accounts/cognito-emulator';
import { LocalUsageLogSubscription } from '../../local/events/usage-log-subscription';
import { LocalHttpApiGateway } from '../../local/http-api-gateway';
import { LocalIamAuthorizer } from '../../local/iam-authorizer';
import { LocalMeteredRoute, meteredApiRoutes } from '../../local/metered-api';
import { createEventBridgeClient } from '../../sdk/eventbridge-client';
import { UsagePublisher } from '../../sdk/usage-publisher';
import { startDynalite } from './dynalite';
import { LoopbackPutEventsServer } from './put-events-server';

export const TENANT_SECRET = 'tenant-secret-for-tests-0123456789abcdef0123456789';
/** An HS256 secret as admin tokens were once signed with: nothing accepts admin tokens signed with it now. */
export const ADMIN_SECRET = 'admin-secret-for-tests-0123456789abcdef01234567890';
export const ISSUER = 'https://api-usage-tracker.test';
/** The IAM principal the local gateway knows (POST /v1/admin/token), and its region. */
export const LOCAL_OPERATOR = { accessKeyId: 'AKIALOCALOPERATOR01', secretAccessKey: 'local-operator-secret-0123456789abcdef', arn: 'arn:aws:iam::000000000000:user/local-operator' };
export const LOCAL_REGION = 'us-east-1';
export const AUDIENCE = 'api-usage-tracker';
export const EXTERNAL = { issuer: 'https://idp.test', clientId: 'metered-api-client', kid: 'idp-key-1' };

/** The metered API on the local gateway, dynalite and a loopback bus: every part real. */
export async function startMeteredApi(
  options: {
    tiers?: Partial<Record<TierName, Partial<TierPolicy>>>;
    clock?: () => number;
    demoErrorRate?: number;
    /** The token exchange's per-source-IP limits: every request of a test comes from 127.0.0.1. */
    sourceIpPolicy?: Partial<SourceIpPolicy>;
    /** Routes of your own, as `addMeteredRoute` adds them in AWS. */
    customRoutes?: (deps: MeteredApiDependencies) => readonly LocalMeteredRoute[];
    /** Also start the local Cognito emulator (cognito-local) with the accounts' pool: the account routes reach it. */
    accounts?: boolean;
  } = {},
) {
  const dir = mkdtempSync(path.join(tmpdir(), 'metered-api-'));
  const [dynamo, emulator] = await Promise.all([startDynalite(), options.accounts ? startCognitoEmulator({ dir: path.join(dir, 'cognito') }) : undefined]);
  const bus = new LoopbackPutEventsServer();
  const busUrl = await bus.start();
  writeFileSync(path.join(dir, 'tenant-secret'), TENANT_SECRET, { mode: 0o600 });
  const externalKeys = await jose.generateKeyPair('ES256', { extractable: true });
  const externalJwk = { ...(await jose.exportJWK(externalKeys.publicKey)), kid: EXTERNAL.kid, alg: 'ES256', use: 'sig' };
  const tiers = resolveTierPolicies(options.tiers);
  const config: RuntimeConfig = {
    tables: dynamo.tables,
    tokenIssuer: ISSUER,
    tokenAudience: AUDIENCE,
    tenantSecret: { kind: 'file', path: path.join(dir, 'tenant-secret') },
    adminKey: { kind: 'file', path: path.join(dir, 'admin-key.pem') },
    external: { issuer: EXTERNAL.issuer, clientIds: [EXTERNAL.clientId], jwks: { keys: [externalJwk] }, algorithms: ['ES256'] },
    tiers,
    demo: { latencyMs: 0, errorRate: options.demoErrorRate ?? 0 },
    ...(emulator ? { accounts: emulator.pool } : {}),
  };
  const publisher = new UsagePublisher({
    eventBusName: 'usage-bus',
    source: 'my-applications',
    client: createEventBridgeClient({ endpoint: busUrl, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } }),
    flushOnExitSignals: false,
    defaults: { service: 'metered-api' },
  });
  // The functions' usage lines reach the bus as in AWS: log subscription → forwarder → publisher.
  const usageLogs = new LocalUsageLogSubscription({ publisher });
  const deps: MeteredApiDependencies = createDependencies(config, {
    dynamodb: dynamo.client,
    usageLog: usageLogs.sink,
    clock: options.clock,
    ...(options.sourceIpPolicy ? { sourceIpPolicy: options.sourceIpPolicy } : {}),
    ...(emulator ? { cognitoEndpoint: emulator.endpoint } : {}),
  });
  const gateway = new LocalHttpApiGateway({
    routes: meteredApiRoutes(deps, options.customRoutes?.(deps), new LocalIamAuthorizer([LOCAL_OPERATOR], LOCAL_REGION, options.clock)),
    clock: options.clock,
    onAccessLog: (record) => {
      const usage = usageOfGatewayAnswer(record);
      if (usage) publisher.record(usage);
    },
  });
  const url = await gateway.listen(0);
  const adminKey = (await deps.store.createKey('operators', 'admin')).apiKey;

  const call = async (method: string, route: string, init: { headers?: Record<string, string>; body?: unknown } = {}) => {
    const response = await fetch(`${url}${route}`, {
      method,
      headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
      body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    });
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, headers: response.headers, text, json: json as Record<string, unknown> };
  };
  const admin = (method: string, route: string, body?: unknown) => call(method, route, { headers: { authorization: `ApiKey ${adminKey}` }, body });

  /** A tenant with a key, through the admin API. */
  const tenantWithKey = async (tier: TierName = 'free', tenantId?: string) => {
    const tenant = await admin('POST', '/v1/admin/tenants', { name: `Tenant ${tenantId ?? tier}`, tier, ...(tenantId ? { tenantId } : {}) });
    if (tenant.status !== 201) throw new Error(`tenant not created: ${tenant.text}`);
    const createdId = String(tenant.json.tenantId);
    const key = await admin('POST', `/v1/admin/tenants/${createdId}/keys`);
    return { tenantId: createdId, apiKey: String(key.json.apiKey), keyId: String(key.json.keyId) };
  };

  return {
    url,
    deps,
    gateway,
    bus,
    publisher,
    usageLogs,
    /** Delivers the functions' usage lines and waits until the bus has them. */
    flushUsage: () => usageLogs.flush(),
    adminKey,
    externalKeys,
    /** An access token of the external issuer for `subject`, signed with its key (valid 10 minutes). */
    externalToken: (subject: string) =>
      new jose.SignJWT({ token_use: 'access', client_id: EXTERNAL.clientId })
        .setProtectedHeader({ alg: 'ES256', kid: EXTERNAL.kid })
        .setIssuer(EXTERNAL.issuer)
        .setSubject(subject)
        .setJti(randomUUID())
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(externalKeys.privateKey),
    call,
    admin,
    tenantWithKey,
    /** The Cognito emulator, when started with `accounts: true`. */
    accounts: emulator,
    /** The latest confirmation code the emulator sent to `email` (waiting for one up to `timeoutMs`); needs `accounts: true`. */
    verificationCode: (email: string, codeOptions?: { timeoutMs?: number }) => {
      if (!emulator) throw new Error('startMeteredApi({ accounts: true }) starts the Cognito emulator');
      return emulator.verificationCode(email, codeOptions);
    },
    stop: async () => {
      usageLogs.close();
      await publisher.close();
      await gateway.close();
      await bus.stop();
      await dynamo.stop();
      await emulator?.stop();
    },
  };
}

export type MeteredApiHarness = Awaited<ReturnType<typeof startMeteredApi>>;
