/**
 * EventBridge event patterns, matched as the service matches them ("Creating event patterns" and
 * "Content filtering" in the EventBridge user guide): every field of the pattern must match; a
 * leaf is an array of alternatives; a value that is an array in the event matches when any of its
 * elements does; `$or` takes alternative sub-patterns. Comparison operators: exact values
 * (strings, numbers, booleans, null), `prefix`, `suffix`, `equals-ignore-case`, `wildcard`,
 * `anything-but` (a value, a list, a `prefix`, a `suffix`, or `equals-ignore-case`), `numeric`
 * and `exists`.
 */

import type { UsageEventPattern } from '../../contracts/event-pattern';

/**
 * A pattern: each field holds an array of alternatives or a nested pattern. The contract's
 * `UsageEventPattern` (an interface, so without an index signature) is one as it stands.
 */
export type EventPattern = { readonly [field: string]: unknown } | UsageEventPattern;

/** Thrown for a pattern EventBridge would refuse (PutRule answers InvalidEventPatternException). */
export class InvalidEventPatternError extends Error {
  constructor(message: string) {
    super(`Event pattern is not valid. Reason: ${message}`);
    this.name = 'InvalidEventPatternError';
  }
}

/** A field the event does not have (unlike one that holds `null`). */
const MISSING = Symbol('missing');

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** True when the event matches the pattern. */
export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  return matchObject(pattern, event);
}

/** The pattern's fields and their rules. */
function rulesOf(pattern: EventPattern): [string, unknown][] {
  return Object.entries(pattern);
}

function matchObject(pattern: EventPattern, value: unknown): boolean {
  for (const [field, rule] of rulesOf(pattern)) {
    if (field === '$or') {
      if (!Array.isArray(rule) || rule.length < 2) throw new InvalidEventPatternError('$or must be an array of at least two patterns');
      if (!rule.some((alternative) => isObject(alternative) && matchObject(alternative, value))) return false;
      continue;
    }
    const fieldValue = isObject(value) && Object.prototype.hasOwnProperty.call(value, field) ? value[field] : MISSING;
    if (isObject(rule)) {
      // A nested pattern: the event's field must be an object (or an array of objects) that matches it.
      if (fieldValue === MISSING) {
        if (!nestedAllowsMissing(rule)) return false;
        continue;
      }
      const candidates = Array.isArray(fieldValue) ? fieldValue : [fieldValue];
      if (!candidates.some((candidate) => matchObject(rule, candidate))) return false;
      continue;
    }
    if (!Array.isArray(rule)) throw new InvalidEventPatternError(`the value of "${field}" must be an array or an object`);
    if (!matchLeaf(rule, fieldValue)) return false;
  }
  return true;
}

/** A nested pattern on a missing field matches only when all its leaves ask for absence. */
function nestedAllowsMissing(rule: Record<string, unknown>): boolean {
  return Object.entries(rule).every(([, sub]) =>
    isObject(sub) ? nestedAllowsMissing(sub) : Array.isArray(sub) && sub.some((m) => isObject(m) && m.exists === false),
  );
}

function matchLeaf(alternatives: readonly unknown[], value: unknown): boolean {
  // `exists` looks at the field itself, not at its elements.
  for (const matcher of alternatives) {
    if (isObject(matcher) && 'exists' in matcher) {
      if (typeof matcher.exists !== 'boolean') throw new InvalidEventPatternError('exists takes true or false');
      const present = value !== MISSING && !(Array.isArray(value) && value.length === 0);
      if (matcher.exists === present) return true;
    }
  }
  if (value === MISSING) return false;
  const values = Array.isArray(value) ? value : [value];
  return alternatives.some((matcher) => !(isObject(matcher) && 'exists' in matcher) && values.some((v) => matchValue(matcher, v)));
}

