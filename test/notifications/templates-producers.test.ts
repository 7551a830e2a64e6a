import { ACCOUNT_EVENT_KIND_NAMES, AccountEventDetail, AccountEventKind, accountEventDetailSchema } from '../../contracts/account-events';
import { quotaThresholdEvent } from '../../lambdas/account-events/account-event-log';
import { accountEventOfAudit } from '../../lambdas/account-events/audit-account-events';
import { signalEvent } from '../../lambdas/account-events/signal-detector';
import type { AppendedAuditEntry } from '../../lambdas/admin/audit-log';
import { renderNotification } from '../../lambdas/notifications/templates';

const at = '2026-11-30T10:00:00.000Z';
const audit = (action: string, target: string, details?: Record<string, unknown>): AppendedAuditEntry => ({
  at,
  id: `${at}#0123456789abcdef`,
  actor: 'arn:aws:iam::123456789012:role/ops',
  action,
  target,
  ...(details ? { details } : {}),
});
const now = Date.parse('2026-11-30T18:00:00.000Z');
const quota = (used: number) => ({ period: 'day', limit: 10, used, resetSeconds: 6 * 3600, windowSeconds: 86_400 }) as const;

/** One event of each kind, made by the code that makes it in the product (the audit mapping, the route's quota line, the forwarders' signals). */
const produced: readonly (AccountEventDetail | undefined)[] = [
  accountEventOfAudit(audit('tenant.create', 'acme', { tier: 'free', name: 'Acme' })),
  accountEventOfAudit(audit('tenant.set-tier', 'acme', { from: 'free', to: 'premium' })),
  accountEventOfAudit(audit('tenant.block', 'acme')),
  accountEventOfAudit(audit('tenant.unblock', 'acme')),
  accountEventOfAudit(audit('key.create', 'key_abc', { tenantId: 'acme' })),
  accountEventOfAudit(audit('key.revoke', 'key_abc', { tenantId: 'acme', from: 'active' })),
  accountEventOfAudit(audit('key.block', 'key_abc', { tenantId: 'acme', from: 'active' })),
  quotaThresholdEvent(quota(8), { tenantId: 'acme', tier: 'free' }, now),
  quotaThresholdEvent(quota(10), { tenantId: 'acme', tier: 'free' }, now),
  signalEvent('rate-limit-spike', 'acme', 29_400_000, 51, { count: 50, minutes: 5 }),
  signalEvent('auth-failures', '198.51.100.7', 29_400_000, 21, { count: 20, minutes: 5 }),
];

describe('Templates and producers agree on each kind\'s facts', () => {
  it('every kind is produced once above, and each produced event passes the contract', () => {
    const events = produced.filter((event) => event !== undefined);
    expect(events.map((event) => event.kind).sort()).toEqual([...ACCOUNT_EVENT_KIND_NAMES].sort());
    for (const event of events) expect(accountEventDetailSchema.safeParse(event).success).toBe(true);
  });

  it.each(produced.filter((event) => event !== undefined).map((event) => [event.kind, event] as [AccountEventKind, AccountEventDetail]))(
    'a "%s" mail names every fact it mentions (no "unknown")',
    (_kind, event) => {
      const mail = renderNotification(event, { usageUrl: 'https://api.example.com/v1/usage' });
      expect(`${mail.subject}\n${mail.text}`).not.toMatch(/unknown/);
    },
  );

  it('a quota mail says when the period restarts: the next UTC midnight', () => {
    const event = quotaThresholdEvent(quota(10), { tenantId: 'acme', tier: 'free' }, now);
    expect(event?.data.resetsAt).toBe('2026-12-01T00:00:00.000Z');
  });
});
