import { DEFAULT_EVENT_SOURCE, DEFAULT_EVENT_SOURCES, USAGE_EVENT_DETAIL_TYPE } from './usage-event';

/**
 * An EventBridge event pattern in the service's own JSON form (`detail-type`, not `detailType`),
 * so that the stack, the local bus and the tests match events with one and the same object.
 */
export interface UsageEventPattern {
  readonly source: readonly string[];
  readonly 'detail-type': readonly string[];
}

/** Event sources must be non-empty, printable and at most 256 characters, as PutEvents requires. */
const SOURCE_PATTERN = /^[\x21-\x7e]{1,256}$/;

/**
 * The rule pattern that routes usage events to the lake: an allow-list of sources and the
 * usage `detail-type`.
 *
 * @param sources the allow-list of event sources.
 * @default sources - {@link DEFAULT_EVENT_SOURCES}
 */
export function usageEventPattern(sources: readonly string[] = DEFAULT_EVENT_SOURCES): UsageEventPattern {
  if (sources.length === 0) {
    throw new Error(`The event source allow-list is empty. Give at least one source, for example "${DEFAULT_EVENT_SOURCE}".`);
  }
  const invalid = sources.filter((source) => !SOURCE_PATTERN.test(source));
  if (invalid.length > 0) {
    throw new Error(
      `Invalid event source(s) ${invalid.map((s) => JSON.stringify(s)).join(', ')}: a source is 1-256 printable characters without spaces.`,
    );
  }
  return {
    source: [...new Set(sources)],
    'detail-type': [USAGE_EVENT_DETAIL_TYPE],
  };
}
