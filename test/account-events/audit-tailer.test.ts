import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AccountEventDetail } from '../../contracts/account-events';
import type { AccountEventSink } from '../../lambdas/account-events/account-event-publisher';
import { AdminService } from '../../lambdas/admin/admin-service';
import { AuditLog } from '../../lambdas/admin/audit-log';
import { CredentialStore } from '../../lambdas/credentials/credential-store';
import { AuditTailer, AuditTailerOptions, auditMonths } from '../../local/events/audit-tailer';
import { createMeteredApiTables } from '../../local/metered-api';
import { startEmptyDynalite } from '../support/dynalite';
import { CapturingBus, startCapturingBus } from './support';

/**
 * Issue 16, item 2, locally: the AuditTailer, dynalite's stand-in for the audit table's stream,
 * over entries the real AdminService writes (each test with tables of its own and clocks it moves),
 * publishing through the real AccountEventPublisher to the real LocalEventBus.
 */
describe('AuditTailer (dynalite, the real LocalEventBus)', () => {
  let dynamo: Awaited<ReturnType<typeof startEmptyDynalite>>;
  let bus: CapturingBus;
  let dir: string;
  let tables = 0;
  const tailers: AuditTailer[] = [];

  beforeAll(async () => {
    [dynamo, bus] = await Promise.all([startEmptyDynalite(), startCapturingBus()]);
    dir = mkdtempSync(path.join(tmpdir(), 'audit-tailer-'));
  });
  afterEach(async () => {
    await Promise.all(tailers.splice(0).map((tailer) => tailer.close()));
  });
  afterAll(async () => {
    await Promise.all([dynamo.stop(), bus.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Tables of one test, an admin service whose audit clock the test sets, and tailers over them with their own clock. */
  const setup = async (start: string) => {
    const n = ++tables;
    const names = { credentials: `credentials-${String(n)}`, limiter: `limiter-${String(n)}`, audit: `audit-${String(n)}` };
    await createMeteredApiTables(dynamo.client, names);
    const clocks = { audit: Date.parse(start), tailer: Date.parse(start) };
    const auditClock = () => (clocks.audit += 1);
    const admin = new AdminService(
      new CredentialStore({ client: dynamo.client, credentialsTable: names.credentials, limiterTable: names.limiter, clock: auditClock }),
      new AuditLog(dynamo.client, names.audit, auditClock),
    );
    const stateFile = path.join(dir, `state-${String(n)}`, 'audit-tailer.json');
    const errors: unknown[] = [];
    const tailer = (options: Partial<AuditTailerOptions> = {}) => {
      const created = new AuditTailer({
        client: dynamo.client, tableName: names.audit, sink: bus.publisher, stateFile, clock: () => clocks.tailer, onError: (e) => errors.push(e), ...options,
      });
      tailers.push(created);
      return created;
    };
    const before = bus.details().length;
    /** The events published since the test began, of its own tenants. */
    const published = (tenantIds: readonly string[]): AccountEventDetail[] => bus.details().slice(before).filter((detail) => tenantIds.includes(detail.tenantId));
    return { admin, clocks, tailer, stateFile, errors, published };
  };

  it('publishes the events of new entries once: a second poll finds nothing new; the state file is written by rename', async () => {
    // Prepare
    const { admin, clocks, tailer, stateFile, published } = await setup('2026-11-02T08:00:00.000Z');
    const tail = tailer();
    clocks.audit += 1000;
    const tenant = await admin.createTenant('admin:ops', { name: 'Tailed' });
    await admin.setTenantBlocked('admin:ops', tenant.tenantId, true);
    clocks.tailer = clocks.audit + 100;
    // Act
    const first = await tail.pollOnce();
    const second = await tail.pollOnce();
    // Assess
    expect([first, second]).toEqual([2, 0]);
    expect(published([tenant.tenantId]).map((detail) => detail.kind)).toEqual(['tenant-created', 'tenant-blocked']);
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { cursor: string; handled: string[] };
    expect(state.cursor).toBe(new Date(clocks.audit).toISOString());
    expect(state.handled).toHaveLength(2);
    expect(readdirSync(path.dirname(stateFile))).toEqual(['audit-tailer.json']);
  });

  it('without a state file starts at its start time minus the lookback: older entries are not published, newer ones are', async () => {
    // Prepare
    const { admin, clocks, tailer, published } = await setup('2026-11-03T08:00:00.000Z');
    const old = await admin.createTenant('admin:ops', { name: 'Before' });
    clocks.audit += 20_000;
    const recent = await admin.createTenant('admin:ops', { name: 'Just before' });
    clocks.tailer = clocks.audit + 5_000;
    // Act
    const count = await tailer({ lookbackMs: 10_000 }).pollOnce();
    // Assess
    expect(count).toBe(1);
    expect(published([old.tenantId, recent.tenantId]).map((detail) => detail.tenantId)).toEqual([recent.tenantId]);
  });

  it('a restart with its state (an hour later) publishes nothing again, and what was written meanwhile: one event id per action', async () => {
    // Prepare
    const { admin, clocks, tailer, published } = await setup('2026-11-04T08:00:00.000Z');
    const first = tailer();
    clocks.audit += 1000;
    const tenant = await admin.createTenant('admin:ops', { name: 'Restarted' });
    clocks.tailer = clocks.audit + 100;
    await first.pollOnce();
    await first.close();
    // Written while it is stopped; it restarts an hour later (long past a start time's lookback).
    clocks.audit += 1000;
    await admin.setTier('admin:ops', tenant.tenantId, { tier: 'basic' });
    clocks.tailer = clocks.audit + 3_600_000;
    // Act
    const again = await tailer().pollOnce();
    const more = await tailer().pollOnce();
    // Assess
    expect([again, more]).toEqual([1, 0]);
    const ids = published([tenant.tenantId]).map((detail) => detail.eventId);
    expect(published([tenant.tenantId]).map((detail) => detail.kind)).toEqual(['tenant-created', 'tier-changed']);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps its start as its cursor from the first poll: a restart a day later publishes what was written while it was stopped', async () => {
    // Prepare
    const { admin, clocks, tailer, stateFile, published } = await setup('2026-11-08T08:00:00.000Z');
    expect(await tailer().pollOnce()).toBe(0);
    clocks.audit += 60_000;
    const tenant = await admin.createTenant('admin:ops', { name: 'While stopped' });
    clocks.tailer += 86_400_000;
    // Act
    const count = await tailer().pollOnce();
    // Assess
    expect(count).toBe(1);
    expect(published([tenant.tenantId]).map((detail) => detail.kind)).toEqual(['tenant-created']);
    expect((JSON.parse(readFileSync(stateFile, 'utf8')) as { cursor: string }).cursor).toBe(published([tenant.tenantId])[0].occurredAt);
  });

  it('publishes an entry that commits after a later one, within the lookback', async () => {
    // Prepare
    const { admin, clocks, tailer, published } = await setup('2026-11-05T08:00:00.000Z');
    const tail = tailer({ lookbackMs: 10_000 });
    clocks.audit += 5_000;
    const later = await admin.createTenant('admin:ops', { name: 'Later' });
    clocks.tailer = clocks.audit + 100;
    await tail.pollOnce();
    // An entry stamped 3 s before the one published, committed after it.
    clocks.audit -= 3_000;
    const earlier = await admin.createTenant('admin:ops', { name: 'Earlier' });
    // Act
    const count = await tail.pollOnce();
    // Assess
    expect(count).toBe(1);
    expect(published([later.tenantId, earlier.tenantId]).map((detail) => detail.tenantId)).toEqual([later.tenantId, earlier.tenantId]);
  });

  it('a failed publish keeps the cursor: the next poll publishes the same events, with the same ids', async () => {
    // Prepare
    const { admin, clocks, tailer, stateFile, published } = await setup('2026-11-06T08:00:00.000Z');
    let down = true;
    const sink: AccountEventSink = { publish: (events) => (down ? Promise.reject(new Error('the bus is down')) : bus.publisher.publish(events)) };
    const tail = tailer({ sink });
    clocks.audit += 1000;
    const tenant = await admin.createTenant('admin:ops', { name: 'Retried' });
    const key = await admin.createKey('admin:ops', tenant.tenantId);
    clocks.tailer = clocks.audit + 100;
    // Act
    const failed = tail.pollOnce();
    await expect(failed).rejects.toThrow('the bus is down');
    const stateAfterFailure = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { cursor: string }).cursor : undefined;
    down = false;
    const count = await tail.pollOnce();
    // Assess
    expect(stateAfterFailure).toBe(new Date(Date.parse('2026-11-06T08:00:00.000Z')).toISOString());
    expect(count).toBe(2);
    expect(published([tenant.tenantId]).map((detail) => [detail.kind, detail.data.keyId ?? null])).toEqual([['tenant-created', null], ['key-created', key.keyId]]);
  });

  it('reads the previous month\'s partition while the cursor is in it', async () => {
    // Prepare
    const { admin, clocks, tailer, published } = await setup('2026-11-30T23:59:58.000Z');
    const tail = tailer();
    const november = await admin.createTenant('admin:ops', { name: 'November' });
    clocks.audit = Date.parse('2026-12-01T00:00:01.000Z');
    const december = await admin.createTenant('admin:ops', { name: 'December' });
    clocks.tailer = Date.parse('2026-12-01T00:00:02.000Z');
    // Act
    const count = await tail.pollOnce();
    // Assess
    expect(count).toBe(2);
    expect(published([november.tenantId, december.tenantId]).map((detail) => detail.occurredAt.slice(0, 7))).toEqual(['2026-11', '2026-12']);
    expect(auditMonths(Date.parse('2026-11-30T23:59:50Z'), Date.parse('2026-12-01T00:00:02Z'))).toEqual(['AUDIT#2026-11', 'AUDIT#2026-12']);
    expect(auditMonths(Date.parse('2026-12-01T00:00:00Z'), Date.parse('2026-12-01T00:00:02Z'))).toEqual(['AUDIT#2026-12']);
  });

  it('start() polls on its own until close(), which waits for the poll in flight; failures go to onError; an unreadable state file is reported and replaced', async () => {
    // Prepare
    const { admin, clocks, tailer, errors, published } = await setup('2026-11-07T08:00:00.000Z');
    const corrupt = path.join(dir, 'corrupt-state.json');
    writeFileSync(corrupt, '{not json');
    let failNext = 1;
    const sink: AccountEventSink = { publish: (events) => (failNext-- > 0 ? Promise.reject(new Error('first publish fails')) : bus.publisher.publish(events)) };
    const tail = tailer({ sink, stateFile: corrupt, pollIntervalMs: 10 });
    clocks.audit += 1000;
    const tenant = await admin.createTenant('admin:ops', { name: 'Polled' });
    clocks.tailer = clocks.audit + 100;
    // Act
    tail.start();
    for (let i = 0; i < 200 && published([tenant.tenantId]).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await tail.close();
    // Assess
    expect(published([tenant.tenantId]).map((detail) => detail.kind)).toEqual(['tenant-created']);
    expect(errors.map((e) => (e as Error).message)).toEqual([expect.stringContaining('not readable') as unknown, 'first publish fails']);
    expect((JSON.parse(readFileSync(corrupt, 'utf8')) as { handled: string[] }).handled).toHaveLength(1);
  });
});
