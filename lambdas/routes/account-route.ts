import { NOTIFICATION_SETTINGS, OptionalNotificationKind, createKeyBody, rotateKeyBody } from '../../contracts/account-request-schemas';
import type { NotificationSettingsResponse } from '../../contracts/api-schemas';
import '../../contracts/zod-locale';
import { validBody } from '../admin/admin-request-schemas';
import { AccountCaller, OwnKeyError, OwnKeys, actorOf } from '../accounts/own-keys';
import type { SelfServiceStore } from '../credentials/self-service-store';
import { RouteLogic, RouteRequest, RouteResponse, pathParameter } from '../http/metered-route';
import { AuditLog } from '../admin/audit-log';
import { meteredRoute } from '../http/metered-route';
import { HttpError, parseJsonBody } from '../http/responses';
import type { MeteredApiDependencies } from '../runtime/dependencies';
import { adminHttpError } from './admin-route';

/** What the account routes ask of the domain: the operations of {@link OwnKeys}, and of {@link OwnNotificationSettings}. */
export type AccountOperations = Pick<OwnKeys, 'me' | 'list' | 'create' | 'rotate' | 'revoke'>;
export type NotificationSettingsOperations = Pick<OwnNotificationSettings, 'settings'>;

/**
 * A signed-in account's notification settings (issue 16, item 3): the kinds of account event its
 * tenant's contact does not want mailed, on the tenant record (NOTIFICATION_SETTINGS.attribute),
 * where the notifier reads them. Only the tenant's owner reads or changes them, as with its keys;
 * each change is one transaction with its audit entry (`notifications.set`, which raises no account event).
 */
export class OwnNotificationSettings {
  constructor(
    private readonly store: SelfServiceStore,
    private readonly audit: AuditLog,
  ) {}

  /**
   * GET /v1/notifications (no `chosen`), or PUT (`chosen`, the new opt-outs; the same list again
   * writes nothing): the kinds opted out of, those one may opt out of, and those always mailed.
   * Refused, as the keys are, unless the caller owns its tenant.
   */
  public async settings(caller: AccountCaller, chosen?: readonly OptionalNotificationKind[]): Promise<NotificationSettingsView> {
    const { ownerSubject, optOuts } = await this.store.notificationSettings(caller.tenantId);
    if (ownerSubject !== caller.subject) throw new OwnKeyError('not-tenant-owner', 'Only the account that registered a tenant manages it.');
    if (chosen !== undefined && chosen.join() !== optOuts.join()) {
      const details = { optOuts: chosen.join(), from: optOuts.join() };
      await this.store.setNotificationOptOuts(caller.tenantId, chosen, this.audit.prepare({ actor: actorOf(caller), action: 'notifications.set', target: caller.tenantId, details }));
    }
    return { optOuts: chosen ?? optOuts, optional: NOTIFICATION_SETTINGS.optional, critical: NOTIFICATION_SETTINGS.critical };
  }
}

/** A NotificationSettingsResponse, its lists read-only. */
export type NotificationSettingsView = { readonly [K in keyof NotificationSettingsResponse]: readonly NotificationSettingsResponse[K][number][] };

/**
 * The opt-outs of a PUT /v1/notifications body, checked as notificationSettingsBody describes it
 * (by hand, see there), in NOTIFICATION_SETTINGS' order without repeats; a 400 names what is wrong.
 */
export function optOutsOf(body: unknown): OptionalNotificationKind[] {
  const optOuts: unknown = typeof body === 'object' && body !== null && Object.keys(body).join() === 'optOuts' ? (body as { optOuts: unknown }).optOuts : undefined;
  const optional: readonly unknown[] = NOTIFICATION_SETTINGS.optional;
  const wrong = Array.isArray(optOuts) ? optOuts.filter((kind) => !optional.includes(kind)) : [body];
  if (wrong.length > 0) throw new HttpError(400, 'invalid-body', `The body must be {"optOuts": [...]} of ${optional.join(', ')}; got ${JSON.stringify(wrong[0]).slice(0, 100)}.`);
  return NOTIFICATION_SETTINGS.optional.filter((kind) => (optOuts as unknown[]).includes(kind));
}

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
 * GET /v1/auth/me, /v1/keys and /v1/notifications (BUILT_IN_ROUTES, handler `account`): a
 * signed-in account's own tenant, keys and notification settings. The metered route wrapper has already checked the access (`account`: an
 * account's access token with the account scope); the tenant and the account are the principal's,
 * which the authorizer took from the verified token and the credentials table, never the request.
 */
export function accountRoute(keys: AccountOperations, notifications: NotificationSettingsOperations): RouteLogic {
  return async (request) => {
    try {
      return await answer(keys, notifications, request);
    } catch (error) {
      throw accountHttpError(error);
    }
  };
}

async function answer(keys: AccountOperations, notifications: NotificationSettingsOperations, { event, principal }: RouteRequest): Promise<RouteResponse> {
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
    case 'GET /v1/notifications':
      return { statusCode: 200, body: await notifications.settings(caller) };
    case 'PUT /v1/notifications':
      return { statusCode: 200, body: await notifications.settings(caller, optOutsOf(parseJsonBody(event.body, event.isBase64Encoded))) };
    default:
      throw new HttpError(404, 'not-found', `No account route ${event.routeKey}.`);
  }
}

/**
 * The `account` handler (BUILT_IN_ROUTES): a signed-in account's own tenant, keys and notification
 * settings, each change audited in the transaction that makes it. Composed here rather than in the
 * registry, so that the other functions' bundles hold none of its schemas.
 */
export function createAccountHandler(deps: Pick<MeteredApiDependencies, 'config' | 'routeOptions' | 'track' | 'store' | 'dynamodb'>) {
  const audit = new AuditLog(deps.dynamodb, deps.config.tables.audit);
  return deps.track(meteredRoute(accountRoute(new OwnKeys(deps.store, audit), new OwnNotificationSettings(deps.store, audit)), deps.routeOptions('account')));
}
