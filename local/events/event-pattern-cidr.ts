/**
 * IP address matching for event patterns (`{"cidr": "10.0.0.0/24"}`), for IPv4 and IPv6 as
 * "Content filtering in Amazon EventBridge event patterns" states
 * (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html#eb-filtering-ip-matching).
 * The refusal texts are those of AWS's own matcher, event-ruler
 * (https://github.com/aws/event-ruler/blob/main/src/main/software/amazon/event/ruler/JsonRuleCompiler.java).
 */

import { isIPv4, isIPv6 } from 'node:net';

/** A CIDR block as the inclusive range of addresses it holds. */
export interface CidrRange {
  readonly version: 4 | 6;
  readonly first: bigint;
  readonly last: bigint;
}

/** An address of the given version as an unsigned integer, or undefined when the text is not one. */
export function parseIpAddress(text: string): { version: 4 | 6; value: bigint } | undefined {
  if (isIPv4(text)) return { version: 4, value: ipv4ToBigInt(text) };
  if (isIPv6(text)) return { version: 6, value: ipv6ToBigInt(text) };
  return undefined;
}

function ipv4ToBigInt(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6ToBigInt(text: string): bigint {
  // An embedded IPv4 tail ("::ffff:10.0.0.1") stands for the last two groups.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  let head = text;
  if (tail.includes('.')) {
    const v4 = ipv4ToBigInt(tail);
    head = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const leftGroups = left === '' ? [] : left.split(':');
  const rightGroups = right === undefined || right === '' ? [] : right.split(':');
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups = [...leftGroups, ...Array<string>(right === undefined ? 0 : missing).fill('0'), ...rightGroups];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/**
 * Parses a CIDR block; on a malformed one returns the reason AWS gives.
 */
export function parseCidr(text: string): CidrRange | string {
  const parts = text.split('/');
  if (parts.length !== 2) return "Malformed CIDR, one '/' required";
  const [address, maskText] = parts;
  if (!/^[0-9]+$/.test(maskText)) return 'Malformed CIDR, mask bits must be an integer';
  const ip = parseIpAddress(address);
  if (ip === undefined) return `Nonstandard IP address: ${address}`;
  const width = ip.version === 4 ? 32 : 128;
  const mask = Number(maskText);
  if (mask > width) return `Malformed CIDR, mask bits must be between 0 and ${width} for an IPv${ip.version} address`;
  const hostBits = BigInt(width - mask);
  const first = (ip.value >> hostBits) << hostBits;
  return { version: ip.version, first, last: first + (1n << hostBits) - 1n };
}

/** True when the event value is an IP address (a string) inside the block. */
export function cidrContains(range: CidrRange, value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const ip = parseIpAddress(value);
  return ip !== undefined && ip.version === range.version && ip.value >= range.first && ip.value <= range.last;
}
