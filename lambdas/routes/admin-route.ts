import { AdminService } from '../admin/admin-service';
import { RouteLogic, pathParameter } from '../http/metered-route';
import { HttpError, parseJsonBody } from '../http/responses';
import { TOKEN_TTL_SECONDS } from '../../contracts/metered-api';

/** The admin routes: tenants, keys, tiers, blocks, audit log. Every change is audited. */
export function adminRoute(admin: AdminService): RouteLogic {
  return async ({ event, principal }) => {
    const actor = principal.subject;
    const body = () => parseJsonBody(event.body, event.isBase64Encoded);
    switch (event.routeKey) {
      case 'POST /v1/admin/tenants':
        return { statusCode: 201, body: await admin.createTenant(actor, body()) };
      case 'GET /v1/admin/tenants':
        return { statusCode: 200, body: { items: await admin.listTenants() } };
      case 'PUT /v1/admin/tenants/{tenantId}/tier':
        return { statusCode: 200, body: await admin.setTier(actor, pathParameter(event, 'tenantId'), body()) };
      case 'POST /v1/admin/tenants/{tenantId}/block':
        return { statusCode: 200, body: await admin.setTenantBlocked(actor, pathParameter(event, 'tenantId'), true) };
      case 'POST /v1/admin/tenants/{tenantId}/unblock':
        return { statusCode: 200, body: await admin.setTenantBlocked(actor, pathParameter(event, 'tenantId'), false) };
      case 'POST /v1/admin/tenants/{tenantId}/keys': {
        const key = await admin.createKey(actor, pathParameter(event, 'tenantId'));
        return { statusCode: 201, body: { ...key, note: 'Store apiKey now: it is shown once and only its hash is kept.' } };
      }
      case 'POST /v1/admin/keys/{keyId}/revoke':
        return { statusCode: 200, body: await admin.setKeyStatus(actor, pathParameter(event, 'keyId'), 'revoked') };
      case 'POST /v1/admin/keys/{keyId}/block':
        return { statusCode: 200, body: await admin.setKeyStatus(actor, pathParameter(event, 'keyId'), 'blocked') };
      case 'POST /v1/admin/keys/{keyId}/unblock':
        return { statusCode: 200, body: await admin.setKeyStatus(actor, pathParameter(event, 'keyId'), 'active') };
      case 'POST /v1/admin/tenants/{tenantId}/external-identities':
        return { statusCode: 201, body: await admin.mapExternalIdentity(actor, pathParameter(event, 'tenantId'), body()) };
      case 'POST /v1/admin/tokens/{tokenId}/revoke':
        return { statusCode: 200, body: await admin.revokeAdminToken(actor, pathParameter(event, 'tokenId'), TOKEN_TTL_SECONDS) };
      case 'GET /v1/admin/audit': {
        const limit = Number(event.queryStringParameters?.limit ?? 50);
        if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new HttpError(400, 'invalid-query', 'limit must be a whole number from 1 to 500.');
        return { statusCode: 200, body: { items: await admin.recentAudit(limit) } };
      }
      default:
        throw new HttpError(404, 'not-found', `No admin route ${event.routeKey}.`);
    }
  };
}
