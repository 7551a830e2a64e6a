/**
 * Reading the API's rate-limit answers: `RateLimit` and `RateLimit-Policy` as the IETF httpapi
 * draft defines them (https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/10/:
 * lists of structured-field items, RFC 8941, a policy name with `q` quota and `w` window seconds;
 * the current state with `r` remaining and `t` seconds until the quota resets), the older
 * `X-RateLimit-*` trio as a fallback, and `Retry-After` (RFC 9110 section 10.2.3: seconds or an HTTP date).
 */

/** The remaining quota, as the last answer's headers described it. */
export interface Quota {
  /** The policy's name (the tier: `free`, `basic`, …). */
  readonly policy: string;
  /** Requests the policy allows in its window (`q`), when the answer said. */
  readonly limit?: number;
  /** The policy's window in seconds (`w`), when the answer said. */
  readonly windowSeconds?: number;
  /** Requests left now (`r`). */
  readonly remaining: number;
  /** Seconds until the whole quota is back (`t`), as of the answer. */
  readonly resetSeconds: number;
  /** When that is, in ms since the epoch (the client's clock at the answer, plus `t`). */
  readonly resetAt: number;
}

/** A structured-field item: its value (a name) and its parameters. */
interface FieldItem {
  readonly value: string;
  readonly params: Readonly<Record<string, string | number | boolean>>;
}

/** The header fields this module reads; `Headers` of fetch has this shape. */
export interface HeaderReader {
  get(name: string): string | null;
}

/** The quota of an answer, from `RateLimit` (and `RateLimit-Policy`), else `X-RateLimit-*`; undefined when it has neither. */
export function quotaOf(headers: HeaderReader, now: number): Quota | undefined {
  return ietfQuota(headers, now) ?? legacyQuota(headers, now);
}

/** `Retry-After` in ms from `now`: delay-seconds, or an HTTP date (never negative); undefined when absent or unreadable. */
export function retryAfterMsOf(headers: HeaderReader, now: number): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // An HTTP-date, in any of its three forms, starts with the day's name.
  const date = /^[A-Za-z]{3}/.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function ietfQuota(headers: HeaderReader, now: number): Quota | undefined {
  const states = parseItemList(headers.get('ratelimit')).filter((item) => isCount(item.params.r) && isCount(item.params.t));
  if (states.length === 0) return undefined;
  // Several policies may apply at once: the one with the fewest requests left is the one that binds.
  const binding = states.reduce((least, item) => (Number(item.params.r) < Number(least.params.r) ? item : least));
  const policy = parseItemList(headers.get('ratelimit-policy')).find((item) => item.value === binding.value);
  const resetSeconds = Number(binding.params.t);
  return {
    policy: binding.value,
    ...(policy && isCount(policy.params.q) ? { limit: policy.params.q } : {}),
    ...(policy && isCount(policy.params.w) ? { windowSeconds: policy.params.w } : {}),
    remaining: Number(binding.params.r),
    resetSeconds,
    resetAt: now + resetSeconds * 1000,
  };
}

function legacyQuota(headers: HeaderReader, now: number): Quota | undefined {
  const [limit, remaining, reset] = ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'].map((name) => Number(headers.get(name) ?? Number.NaN));
  if (!isCount(remaining) || !isCount(reset)) return undefined;
  return { policy: 'default', ...(isCount(limit) ? { limit } : {}), remaining, resetSeconds: reset, resetAt: now + reset * 1000 };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/**
 * An RFC 8941 list of items with parameters, leniently: members whose item or parameters do not
 * parse are left out, not the whole field (a client should still read a policy it understands).
 */
export function parseItemList(field: string | null): FieldItem[] {
  if (!field) return [];
  return splitMembers(field).flatMap((member) => {
    const item = parseItem(member.trim());
    return item ? [item] : [];
  });
}

/** Members of a list: commas outside quoted strings. */
function splitMembers(field: string): string[] {
  const members: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < field.length; i++) {
    const char = field[i];
    if (quoted && char === '\\') {
      current += char + (field[i + 1] ?? '');
      i++;
      continue;
    }
    if (char === '"') quoted = !quoted;
    if (char === ',' && !quoted) {
      members.push(current);
      current = '';
    } else current += char;
  }
  members.push(current);
  return members;
}

const BARE_ITEM = /^(?:"((?:[^"\\]|\\["\\])*)"|([A-Za-z*][\w:/!#$%&'*+.^`|~-]*))/;
const PARAMETER = /^;\s*([a-z*][a-z0-9_.*-]*)(?:=(?:(-?\d{1,15}(?:\.\d{1,3})?)|"((?:[^"\\]|\\["\\])*)"|([A-Za-z*][\w:/!#$%&'*+.^`|~-]*)|\?([01])))?/;

function parseItem(member: string): FieldItem | undefined {
  const bare = BARE_ITEM.exec(member);
  if (!bare) return undefined;
  const [bareWhole = '', quoted, bareToken = ''] = groupsOf(bare);
  const value = quoted !== undefined ? unescapeString(quoted) : bareToken;
  const params: Record<string, string | number | boolean> = {};
  let rest = member.slice(bareWhole.length).trim();
  while (rest.length > 0) {
    const parameter = PARAMETER.exec(rest);
    if (!parameter) return undefined;
    const [whole, key, numeric, text, token, boolean] = groupsOf(parameter);
    if (!whole || !key) return undefined;
    params[key] = numeric !== undefined ? Number(numeric) : text !== undefined ? unescapeString(text) : (token ?? (boolean === undefined || boolean === '1'));
    rest = rest.slice(whole.length).trim();
  }
  return { value, params };
}

/** A match's groups, those that did not take part undefined (which RegExpExecArray's type does not say). */
function groupsOf(match: RegExpExecArray): (string | undefined)[] {
  return [...match];
}

/** The characters of a structured-field string, its escapes (`\"`, `\\`) undone. */
function unescapeString(text: string): string {
  return text.replace(/\\(["\\])/g, '$1');
}
