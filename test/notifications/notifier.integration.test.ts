import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ACCOUNT_EVENT_KINDS, ACCOUNT_EVENT_KIND_NAMES, ACCOUNT_EVENT_SCHEMA_VERSION, AccountEventDetail, AccountEventKind } from '../../contracts/account-events';
import { SelfServiceStore } from '../../lambdas/credentials/self-service-store';
import { NotificationStore, NotificationStoreError, notifiedEventKey } from '../../lambdas/notifications/notification-store';
import { InvalidAccountEventError, NotificationInProgressError, NotificationSendError, Notifier, NotifierProps, NotifyResult } from '../../lambdas/notifications/notifier';
import { SesMailSender } from '../../lambdas/notifications/ses-mail-sender';
import { SesLocalServer, startSesLocalServer } from '../../local/notifications/ses-local-server';
import { startDynalite } from '../support/dynalite';

const FROM = 'notifications@usage.example.com';
const OPERATORS = ['ops@usage.example.com', 'oncall@usage.example.com'];
const USAGE_URL = 'https://dashboard.example.com/tenants/{tenantId}/usage';

/** Integration: the Notifier on dynalite, sending through the real local SES server (aws-ses-v2-local), mails read back from its GET /store. */
describe('Integration: Notifier on dynalite and the local SES server', () => {
  let dynamo: Awaited<ReturnType<typeof startDynalite>>;
  let ses: SesLocalServer;
  let tenants: SelfServiceStore;
  let store: NotificationStore;
  let sender: SesMailSender;

  /** A notifier on its own clock (ms since epoch), which the test may move. */
  const notifierOn = (overrides: Partial<NotifierProps> = {}) => {
    const clock = { now: Date.parse('2026-11-30T10:00:00Z') };
    const notifier = new Notifier({ tenants, store, sender, operators: OPERATORS, templates: { usageUrl: USAGE_URL }, clock: () => clock.now, ...overrides });
    return { notifier, clock };
  };
  /** A tenant whose owner's address is its contact. */
  const ownedTenant = async () => {
    const tenantId = `t-${randomUUID().slice(0, 8)}`;
    const email = `owner-${tenantId}@customer.example.com`;
    await tenants.createOwnedTenant({ tenantId, owner: { subject: randomUUID(), email }, issuer: 'https://issuer.example.com' });
    return { tenantId, email };
  };
  const event = (kind: AccountEventKind, tenantId: string, data: AccountEventDetail['data'] = {}, eventId = `ev-${randomUUID()}`): AccountEventDetail => ({
    schemaVersion: ACCOUNT_EVENT_SCHEMA_VERSION,
    eventId,
    kind,
    tenantId,
    occurredAt: '2026-11-30T09:59:58Z',
    data,
  });
  /** An event's delivery record (`NOTIFYEVENT#…`), read consistently. */
  const eventRecord = (eventId: string) =>
    dynamo.client.send(new GetItemCommand({ TableName: dynamo.tables.credentials, Key: { pk: { S: notifiedEventKey(eventId) } }, ConsistentRead: true }));
  const outcomes = (results: PromiseSettledResult<NotifyResult>[]) =>
    results.map((r) => (r.status === 'fulfilled' ? r.value.outcome : r.reason instanceof Error ? r.reason.name : 'unknown')).sort();

  beforeAll(async () => {
    [dynamo, ses] = await Promise.all([startDynalite(), startSesLocalServer()]);
    tenants = new SelfServiceStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials, limiterTable: dynamo.tables.limiter });
    store = new NotificationStore({ client: dynamo.client, credentialsTable: dynamo.tables.credentials });
    sender = new SesMailSender({ from: FROM, region: 'us-east-1', endpoint: new URL(ses.url), credentials: () => Promise.resolve({ accessKeyId: 'local', secretAccessKey: 'local' }) });
  });
  afterAll(async () => {
    await Promise.all([dynamo.stop(), ses.stop()]);
  });
  beforeEach(async () => {
    await ses.clear();
  });

  describe('Method: notify', () => {
    const tenantKinds = ACCOUNT_EVENT_KIND_NAMES.filter((kind) => ACCOUNT_EVENT_KINDS[kind].audience === 'tenant');
    it.each(tenantKinds)('mails "%s" to the tenant contact, in text and HTML, with the usage link (read back from GET /store)', async (kind) => {
      // Prepare
      const { notifier } = notifierOn();
      const { tenantId, email } = await ownedTenant();
      // Act
      const result = await notifier.notify(event(kind, tenantId, { keyId: 'k-123', from: 'free', to: 'premium', used: 800, limit: 1000, period: 'day' }));
      // Assess
      const mails = await ses.mails();
      expect(result).toMatchObject({ outcome: 'sent', to: [email], recorded: true });
      expect(mails).toHaveLength(1);
      expect(mails[0]).toMatchObject({ from: FROM, destination: { to: [email], cc: [], bcc: [] } });
      expect(mails[0].messageId).toBe(result.outcome === 'sent' ? result.messageId : 'not sent');
      expect(mails[0].subject).toContain(tenantId);
      expect(mails[0].body.text).toContain(`https://dashboard.example.com/tenants/${tenantId}/usage`);
      expect(mails[0].body.html).toContain(`<a href="https://dashboard.example.com/tenants/${tenantId}/usage">`);
    });

    it.each(['rate-limit-spike', 'auth-failures'] as const)('mails "%s" to the operators, not to the tenant contact', async (kind) => {
      // Prepare
      const { notifier } = notifierOn();
      const { tenantId } = await ownedTenant();
      // Act
      await notifier.notify(event(kind, tenantId, { count: 120, windowMinutes: 5, sourceIp: '203.0.113.9' }));
      // Assess
      const mails = await ses.mails();
      expect(mails.map((mail) => mail.destination.to)).toEqual([OPERATORS]);
      expect(mails[0].body.text).toMatch(kind === 'auth-failures' ? /120 failed authentications \(401 or 403\) from 203\.0\.113\.9 within 5 minutes/ : /120 rate-limited answers \(429\) in 5 minutes/);
    });

    it("escapes the event's values in the HTML body and keeps them as they are in the text body", async () => {
      // Prepare
      const { notifier } = notifierOn();
      const { tenantId } = await ownedTenant();
      // Act
      await notifier.notify(event('key-created', tenantId, { keyId: '<script>alert("x")</script> & more' }));
      // Assess
      const [mail] = await ses.mails();
      expect(mail.body.html).toContain('The API key &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more was created');
      expect(mail.body.html).not.toContain('<script>');
      expect(mail.body.text).toContain('The API key <script>alert("x")</script> & more was created');
    });

    it('sends nothing, and writes nothing, for a tenant without a contact (created by an admin)', async () => {
      // Prepare
      const { notifier } = notifierOn();
      const tenantId = `t-${randomUUID().slice(0, 8)}`;
      await tenants.createTenant({ tenantId, name: 'no contact', tier: 'free' });
      const detail = event('key-revoked', tenantId, { keyId: 'k-1' });
      // Act
      const result = await notifier.notify(detail);
      // Assess
      const record = await eventRecord(detail.eventId);
      expect(result).toEqual({ outcome: 'no-recipient' });
      expect(record.Item).toBeUndefined();
      expect(await ses.mails()).toEqual([]);
    });

    it('refuses what is not an account event, naming the field', async () => {
      // Prepare
      const { notifier } = notifierOn();
      // Act
      const attempt = notifier.notify({ ...event('quota-80', 'tenant-a'), kind: 'quota-90' });
      // Assess
      await expect(attempt).rejects.toThrow(InvalidAccountEventError);
      await expect(attempt).rejects.toThrow(/^Not an account event: kind: /);
    });
  });

  describe('Cooldown', () => {
    it('mails one of a spike of 50 concurrent events of one tenant and kind, and the next after the cooldown', async () => {
      // Prepare
      const { notifier, clock } = notifierOn({ cooldownSeconds: 3600 });
      const { tenantId } = await ownedTenant();
      // Act
      const spike = await Promise.allSettled(Array.from({ length: 50 }, () => notifier.notify(event('rate-limit-spike', tenantId, { count: 500, windowMinutes: 1 }))));
      const during = await notifier.notify(event('rate-limit-spike', tenantId));
      clock.now += 3600 * 1000;
      const after = await notifier.notify(event('rate-limit-spike', tenantId));
      // Assess
      expect(outcomes(spike)).toEqual([...Array<string>(49).fill('cooldown'), 'sent']);
      expect(during.outcome).toBe('cooldown');
      expect(after.outcome).toBe('sent');
      expect(await ses.mails()).toHaveLength(2);
    });

    it('keeps tenants and kinds apart, and does not cool down kinds that record one action each', async () => {
      // Prepare
      const { notifier } = notifierOn();
      const [a, b] = await Promise.all([ownedTenant(), ownedTenant()]);
      // Act
      const results = [
        await notifier.notify(event('quota-80', a.tenantId)),
        await notifier.notify(event('quota-80', b.tenantId)),
        await notifier.notify(event('quota-100', a.tenantId)),
        await notifier.notify(event('key-revoked', a.tenantId, { keyId: 'k-1' })),
        await notifier.notify(event('key-revoked', a.tenantId, { keyId: 'k-2' })),
      ];
      // Assess
      expect(results.map((r) => r.outcome)).toEqual(['sent', 'sent', 'sent', 'sent', 'sent']);
      expect(await ses.mails()).toHaveLength(5);
    });
  });

  describe('Opt-out', () => {
    it("suppresses the non-critical kinds a tenant opted out of, and still sends the critical ones", async () => {
      // Prepare
      const { notifier } = notifierOn();
      const { tenantId, email } = await ownedTenant();
      await store.setOptOuts(tenantId, ['quota-80', 'key-created']);
      // Act
      const results = [
        await notifier.notify(event('quota-80', tenantId)),
        await notifier.notify(event('key-created', tenantId, { keyId: 'k-1' })),
        await notifier.notify(event('tier-changed', tenantId, { from: 'free', to: 'basic' })),
        await notifier.notify(event('quota-100', tenantId)),
        await notifier.notify(event('key-revoked', tenantId, { keyId: 'k-1' })),
      ];
      // Assess
      expect(results.map((r) => r.outcome)).toEqual(['opted-out', 'opted-out', 'sent', 'sent', 'sent']);
      expect(await store.optOuts(tenantId)).toEqual(['key-created', 'quota-80']);
      expect((await ses.mails()).map((mail) => mail.destination.to[0])).toEqual([email, email, email]);
    });

    it.each([
      [['tenant-blocked'], 'critical-kind'],
      [['rate-limit-spike'], 'critical-kind'],
      [['quota-90'], 'unknown-kind'],
    ])('refuses to opt out of %j (%s), and changes nothing', async (kinds, code) => {
      // Prepare
      const { tenantId } = await ownedTenant();
      await store.setOptOuts(tenantId, ['quota-80']);
      // Act
      const attempt = store.setOptOuts(tenantId, kinds);
      // Assess
      await expect(attempt).rejects.toMatchObject({ name: 'NotificationStoreError', code });
      expect(await store.optOuts(tenantId)).toEqual(['quota-80']);
    });

    it('refuses opt-outs for a tenant that does not exist, and creates no record', async () => {
      // Act
      const attempt = store.setOptOuts('t-missing', ['quota-80']);
      // Assess
      await expect(attempt).rejects.toEqual(new NotificationStoreError('tenant-not-found', 'Tenant "t-missing" does not exist.'));
      expect(await tenants.getTenant('t-missing')).toBeUndefined();
    });
  });

  describe('Idempotency', () => {
    it('sends once for an event delivered twice, one after the other', async () => {
      // Prepare
      const { notifier } = notifierOn();
      const { tenantId } = await ownedTenant();
      const detail = event('tenant-blocked', tenantId);
      // Act
      const first = await notifier.notify(detail);
      const second = await notifier.notify(detail);
      // Assess
      expect([first.outcome, second.outcome]).toEqual(['sent', 'duplicate']);
      expect(await ses.mails()).toHaveLength(1);
    });

    it('sends once for an event delivered 5 times at once: the others are duplicates, or retry while the first holds it', async () => {
      // Prepare
      const { notifier } = notifierOn();
      const { tenantId } = await ownedTenant();
      const detail = event('key-blocked', tenantId, { keyId: 'k-9' });
      // Act
      const concurrent = await Promise.allSettled(Array.from({ length: 5 }, () => notifier.notify(detail)));
      const redelivered = await notifier.notify(detail);
      // Assess
      const seen = outcomes(concurrent);
      expect(seen.filter((o) => o === 'sent')).toHaveLength(1);
      expect(seen.filter((o) => o !== 'sent').every((o) => o === 'duplicate' || o === 'NotificationInProgressError')).toBe(true);
      expect(redelivered.outcome).toBe('duplicate');
      expect(await ses.mails()).toHaveLength(1);
    });

    it("takes over the claim of a delivery that crashed once its lease has passed, and not before", async () => {
      // Prepare
      const { notifier, clock } = notifierOn({ leaseSeconds: 120 });
      const { tenantId } = await ownedTenant();
      const detail = event('quota-100', tenantId);
      await store.claim(detail.eventId, clock.now, 120_000, 86_400_000);
      // Act
      const during = notifier.notify(detail);
      await expect(during).rejects.toThrow(NotificationInProgressError);
      clock.now += 120_001;
      const after = await notifier.notify(detail);
      // Assess
      expect(after.outcome).toBe('sent');
      expect(await ses.mails()).toHaveLength(1);
    });
  });

  describe('Send failure', () => {
    it('throws while the mail server is down, releases the claim and the cooldown, and a redelivery after its restart sends exactly one', async () => {
      // Prepare
      const { notifier } = notifierOn();
      const { tenantId } = await ownedTenant();
      const detail = event('rate-limit-spike', tenantId, { count: 90, windowMinutes: 2 });
      const port = ses.port;
      await ses.stop();
      try {
        // Act
        const attempt = notifier.notify(detail);
        await expect(attempt).rejects.toThrow(NotificationSendError);
        const claim = await eventRecord(detail.eventId);
        expect(claim.Item).toBeUndefined();
      } finally {
        ses = await startSesLocalServer({ port });
      }
      const retried = await notifier.notify(detail);
      const again = await notifier.notify(detail);
      const otherOfSpike = await notifier.notify(event('rate-limit-spike', tenantId));
      // Assess
      expect([retried.outcome, again.outcome, otherOfSpike.outcome]).toEqual(['sent', 'duplicate', 'cooldown']);
      expect(await ses.mails()).toHaveLength(1);
    });
  });
});
