import { ACCOUNT_EVENT_SCHEMA_VERSION, AccountEventDetail, AccountEventKind, accountEventIds } from '../../contracts/account-events';
import { AUDIT_PARTITION_PREFIX } from '../../contracts/metered-api';
import type { AppendedAuditEntry } from '../admin/audit-log';

/**
 * Account events from audited actions (issue 16, item 2): every admin or account change is written
 * in one transaction with its audit entry (lambdas/admin/audit-log.ts), so the audit table is the
 * outbox of these events. Its stream (in AWS, lambdas/handlers/audit-stream.ts) or its tailer
 * (locally, local/events/audit-tailer.ts) reads each new entry and publishes the event mapped here.
 * The event id is the entry's own (`accountEventIds.ofAudit`): every redelivery of one entry
 * carries the same id, whichever way it is read.
 */

type Data = AccountEventDetail['data'];
type Scalar = Data[string];

/** The longest string an event's data may hold (contracts/account-events.ts). */
const MAX_DATA_STRING = 1024;

/** A detail as event data: strings (cut to the contract's length), finite numbers and booleans; anything else is left out. */
function scalarOf(value: unknown): Scalar | undefined {
  if (typeof value === 'string') return value.slice(0, MAX_DATA_STRING);
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'boolean') return value;
  return undefined;
}

/** The data of an event from named values, leaving out those that are not scalars. */
function dataOf(values: Record<string, unknown>): Data {
  const data: Data = {};
  for (const [key, value] of Object.entries(values)) {
    const scalar = scalarOf(value);
    if (scalar !== undefined) data[key] = scalar;
  }
  return data;
}

/** A detail of the entry as text, if it is a non-empty string. */
function detailText(entry: AppendedAuditEntry, key: string): string | undefined {
  const value = entry.details?.[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The kind, tenant and data of an audited action; `undefined` for actions that tell tenants nothing. */
type Mapping = (entry: AppendedAuditEntry) => { kind: AccountEventKind; tenantId: string | undefined; data: Data } | undefined;

const KEY_STATUS_KINDS: Readonly<Record<string, AccountEventKind>> = { 'key.revoke': 'key-revoked', 'key.block': 'key-blocked' };

/**
 * The actions that raise events, from the details their services write: `tenant.create`
 * (AdminService: tier, name; AccountService: tier, name, owner, via `self-service`),
 * `tenant.set-tier` (from, to), `tenant.block` / `tenant.unblock` (none), `key.create` (tenantId,
 * and name from an account), `key.rotate` (tenantId, successor, graceSeconds), `key.revoke` /
 * `key.block` (tenantId, from). A tier change carries `from` and `to` (lambdas/notifications/templates.ts reads them).
 */
const MAPPINGS: Readonly<Record<string, Mapping>> = {
  'tenant.create': (entry) => ({
    kind: 'tenant-created',
    tenantId: entry.target,
    data: dataOf({ tier: entry.details?.tier, name: entry.details?.name, via: detailText(entry, 'via') ?? 'admin' }),
  }),
  'tenant.set-tier': (entry) => {
    const from = entry.details?.from;
    const to = entry.details?.to;
    return { kind: 'tier-changed', tenantId: entry.target, data: dataOf({ from, to }) };
  },
  'tenant.block': (entry) => ({ kind: 'tenant-blocked', tenantId: entry.target, data: {} }),
  'tenant.unblock': (entry) => ({ kind: 'tenant-unblocked', tenantId: entry.target, data: {} }),
  'key.create': (entry) => ({ kind: 'key-created', tenantId: detailText(entry, 'tenantId'), data: dataOf({ keyId: entry.target, name: entry.details?.name }) }),
  'key.rotate': (entry) => {
    const successor = detailText(entry, 'successor');
    if (successor === undefined) return undefined;
    return { kind: 'key-created', tenantId: detailText(entry, 'tenantId'), data: dataOf({ keyId: successor, rotatedFrom: entry.target, graceSeconds: entry.details?.graceSeconds }) };
  },
  'key.revoke': (entry) => keyStatusChange(entry),
  'key.block': (entry) => keyStatusChange(entry),
};

function keyStatusChange(entry: AppendedAuditEntry): ReturnType<Mapping> {
  return { kind: KEY_STATUS_KINDS[entry.action], tenantId: detailText(entry, 'tenantId'), data: dataOf({ keyId: entry.target, from: entry.details?.from }) };
}

/** The actions {@link accountEventOfAudit} maps to an event; every other one (admin tokens, identity mappings, key.unblock) maps to none. */
export const AUDITED_EVENT_ACTIONS: readonly string[] = Object.keys(MAPPINGS);

/**
 * The account event an audit entry raises, or `undefined` when its action raises none or the entry
 * names no tenant (a key change without `details.tenantId`). `eventId` is
 * `accountEventIds.ofAudit(entry.id)`, `occurredAt` the entry's `at`.
 */
export function accountEventOfAudit(entry: AppendedAuditEntry): AccountEventDetail | undefined {
  const mapping = Object.hasOwn(MAPPINGS, entry.action) ? MAPPINGS[entry.action](entry) : undefined;
  if (mapping?.tenantId === undefined || mapping.tenantId === '') return undefined;
  return {
    schemaVersion: ACCOUNT_EVENT_SCHEMA_VERSION,
    eventId: accountEventIds.ofAudit(entry.id),
    kind: mapping.kind,
    tenantId: mapping.tenantId,
    occurredAt: entry.at,
    data: mapping.data,
  };
}

const isText = (value: unknown): value is string => typeof value === 'string';

/**
 * An audit entry from an item of the audit table (as the document client or `unmarshall` gives it):
 * `undefined` for an item that is not an entry (outside the `AUDIT#` partitions, or missing a field).
 */
export function auditEntryOfItem(item: Record<string, unknown>): AppendedAuditEntry | undefined {
  const { pk, sk, at, actor, action, target, details } = item;
  if (!isText(pk) || !pk.startsWith(AUDIT_PARTITION_PREFIX) || !isText(sk) || !isText(at) || !isText(actor) || !isText(action) || !isText(target)) return undefined;
  const detailsRecord = typeof details === 'object' && details !== null && !Array.isArray(details) ? (details as Record<string, unknown>) : undefined;
  return { id: sk, at, actor, action, target, ...(detailsRecord ? { details: detailsRecord } : {}) };
}
