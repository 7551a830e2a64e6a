import { z } from 'zod';
import { USAGE_EVENT_DETAIL_TYPE, USAGE_EVENT_SCHEMA_VERSION } from './usage-event-constants';

// The names, in a module of their own that the Lambda bundles import without zod.
export { DEFAULT_EVENT_SOURCE, DEFAULT_EVENT_SOURCES, USAGE_EVENT_DETAIL_TYPE, USAGE_EVENT_SCHEMA_VERSION } from './usage-event-constants';

/**
 * The event times the pipeline curates and bills; a usage event outside this window is a
 * malformed record (`errors/glue/`), in the Glue job and its local twin alike.
 *
 * - `earliest`: nothing of ours ran before it, and it keeps every curated timestamp well after
 *   1900-01-01, before which Spark 3.5 refuses to write Parquet timestamps unless told how to
 *   rebase them (WRITE_ANCIENT_DATETIME, `spark.sql.parquet.datetimeRebaseModeInWrite`).
 * - `maxAheadOfReceiptSeconds`: how far `occurredAt` may lie after the envelope's `time` (when
 *   EventBridge received the event): producer clock skew, not events from the future. Measured
 *   against the envelope, not the job's clock, so a re-run curates exactly what the first did.
 * - `defaultLateEventWindowDays`: how far `occurredAt` may lie before the envelope's `time`, unless
 *   a deployment sets its own (context `lateEventWindowDays`, the local lake's option of the same
 *   name): a month and a few days, so an event spooled by a producer or replayed from the bus
 *   archive within a month still reaches the lake, and one from a long-closed period does not.
 */
export const EVENT_TIME_WINDOW = {
  earliest: '2000-01-01T00:00:00Z',
  maxAheadOfReceiptSeconds: 300,
  defaultLateEventWindowDays: 35,
} as const;

/** The late event windows a deployment may choose, in days (inclusive). */
export const LATE_EVENT_WINDOW_DAYS_RANGE = { min: 1, max: 3650 } as const;

/**
 * Bounds on `attributes`: free-form tags must not turn a usage event into a payload
 * (EventBridge bills per 64 KB chunk and Firehose per 5 KB record).
 */
export const ATTRIBUTE_LIMITS = {
  maxEntries: 20,
  maxKeyLength: 64,
  maxValueLength: 256,
} as const;

const boundedText = (max: number) => z.string().min(1).max(max);
const nonNegativeInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** Upper-case HTTP method token (`GET`, `POST`, …) or another upper-case verb such as `INVOKE`. */
const methodSchema = z.string().regex(/^[A-Z]{3,16}$/, 'method must be an upper-case verb such as GET or POST');

const attributesSchema = z
  .record(z.string().min(1).max(ATTRIBUTE_LIMITS.maxKeyLength), z.string().max(ATTRIBUTE_LIMITS.maxValueLength))
  .refine((value) => Object.keys(value).length <= ATTRIBUTE_LIMITS.maxEntries, {
    error: `attributes may hold at most ${ATTRIBUTE_LIMITS.maxEntries} entries`,
  })
  .meta({ maxProperties: ATTRIBUTE_LIMITS.maxEntries });

/**
 * The `detail` of a usage event, version 1.
 *
 * Strict: an unknown key is a producer's typo (`tenantID`), refused rather than silently dropped.
 */
export const usageEventDetailSchema = z
  .object({
    schemaVersion: z.literal(USAGE_EVENT_SCHEMA_VERSION),
    /** Producer-assigned, unique, kept across retries: the dedup key for billing. */
    eventId: z.string().regex(/^[A-Za-z0-9._:-]{8,128}$/, 'eventId must be 8-128 characters of [A-Za-z0-9._:-]'),
    /** Event time (UTC, ISO-8601 with `Z`): billing and partitions use it, not arrival time. */
    occurredAt: z.iso.datetime({ offset: false }),
    service: boundedText(128),
    tenantId: boundedText(128),
    userId: boundedText(256).optional(),
    apiKeyId: boundedText(128).optional(),
    /** Route template such as `GET /v1/orders/{id}`, never the raw path. */
    operation: boundedText(256),
    feature: boundedText(128).optional(),
    method: methodSchema,
    statusCode: z.number().int().min(100).max(599),
    latencyMs: z.number().nonnegative().max(86_400_000),
    requestBytes: nonNegativeInt.optional(),
    responseBytes: nonNegativeInt.optional(),
    billableUnits: z.number().nonnegative().max(1_000_000).default(1),
    tier: boundedText(64).optional(),
    region: boundedText(64).optional(),
    attributes: attributesSchema.optional(),
  })
  .strict();

/** A usage event's `detail` as producers write it (`billableUnits` may be omitted). */
export type UsageEventDetailInput = z.input<typeof usageEventDetailSchema>;

/** A validated usage event `detail` (`billableUnits` filled in). */
export type UsageEventDetail = z.output<typeof usageEventDetailSchema>;

/**
 * The EventBridge envelope around a usage event, as the bus delivers it to its targets
 * (and so as Firehose writes it to `raw/`).
 */
export const usageEventEnvelopeSchema = z.object({
  version: z.string(),
  id: z.string(),
  'detail-type': z.literal(USAGE_EVENT_DETAIL_TYPE),
  source: boundedText(256),
  account: z.string(),
  time: z.iso.datetime({ offset: false }),
  region: z.string(),
  resources: z.array(z.string()),
  detail: usageEventDetailSchema,
});

/** A usage event as delivered by EventBridge. */
export type UsageEventEnvelope = z.output<typeof usageEventEnvelopeSchema>;
