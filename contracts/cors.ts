/**
 * Cross-origin requests from consumers' pages (issue 15): what the HTTP API's CORS configuration
 * allows (lib/metered-http-api.ts, `corsPreflight`) and what the local gateway answers
 * (local/http-api-gateway.ts), from this one place.
 *
 * API Gateway HTTP APIs answer preflight `OPTIONS` requests themselves when CORS is configured,
 * without calling an authorizer or an integration, and add the CORS headers to every answer, the
 * integration's included (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html).
 * Credentials travel in headers (Authorization, x-api-key), never in cookies, so no credentialed
 * CORS is needed and `*` as the origin is safe: a page can only send what it already holds.
 */

/** Request headers a page may send: its credential and its JSON body's type. */
export const CORS_ALLOW_HEADERS = ['authorization', 'content-type', 'x-api-key'] as const;

/**
 * Response headers a page may read: the rate limit (the IETF draft's and the X- ones) and
 * Retry-After, which the consumer client needs to wait or to report the remaining quota.
 * (https://fetch.spec.whatwg.org/#cors-safelisted-response-header-name lists what pages see without this.)
 */
export const CORS_EXPOSE_HEADERS = ['ratelimit', 'ratelimit-policy', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'] as const;

/** Methods the API's routes use. */
export const CORS_ALLOW_METHODS = ['GET', 'POST', 'PUT', 'DELETE'] as const;

/** How long a browser may cache a preflight answer, in seconds. */
export const CORS_MAX_AGE_SECONDS = 600;

/** The origins allowed unless a deployment names its own (`corsAllowOrigins` context): any page. */
export const DEFAULT_CORS_ALLOW_ORIGINS: readonly string[] = ['*'];

/** What is wrong with a list of allowed origins; empty when each is `*` or an `https://` (or loopback `http://`) origin without a path. */
export function corsOriginProblems(origins: readonly string[]): string[] {
  if (origins.length === 0) return ['corsAllowOrigins must name at least one origin, or "*"'];
  return origins.flatMap((origin) => {
    if (origin === '*') return origins.length === 1 ? [] : ['"*" must be the only origin when given'];
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return [`${JSON.stringify(origin)} is not an origin (scheme://host[:port])`];
    }
    if (url.origin !== origin) return [`${JSON.stringify(origin)} is not an origin: write ${JSON.stringify(url.origin)} (no path, no trailing slash)`];
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && /^(localhost|127\.0\.0\.1|\[::1\])$/.test(url.hostname))) {
      return [`${JSON.stringify(origin)} must be https (http only for localhost)`];
    }
    return [];
  });
}
