/**
 * Validates an event pattern as EventBridge's PutRule does and compiles it, once, into what the
 * matcher runs: a list of alternatives (one per combination of `$or` branches), each a list of
 * dot-joined field paths with the rule their leaf values must meet.
 *
 * Grammar: "Creating event patterns" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html),
 * "Content filtering" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html)
 * and "Comparison operators" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html).
 * Restrictions and the reasons AWS gives for them: AWS's matcher, event-ruler
 * (https://github.com/aws/event-ruler/blob/main/src/main/software/amazon/event/ruler/JsonRuleCompiler.java,
 * its README and input/WildcardParser.java), quoted verbatim so that a refusal reads as AWS's does.
 */

import { cidrContains, parseCidr } from './event-pattern-cidr';
import { InvalidEventPatternError } from './event-pattern-error';

/** A leaf value of an event (JSON's scalars). */
export type Scalar = string | number | boolean | null;

/** One comparison of a leaf value (an exact value or an operator other than `exists`). */
export type ValueTest = (value: Scalar) => boolean;

/** What a field's array of alternatives asks of the field's leaf values. */
export interface LeafRule {
  readonly tests: readonly ValueTest[];
  /** `{"exists": true}` is among the alternatives. */
  readonly matchesPresent: boolean;
  /** `{"exists": false}` is among the alternatives. */
  readonly matchesAbsent: boolean;
  /** The only alternative is `{"exists": false}`: the field must be absent from the event as a whole. */
  readonly onlyAbsence: boolean;
}

/** A field of the pattern by its dot-joined path (`detail.state`), with its rule. */
export type CompiledField = readonly [path: string, rule: LeafRule];

/** One way for an event to match: every field must hold. */
export type Branch = readonly CompiledField[];

/** The pattern's alternatives; an event matches when one of them holds. */
export type CompiledPattern = readonly Branch[];

const OR = '$or';

/** Operator names event-ruler refuses as field names inside `$or` (Constants.RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP). */
const RESERVED_IN_OR = new Set([
  'exactly', 'equals-ignore-case', 'prefix', 'suffix', 'anything-but', 'exists', 'wildcard', 'numeric', 'cidr',
  '=', '<', '<=', '>', '>=', 'regex', 'not-wildcard', 'not-equals-ignore-case',
  'date-after', 'date-on-or-after', 'date-before', 'date-on-or-before', 'in-date-range', 'ip-address-in-range', 'ip-address-not-in-range',
]);

/**
 * A local safeguard, not an AWS rule (the guide states no such limit): nested `$or`s multiply
 * into alternatives, and a short pattern could otherwise make millions of them.
 */
export const MAX_OR_COMBINATIONS = 10_000;

/** Numeric matching's range (event-ruler README, "Numeric matching": -5.0e9 to +5.0e9 inclusive). */
const NUMERIC_LIMIT = 5e9;

export const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The error for a refused pattern: AWS's reason, then where in the pattern it applies. */
function invalid(reason: string, path: string): InvalidEventPatternError {
  return new InvalidEventPatternError(path === '' ? reason : `${reason} (at "${path}")`);
}

/** Validates the pattern and compiles it; throws {@link InvalidEventPatternError} naming the problem. */
export function compileEventPattern(pattern: unknown): CompiledPattern {
  if (!isPlainObject(pattern)) throw invalid('Filter is not an object', '');
  return compileObject(pattern, '', [[]], false);
}

function compileObject(node: Record<string, unknown>, prefix: string, branches: readonly Branch[], insideOr: boolean): Branch[] {
  const keys = Object.keys(node);
  if (keys.length === 0) throw invalid('Empty objects are not allowed', prefix);
  let current = [...branches];
  for (const key of keys) {
    const value = node[key];
    if (key === OR) {
      current = compileOr(value, prefix, current);
      continue;
    }
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (insideOr && RESERVED_IN_OR.has(key)) throw invalid(`${key} is Ruler reserved fieldName which cannot be used inside ${OR}.`, path);
    if (isPlainObject(value)) {
      current = compileObject(value, path, current, insideOr);
    } else if (Array.isArray(value)) {
      const rule = compileLeaf(value, path);
      current = current.map((branch) => withField(branch, path, rule));
    } else {
      throw invalid(`"${key}" must be an object or an array`, path);
    }
  }
  return current;
}