function matchValue(matcher: unknown, value: unknown): boolean {
  if (!isObject(matcher)) {
    if (matcher === null) return value === null;
    if (typeof matcher === 'number') return typeof value === 'number' && value === matcher;
    return matcher === value;
  }
  const entries = Object.entries(matcher);
  if (entries.length !== 1) throw new InvalidEventPatternError(`a comparison object holds one operator; got ${JSON.stringify(matcher)}`);
  const [operator, operand] = entries[0];
  switch (operator) {
    case 'prefix':
      return isObject(operand) && typeof operand['equals-ignore-case'] === 'string'
        ? typeof value === 'string' && value.toLowerCase().startsWith(operand['equals-ignore-case'].toLowerCase())
        : typeof operand === 'string' && typeof value === 'string' && value.startsWith(operand);
    case 'suffix':
      return isObject(operand) && typeof operand['equals-ignore-case'] === 'string'
        ? typeof value === 'string' && value.toLowerCase().endsWith(operand['equals-ignore-case'].toLowerCase())
        : typeof operand === 'string' && typeof value === 'string' && value.endsWith(operand);
    case 'equals-ignore-case':
      return typeof operand === 'string' && typeof value === 'string' && value.toLowerCase() === operand.toLowerCase();
    case 'wildcard':
      return typeof operand === 'string' && typeof value === 'string' && wildcardRegExp(operand).test(value);
    case 'anything-but':
      return anythingBut(operand, value);
    case 'numeric':
      return numeric(operand, value);
    default:
      throw new InvalidEventPatternError(`unknown operator "${operator}"`);
  }
}

function anythingBut(operand: unknown, value: unknown): boolean {
  if (isObject(operand)) {
    const [operator, inner] = firstEntry(operand);
    if (operator === 'prefix') return typeof value === 'string' && typeof inner === 'string' && !value.startsWith(inner);
    if (operator === 'suffix') return typeof value === 'string' && typeof inner === 'string' && !value.endsWith(inner);
    if (operator === 'equals-ignore-case') {
      const list = (Array.isArray(inner) ? inner : [inner]).map((s) => String(s).toLowerCase());
      return typeof value === 'string' && !list.includes(value.toLowerCase());
    }
    if (operator === 'wildcard') return typeof value === 'string' && typeof inner === 'string' && !wildcardRegExp(inner).test(value);
    throw new InvalidEventPatternError(`anything-but does not take "${operator}"`);
  }
  const excluded = Array.isArray(operand) ? operand : [operand];
  return !excluded.some((e) => e === value);
}

/** The first operator of an `anything-but` object and its operand. */
function firstEntry(object: Record<string, unknown>): [string, unknown] {
  const entries = Object.entries(object);
  if (entries.length === 0) throw new InvalidEventPatternError('anything-but takes a value, a list or one operator; got {}');
  return entries[0];
}

function numeric(operand: unknown, value: unknown): boolean {
  if (!Array.isArray(operand) || operand.length === 0 || operand.length % 2 !== 0) throw new InvalidEventPatternError('numeric takes pairs of an operator and a number');
  if (typeof value !== 'number') return false;
  for (let i = 0; i < operand.length; i += 2) {
    const op: unknown = operand[i];
    const bound: unknown = operand[i + 1];
    if (typeof bound !== 'number') throw new InvalidEventPatternError('numeric bounds must be numbers');
    const ok = op === '=' ? value === bound : op === '>' ? value > bound : op === '>=' ? value >= bound : op === '<' ? value < bound : op === '<=' ? value <= bound : undefined;
    if (ok === undefined) throw new InvalidEventPatternError(`unknown numeric operator "${String(op)}"`);
    if (!ok) return false;
  }
  return true;
}

/** `*` matches any run of characters; `\*` and `\\` are literal. */
function wildcardRegExp(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\' && (pattern[i + 1] === '*' || pattern[i + 1] === '\\')) source += `\\${pattern[++i]}`;
    else if (ch === '*') source += '.*';
    else source += ch.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}
