import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ACCOUNT_EVENT_DETAIL_TYPE, ACCOUNT_EVENT_SCHEMA_VERSION, ACCOUNT_EVENT_SOURCE, AccountEventDetail, AccountEventKind } from '../../../contracts/account-events';
import { SelfServiceStore } from '../../../lambdas/credentials/self-service-store';
import { NotificationStore } from '../../../lambdas/notifications/notification-store';
import { Notifier } from '../../../lambdas/notifications/notifier';
import { SesMailSender } from '../../../lambdas/notifications/ses-mail-sender';
import { LocalNotifierTarget, NotificationDeadLetter } from '../../../local/notifications/local-notifier-target';
import { SesLocalServer, startSesLocalServer } from '../../../local/notifications/ses-local-server';
import { startDynalite } from '../../support/dynalite';

const OPERATORS = ['ops@usage.example.com'];

/** A port nothing listens on (taken, then given back). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => { resolve(); }));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  return port;
}

/** Integration: the local notifier target (the queue and function's twin) with the real Notifier on dynalite and the real local SES server. */
describe('Integration: LocalNotifierTarget on dynalite and the local SES server', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let ses: SesLocalServer;
  let tenants: SelfServiceStore;
  let store: NotificationStore;
  let deadLetterDir: string;
  const lines: string[] = [];

  const notifierTo = (endpoint: string) =>
    new Notifier({
      tenants,
      store,
      sender: new SesMailSender({ from: 'notifications@usage.example.com', region: 'us-east-1', endpoint: new URL(endpoint), credentials: () => Promise.resolve({ accessKeyId: 'l', secretAccessKey: 'l' }) }),
      operators: OPERATORS,
      templates: { usageUrl: 'http://127.0.0.1/dashboard?tenant={tenantId}' },
      leaseSeconds: 5,
    });
  const target = (notifier: Notifier | Promise<Notifier>, extra: Partial<ConstructorParameters<typeof LocalNotifierTarget>[0]> = {}) =>
    new LocalNotifierTarget({ notifier, deadLetterDir, baseDelayMs: 20, maxDelayMs: 100, leaseMs: 5000, log: (line) => lines.push(line), ...extra });
  const ownedTenant = async () => {
    const tenantId = `t-${randomUUID().slice(0, 8)}`;
    const email = `owner-${tenantId}@customer.example.com`;
    await tenants.createOwnedTenant({ tenantId, owner: { subject: randomUUID(), email }, issuer: 'https://issuer.example.com' });
    return { tenantId, email };
  };
  const detailOf = (kind: AccountEventKind, tenantId: string, eventId = `ev-${randomUUID()}`): AccountEventDetail => ({
    schemaVersion: ACCOUNT_EVENT_SCHEMA_VERSION,
    eventId,
    kind,
    tenantId,
    occurredAt: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    data: { keyId: 'k-1', count: 60, windowMinutes: 5 },
  });
  /** The envelope the bus hands a target, as JSON: each delivery has an envelope id of its own, the detail keeps the producer's eventId. */
  const envelope = (detail: unknown) =>
    JSON.stringify({ version: '0', id: randomUUID(), 'detail-type': ACCOUNT_EVENT_DETAIL_TYPE, source: ACCOUNT_EVENT_SOURCE, account: '000000000000', time: new Date().toISOString(), region: 'us-east-1', resources: [], detail });
  const deadLetters = (): NotificationDeadLetter[] => {
    try {
      return readdirSync(deadLetterDir).map((name) => JSON.parse(readFileSync(path.join(deadLetterDir, name), 'utf8')) as NotificationDeadLetter);
    } catch {
      return [];
    }
  };

  beforeAll(async () => {
    [dynamo, ses] = await Promise.all([startDynalite(), startSesLocalServer()]);
    tenants = new SelfServiceStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter });
    store = new NotificationStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials });
  });
  afterAll(async () => {
    await Promise.all([dynamo.stop(), ses.stop()]);
  });
  beforeEach(async () => {
    deadLetterDir = path.join(mkdtempSync(path.join(tmpdir(), 'notifier-target-')), 'dead-letters');
    lines.length = 0;
    await ses.clear();
  });
  afterEach(() => {
    rmSync(path.dirname(deadLetterDir), { recursive: true, force: true });
  });

  it('takes envelopes without waiting for the notifier, then mails each event to its tenant contact', async () => {
    // Prepare
    const { tenantId, email } = await ownedTenant();
    let ready: (notifier: Notifier) => void = () => undefined;
    const later = new Promise<Notifier>((resolve) => { ready = resolve; });
    const subject = target(later);
    // Act
    await subject.put([envelope(detailOf('key-created', tenantId))]);
    const before = subject.stats();
    ready(notifierTo(ses.url));
    await subject.flush();
    // Assess
    expect(before).toMatchObject({ received: 1, pending: 1 });
    expect(subject.stats()).toMatchObject({ received: 1, pending: 0, outcomes: { sent: 1 }, deadLettered: 0 });
    const mails = await ses.mails();
    expect(mails.map((mail) => mail.destination.to)).toEqual([[email]]);
    expect(lines.some((line) => line.includes(`key-created of tenant ${tenantId}`) && line.includes(`sent to ${email}`))).toBe(true);
  });

  it('mails an event delivered twice at once (a redelivery) once: the second waits for the first claim, then finds it sent', async () => {
    // Prepare
    const { tenantId } = await ownedTenant();
    const subject = target(notifierTo(ses.url));
    const detail = detailOf('tier-changed', tenantId);
    // Act
    await subject.put([envelope(detail), envelope(detail)]);
    await subject.flush();
    // Assess
    expect(await ses.mails()).toHaveLength(1);
    expect(subject.stats().outcomes).toMatchObject({ sent: 1, duplicate: 1 });
  });

  it('retries a failing send, then dead-letters the envelope with its error; sent again later it is mailed once', async () => {
    // Prepare
    const { tenantId, email } = await ownedTenant();
    const failing = target(notifierTo(`http://127.0.0.1:${await closedPort()}`), { maxAttempts: 3 });
    const detail = detailOf('key-revoked', tenantId);
    // Act
    await failing.put([envelope(detail)]);
    await failing.flush();
    const letters = deadLetters();
    const healthy = target(notifierTo(ses.url));
    await healthy.put([JSON.stringify((letters[0] as { envelope: unknown }).envelope)]);
    await healthy.flush();
    // Assess
    expect(failing.stats()).toMatchObject({ retries: 2, deadLettered: 1, outcomes: { sent: 0 } });
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ attempts: 3, error: { name: 'NotificationSendError' }, envelope: { detail: { eventId: detail.eventId } } });
    expect(lines.some((line) => line.includes('dead-lettered after 3 attempt(s)'))).toBe(true);
    expect((await ses.mails()).map((mail) => mail.destination.to)).toEqual([[email]]);
  });

  it('dead-letters an event the contract refuses at once, and an envelope that is not JSON, without retrying', async () => {
    // Prepare
    const subject = target(notifierTo(ses.url));
    // Act
    await subject.put([envelope({ ...detailOf('key-created', 'acme'), kind: 'coffee-spilled' }), '{"not json']);
    await subject.flush();
    // Assess
    const letters = deadLetters().sort((a, b) => a.error.name.localeCompare(b.error.name));
    expect(subject.stats()).toMatchObject({ retries: 0, deadLettered: 2 });
    expect(letters.map((letter) => [letter.error.name, letter.attempts])).toEqual([['InvalidAccountEventError', 1], ['SyntaxError', 1]]);
    expect(letters[1].envelope).toBe('{"not json');
    expect(await ses.mails()).toEqual([]);
  });

  it('on close, makes a waiting retry at once instead of sleeping through it, and refuses envelopes afterwards', async () => {
    // Prepare
    const { tenantId } = await ownedTenant();
    const subject = target(notifierTo(`http://127.0.0.1:${await closedPort()}`), { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 });
    await subject.put([envelope(detailOf('key-blocked', tenantId))]);
    for (let i = 0; i < 200 && subject.stats().retries === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    // Act
    const started = Date.now();
    await subject.close();
    const refused = await subject.put([envelope(detailOf('key-blocked', tenantId))]).catch((error: unknown) => error);
    // Assess
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(subject.stats()).toMatchObject({ retries: 1, deadLettered: 1, pending: 0 });
    expect(deadLetters()[0]).toMatchObject({ attempts: 2, error: { name: 'NotificationSendError' } });
    expect(refused).toBeInstanceOf(Error);
  });

  it('keeps each event in its spool until settled: what a crash left there is mailed once by the next run’s recover()', async () => {
    // Prepare
    const { tenantId, email } = await ownedTenant();
    const spoolDir = path.join(path.dirname(deadLetterDir), 'spool');
    const crashed = target(new Promise<Notifier>(() => undefined), { spoolDir });
    await crashed.put([envelope(detailOf('tenant-blocked', tenantId))]);
    const left = readdirSync(spoolDir);
    // Act
    const next = target(notifierTo(ses.url), { spoolDir });
    const recovered = await next.recover();
    await next.flush();
    // Assess
    expect(left).toHaveLength(1);
    expect(recovered).toBe(1);
    expect((await ses.mails()).map((mail) => mail.destination.to)).toEqual([[email]]);
    expect(readdirSync(spoolDir)).toEqual([]);
    expect(await target(notifierTo(ses.url), { spoolDir }).recover()).toBe(0);
  });

  it('dead-letters every event when the notifier could not be built (the mail server did not start)', async () => {
    // Prepare
    const subject = target(Promise.reject(new Error('The local SES server did not start.')), { maxAttempts: 2 });
    // Act
    await subject.put([envelope(detailOf('key-created', 'acme'))]);
    await subject.flush();
    // Assess
    expect(deadLetters()).toEqual([expect.objectContaining({ attempts: 2, error: { name: 'Error', message: 'The local SES server did not start.' } })]);
  });
});