/** Adds a field to a branch; a path given twice keeps its last rule, as the user guide's note on repeated keys says. */
function withField(branch: Branch, path: string, rule: LeafRule): Branch {
  return [...branch.filter(([existing]) => existing !== path), [path, rule]];
}

function compileOr(value: unknown, prefix: string, branches: readonly Branch[]): Branch[] {
  const path = prefix === '' ? OR : `${prefix}.${OR}`;
  if (!Array.isArray(value)) throw invalid(`It must be an Array followed with ${OR}.`, path);
  const result: Branch[] = [];
  for (const alternative of value) {
    if (!isPlainObject(alternative)) throw invalid(`Only JSON object is allowed in array of ${OR} relationship.`, path);
    result.push(...compileObject(alternative, prefix, branches, true));
    if (result.length > MAX_OR_COMBINATIONS) {
      throw invalid(`the $or alternatives combine into more than ${MAX_OR_COMBINATIONS} patterns; the local bus refuses this to stay responsive (AWS states no limit)`, path);
    }
  }
  if (value.length < 2) throw invalid(`There must have at least 2 Objects in ${OR} relationship.`, path);
  return result;
}

function compileLeaf(alternatives: readonly unknown[], path: string): LeafRule {
  if (alternatives.length === 0) throw invalid('Empty arrays are not allowed', path);
  const tests: ValueTest[] = [];
  let matchesPresent = false;
  let matchesAbsent = false;
  for (const alternative of alternatives) {
    if (isPlainObject(alternative)) {
      const compiled = compileExpression(alternative, path);
      if (typeof compiled === 'boolean') {
        if (compiled) matchesPresent = true;
        else matchesAbsent = true;
      } else {
        tests.push(compiled);
      }
    } else if (alternative === null || typeof alternative === 'string' || typeof alternative === 'number' || typeof alternative === 'boolean') {
      tests.push((value) => value === alternative);
    } else {
      throw invalid('Match value must be String, number, true, false, or null', path);
    }
  }
  return { tests, matchesPresent, matchesAbsent, onlyAbsence: matchesAbsent && !matchesPresent && tests.length === 0 };
}

/** A match expression (`{"prefix": "a"}`): its test, or the boolean of an `exists`. */
function compileExpression(expression: Record<string, unknown>, path: string): ValueTest | boolean {
  const keys = Object.keys(expression);
  if (keys.length === 0) throw invalid('Match expression name not found', path);
  if (keys.length > 1) throw invalid('Only one key allowed in match expression', path);
  const operator = keys[0];
  const operand = expression[operator];
  switch (operator) {
    case 'exists':
      if (typeof operand !== 'boolean') throw invalid('exists match pattern must be either true or false.', path);
      return operand;
    case 'prefix':
    case 'suffix':
      return affixTest(operator, operand, path);
    case 'equals-ignore-case': {
      const expected = stringOperand(operand, 'equals-ignore-case match pattern must be a string', path).toLowerCase();
      return (value) => typeof value === 'string' && value.toLowerCase() === expected;
    }
    case 'wildcard': {
      const regExp = wildcardRegExp(stringOperand(operand, 'wildcard match pattern must be a string', path), path);
      return (value) => typeof value === 'string' && regExp.test(value);
    }
    case 'numeric':
      return numericTest(operand, path);
    case 'cidr': {
      // event-ruler answers a non-string CIDR with the prefix message, and so do we.
      const range = parseCidr(stringOperand(operand, 'prefix match pattern must be a string', path));
      if (typeof range === 'string') throw invalid(range, path);
      return (value) => cidrContains(range, value);
    }
    case 'anything-but':
      return anythingButTest(operand, path);
    default:
      throw invalid(`Unrecognized match type ${operator}`, path);
  }
}

function stringOperand(operand: unknown, reason: string, path: string): string {
  if (typeof operand !== 'string') throw invalid(reason, path);
  return operand;
}

