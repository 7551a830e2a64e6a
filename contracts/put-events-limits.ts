/** EventBridge PutEvents limits, shared by the producer SDK (batching) and the local bus (validation). */
export const PUT_EVENTS_LIMITS = {
  /** Entries in one PutEvents request. */
  maxEntries: 10,
  /** Total size of the entries of one request, and the largest single entry (256 KB). */
  maxRequestBytes: 256 * 1024,
} as const;

/** The fields of a PutEvents entry that count towards its size. */
export interface SizedPutEventsEntry {
  readonly Time?: Date | number | string;
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
  readonly Resources?: readonly string[];
}

/**
 * An entry's size as EventBridge computes it ("Calculating PutEvents event entry size"): 14 bytes
 * for `Time` when given, plus the UTF-8 bytes of `Source`, `DetailType`, `Detail` and each of
 * `Resources`.
 */
export function putEventsEntrySize(entry: SizedPutEventsEntry): number {
  let size = entry.Time === undefined ? 0 : 14;
  if (entry.Source) size += Buffer.byteLength(entry.Source, 'utf8');
  if (entry.DetailType) size += Buffer.byteLength(entry.DetailType, 'utf8');
  if (entry.Detail) size += Buffer.byteLength(entry.Detail, 'utf8');
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource, 'utf8');
  return size;
}
