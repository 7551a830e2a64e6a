import { accountEventIds, quotaThresholdCrossed } from '../../contracts/account-event-names';
import type { AccountEventDetail } from '../../contracts/account-events';
import { periodCounter } from '../../contracts/limiter-item';
import type { QuotaPeriod, TierName } from '../../contracts/tiers';
import { ACCOUNT_EVENT_LINE } from '../../contracts/usage-log-line';

/**
 * Account events raised on a request path (issue 16: quota thresholds), written as log lines
 * beside the usage lines, so that no network call is made while answering: the usage-log
 * forwarder validates each line's detail against the contract and puts it on the bus.
 *
 * This module is part of every route bundle, so it imports contracts/account-event-names.ts (no
 * zod) and only types from contracts/account-events.ts.
 */

/** Where a function writes its account-event lines: the same sink as its usage lines (`UsageLogWriter`). */
export interface AccountEventLog {
  recordAccountEvent(detail: AccountEventDetail): void;
}

/** The log line of an account event: `{"accountEventLog":"api-account-event/1","detail":{…}}`, one line. */
export function accountEventLogLine(detail: AccountEventDetail): string {
  return JSON.stringify({ [ACCOUNT_EVENT_LINE.markerKey]: ACCOUNT_EVENT_LINE.marker, [ACCOUNT_EVENT_LINE.detailKey]: detail });
}

/** What an admitted decision says of its quota (the limiter's `QuotaState`). */
export interface AdmittedQuota {
  readonly period: QuotaPeriod;
  readonly limit: number;
  /** The period's count, this request included. */
  readonly used: number;
  /** Seconds until the period ends, as the limiter computed them. */
  readonly resetSeconds: number;
  /** The period's length in seconds. */
  readonly windowSeconds: number;
}

/**
 * The period's counter key (`d2026-11-30`, `w2026-W48`, `m2026-11`) of a decision made a moment
 * before `now`: taken at the middle of the period the decision describes (its end is `now` plus
 * `resetSeconds`, within a second), so a request decided just before midnight UTC and finished
 * just after it still names the period whose count it reached.
 */
export function quotaPeriodKey(quota: AdmittedQuota, now: number): string {
  const middle = now + quota.resetSeconds * 1000 - (quota.windowSeconds * 1000) / 2;
  return periodCounter(quota.period, new Date(middle));
}

/**
 * The account event of an admitted request whose count reached a quota threshold, if it did: the
 * limiter adds exactly 1 per admission in one conditional write, so exactly one request per
 * period reaches each count, and its id (threshold, tenant, period) is the same on every retry.
 */
export function quotaThresholdEvent(quota: AdmittedQuota, subject: { readonly tenantId: string; readonly tier: TierName }, now: number): AccountEventDetail | undefined {
  const threshold = quotaThresholdCrossed(quota.used, quota.limit);
  if (threshold === undefined) return undefined;
  return {
    schemaVersion: '1',
    eventId: accountEventIds.ofQuota(threshold, subject.tenantId, quotaPeriodKey(quota, now)),
    kind: threshold === 100 ? 'quota-100' : 'quota-80',
    tenantId: subject.tenantId,
    occurredAt: new Date(now).toISOString(),
    // Periods end on a UTC midnight: the nearest minute to now + resetSeconds is that moment.
    data: { period: quota.period, limit: quota.limit, used: quota.used, tier: subject.tier, resetsAt: nearestMinute(now + quota.resetSeconds * 1000) },
  };
}

const nearestMinute = (epochMs: number): string => new Date(Math.round(epochMs / 60_000) * 60_000).toISOString();

/** What the metered route calls with each admitted decision that carries a quota. */
export type QuotaThresholdHook = (decision: { readonly tier: TierName; readonly quota?: AdmittedQuota }, tenantId: string) => void;

/**
 * The metered route's `quotaThresholds` hook: writes the account event of an admitted request
 * whose count reached a threshold through `log` (the function's usage log writer).
 */
export function quotaThresholdRecorder(log: AccountEventLog, clock: () => number = Date.now): QuotaThresholdHook {
  return (decision, tenantId) => {
    if (!decision.quota) return;
    const event = quotaThresholdEvent(decision.quota, { tenantId, tier: decision.tier }, clock());
    if (event) log.recordAccountEvent(event);
  };
}