/** `prefix` / `suffix`, with a string or `{"equals-ignore-case": string}`. */
function affixTest(operator: 'prefix' | 'suffix', operand: unknown, path: string): ValueTest {
  const at = operator === 'prefix' ? (value: string, affix: string) => value.startsWith(affix) : (value: string, affix: string) => value.endsWith(affix);
  if (isPlainObject(operand)) {
    const keys = Object.keys(operand);
    if (keys.length === 0) throw invalid(`${operator === 'prefix' ? 'Prefix' : 'Suffix'} expression name not found`, path);
    if (keys[0] !== 'equals-ignore-case') throw invalid(`Unsupported ${operator} pattern: ${keys[0]}`, path);
    const affix = stringOperand(operand[keys[0]], 'equals-ignore-case match pattern must be a string', path).toLowerCase();
    if (keys.length > 1) throw invalid('Only one key allowed in match expression', path);
    return (value) => typeof value === 'string' && at(value.toLowerCase(), affix);
  }
  const affix = stringOperand(operand, `${operator} match pattern must be a string`, path);
  return (value) => typeof value === 'string' && at(value, affix);
}

function checkNumericLimit(value: number, path: string): void {
  if (value < -NUMERIC_LIMIT || value > NUMERIC_LIMIT) throw invalid('Value must be between -5.0E9 and 5.0E9, inclusive', path);
}

/** `numeric`: `["=", n]`, `["<" | "<=", n]`, or `[">" | ">=", n]` optionally followed by `"<" | "<=", m` with n < m. */
function numericTest(operand: unknown, path: string): ValueTest {
  if (!Array.isArray(operand)) throw invalid('Value of numeric must be an array.', path);
  const [operator, bound, ...rest] = operand as unknown[];
  if (typeof operator !== 'string') throw invalid(`Invalid member in numeric match: ${operator === undefined ? ']' : JSON.stringify(operator)}`, path);
  if (!['=', '<', '<=', '>', '>='].includes(operator)) throw invalid(`Unrecognized numeric range operator: ${operator}`, path);
  if (typeof bound !== 'number') throw invalid(`Value of ${operator === '=' ? 'equals' : operator} must be numeric`, path);
  checkNumericLimit(bound, path);
  const lower = compare(operator, bound);
  if (rest.length === 0) return (value) => typeof value === 'number' && lower(value);
  if (operator === '=' || operator === '<' || operator === '<=') throw invalid('Too many elements in numeric expression', path);
  const [topOperator, top, ...extra] = rest;
  if (typeof topOperator !== 'string') throw invalid(`Bad value in numeric range: ${JSON.stringify(topOperator)}`, path);
  if (topOperator !== '<' && topOperator !== '<=') throw invalid(`Bad numeric range operator: ${topOperator}`, path);
  if (typeof top !== 'number') throw invalid(`Value of ${topOperator} must be numeric`, path);
  checkNumericLimit(top, path);
  if (extra.length > 0) throw invalid('Too many terms in numeric range expression', path);
  if (top <= bound) throw invalid('Bottom must be less than top', path);
  const upper = compare(topOperator, top);
  return (value) => typeof value === 'number' && lower(value) && upper(value);
}

function compare(operator: string, bound: number): (value: number) => boolean {
  switch (operator) {
    case '=':
      return (value) => value === bound;
    case '<':
      return (value) => value < bound;
    case '<=':
      return (value) => value <= bound;
    case '>':
      return (value) => value > bound;
    default:
      return (value) => value >= bound;
  }
}

/**
 * `anything-but` with a string, a number, a list of strings or of numbers, or one of
 * `prefix`, `suffix`, `equals-ignore-case`, `wildcard` with a string or a list of strings.
 * A value of another type than the excluded ones (null, a boolean, a number against strings)
 * is not excluded, so it matches: event-ruler compares the values' JSON text.
 */
