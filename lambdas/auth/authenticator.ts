import { CredentialSource, RouteAccess, SCOPES, TENANT_SCOPES } from '../../contracts/metered-api';
import { TierName } from '../../contracts/tiers';
import { CredentialStore } from '../credentials/credential-store';
import { TokenRejectedError, TokenService } from '../tokens/token-service';

/** Who is calling, as the authorizer passes it on to the routes. */
export interface Principal {
  readonly kind: 'tenant' | 'admin';
  /** The tenant (absent for admins). */
  readonly tenantId?: string;
  /** The API key, or the key a token was minted from. */
  readonly keyId?: string;
  readonly tier?: TierName;
  readonly scopes: readonly string[];
  readonly via: 'api-key' | 'token';
  /** Who acted, for the audit log: the key id or the token subject. */
  readonly subject: string;
}

export type AuthOutcome = { readonly ok: true; readonly principal: Principal } | { readonly ok: false; readonly reason: string };

const refuse = (reason: string): AuthOutcome => ({ ok: false, reason });

/** Finds and checks the caller's credential: a Bearer token, or an API key. Knows nothing of Lambda or HTTP servers. */
export class Authenticator {
  constructor(
    private readonly store: CredentialStore,
    private readonly tokens: TokenService,
  ) {}

  /**
   * @param headers lower-case request headers
   * @param source the header the route takes its credential from (its identity source)
   */
  public async authenticate(headers: Readonly<Record<string, string | undefined>>, source: CredentialSource): Promise<AuthOutcome> {
    if (source === 'x-api-key') {
      const apiKey = headers['x-api-key'];
      return apiKey ? this.byApiKey(apiKey.trim()) : refuse('no x-api-key header');
    }
    const authorization = headers.authorization?.trim();
    if (!authorization) return refuse('no authorization header');
    const [scheme, credential, ...rest] = authorization.split(/\s+/);
    if (!credential || rest.length > 0) return refuse('malformed authorization header');
    if (/^bearer$/i.test(scheme)) return this.byToken(credential);
    if (/^apikey$/i.test(scheme)) return this.byApiKey(credential);
    return refuse(`unsupported authorization scheme ${JSON.stringify(scheme.slice(0, 20))}`);
  }

  private async byToken(token: string): Promise<AuthOutcome> {
    try {
      const verified = await this.tokens.verify(token);
      return { ok: true, principal: { ...verified, via: 'token' } };
    } catch (error) {
      if (error instanceof TokenRejectedError) return refuse(`token rejected: ${error.message}`);
      throw error;
    }
  }

  private async byApiKey(apiKey: string): Promise<AuthOutcome> {
    const key = await this.store.findKey(apiKey);
    if (!key) return refuse('unknown API key');
    if (key.status !== 'active') return refuse(`API key is ${key.status}`);
    if (key.role === 'admin') return { ok: true, principal: { kind: 'admin', keyId: key.keyId, scopes: [SCOPES.admin], via: 'api-key', subject: key.keyId } };
    const tenant = await this.store.getTenant(key.tenantId);
    if (!tenant) return refuse('API key of an unknown tenant');
    if (tenant.blocked) return refuse('tenant is blocked');
    return {
      ok: true,
      principal: { kind: 'tenant', tenantId: tenant.tenantId, keyId: key.keyId, tier: tenant.tier, scopes: [...TENANT_SCOPES], via: 'api-key', subject: key.keyId },
    };
  }
}

/** Whether a principal may call a route: admin routes need the admin scope, tenant routes a tenant. */
export function mayAccess(principal: Principal, access: RouteAccess): boolean {
  if (access === 'admin') return principal.kind === 'admin' && principal.scopes.includes(SCOPES.admin);
  return principal.kind === 'tenant' && principal.tenantId !== undefined && principal.scopes.includes(SCOPES.call);
}

/** The authorizer context API Gateway hands to the routes (flat strings). */
export interface AuthorizerContext {
  readonly kind: 'tenant' | 'admin';
  readonly tenantId: string;
  readonly apiKeyId: string;
  readonly tier: string;
  readonly scopes: string;
  readonly via: 'api-key' | 'token';
  readonly subject: string;
}

export function toAuthorizerContext(principal: Principal): AuthorizerContext {
  return {
    kind: principal.kind,
    tenantId: principal.tenantId ?? '',
    apiKeyId: principal.keyId ?? '',
    tier: principal.tier ?? '',
    scopes: principal.scopes.join(' '),
    via: principal.via,
    subject: principal.subject,
  };
}

export function fromAuthorizerContext(context: Partial<Record<keyof AuthorizerContext, unknown>> | undefined): Principal | undefined {
  if (!context || (context.kind !== 'tenant' && context.kind !== 'admin')) return undefined;
  const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
  const tier = text(context.tier);
  return {
    kind: context.kind,
    tenantId: text(context.tenantId),
    keyId: text(context.apiKeyId),
    tier: tier as TierName | undefined,
    scopes: (text(context.scopes) ?? '').split(' ').filter(Boolean),
    via: context.via === 'token' ? 'token' : 'api-key',
    subject: text(context.subject) ?? 'unknown',
  };
}
