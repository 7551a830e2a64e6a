import * as jose from 'jose';
import { ACCOUNT_SCOPES, API_KEY_HEADER, CredentialSource, METERED_API_SERVICE, RouteAccess, SCOPES, TENANT_SCOPES, TOKEN_CLOCK_TOLERANCE_SECONDS } from '../../contracts/metered-api';
import { RESERVED_TENANT_IDS } from '../../contracts/tenants';
import { AUTHORIZER_CONTEXT_FIELDS, parseAuthorizerContext } from '../../contracts/authorizer-context';
import { TierName, isTierName } from '../../contracts/tiers';
import { KEY_LAST_USED_RESOLUTION_SECONDS } from '../../contracts/accounts';
import { Logger } from '@aws-lambda-powertools/logger';
import { CredentialStore, ExternalTenant } from '../credentials/credential-store';
import { ExternalIdentity, TokenRejectedError, TokenService } from '../tokens/token-service';

/**
 * What the authorizer saw of an API key's standing. A hint only, possibly cached: the routes
 * decide from the current state (the limiter item, or the key record on admin routes). The
 * authorizer reads the key's record only (`active` or `key-blocked`) and no tenant, so it never
 * sets `tenant-blocked` itself; a context that says so is still honoured by the routes.
 */
export type CredentialStanding = 'active' | 'key-blocked' | 'tenant-blocked';

/** What every principal carries. */
interface PrincipalBase {
  /** The API key, or the key a token was minted from. */
  readonly keyId?: string;
  readonly scopes: readonly string[];
  /** `account`: a signed-in account's access token (the project's user pool). */
  readonly via: 'api-key' | 'token' | 'account';
  /** Who acted, for the audit log: the key id or the token subject. */
  readonly subject: string;
  /** The API key's standing when the authorizer looked it up (absent for tokens, whose key it does not look up). */
  readonly standing?: CredentialStanding;
}

/** A tenant's credential: always names its tenant. */
export interface TenantPrincipal extends PrincipalBase {
  readonly kind: 'tenant';
  readonly tenantId: string;
  /**
   * The tier the credential names: a tenant token's claim, or the hint an API key's record or an
   * external identity's mapping carries. The limiter's first write names it; the tier stored on
   * the limiter item decides, so a stale one costs a second write, never a wrong decision.
   */
  readonly tier?: TierName;
}

/** An admin credential: acts for no tenant. */
export interface AdminPrincipal extends PrincipalBase {
  readonly kind: 'admin';
}

/** Who is calling, as the authorizer passes it on to the routes. */
export type Principal = TenantPrincipal | AdminPrincipal;

export type AuthOutcome = { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly reason: string };

const refuse = (reason: string): AuthOutcome => ({ ok: false, reason });

let warningLogger: Logger | undefined;

/** The default of {@link Authenticator}'s `warn`: the functions' structured logger, made on first use. */
function logWarning(message: string, details: Record<string, unknown>): void {
  warningLogger ??= new Logger({ serviceName: METERED_API_SERVICE });
  warningLogger.warn(message, details);
}

/** The one refusal of an external token whose identity leads to no tenant, whatever the cause. */
export const EXTERNAL_IDENTITY_REFUSAL = 'token rejected: external identity maps to no tenant';

/** Options of {@link Authenticator.authenticate}. */
export interface AuthenticateOptions {
  /**
   * How long the answer will be reused without asking again (the gateway's cache TTL): a token is
   * accepted only if it is still valid, within the clock tolerance, at the end of that time.
   * @default 0 - the answer serves this request only
   */
  readonly answerHeldForSeconds?: number;
}

/**
 * Finds and checks the caller's credential: a Bearer token, or an API key. Knows nothing of Lambda or HTTP servers.
 *
 * At most one DynamoDB request per credential: a GetItem for an API key (its record, by hash) or an
 * admin token (its revocation entry), one BatchGetItem for an external token (the mappings of its
 * subject and of its app client), none for a tenant token. Nothing is read of a tenant: its tier
 * and blocks live on its limiter item, which the limiter's conditional write checks on every
 * metered request, and which refuses a tenant that has none. The tier the key record or the
 * mapping carries goes on as the limiter's hint.
 */
export class Authenticator {
  constructor(
    private readonly store: CredentialStore,
    private readonly tokens: TokenService,
    private readonly clock: () => number = Date.now,
    /** Where failures that do not decide an authentication are logged (a key's `lastUsedAt` write). */
    private readonly warn: (message: string, details: Record<string, unknown>) => void = logWarning,
  ) {}

