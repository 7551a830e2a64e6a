import * as z from 'zod/mini';

/**
 * Account events (issue 16, item 2): what happens to tenants, published on the usage bus under a
 * detail-type of their own, so that rules route them to the notifier (and to the lake) apart from
 * usage events. Producers (the admin and account functions, the limiter) write them; the notifier
 * (lambdas/notifications/) reads them. Both import these names and this schema.
 */

/** The `detail-type` of every account event on the bus (usage events carry `api-usage-event`). */
export const ACCOUNT_EVENT_DETAIL_TYPE = 'api-account-event';

/** The schema version this module describes. */
export const ACCOUNT_EVENT_SCHEMA_VERSION = '1';

/** Who hears of an event: the tenant's contact (its owner's email), or the operators. */
export type AccountEventAudience = 'tenant' | 'operators';

/** What the notifier needs to know of a kind: who hears it, whether it may be opted out of, whether a cooldown applies. */
export interface AccountEventKindPolicy {
  readonly audience: AccountEventAudience;
  /** A critical kind is always sent: a tenant cannot opt out of it. */
  readonly critical: boolean;
  /**
   * Whether the kind repeats as a signal (quota thresholds, spikes, failed authentications), so
   * that within a cooldown per tenant and kind only the first is mailed. Kinds that each record
   * one action (a block, a key revoked) are each mailed.
   */
  readonly cooldown: boolean;
}

/**
 * Each kind, its audience, and whether it is critical: blocks, keys revoked or blocked and the
 * quota exhausted change what the tenant's requests get, so they are never opted out of.
 */
export const ACCOUNT_EVENT_KINDS = {
  'tenant-created': { audience: 'tenant', critical: false, cooldown: false },
  'tier-changed': { audience: 'tenant', critical: false, cooldown: false },
  'tenant-blocked': { audience: 'tenant', critical: true, cooldown: false },
  'tenant-unblocked': { audience: 'tenant', critical: true, cooldown: false },
  'key-created': { audience: 'tenant', critical: false, cooldown: false },
  'key-revoked': { audience: 'tenant', critical: true, cooldown: false },
  'key-blocked': { audience: 'tenant', critical: true, cooldown: false },
  'quota-80': { audience: 'tenant', critical: false, cooldown: true },
  'quota-100': { audience: 'tenant', critical: true, cooldown: true },
  'rate-limit-spike': { audience: 'operators', critical: false, cooldown: true },
  'auth-failures': { audience: 'operators', critical: false, cooldown: true },
} as const satisfies Record<string, AccountEventKindPolicy>;

export type AccountEventKind = keyof typeof ACCOUNT_EVENT_KINDS;

export const ACCOUNT_EVENT_KIND_NAMES = Object.keys(ACCOUNT_EVENT_KINDS) as AccountEventKind[];

/** The kinds a tenant may opt out of (the non-critical ones of its own audience). */
export const OPTIONAL_ACCOUNT_EVENT_KINDS: readonly AccountEventKind[] = ACCOUNT_EVENT_KIND_NAMES.filter((kind) => {
  const policy: AccountEventKindPolicy = ACCOUNT_EVENT_KINDS[kind];
  return policy.audience === 'tenant' && !policy.critical;
});

export function isAccountEventKind(value: unknown): value is AccountEventKind {
  return typeof value === 'string' && Object.hasOwn(ACCOUNT_EVENT_KINDS, value);
}

const scalar = z.union([z.string().check(z.maxLength(1024)), z.number(), z.boolean(), z.null()]);

/**
 * The `detail` of an account event, version 1. `eventId` is the producer's, kept across retries:
 * the notifier's idempotency key. `tenantId` is the tenant concerned (for failed authentications
 * from a source no tenant owns, the reserved `anonymous`). `data` holds the kind's facts (the new
 * tier, the key id, the quota used, the spike's count and window, the source address), flat and
 * bounded: it goes into mails and the lake as it is.
 */
export const accountEventDetailSchema = z.strictObject({
  schemaVersion: z.literal(ACCOUNT_EVENT_SCHEMA_VERSION),
  eventId: z.string().check(z.regex(/^[A-Za-z0-9._:-]{8,128}$/, 'eventId must be 8-128 characters of [A-Za-z0-9._:-]')),
  kind: z.enum(ACCOUNT_EVENT_KIND_NAMES as [AccountEventKind, ...AccountEventKind[]]),
  tenantId: z.string().check(z.minLength(1), z.maxLength(128)),
  occurredAt: z.iso.datetime({ offset: false }),
  data: z.record(z.string().check(z.minLength(1), z.maxLength(64)), scalar).check(
    z.refine((value) => Object.keys(value).length <= 20, { error: 'data may hold at most 20 entries' }),
  ),
});

export type AccountEventDetail = z.output<typeof accountEventDetailSchema>;
