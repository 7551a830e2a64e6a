import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import { SCOPES, TENANT_SCOPES, TOKEN_TTL_SECONDS } from '../../contracts/metered-api';
import { TierName, isTierName } from '../../contracts/tiers';

/** Where a signing secret comes from (Secrets Manager in AWS, a file locally); fetched once. */
export type SecretSource = () => Promise<Uint8Array>;

/** An external issuer (e.g. Cognito) whose access tokens the API also accepts, for tenants only. */
export interface ExternalIssuer {
  readonly issuer: string;
  readonly audience: string;
  /** The issuer's JWKS URL, or its keys (tests, pinned keys). */
  readonly jwks: URL | jose.JSONWebKeySet;
  /** @default ['RS256'] */
  readonly algorithms?: readonly string[];
  /** The claim naming the tenant. @default 'tenant_id' */
  readonly tenantClaim?: string;
}

export interface TokenServiceProps {
  /** `iss` of tokens this service mints and accepts. */
  readonly issuer: string;
  /** `aud` of those tokens. */
  readonly audience: string;
  /** HS256 secret of tenant tokens (minted by POST /v1/auth/token). */
  readonly tenantSecret: SecretSource;
  /** HS256 secret of admin tokens, readable by operators only. */
  readonly adminSecret: SecretSource;
  readonly external?: ExternalIssuer;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** Who a verified token speaks for. */
export interface TokenPrincipal {
  readonly kind: 'tenant' | 'admin';
  readonly subject: string;
  readonly tenantId?: string;
  readonly keyId?: string;
  readonly tier?: TierName;
  readonly scopes: readonly string[];
}

/** A token that must not be accepted; the message is for logs, never for the caller. */
export class TokenRejectedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'TokenRejectedError';
  }
}

/** Tokens larger than this are refused before any parsing. */
export const MAX_TOKEN_BYTES = 4096;
const TOKEN_TYPE = 'at+jwt';
const OWN_ALGORITHMS = ['HS256'];
const CLOCK_TOLERANCE_SECONDS = 5;

/**
 * Mints and verifies access tokens with `jose`: an algorithm allow-list per key (no `none`, no
 * HS/RS confusion), `iss`, `aud`, `exp`/`nbf` with 5 s of clock tolerance, and `typ: at+jwt`.
 * Tenant and admin tokens are signed with different secrets, chosen by `kid`, so a tenant
 * credential can never carry the admin scope.
 */
export class TokenService {
  private tenantKey?: Promise<Uint8Array>;
  private adminKey?: Promise<Uint8Array>;
  private readonly externalKeys?: jose.JWTVerifyGetKey;
  private readonly clock: () => number;

  constructor(private readonly props: TokenServiceProps) {
    this.clock = props.clock ?? Date.now;
    if (props.external) {
      this.externalKeys = props.external.jwks instanceof URL ? jose.createRemoteJWKSet(props.external.jwks) : jose.createLocalJWKSet(props.external.jwks);
    }
  }

  /** A short-lived tenant token, the client-credentials exchange of an API key. */
  public async mintTenantToken(claims: { tenantId: string; keyId: string; tier: TierName }): Promise<{ token: string; expiresIn: number }> {
    const token = await this.sign('tenant', await this.tenantSecret(), claims.keyId, { tid: claims.tenantId, tier: claims.tier, scope: TENANT_SCOPES.join(' ') });
    return { token, expiresIn: TOKEN_TTL_SECONDS };
  }

  /** A short-lived admin token; only holders of the admin secret (operators, by IAM) can mint one. */
  public async mintAdminToken(operator: string): Promise<{ token: string; expiresIn: number }> {
    const token = await this.sign('admin', await this.adminSecret(), operator, { scope: SCOPES.admin });
    return { token, expiresIn: TOKEN_TTL_SECONDS };
  }