  /**
   * @param headers lower-case request headers
   * @param source the header the route takes its credential from (its identity source)
   */
  public async authenticate(headers: Readonly<Record<string, string | undefined>>, source: CredentialSource, options: AuthenticateOptions = {}): Promise<AuthOutcome> {
    if (source === 'x-api-key') {
      const apiKey = headers[API_KEY_HEADER];
      return apiKey ? this.byApiKey(apiKey.trim()) : refuse('no x-api-key header');
    }
    const authorization = headers.authorization?.trim();
    if (!authorization) return refuse('no authorization header');
    const [scheme, credential, ...rest] = authorization.split(/\s+/);
    if (!credential || rest.length > 0) return refuse('malformed authorization header');
    if (/^bearer$/i.test(scheme)) return this.byToken(credential, options.answerHeldForSeconds ?? 0);
    if (/^apikey$/i.test(scheme)) return this.byApiKey(credential);
    // Reasons are logged: no part of the header, which may hold a credential sent without its scheme.
    return refuse('unsupported authorization scheme');
  }

  private async byToken(token: string, answerHeldForSeconds: number): Promise<AuthOutcome> {
    let verified;
    try {
      verified = await this.tokens.verify(token);
    } catch (error) {
      if (error instanceof TokenRejectedError) return refuse(`token rejected: ${error.message}`);
      throw error;
    }
    // A cached allow must not outlive the token: refused now, the token is refused for the rest of its life anyway.
    if (!this.validUntil(token, answerHeldForSeconds)) return refuse('token rejected: expires before a cached answer would');
    if (verified.kind === 'external') return this.byExternalIdentity(verified.external);
    if (verified.kind === 'account') return this.byAccount(verified.external);
    if (verified.kind === 'admin') {
      if (await this.store.isAdminTokenRevoked(verified.tokenId)) return refuse('token rejected: admin token revoked');
      return { ok: true, principal: { kind: 'admin', scopes: verified.scopes, via: 'token', subject: verified.subject } };
    }
    const { tenantId, keyId, tier, scopes, subject } = verified;
    return { ok: true, principal: { kind: 'tenant', tenantId, keyId, tier, scopes, via: 'token', subject } };
  }

  /** Whether a verified token is still valid (`exp` plus the clock tolerance) in `seconds` from now. */
  private validUntil(token: string, seconds: number): boolean {
    const { exp } = jose.decodeJwt(token);
    return typeof exp === 'number' && this.clock() / 1000 + seconds <= exp + TOKEN_CLOCK_TOLERANCE_SECONDS;
  }

  /**
   * The tenant of an external token comes from the credentials table, never from a claim. Its
   * tenant is not read: a mapping is written only for a tenant that exists, in the same
   * transaction as a check of it, and tenants are never deleted. A tenant without a limiter item
   * all the same is refused by the route exactly as this refusal reads at the gateway
   * (`{"message":"Forbidden"}`), so a caller cannot tell a dangling mapping from none.
   */
  private async byExternalIdentity(identity: ExternalIdentity): Promise<AuthOutcome> {
    const mapped = await this.store.findExternalTenant(identity);
    if (!mapped) return refuse(EXTERNAL_IDENTITY_REFUSAL);
    return mappedPrincipal(mapped, { scopes: TENANT_SCOPES, via: 'token', subject: `${identity.issuer}|${identity.subject}` });
  }

  /**
   * A signed-in account: its tenant is the one its registration created, found by the pool's
   * verified `sub` in the credentials table (the mapping registration wrote), never a claim. It
   * carries the account scope, which lets it manage that tenant's keys; no key, and no token
   * minted from a key, ever does.
   */
  private async byAccount(identity: ExternalIdentity): Promise<AuthOutcome> {
    const mapped = await this.store.findExternalTenant(identity, { bySubjectOnly: true });
    if (!mapped) return refuse('token rejected: account has no tenant');
    return mappedPrincipal(mapped, { scopes: ACCOUNT_SCOPES, via: 'account', subject: identity.subject });
  }

  /**
   * A blocked key, or a key of a blocked tenant, is authenticated all the same: API Gateway caches
   * the authorizer's answer per credential, so refusing here would outlast an unblock by up to the
   * cache TTL, and only as `{"message":"Forbidden"}`. The routes refuse it instead, from the state
   * of that very request, with a JSON body saying why. A revoked key is refused here: revocation is
   * final, so a cached refusal is never wrong. So is a rotated key from its `expiresAt` on (the end
   * of the grace its owner chose, issue 15): expiry is final too. API Gateway caches an ALLOW for
   * the authorizer's TTL (AUTHORIZER_CACHE_TTL_BY_ACCESS, 5 s for tenant routes;
   * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html#http-api-lambda-authorizer.caching),
   * so a key allowed just before its `expiresAt` may still pass for up to that long after it.
   *
   * One read, the key's record: its tenant's tier and blocks are on the limiter item, which the
   * limiter's write checks on every metered request. The record's tier hint tells the limiter
   * which tier to name in that write. A tenant key is created only for a tenant that exists, and
   * tenants are never deleted. When the record's `lastUsedAt` is missing or older than
   * KEY_LAST_USED_RESOLUTION_SECONDS, one conditional write records this use ({@link recordUse}).
   */
  private async byApiKey(apiKey: string): Promise<AuthOutcome> {
    const key = await this.store.findKey(apiKey);
    if (!key) return refuse('unknown API key');
    if (key.status === 'revoked') return refuse('API key is revoked');
    if (key.expiresAt !== undefined && !(Date.parse(key.expiresAt) > this.clock())) return refuse('API key expired after its rotation');
    if (key.lastUsedAt === undefined || !(Date.parse(key.lastUsedAt) >= this.clock() - KEY_LAST_USED_RESOLUTION_SECONDS * 1000)) await this.recordUse(apiKey, key.keyId);
    const standing: CredentialStanding = key.status === 'blocked' ? 'key-blocked' : 'active';
    const common = { keyId: key.keyId, via: 'api-key', subject: key.keyId, standing } as const;
    if (key.role === 'admin') return { ok: true, principal: { kind: 'admin', scopes: [SCOPES.admin], ...common } };
    return { ok: true, principal: { kind: 'tenant', tenantId: key.tenantId, ...(key.tierHint === undefined ? {} : { tier: key.tierHint }), scopes: [...TENANT_SCOPES], ...common } };
  }