function anythingButTest(operand: unknown, path: string): ValueTest {
  if (isPlainObject(operand)) return anythingButOperatorTest(operand, path);
  if (typeof operand === 'string' || typeof operand === 'number') {
    if (typeof operand === 'number') checkNumericLimit(operand, path);
    return (value) => value !== operand;
  }
  if (!Array.isArray(operand)) throw invalid('Value of anything-but must be an array or single string/number value.', path);
  let strings = 0;
  let numbers = 0;
  for (const excluded of operand as unknown[]) {
    if (typeof excluded === 'string') strings++;
    else if (typeof excluded === 'number') {
      checkNumericLimit(excluded, path);
      numbers++;
    } else throw invalid('Inside anything but list, start|null|boolean is not supported.', path);
  }
  if (strings > 0 === numbers > 0) throw invalid('Inside anything but list, either all values are number or string, mixed type is not supported', path);
  const excluded = new Set<Scalar>(operand as (string | number)[]);
  return (value) => !excluded.has(value);
}

const ANYTHING_BUT_OPERATORS = ['equals-ignore-case', 'prefix', 'suffix', 'wildcard'];

function anythingButOperatorTest(operand: Record<string, unknown>, path: string): ValueTest {
  const keys = Object.keys(operand);
  if (keys.length === 0) throw invalid('Anything-But expression name not found', path);
  const operator = keys[0];
  if (!ANYTHING_BUT_OPERATORS.includes(operator)) throw invalid(`Unsupported anything-but pattern: ${operator}`, path);
  const inner = operand[operator];
  if (typeof inner !== 'string' && typeof inner !== 'number' && !Array.isArray(inner)) {
    throw invalid('Value of anything-but must be an array or single string/number value.', path);
  }
  // event-ruler's text for a second key here is indeed the numeric one.
  if (keys.length > 1) throw invalid('Too many elements in numeric expression', path);
  const items = (Array.isArray(inner) ? inner : [inner]) as unknown[];
  const strings = items.map((item) => {
    if (typeof item !== 'string') throw invalid(nonStringReason(operator), path);
    if ((operator === 'prefix' || operator === 'suffix') && item === '') throw invalid('Null prefix/suffix not allowed', path);
    return item;
  });
  const isExcluded = excludedBy(operator, strings, path);
  return (value) => typeof value !== 'string' || !isExcluded(value);
}

function nonStringReason(operator: string): string {
  if (operator === 'equals-ignore-case') return 'Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.';
  if (operator === 'wildcard') return 'wildcard match pattern must be a string';
  return 'prefix/suffix match pattern must be a string';
}

function excludedBy(operator: string, strings: readonly string[], path: string): (value: string) => boolean {
  switch (operator) {
    case 'equals-ignore-case': {
      const lowered = new Set(strings.map((s) => s.toLowerCase()));
      return (value) => lowered.has(value.toLowerCase());
    }
    case 'prefix':
      return (value) => strings.some((prefix) => value.startsWith(prefix));
    case 'suffix':
      return (value) => strings.some((suffix) => value.endsWith(suffix));
    default: {
      const regExps = strings.map((wildcard) => wildcardRegExp(wildcard, path));
      return (value) => regExps.some((regExp) => regExp.test(value));
    }
  }
}

/**
 * A wildcard as a regular expression: `*` matches any run of characters (none included); `\*` is
 * a literal asterisk and `\\` a literal backslash; two `*` in a row, or a backslash before any
 * other character, are refused (event-ruler README "Wildcard matching", input/WildcardParser.java).
 * Positions count from 1, as AWS counts them (its parser sees the value in quotes).
 */
function wildcardRegExp(wildcard: string, path: string): RegExp {
  let source = '';
  for (let i = 0; i < wildcard.length; i++) {
    const ch = wildcard[i];
    if (ch === '*') {
      if (wildcard[i + 1] === '*') throw invalid(`Consecutive wildcard characters at pos ${i + 1}`, path);
      source += '.*';
    } else if (ch === '\\') {
      const next = wildcard[i + 1];
      if (next !== '*' && next !== '\\') throw invalid(`Invalid escape character at pos ${i + 1}`, path);
      source += `\\${next}`;
      i++;
    } else {
      source += ch.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 's');
}
