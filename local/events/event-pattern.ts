/**
 * EventBridge event patterns, validated and matched as the service does it.
 *
 * Sources: "Creating event patterns" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html),
 * "Content filtering" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html),
 * "Comparison operators" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html),
 * "Arrays" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-arrays.html),
 * "Null values and empty strings" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-null-values.html),
 * and AWS's matcher event-ruler (https://github.com/aws/event-ruler, README.md) where the guide is silent.
 *
 * How an event matches (event-ruler's model): the pattern is flattened to dot-joined field paths
 * (`{"detail": {"state": [...]}}` and `{"detail.state": [...]}` are the same field, and either
 * form matches `{"detail": {"state": ...}}` and `{"detail.state": ...}` in the event); every field
 * must match, a field matches when any alternative of its array matches any of its leaf values;
 * an array in the event offers each of its elements (arrays of arrays are crushed), and the fields
 * of one object in an array must come from the same element ("JSON Array Matching"). A field whose
 * value is an object is not a leaf: `exists` sees it as absent. `null` is a value, not absence, and
 * `""` is not `null`. `$or` takes alternative sub-patterns.
 */

import type { UsageEventPattern } from '../../contracts/event-pattern';
import { type Branch, type CompiledField, type LeafRule, type Scalar, compileEventPattern, isPlainObject } from './event-pattern-compiler';
import { InvalidEventPatternError } from './event-pattern-error';

export { InvalidEventPatternError } from './event-pattern-error';

/**
 * A pattern: each field holds an array of alternatives or a nested pattern. The contract's
 * `UsageEventPattern` (an interface, so without an index signature) is one as it stands.
 */
export type EventPattern = { readonly [field: string]: unknown } | UsageEventPattern;

/**
 * A branch of the pattern arranged as the event is walked: the fields under each first path
 * segment, so that the common case (keys without dots) is one own-property lookup per level.
 */
interface FieldGroup {
  readonly key: string;
  /** Rules of the field that is this key itself. */
  readonly leaves: readonly LeafRule[];
  /** Fields below the key: all of them, those that must be absent, and the others. */
  readonly nested?: MatchTree;
  readonly nestedAbsent?: MatchTree;
  readonly nestedOthers?: MatchTree;
  /** This group's fields with paths from the parent, for the general walk (dots in the event's keys, or absence). */
  readonly fields: Branch;
}

type MatchTree = readonly FieldGroup[];

function matchTree(fields: Branch): MatchTree {
  const byKey = new Map<string, CompiledField[]>();
  for (const field of fields) {
    const dot = field[0].indexOf('.');
    const key = dot === -1 ? field[0] : field[0].slice(0, dot);
    byKey.set(key, [...(byKey.get(key) ?? []), field]);
  }
  return [...byKey].map(([key, group]) => {
    const nested: CompiledField[] = group.filter(([path]) => path !== key).map(([path, rule]) => [path.slice(key.length + 1), rule]);
    const absent = nested.filter(([, rule]) => rule.onlyAbsence);
    const others = nested.filter(([, rule]) => !rule.onlyAbsence);
    return {
      key,
      leaves: group.filter(([path]) => path === key).map(([, rule]) => rule),
      ...(nested.length > 0 ? { nested: matchTree(nested) } : {}),
      ...(absent.length > 0 ? { nestedAbsent: matchTree(absent) } : {}),
      ...(others.length > 0 ? { nestedOthers: matchTree(others) } : {}),
      fields: group,
    };
  });
}

/** Each pattern object is validated and compiled once; the bus matches every entry against every rule. */
const compiledPatterns = new WeakMap<object, readonly MatchTree[]>();

function compiled(pattern: object): readonly MatchTree[] {
  let result = compiledPatterns.get(pattern);
  if (result === undefined) {
    result = compileEventPattern(pattern).map(matchTree);
    compiledPatterns.set(pattern, result);
  }
  return result;
}

/**
 * Checks a parsed pattern as PutRule does, and returns it typed.
 *
 * @throws InvalidEventPatternError naming the rule broken and the field path, for every pattern AWS refuses.
 */
export function validateEventPattern(pattern: unknown): EventPattern {
  if (!isPlainObject(pattern)) throw new InvalidEventPatternError('Filter is not an object');
  compiled(pattern);
  return pattern;
}

/**
 * Parses a pattern's JSON text (PutRule's `EventPattern`) and validates it.
 *
 * @throws InvalidEventPatternError when the text is not JSON or the pattern is not valid.
 */
