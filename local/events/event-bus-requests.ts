/**
 * Reading the JSON bodies of the local bus's AWS JSON 1.1 requests, and the errors it answers with.
 * An error travels as HTTP 4xx with `{"__type": …, "message": …}`: the SDK takes the error's name
 * from `__type` (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html, "Operation error
 * serialization"). Constraint messages follow the service's own wording, e.g. "1 validation error
 * detected: Value null at 'name' failed to satisfy constraint: Member must not be null".
 */

/** A request the service refuses: its error type (`__type`), message and HTTP status. */
export class AwsJsonError extends Error {
  constructor(
    public readonly type: string,
    message: string,
    public readonly status = 400,
  ) {
    super(message);
    this.name = 'AwsJsonError';
  }
}

/** A request body as parsed JSON: any field may be missing or of another type. */
export type RequestBody = Readonly<Record<string, unknown>>;

export const validationError = (message: string) => new AwsJsonError('ValidationException', message);

const quoted = (value: unknown) => (value === undefined ? 'null' : `'${typeof value === 'string' ? value : JSON.stringify(value)}'`);

const constraint = (value: unknown, field: string, rule: string) => validationError(`1 validation error detected: Value ${quoted(value)} at '${field}' failed to satisfy constraint: ${rule}`);

/** Name-like strings (rule, target id, connection, API destination): the pattern the API reference gives them. */
export const NAME_PATTERN = /^[.\-_A-Za-z0-9]+$/;

export interface StringRule {
  /** The member's name in messages, as the service spells it (`name`, `eventPattern`). */
  readonly field: string;
  readonly max: number;
  readonly min?: number;
  readonly pattern?: RegExp;
  /** The allowed values, when the member is an enumeration. */
  readonly values?: readonly string[];
}

/** A string member, or undefined when absent; a value of another type or out of its constraints is refused. */
export function optionalString(body: RequestBody, key: string, rule: StringRule): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AwsJsonError('SerializationException', `${key} must be a string.`);
  if (value.length < (rule.min ?? 1)) throw constraint(value, rule.field, `Member must have length greater than or equal to ${rule.min ?? 1}`);
  if (value.length > rule.max) throw constraint(value, rule.field, `Member must have length less than or equal to ${rule.max}`);
  if (rule.pattern && !rule.pattern.test(value)) throw constraint(value, rule.field, `Member must satisfy regular expression pattern: ${rule.pattern.source.replace(/^\^|\$$/g, '')}`);
  if (rule.values && !rule.values.includes(value)) throw constraint(value, rule.field, `Member must satisfy enum value set: [${rule.values.join(', ')}]`);
  return value;
}

/** A string member the request must have. */
export function requiredString(body: RequestBody, key: string, rule: StringRule): string {
  const value = optionalString(body, key, rule);
  if (value === undefined) throw constraint(undefined, rule.field, 'Member must not be null');
  return value;
}

/** An integer member within a range, or undefined when absent. */
export function optionalInteger(body: RequestBody, key: string, field: string, min: number, max: number): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new AwsJsonError('SerializationException', `${key} must be an integer.`);
  if (value < min) throw constraint(value, field, `Member must have value greater than or equal to ${min}`);
  if (value > max) throw constraint(value, field, `Member must have value less than or equal to ${max}`);
  return value;
}

/** A list member the request must have, with its length constraints. */
export function requiredList(body: RequestBody, key: string, field: string, min: number, max: number): unknown[] {
  const value = body[key];
  if (value === undefined || value === null) throw constraint(undefined, field, 'Member must not be null');
  if (!Array.isArray(value)) throw new AwsJsonError('SerializationException', `${key} must be a list.`);
  if (value.length < min) throw constraint('[]', field, `Member must have length greater than or equal to ${min}`);
  if (value.length > max) throw constraint(`[${value.length} items]`, field, `Member must have length less than or equal to ${max}`);
  return value;
}

export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** An object member, or undefined when absent. */
export function optionalObject(body: RequestBody, key: string): RequestBody | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw new AwsJsonError('SerializationException', `${key} must be an object.`);
  return value;
}

/**
 * A page of a sorted list, for the List operations: `NextToken` is the index of the page's first
 * item, opaque to the caller; a token that is not one of ours is refused as the service refuses an
 * expired one (HTTP 400 `InvalidToken`, per ListRules in the API reference).
 */
export function pageOf<T>(items: readonly T[], body: RequestBody): { page: T[]; nextToken?: string } {
  const limit = optionalInteger(body, 'Limit', 'limit', 1, 100) ?? 100;
  const token = optionalString(body, 'NextToken', { field: 'nextToken', max: 2048 });
  const start = token === undefined ? 0 : Number.parseInt(Buffer.from(token, 'base64url').toString('utf8').replace(/^page:/, ''), 10);
  if (!Number.isInteger(start) || start < 0) throw new AwsJsonError('InvalidToken', 'The NextToken is not valid.');
  const end = start + limit;
  return { page: items.slice(start, end), ...(end < items.length ? { nextToken: Buffer.from(`page:${end}`).toString('base64url') } : {}) };
}
