import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ACCOUNT_EVENT_SCHEMA_VERSION, AccountEventDetail, accountEventIds, signalWindowStart } from '../../contracts/account-events';
import type { LocalMail } from '../../local/notifications/ses-local-server';
import { dataDirLayout } from '../../local/data-dir';
import { DEFAULT_LOCAL_OPERATOR_EMAIL, LocalStack, startLocalStack } from '../../local/stack/local-stack';

const PASSWORD = 'Correct-horse-7-battery';
const OPERATORS = ['ops@e2e.example.com', 'oncall@e2e.example.com'];
/** The basic tier's quota: 80 % is reached by the 4th request of the day, 100 % by the 5th. */
const QUOTA = 5;
/** Small signal thresholds: more than 3 429s of one tenant, or 3 refusals from one source, within a minute. */
const SIGNALS = { rateLimitSpike: { count: 3, minutes: 1 }, authFailures: { count: 3, minutes: 1 } };

interface Answer {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

async function call(stack: LocalStack, method: string, route: string, authorization?: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${stack.apiUrl}${route}`, {
    method,
    headers: { ...(authorization ? { authorization } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json().catch(() => ({}))) as Record<string, unknown> };
}

/**
 * End to end on the real local stack: each action through the API (admin routes, self-service
 * accounts in the Cognito emulator, metered calls), its account event on the local bus (from the
 * AuditTailer or the forwarders' code), the notifier on dynalite, and the mail read back from the
 * local SES server's GET /store.
 */
describe('npm start mails account events through the local SES server (end to end)', () => {
  let dataDir: string;
  let stack: LocalStack;
  let adminKey: string;
  /**
   * Two self-service tenants, made once: the sign-up routes are limited per source address (10 a
   * minute, then bans), and every request here comes from 127.0.0.1. `owner`'s tenant serves the
   * admin actions, `quotaOwner`'s the quota (its tier has one).
   */
  let owner: { tenantId: string; email: string; accessToken: string };
  let quotaOwner: { tenantId: string; email: string; accessToken: string };
  const lines: string[] = [];
  const admin = (method: string, route: string, body?: unknown) => call(stack, method, route, `ApiKey ${adminKey}`, body);

  /** The mails to `to` whose subject contains `subject`, once there are `count` of them (within `timeoutMs`), after every delivery has settled. */
  async function mailsTo(to: string, subject: string, count = 1, timeoutMs = 10_000): Promise<LocalMail[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await stack.flush();
      await stack.mail!.settled();
      const found = (await stack.mail!.mails()).filter((mail) => mail.destination.to.includes(to) && mail.subject.includes(subject));
      if (found.length >= count || Date.now() > deadline) return found;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** A self-service account (its tenant's owner is its email), signed in; the tenant created by its registration. */
  async function ownedTenant(): Promise<{ tenantId: string; email: string; accessToken: string }> {
    const email = `owner-${randomUUID().slice(0, 8)}@customer.example.com`;
    expect((await call(stack, 'POST', '/v1/auth/register', undefined, { email, password: PASSWORD })).status).toBe(202);
    const code = await stack.verificationCode(email);
    expect((await call(stack, 'POST', '/v1/auth/confirm', undefined, { email, code })).status).toBe(200);
    const login = await call(stack, 'POST', '/v1/auth/login', undefined, { email, password: PASSWORD });
    const accessToken = String(login.json.access_token);
    const me = await call(stack, 'GET', '/v1/auth/me', `Bearer ${accessToken}`);
    return { tenantId: String(me.json.tenantId), email, accessToken };
  }

  /** An event as the stack's own producers publish it. */
  const detail = (kind: AccountEventDetail['kind'], tenantId: string, eventId: string, data: AccountEventDetail['data'] = {}): AccountEventDetail => ({
    schemaVersion: ACCOUNT_EVENT_SCHEMA_VERSION,
    eventId,
    kind,
    tenantId,
    occurredAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    data,
  });

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'notifications-e2e-'));
    stack = await startLocalStack({
      dataDir,
      apiPort: 0,
      eventsPort: 0,
      demo: false,
      bufferIntervalSeconds: 900,
      bufferSizeMiB: 1,
      etlIntervalSeconds: 3600,
      tiers: { basic: { quota: { period: 'day', requests: QUOTA } }, free: { requestsPerMinute: 6, burst: 2 } },
      accountSignals: SIGNALS,
      notificationOperators: OPERATORS,
      log: (line) => lines.push(line),
    });
    adminKey = readFileSync(stack.adminKeyFile, 'utf8').trim();
    await stack.mail!.ready();
    owner = await ownedTenant();
    quotaOwner = await ownedTenant();
  });
  afterAll(async () => {
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves the mail server’s web UI at the URL the banner prints, and says so in /health', async () => {
    const page = await fetch(`${stack.mail!.url}/`);
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as Record<string, unknown>;
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(health).toMatchObject({ status: 'ok', mail: 'running', notifications: { deadLettered: 0 }, bus: { rules: { 'account-events-notifier': { failed: 0 } } } });
  });

  it('mails the owner that the tenant was created by its sign-up, and when an admin changes its tier (audit entry → AuditTailer → bus → notifier → SES)', async () => {
    const { tenantId, email } = owner;
    expect(await mailsTo(email, `Tenant ${tenantId} was created`)).toHaveLength(1);
    expect((await admin('PUT', `/v1/admin/tenants/${tenantId}/tier`, { tier: 'premium' })).status).toBe(200);
    const mails = await mailsTo(email, 'is now on tier premium');
    expect(mails).toHaveLength(1);
    expect(mails[0].from).toBe('notifications@api-usage-tracker.localhost');
    expect(mails[0].body.text).toContain('changed from free to premium');
    expect(mails[0].body.html).toContain(`${stack.dashboardUrl}?tenant=${tenantId}`);
  });

  it('mails the owner when the tenant is blocked and unblocked, once each', async () => {
    const { tenantId, email } = owner;
    expect((await admin('POST', `/v1/admin/tenants/${tenantId}/block`)).status).toBe(200);
    expect((await admin('POST', `/v1/admin/tenants/${tenantId}/unblock`)).status).toBe(200);
    expect(await mailsTo(email, `Tenant ${tenantId} was blocked`)).toHaveLength(1);
    expect(await mailsTo(email, `Tenant ${tenantId} was unblocked`)).toHaveLength(1);
  });

  it('mails the owner when a key is created, blocked and revoked, naming the key', async () => {
    const { tenantId, email } = owner;
    const created = await admin('POST', `/v1/admin/tenants/${tenantId}/keys`);
    const keyId = String(created.json.keyId);
    expect((await admin('POST', `/v1/admin/keys/${keyId}/block`)).status).toBe(200);
    expect((await admin('POST', `/v1/admin/keys/${keyId}/revoke`)).status).toBe(200);
    const naming = (mails: LocalMail[]) => mails.filter((mail) => mail.body.text?.includes(keyId));
    const createdMail = naming(await mailsTo(email, 'A key was created')).at(0);
    const blockedMail = naming(await mailsTo(email, 'was blocked')).at(0);
    const revokedMail = naming(await mailsTo(email, 'was revoked')).at(0);
    expect(created.status).toBe(201);
    expect([createdMail?.subject, blockedMail?.subject, revokedMail?.subject]).toEqual([
      expect.stringContaining(`A key was created for tenant ${tenantId}`),
      expect.stringContaining(`A key of tenant ${tenantId} was blocked`),
      expect.stringContaining(`A key of tenant ${tenantId} was revoked`),
    ]);
  });

  it('mails the owner at 80 % and at 100 % of the quota, once each, and the request after is refused with 429', async () => {
    const { tenantId, email } = quotaOwner;
    expect((await admin('PUT', `/v1/admin/tenants/${tenantId}/tier`, { tier: 'basic' })).status).toBe(200);
    const apiKey = String((await admin('POST', `/v1/admin/tenants/${tenantId}/keys`)).json.apiKey);
    const statuses: number[] = [];
    for (let i = 0; i < QUOTA + 1; i++) statuses.push((await call(stack, 'GET', '/v1/users', `ApiKey ${apiKey}`)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    const eighty = await mailsTo(email, 'has used 80% of its quota');
    const hundred = await mailsTo(email, 'has used all of its quota');
    expect(eighty).toHaveLength(1);
    expect(eighty[0].body.text).toContain(`used 4 of its day quota of ${QUOTA} requests`);
    expect(hundred).toHaveLength(1);
  });

  it('mails the operators once about a rate-limit spike (429s of one tenant counted by the usage-log forwarder)', async () => {
    const tenantId = `spiky-${randomUUID().slice(0, 6)}`;
    expect((await admin('POST', '/v1/admin/tenants', { tenantId, name: tenantId, tier: 'free' })).status).toBe(201);
    const apiKey = String((await admin('POST', `/v1/admin/tenants/${tenantId}/keys`)).json.apiKey);
    const answers = await Promise.all(Array.from({ length: 20 }, () => call(stack, 'GET', '/v1/users', `ApiKey ${apiKey}`)));
    expect(answers.filter((a) => a.status === 429).length).toBeGreaterThan(SIGNALS.rateLimitSpike.count * 2);
    const mails = await mailsTo(OPERATORS[0], `Rate-limit spike: tenant ${tenantId}`);
    expect(mails).toHaveLength(1);
    expect(mails[0].destination.to).toEqual(OPERATORS);
  });

  it('mails the operators once about repeated failed authentications from one source (the gateway’s 401s and 403s, counted from its access log)', async () => {
    const before = (await mailsTo(OPERATORS[0], 'Repeated failed authentications from', 0, 0)).length;
    const statuses: number[] = [];
    // No credential: 401 (HTTP API's answer when the identity source is missing); an unknown key: 403 (the authorizer denies).
    // Eight: however a minute's boundary splits them, one window holds more than the threshold (3).
    for (let i = 0; i < 4; i++) statuses.push((await call(stack, 'GET', '/v1/users')).status);
    for (let i = 0; i < 4; i++) statuses.push((await call(stack, 'GET', '/v1/users', `ApiKey not-a-key-${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 403, 403, 403, 403]);
    const mails = await mailsTo(OPERATORS[0], 'Repeated failed authentications from', before + 1);
    expect(mails).toHaveLength(before + 1);
    expect(mails.at(-1)?.destination.to).toEqual(OPERATORS);
    expect(mails.at(-1)?.subject).toContain('127.0.0.1');
  });

  it('mails one spike per tenant within the cooldown: a second spike of another window is suppressed', async () => {
    const tenantId = `cooldown-${randomUUID().slice(0, 6)}`;
    const minute = signalWindowStart(Date.now(), 1);
    await stack.accountEvents.publish([detail('rate-limit-spike', tenantId, accountEventIds.ofSpike(tenantId, minute - 2), { count: 9, windowMinutes: 1 })]);
    await stack.mail!.settled();
    await stack.accountEvents.publish([detail('rate-limit-spike', tenantId, accountEventIds.ofSpike(tenantId, minute - 1), { count: 12, windowMinutes: 1 })]);
    await stack.mail!.settled();
    const mails = await mailsTo(OPERATORS[0], `Rate-limit spike: tenant ${tenantId}`);
    expect(mails).toHaveLength(1);
    expect(mails[0].body.text).toContain('received 9 rate-limited answers');
    expect(stack.mail!.stats().outcomes.cooldown).toBeGreaterThanOrEqual(1);
  });

  it('does not mail a kind the tenant opted out of (PUT /v1/notifications), but still mails critical kinds', async () => {
    const { tenantId, email, accessToken } = quotaOwner;
    const optOut = await call(stack, 'PUT', '/v1/notifications', `Bearer ${accessToken}`, { optOuts: ['key-created'] });
    const created = await admin('POST', `/v1/admin/tenants/${tenantId}/keys`);
    const keyId = String(created.json.keyId);
    expect((await admin('POST', `/v1/admin/keys/${keyId}/revoke`)).status).toBe(200);
    const naming = (mails: LocalMail[]) => mails.filter((mail) => mail.body.text?.includes(keyId));
    expect(optOut.status).toBe(200);
    expect(naming(await mailsTo(email, 'was revoked'))).toHaveLength(1);
    expect(naming(await mailsTo(email, 'A key was created', 1, 500))).toHaveLength(0);
    expect(stack.mail!.stats().outcomes['opted-out']).toBeGreaterThanOrEqual(1);
  });

  it('mails an event delivered twice (a producer’s retry: the same envelope published again) once', async () => {
    const { tenantId, email } = owner;
    const event = detail('key-blocked', tenantId, `redelivered-${randomUUID()}`, { keyId: 'k-redelivered' });
    await Promise.all([stack.accountEvents.publish([event]), stack.accountEvents.publish([event])]);
    await stack.accountEvents.publish([event]);
    const naming = (mails: LocalMail[]) => mails.filter((mail) => mail.body.text?.includes('k-redelivered'));
    await mailsTo(email, 'was blocked');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(naming(await mailsTo(email, 'was blocked'))).toHaveLength(1);
    expect(stack.mail!.stats().outcomes.duplicate).toBeGreaterThanOrEqual(2);
  });
});

