import { createKeyBody, rotateKeyBody } from '../../contracts/account-request-schemas';
import '../../contracts/zod-locale';
import { validBody } from '../admin/admin-request-schemas';
import { AccountCaller, OwnKeyError, OwnKeys } from '../accounts/own-keys';
import { RouteLogic, RouteRequest, RouteResponse, pathParameter } from '../http/metered-route';
import { AuditLog } from '../admin/audit-log';
import { meteredRoute } from '../http/metered-route';
import { HttpError, parseJsonBody } from '../http/responses';
import type { MeteredApiDependencies } from '../runtime/dependencies';
import { adminHttpError } from './admin-route';

/** What the account routes ask of the domain: the operations of {@link OwnKeys}. */
export type AccountOperations = Pick<OwnKeys, 'me' | 'list' | 'create' | 'rotate' | 'revoke'>;

/** The answer to each refusal of the account's own keys: not the owner, no such key (of the caller's tenant), or a clash with the key's state. */
const OWN_KEY_REFUSAL_STATUS: Readonly<Record<OwnKeyError['code'], 403 | 404 | 409>> = {
  'not-tenant-owner': 403,
  'key-not-found': 404,
  'too-many-keys': 409,
  'key-revoked': 409,
  'key-blocked': 409,
  'key-rotated': 409,
};

/**
 * The HTTP answer to the account routes' domain errors (`{ error: code, message }`): their own,
 * and those of the body checks and the credential store as the admin routes answer them
 * ({@link adminHttpError}: a body of the wrong form 400, `concurrent-change` 409, ...).
 */
export function accountHttpError(error: unknown): unknown {
  if (error instanceof OwnKeyError) return new HttpError(OWN_KEY_REFUSAL_STATUS[error.code], error.code, error.message);
  return adminHttpError(error);
}

/**
 * GET /v1/auth/me and /v1/keys (BUILT_IN_ROUTES, handler `account`): a signed-in account's own
 * tenant and keys. The metered route wrapper has already checked the access (`account`: an
 * account's access token with the account scope); the tenant and the account are the principal's,
 * which the authorizer took from the verified token and the credentials table, never the request.
 */
export function accountRoute(keys: AccountOperations): RouteLogic {
  return async (request) => {
    try {
      return await answer(keys, request);
    } catch (error) {
      throw accountHttpError(error);
    }
  };
}

async function answer(keys: AccountOperations, { event, principal }: RouteRequest): Promise<RouteResponse> {
  if (principal.kind !== 'tenant' || principal.via !== 'account') throw new HttpError(403, 'forbidden', 'This route is for a signed-in account: send its access token.');
  const caller: AccountCaller = { tenantId: principal.tenantId, subject: principal.subject };
  switch (event.routeKey) {
    case 'GET /v1/auth/me':
      return { statusCode: 200, body: await keys.me(caller) };
    case 'GET /v1/keys':
      return { statusCode: 200, body: { items: await keys.list(caller) } };
    case 'POST /v1/keys': {
      const { name } = validBody(createKeyBody, parseJsonBody(event.body, event.isBase64Encoded));
      return { statusCode: 201, body: await keys.create(caller, name) };
    }
    case 'POST /v1/keys/{keyId}/rotate': {
      // Every field has a default: no body at all is `{}`, a grace of DEFAULT_ROTATION_GRACE_SECONDS.
      const body = event.body === undefined || event.body === '' ? {} : parseJsonBody(event.body, event.isBase64Encoded);
      const { graceSeconds } = validBody(rotateKeyBody, body);
      return { statusCode: 201, body: await keys.rotate(caller, pathParameter(event, 'keyId'), graceSeconds) };
    }
    case 'POST /v1/keys/{keyId}/revoke':
      return { statusCode: 200, body: await keys.revoke(caller, pathParameter(event, 'keyId')) };
    default:
      throw new HttpError(404, 'not-found', `No account route ${event.routeKey}.`);
  }
}

/**
 * The `account` handler (BUILT_IN_ROUTES): a signed-in account's own tenant and keys, each change
 * audited in the transaction that makes it. Composed here rather than in the registry, so that the
 * other functions' bundles hold none of its schemas.
 */
export const createAccountHandler = (deps: Pick<MeteredApiDependencies, 'config' | 'routeOptions' | 'track' | 'store' | 'dynamodb'>) =>
  deps.track(meteredRoute(accountRoute(new OwnKeys(deps.store, new AuditLog(deps.dynamodb, deps.config.tables.audit))), deps.routeOptions('account')));