  /**
   * Records that a key was used now (CredentialStore.touchLastUsed: one conditional UpdateItem of
   * its by-hash record's `lastUsedAt`, which concurrent authorizers write once). A bookkeeping
   * write: when it fails, the key is authenticated all the same and the failure is logged.
   */
  private async recordUse(apiKey: string, keyId: string): Promise<void> {
    try {
      await this.store.touchLastUsed(apiKey);
    } catch (error) {
      this.warn('could not record when an API key was last used; authenticated all the same', { keyId, error });
    }
  }
}

/** The tenant principal of an identity the credentials table maps to a tenant (with the tier hint the mapping carries). */
function mappedPrincipal(mapped: ExternalTenant, as: { readonly scopes: readonly string[]; readonly via: 'token' | 'account'; readonly subject: string }): AuthOutcome {
  const tier = mapped.tierHint === undefined ? {} : { tier: mapped.tierHint };
  return { ok: true, principal: { kind: 'tenant', tenantId: mapped.tenantId, ...tier, scopes: [...as.scopes], via: as.via, subject: as.subject } };
}

/**
 * Whether a principal may call a route: admin routes need the admin scope, account routes a
 * signed-in account (its token, with the account scope), tenant routes a tenant.
 */
export function mayAccess(principal: Principal, access: RouteAccess): boolean {
  if (access === 'admin') return principal.kind === 'admin' && principal.scopes.includes(SCOPES.admin);
  if (access === 'account') return principal.kind === 'tenant' && principal.via === 'account' && principal.scopes.includes(SCOPES.account);
  return principal.kind === 'tenant' && principal.scopes.includes(SCOPES.call);
}

/**
 * The authorizer context API Gateway hands to the routes (flat strings, named by
 * {@link AUTHORIZER_CONTEXT_FIELDS}), and writes to the access log as `$context.authorizer.<name>`.
 * Admins carry the reserved tenant id `operator`, so that whatever records their requests (the
 * routes, the access log) attributes them to no tenant.
 */
export interface AuthorizerContext {
  readonly kind: Principal['kind'];
  readonly tenantId: string;
  readonly apiKeyId: string;
  readonly tier: string;
  readonly scopes: string;
  readonly via: Principal['via'];
  readonly subject: string;
  /** {@link CredentialStanding}, or '' when not looked up. */
  readonly standing: string;
}

export function toAuthorizerContext(principal: Principal): AuthorizerContext {
  const F = AUTHORIZER_CONTEXT_FIELDS;
  return {
    [F.kind]: principal.kind,
    [F.tenantId]: principal.kind === 'admin' ? RESERVED_TENANT_IDS.operator : principal.tenantId,
    [F.apiKeyId]: principal.keyId ?? '',
    [F.tier]: (principal.kind === 'tenant' ? principal.tier : undefined) ?? '',
    [F.scopes]: principal.scopes.join(' '),
    [F.via]: principal.via,
    [F.subject]: principal.subject,
    [F.standing]: principal.standing ?? '',
  };
}

const isStanding = (value: unknown): value is CredentialStanding => value === 'active' || value === 'key-blocked' || value === 'tenant-blocked';

/**
 * The principal an authorizer context (as {@link parseAuthorizerContext} reads it) stands for;
 * undefined when it names no kind, or a tenant without its tenant id.
 */
export function fromAuthorizerContext(context: unknown): Principal | undefined {
  const values = parseAuthorizerContext(context);
  if (!values) return undefined;
  const common = {
    ...(values.apiKeyId !== undefined ? { keyId: values.apiKeyId } : {}),
    scopes: (values.scopes ?? '').split(' ').filter(Boolean),
    via: values.via === 'token' || values.via === 'account' ? values.via : 'api-key',
    subject: values.subject ?? 'unknown',
    ...(isStanding(values.standing) ? { standing: values.standing } : {}),
  } as const;
  // An admin acts for no tenant: the context's `operator` is for the records, not a tenant to meter.
  if (values.kind === 'admin') return { kind: 'admin', ...common };
  if (values.kind !== 'tenant' || values.tenantId === undefined) return undefined;
  return { kind: 'tenant', tenantId: values.tenantId, ...(isTierName(values.tier) ? { tier: values.tier } : {}), ...common };
}