export function parseEventPattern(text: string): EventPattern {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidEventPatternError(`Filter is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return validateEventPattern(parsed);
}

/**
 * True when the event matches the pattern.
 *
 * @throws InvalidEventPatternError when the pattern was not valid (it is validated on first use).
 */
export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  return compiled(pattern).some((tree) => matchGroups(tree, event));
}

const hasOwn = (object: Record<string, unknown>, key: string): boolean => Object.prototype.hasOwnProperty.call(object, key);

/** The key of the object a dot-joined path goes through: the whole path, or its shortest prefix present. */
function resolveKey(object: Record<string, unknown>, path: string): string | undefined {
  if (hasOwn(object, path)) return path;
  for (let dot = path.indexOf('.'); dot !== -1; dot = path.indexOf('.', dot + 1)) {
    const prefix = path.slice(0, dot);
    if (hasOwn(object, prefix)) return prefix;
  }
  return undefined;
}

/** The fast walk: each group's key looked up directly; the general walk when the key is not there. */
function matchGroups(tree: MatchTree, node: unknown): boolean {
  const object = isPlainObject(node) ? node : undefined;
  for (const group of tree) {
    if (object !== undefined && hasOwn(object, group.key)) {
      const value = object[group.key];
      for (const rule of group.leaves) if (!matchLeaf(rule, value)) return false;
      if (group.nested !== undefined && !matchGroupBelow(group, value)) return false;
    } else if (!matchFields(group.fields, object)) {
      return false;
    }
  }
  return true;
}

/** {@link matchNested} for a precompiled group. */
function matchGroupBelow(group: FieldGroup, value: unknown): boolean {
  if (!Array.isArray(value)) return group.nested === undefined || matchGroups(group.nested, value);
  const elements = crush(value);
  const { nestedAbsent, nestedOthers } = group;
  if (nestedAbsent !== undefined && !elements.every((element) => matchGroups(nestedAbsent, element))) return false;
  if (nestedOthers === undefined) return true;
  if (elements.length === 0) return matchGroups(nestedOthers, undefined);
  return elements.some((element) => matchGroups(nestedOthers, element));
}

interface KeyGroup {
  readonly leaves: LeafRule[];
  readonly nested: [string, LeafRule][];
}

/** Every field (paths relative to the node) holds in the node. */
function matchFields(fields: Branch, node: unknown): boolean {
  const object = isPlainObject(node) ? node : undefined;
  const groups = new Map<string, KeyGroup>();
  for (const [path, rule] of fields) {
    const key = object === undefined ? undefined : resolveKey(object, path);
    if (key === undefined) {
      if (!rule.matchesAbsent) return false;
      continue;
    }
    let group = groups.get(key);
    if (group === undefined) {
      group = { leaves: [], nested: [] };
      groups.set(key, group);
    }
    if (key.length === path.length) group.leaves.push(rule);
    else group.nested.push([path.slice(key.length + 1), rule]);
  }
  for (const [key, group] of groups) {
    const value = object?.[key];
    if (!group.leaves.every((rule) => matchLeaf(rule, value))) return false;
    if (group.nested.length > 0 && !matchNested(group.nested, value)) return false;
  }
  return true;
}

/** Fields below a value: an object holds them; in an array, one element must hold them all. */
function matchNested(fields: Branch, value: unknown): boolean {
  if (!Array.isArray(value)) return matchFields(fields, value);
  const elements = crush(value);
  // A field asked to be absent is absent only when no element has it.
  const absent = fields.filter(([, rule]) => rule.onlyAbsence);
  if (absent.length > 0 && !elements.every((element) => matchFields(absent, element))) return false;
  const others = absent.length > 0 ? fields.filter(([, rule]) => !rule.onlyAbsence) : fields;
  if (others.length === 0) return true;
  if (elements.length === 0) return matchFields(others, undefined);
  return elements.some((element) => matchFields(others, element));
}

/** The elements of an array, with nested arrays flattened. */
function crush(values: readonly unknown[]): unknown[] {
  return values.some(Array.isArray) ? values.flatMap((value) => (Array.isArray(value) ? crush(value) : [value])) : [...values];
}

const isScalar = (value: unknown): value is Scalar =>
  value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

/** A field's rule against its value: absent, a leaf, or an array of leaves. */
function matchLeaf(rule: LeafRule, value: unknown): boolean {
  if (isScalar(value)) return rule.matchesPresent || rule.tests.some((test) => test(value));
  const leaves = Array.isArray(value) ? crush(value).filter(isScalar) : [];
  // An object (not a leaf), an empty array or nothing at all: the field is absent.
  if (leaves.length === 0) return rule.matchesAbsent;
  return rule.matchesPresent || rule.tests.some((test) => leaves.some((leaf) => test(leaf)));
}
