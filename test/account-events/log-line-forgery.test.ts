import type { AccountEventDetail } from '../../contracts/account-events';
import { accountEventLogLine, quotaThresholdEvent } from '../../lambdas/account-events/account-event-log';
import { accountEventOfLogLine } from '../../lambdas/usage-log/usage-log-forwarder';

const now = Date.parse('2026-11-30T18:00:00.000Z');
const genuine = quotaThresholdEvent({ period: 'day', limit: 10, used: 10, resetSeconds: 6 * 3600, windowSeconds: 86_400 }, { tenantId: 'acme', tier: 'free' }, now) as AccountEventDetail;

describe('Account-event log lines: a route may raise only its quota thresholds', () => {
  it('accepts the quota event a route writes', () => {
    expect(accountEventOfLogLine(accountEventLogLine(genuine))).toEqual({ detail: genuine });
  });

  it.each<[string, AccountEventDetail]>([
    ['a tenant block', { ...genuine, kind: 'tenant-blocked', eventId: 'audit.2026-11-30T10:00:00.000Z.0123456789abcdef', data: {} }],
    ['a key revocation', { ...genuine, kind: 'key-revoked', eventId: 'forged-key-revoked-1', data: { keyId: 'key_x' } }],
    ['a spike', { ...genuine, kind: 'rate-limit-spike', eventId: 'rate-limit-spike.acme.29400000', data: {} }],
    ['a quota event naming another tenant in its id', { ...genuine, eventId: 'quota-100.other.d2026-11-30' }],
    ['a quota event whose id names the other threshold', { ...genuine, eventId: 'quota-80.acme.d2026-11-30' }],
    ['a quota event with a made-up period', { ...genuine, eventId: 'quota-100.acme.whenever' }],
  ])('refuses %s from a log line (a custom route or a logged string could forge it)', (_what, forged) => {
    const result = accountEventOfLogLine(accountEventLogLine(forged));
    expect(result).toEqual({ problem: expect.stringMatching(/refused/) as unknown });
  });
});
