import { randomUUID } from 'node:crypto';
import {
  USAGE_EVENT_SCHEMA_VERSION,
  UsageEventDetail,
  UsageEventDetailInput,
  usageEventDetailSchema,
} from '../contracts/usage-event';
import { UsageEventValidationError } from './errors';

/**
 * What a producer passes to `record()`: the usage event's fields, where `eventId` and
 * `occurredAt` may be left out (the SDK assigns them) and `occurredAt` may be a `Date`.
 */
export type UsageEventFields = Omit<UsageEventDetailInput, 'schemaVersion' | 'eventId' | 'occurredAt' | 'service'> & {
  readonly eventId?: string;
  readonly occurredAt?: string | Date;
  /** Required unless the publisher's `defaults` give it. */
  readonly service?: string;
};

/** Fields applied to every event unless the event gives its own (`service`, `region`, …). */
export type UsageEventDefaults = Partial<Omit<UsageEventFields, 'eventId' | 'occurredAt'>>;

/**
 * Completes and validates a usage event: assigns `eventId` and `occurredAt` when absent, applies
 * the defaults, and checks the result against the contract.
 *
 * @throws UsageEventValidationError naming the first offending field
 */
export function buildUsageEventDetail(fields: UsageEventFields, defaults?: UsageEventDefaults): UsageEventDetail {
  if (fields === null || typeof fields !== 'object') {
    throw new UsageEventValidationError('(event)', `expected an object, got ${fields === null ? 'null' : typeof fields}`);
  }
  const occurredAt = fields.occurredAt instanceof Date ? toIsoUtc(fields.occurredAt) : (fields.occurredAt ?? new Date().toISOString());
  const candidate = {
    ...defaults,
    ...fields,
    schemaVersion: USAGE_EVENT_SCHEMA_VERSION,
    eventId: fields.eventId ?? randomUUID(),
    occurredAt,
  };
  const result = usageEventDetailSchema.safeParse(candidate);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue.path.length > 0 ? issue.path.join('.') : '(event)';
    throw new UsageEventValidationError(field, issue.message);
  }
  return result.data;
}

function toIsoUtc(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new UsageEventValidationError('occurredAt', 'Invalid Date');
  return date.toISOString();
}
