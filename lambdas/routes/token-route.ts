import { HttpError } from '../http/responses';
import { RouteLogic } from '../http/metered-route';
import { TokenService } from '../tokens/token-service';

/** POST /v1/auth/token: an API key (x-api-key) for a short-lived Bearer token, client-credentials style. */
export function tokenRoute(tokens: TokenService): RouteLogic {
  return async ({ principal, decision }) => {
    if (principal.kind !== 'tenant' || principal.via !== 'api-key' || !principal.keyId) {
      throw new HttpError(403, 'forbidden', 'Tokens are issued for API keys only.');
    }
    const { token, expiresIn } = await tokens.mintTenantToken({ tenantId: principal.tenantId, keyId: principal.keyId, tier: decision?.tier ?? principal.tier ?? 'free' });
    return { statusCode: 200, body: { access_token: token, token_type: 'Bearer', expires_in: expiresIn, scope: principal.scopes.join(' ') } };
  };
}