describe('npm start with and without mail', () => {
  let dataDir: string;
  const base = () => ({ dataDir, apiPort: 0, eventsPort: 0, demo: false, accounts: false, bufferIntervalSeconds: 900, bufferSizeMiB: 1, etlIntervalSeconds: 3600 });
  beforeEach(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'notifications-mail-'));
  });
  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('without mail (--no-mail) starts no mail server and has no notifier rule; account events still go on the bus, to the lake', async () => {
    const stack = await startLocalStack({ ...base(), mail: false });
    try {
      const eventId = `no-mail-${randomUUID()}`;
      await stack.accountEvents.publish([{ schemaVersion: '1', eventId, kind: 'tier-changed', tenantId: 'acme', occurredAt: '2026-11-30T10:00:00Z', data: { from: 'free', to: 'basic' } }]);
      const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as { mail: string; bus: { accepted: number; rules: Record<string, unknown> } };
      expect(stack.mail).toBeUndefined();
      expect(health.mail).toBe('off');
      expect(health.bus.accepted).toBe(1);
      expect(health.bus.rules).toEqual({ 'account-events-lake': { matched: 1, failed: 0 } });
      // The lake's account stream wrote it, and the account_events view reads it.
      await stack.flush();
      const { rows } = await (await stack.lake()).query(`SELECT detail.kind AS kind, detail.tenantId AS tenant, detail.data['to'] AS "to" FROM account_events WHERE detail.eventId = '${eventId}'`);
      expect(rows).toEqual([{ kind: 'tier-changed', tenant: 'acme', to: 'basic' }]);
    } finally {
      await stack.stop();
    }
  });

  it('mails, at the next start, an account event a stopped run had taken but not mailed (left in its spool)', async () => {
    const spool = dataDirLayout(dataDir).notificationSpool;
    const detail = { schemaVersion: '1', eventId: `auth-failures.203.0.113.7.${signalWindowStart(Date.now(), 5)}`, kind: 'auth-failures', tenantId: 'anonymous', occurredAt: '2026-11-30T10:00:00Z', data: { sourceIp: '203.0.113.7', count: 25, windowMinutes: 5 } };
    mkdirSync(spool, { recursive: true });
    writeFileSync(path.join(spool, '000000000000001-000000001-abcdef.json'), JSON.stringify({ version: '0', id: randomUUID(), 'detail-type': 'api-account-event', source: 'api-usage-tracker.accounts', detail }));
    const lines: string[] = [];
    const stack = await startLocalStack({ ...base(), log: (line) => lines.push(line) });
    try {
      await stack.mail!.settled();
      const mails = await stack.mail!.mails();
      expect(lines).toContain('mail: delivering 1 account events a previous run had taken but not mailed');
      expect(mails.map((mail) => [mail.destination.to, mail.subject])).toEqual([[[DEFAULT_LOCAL_OPERATOR_EMAIL], expect.stringContaining('203.0.113.7')]]);
      expect(readdirSync(spool)).toEqual([]);
    } finally {
      await stack.stop();
    }
  });

  it('stops the mail server with the stack, and refuses to start on a mail port in use', async () => {
    const stack = await startLocalStack(base());
    await stack.mail!.ready();
    const { port } = new URL(stack.mail!.url);
    const before = await fetch(`${stack.mail!.url}/store`);
    // The port is still taken by another stack's mail server while this one starts on it.
    const otherDir = mkdtempSync(path.join(tmpdir(), 'notifications-clash-'));
    const clash = await startLocalStack({ ...base(), dataDir: otherDir, mailPort: Number(port) }).catch((error: unknown) => error);
    rmSync(otherDir, { recursive: true, force: true });
    await stack.stop();
    expect(before.status).toBe(200);
    expect(clash).toMatchObject({ code: 'EADDRINUSE', message: `The mail port ${port} is in use (--mail-port).` });
    await expect(fetch(`${stack.mail!.url}/store`)).rejects.toThrow();
  });
});
