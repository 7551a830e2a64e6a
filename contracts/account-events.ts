import * as z from 'zod/mini';
import { ACCOUNT_EVENT_KIND_NAMES, ACCOUNT_EVENT_SCHEMA_VERSION, AccountEventKind } from './account-event-names';

/**
 * Account events (issue 16, item 2): what happens to tenants, published on the usage bus under a
 * detail-type of their own. Their names, kinds, ids and thresholds are in
 * contracts/account-event-names.ts (no zod), re-exported here with the schema of their detail.
 */
export * from './account-event-names';

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
