import { randomUUID } from 'node:crypto';
import Ajv from 'ajv';
import { z } from 'zod';
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
 * The contract's zod schema compiled to a validator for the hot path: zod describes the event
 * once; its JSON Schema, compiled by Ajv, checks a valid event in well under a microsecond and
 * fills `billableUnits`' default. zod still explains a refusal, field by field. A test checks
 * that both always agree.
 */
const validateCompiled = new Ajv({ useDefaults: true, strict: false, validateFormats: false, allErrors: false }).compile(
  z.toJSONSchema(usageEventDetailSchema, { target: 'draft-7', io: 'input' }),
);

/** Whether the compiled validator accepts a candidate detail (it fills defaults in place). */
export function passesCompiledValidator(candidate: unknown): boolean {
  return validateCompiled(candidate);
}

/**
 * Completes and validates a usage event: assigns `eventId` and `occurredAt` when absent, applies
 * the defaults, and checks the result against the contract.
 *
 * @throws UsageEventValidationError naming the first offending field
 */
export function buildUsageEventDetail(fields: UsageEventFields, defaults?: UsageEventDefaults): UsageEventDetail {
  // Callers in JavaScript can pass anything.
  const input: unknown = fields;
  if (input === null || typeof input !== 'object') {
    throw new UsageEventValidationError('(event)', `expected an object, got ${input === null ? 'null' : typeof input}`);
  }
  const occurredAt = fields.occurredAt instanceof Date ? toIsoUtc(fields.occurredAt) : (fields.occurredAt ?? new Date().toISOString());
  const candidate = {
    ...defaults,
    ...fields,
    schemaVersion: USAGE_EVENT_SCHEMA_VERSION,
    eventId: fields.eventId ?? randomUUID(),
    occurredAt,
  };
  if (validateCompiled(candidate)) return candidate as UsageEventDetail;
  const result = usageEventDetailSchema.safeParse(candidate);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue.path.length > 0 ? issue.path.join('.') : '(event)';
    throw new UsageEventValidationError(field, issue.message);
  }
  // Unreachable while the two validators agree (tested); zod, the contract, has the last word.
  return result.data;
}

function toIsoUtc(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new UsageEventValidationError('occurredAt', 'Invalid Date');
  return date.toISOString();
}