  /** Verifies a token; throws TokenRejectedError for anything not exactly right. */
  public async verify(token: string): Promise<TokenPrincipal> {
    if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) throw new TokenRejectedError('token too large');
    let header: jose.ProtectedHeaderParameters;
    try {
      header = jose.decodeProtectedHeader(token);
    } catch {
      throw new TokenRejectedError('malformed token');
    }
    try {
      if (header.kid === 'tenant' || header.kid === 'admin') return await this.verifyOwn(token, header.kid);
      if (this.externalKeys && this.props.external) return await this.verifyExternal(token, this.props.external);
    } catch (error) {
      if (error instanceof TokenRejectedError) throw error;
      throw new TokenRejectedError((error as Error).message);
    }
    throw new TokenRejectedError(`unknown key id ${JSON.stringify(header.kid)}`);
  }

  private async verifyOwn(token: string, kid: 'tenant' | 'admin'): Promise<TokenPrincipal> {
    const key = kid === 'tenant' ? await this.tenantSecret() : await this.adminSecret();
    const { payload } = await jose.jwtVerify(token, key, {
      algorithms: OWN_ALGORITHMS,
      issuer: this.props.issuer,
      audience: this.props.audience,
      typ: TOKEN_TYPE,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['exp', 'iat', 'sub', 'jti'],
      currentDate: new Date(this.clock()),
    });
    const scopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter(Boolean) : [];
    if (kid === 'admin') {
      if (!scopes.includes(SCOPES.admin)) throw new TokenRejectedError('admin token without admin scope');
      return { kind: 'admin', subject: payload.sub!, scopes: [SCOPES.admin] };
    }
    if (scopes.includes(SCOPES.admin)) throw new TokenRejectedError('tenant token claiming the admin scope');
    if (typeof payload.tid !== 'string' || payload.tid === '') throw new TokenRejectedError('tenant token without tenant');
    return {
      kind: 'tenant',
      subject: payload.sub!,
      tenantId: payload.tid,
      keyId: payload.sub,
      tier: isTierName(payload.tier) ? payload.tier : undefined,
      scopes: scopes.filter((scope) => TENANT_SCOPES.includes(scope)),
    };
  }

  private async verifyExternal(token: string, external: ExternalIssuer): Promise<TokenPrincipal> {
    const { payload } = await jose.jwtVerify(token, this.externalKeys!, {
      algorithms: [...(external.algorithms ?? ['RS256'])],
      issuer: external.issuer,
      audience: external.audience,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['exp', 'sub'],
      currentDate: new Date(this.clock()),
    });
    const tenantId = payload[external.tenantClaim ?? 'tenant_id'];
    if (typeof tenantId !== 'string' || tenantId === '') throw new TokenRejectedError('external token without tenant claim');
    // External tokens serve tenants only: whatever they claim, never the admin scope.
    return { kind: 'tenant', subject: payload.sub!, tenantId, scopes: [...TENANT_SCOPES] };
  }

  private async sign(kid: 'tenant' | 'admin', key: Uint8Array, subject: string, claims: jose.JWTPayload): Promise<string> {
    const now = Math.floor(this.clock() / 1000);
    return new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: TOKEN_TYPE, kid })
      .setIssuer(this.props.issuer)
      .setAudience(this.props.audience)
      .setSubject(subject)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + TOKEN_TTL_SECONDS)
      .sign(key);
  }

  private tenantSecret(): Promise<Uint8Array> {
    this.tenantKey ??= this.props.tenantSecret().then(requireStrongSecret);
    return this.tenantKey;
  }

  private adminSecret(): Promise<Uint8Array> {
    this.adminKey ??= this.props.adminSecret().then(requireStrongSecret);
    return this.adminKey;
  }
}

function requireStrongSecret(secret: Uint8Array): Uint8Array {
  if (secret.byteLength < 32) throw new Error('A token signing secret must be at least 32 bytes (256 bits) for HS256.');
  return secret;
}
