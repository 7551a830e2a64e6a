import { randomUUID } from 'node:crypto';
import { USAGE_EVENT_SCHEMA_VERSION } from '../contracts/usage-event-constants';
import type { UsageEventDetail, UsageEventDetailInput } from '../contracts/usage-event';
import { validate as generatedValidator } from '../contracts/generated/usage-event-detail-validator';
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

/** One problem the compiled validator found (Ajv's error object, the fields read here). */
interface ValidatorError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly message?: string;
}

/** A validator compiled from the contract: true when the candidate matches; it fills defaults in place. */
interface CompiledValidator {
  (candidate: unknown): boolean;
  readonly errors?: readonly ValidatorError[] | null;
}

/**
 * The contract's zod schema compiled to a validator at build time (contracts/generated/, by
 * `npm run schema:generate`): it checks a valid event in well under a microsecond, fills
 * `billableUnits`' default, and names the first offending field; neither zod nor Ajv's compiler
 * runs, or ships, with it. A test checks that it always agrees with the zod schema.
 */
const validateCompiled = generatedValidator as CompiledValidator;

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
  const [field, problem] = explained(validateCompiled.errors?.[0]);
  throw new UsageEventValidationError(field, problem);
}

/** The dotted field (`attributes.plan`, or `(event)` for the event as a whole) and the problem of a validator error. */
function explained(error: ValidatorError | undefined): [string, string] {
  if (!error) return ['(event)', 'does not match the usage event contract'];
  const path = error.instancePath.split('/').slice(1).map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'));
  const { missingProperty, additionalProperty } = error.params;
  if (error.keyword === 'required' && typeof missingProperty === 'string') return [[...path, missingProperty].join('.'), 'is required'];
  const field = path.length > 0 ? path.join('.') : '(event)';
  if (error.keyword === 'additionalProperties' && typeof additionalProperty === 'string') return [field, `unrecognized key "${additionalProperty}"`];
  return [field, error.message ?? `fails "${error.keyword}"`];
}

function toIsoUtc(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new UsageEventValidationError('occurredAt', 'Invalid Date');
  return date.toISOString();
}
