/** Operation of a request no route matched: never the raw path, which would leak ids into the lake. */
export const UNMATCHED_ROUTE = '(unmatched route)';

/**
 * A framework route pattern as the usage event's route template: `/v1/orders/:id` becomes
 * `/v1/orders/{id}`; regular-expression suffixes (`:id(\\d+)`) and optional markers are dropped.
 */
export function toRouteTemplate(pattern: string): string {
  const template = pattern
    .replace(/:([A-Za-z0-9_]+)(\([^)]*\))?\??/g, '{$1}')
    .replace(/\*([A-Za-z0-9_]+)/g, '{$1+}')
    .replace(/\/{2,}/g, '/');
  return template.length > 1 ? template.replace(/\/$/, '') : template || '/';
}

/** `GET /v1/orders/{id}` from a method and a pattern (or the unmatched marker). */
export function operationOf(method: string, pattern: string | undefined): string {
  return `${method.toUpperCase()} ${pattern === undefined ? UNMATCHED_ROUTE : toRouteTemplate(pattern)}`;
}
