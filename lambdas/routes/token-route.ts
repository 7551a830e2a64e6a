import type { TokenResponse } from '../../contracts/api-schemas';
import { HttpError, JsonResult } from '../http/responses';
import { AuthorizedEvent, MeteredRouteOptions, RouteLogic, meteredRoute } from '../http/metered-route';
import { sourceIpGate } from '../limiter/source-ip-gate';
import type { SourceIpGuard } from '../limiter/source-ip-guard';
import { TokenService } from '../tokens/token-service';

/** POST /v1/auth/token: an API key (x-api-key) for a short-lived Bearer token, client-credentials style. */
export function tokenRoute(tokens: TokenService): RouteLogic {
  return async ({ principal, decision }) => {
    if (principal.kind !== 'tenant' || principal.via !== 'api-key' || !principal.keyId) {
      throw new HttpError(403, 'forbidden', 'Tokens are issued for API keys only.');
    }
    const { token, expiresIn } = await tokens.mintTenantToken({ tenantId: principal.tenantId, keyId: principal.keyId, tier: decision?.tier ?? principal.tier ?? 'free' });
    return { statusCode: 200, body: { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: principal.scopes.join(' ') } satisfies TokenResponse };
  };
}

/** The source IP policy's name and refusal headers, now shared by every guarded route (lambdas/limiter/source-ip-gate.ts). */
export { SOURCE_IP_POLICY_NAME, sourceIpHeaders } from '../limiter/source-ip-gate';

/**
 * The token exchange: the source IP guard decides first, before anything looks at the credential
 * (the route's `meteredRoute`, then {@link tokenRoute}), so that its refusal is the same whatever
 * the credential (`sourceIpGate`, lambdas/limiter/source-ip-gate.ts).
 *
 * When the guard's table does not answer, the exchange goes on without it (fails open): the
 * authorizer has verified the key before this route runs, and the route's own limiter applies the
 * tenant tier's fail mode; a DynamoDB hiccup must not stop every exchange.
 */
export function tokenExchange(
  tokens: TokenService,
  options: MeteredRouteOptions,
  guard: SourceIpGuard,
  clock: () => number = guard.clock,
): (event: AuthorizedEvent) => Promise<JsonResult> {
  return sourceIpGate(meteredRoute(tokenRoute(tokens), options), guard, { logger: options.logger, metrics: options.metrics, whenStoreUnavailable: 'admit', clock });
}
