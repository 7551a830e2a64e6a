import { TOKEN_TTL_SECONDS } from '../../contracts/metered-api';
import { InvalidAdminInput } from '../admin/admin-errors';
import { AdminService } from '../admin/admin-service';
import { CredentialStoreError } from '../credentials/credential-store';
import { RouteLogic, RouteRequest, RouteResponse, pathParameter } from '../http/metered-route';
import { HttpError, parseJsonBody } from '../http/responses';

/** What the admin routes ask of the admin service: its public operations. */
export type AdminOperations = Pick<AdminService, keyof AdminService>;

/** The answer to each refusal of the credential store: the request is wrong, names nothing there, or clashes with its state. */
const STORE_REFUSAL_STATUS: Readonly<Record<CredentialStoreError['code'], 400 | 404 | 409>> = {
  'tenant-exists': 409,
  'key-revoked': 409,
  'external-identity-mapped': 409,
  'concurrent-change': 409,
  'invalid-tenant-id': 400,
  'reserved-tenant-id': 400,
  'tenant-not-found': 404,
  'key-not-found': 404,
};

/** The HTTP answer to the admin service's domain errors (`{ error: code, message }`); any other error is left as it is. */
export function adminHttpError(error: unknown): unknown {
  if (error instanceof InvalidAdminInput) return new HttpError(400, error.code, error.message);
  if (error instanceof CredentialStoreError) return new HttpError(STORE_REFUSAL_STATUS[error.code], error.code, error.message);
  return error;
}

/** The admin routes: tenants, keys, tiers, blocks, audit log. Every change is audited. */
export function adminRoute(admin: AdminOperations): RouteLogic {
  return async (request) => {
    try {
      return await answer(admin, request);
    } catch (error) {
      throw adminHttpError(error);
    }
  };
}

async function answer(admin: AdminOperations, { event, principal }: RouteRequest): Promise<RouteResponse> {
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
    case 'GET /v1/admin/audit':
      return { statusCode: 200, body: { items: await admin.recentAudit(auditLimit(event.queryStringParameters?.limit)) } };
    default:
      throw new HttpError(404, 'not-found', `No admin route ${event.routeKey}.`);
  }
}

/** `?limit=`: 1 to 500 entries, 50 when not given. */
function auditLimit(parameter: string | undefined): number {
  const limit = Number(parameter ?? 50);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw new HttpError(400, 'invalid-query', 'limit must be a whole number from 1 to 500.');
  return limit;
}
