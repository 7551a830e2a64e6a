/**
 * The per-source-IP limit of the unauthenticated routes (today the token exchange, `POST /v1/auth/token`),
 * and the bans of repeat offenders: written and read by lambdas/limiter/source-ip-guard.ts, named in
 * the IAM grant of the functions that call it (the attribute names below).
 */

/** A source IP's GCRA limit: 10 requests per minute, all of them at once at most, as the original gateway had. */
export const SOURCE_IP_LIMIT = { requestsPerMinute: 10, burst: 10 } as const;

/** The first ban of a source IP, in seconds (the original gateway's `TEMP_BAN_SECONDS`). */
export const TEMP_BAN_SECONDS = 300;

/** Each further ban lasts this many times the one before (the original gateway's `BAN_MULTIPLIER`). */
export const BAN_MULTIPLIER = 2;

/** No ban lasts longer than a day, however many came before it. */
export const MAX_BAN_SECONDS = 86_400;

/**
 * Requests refused by the rate (offences) within {@link OFFENCE_WINDOW_SECONDS} that earn a ban.
 * A client that honours `Retry-After` is refused about once per wait; five refusals within a
 * minute means it ignores the answer, which is what the original gateway banned for.
 */
export const OFFENCES_BEFORE_BAN = 5;

/** The window offences are counted in: it starts at the first offence and is not extended by later ones. */
export const OFFENCE_WINDOW_SECONDS = 60;

/**
 * Each full period this long after a ban ends without a new ban forgives one ban: the next ban of
 * an IP banned 3 times that stayed quiet for two days after its last ban lasts as its second did.
 */
export const BAN_DECAY_SECONDS = 86_400;

/**
 * The longest an item of an IP without ban history is kept after its last admission (its TTL):
 * far beyond the bucket's state (a minute at most), so that the TTL never ends a bucket in use.
 */
export const SOURCE_IP_IDLE_RETENTION_SECONDS = 3_600;

/** The limiter table's item of a source IP (an IPv4 address, or an IPv6 /64 prefix): `IP#<key>`. */
export const sourceIpItemKey = (sourceKey: string) => `IP#${sourceKey}`;

/**
 * The attributes of a source IP item besides `pk` and `tat` (the limiter item's), all numbers:
 * milliseconds since the epoch, counts, and the TTL in epoch seconds.
 */
export const SOURCE_IP_ATTRIBUTES = {
  /** Offences counted in the current window, and when that window started. */
  offences: 'offences',
  offencesSince: 'offencesSince',
  /** Until when the IP is banned, and how many bans it has had (as of its last ban, before decay). */
  bannedUntil: 'bannedUntil',
  bans: 'bans',
  /** When the ban count has decayed to zero: the item's TTL is never earlier. */
  banHistoryEnds: 'banHistoryEnds',
  /** The TTL attribute (epoch seconds): DynamoDB deletes the item some time after it. */
  expiresAt: 'expiresAt',
} as const;
