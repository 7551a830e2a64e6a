import { KeyObject, randomUUID } from 'node:crypto';
import * as jose from 'jose';
import { SCOPES, TENANT_SCOPES, TOKEN_CLOCK_TOLERANCE_SECONDS, TOKEN_TTL_SECONDS } from '../../contracts/metered-api';
import { TierName, isTierName } from '../../contracts/tiers';
import { externalIssuerProblems } from '../../contracts/external-issuer';
import { AdminTokenSigner, derToJoseSignature } from './admin-token-signer';

/** Where a signing secret comes from (Secrets Manager in AWS, a file locally); fetched once. */
export type SecretSource = () => Promise<Uint8Array>;

/**
 * An external issuer (e.g. a Cognito user pool) whose access tokens tenants may use. The token
 * proves who the caller is at that issuer; which tenant that is, the credentials table says (see
 * CredentialStore.findExternalTenant), never a claim.
 *
 * Cognito access tokens carry `token_use: "access"` and the app client in `client_id`, and have no
 * `aud` (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html,
 * https://docs.aws.amazon.com/verifiedpermissions/latest/userguide/cognito-validation.html), so the
 * client allow-list takes the place of an audience check, and ID tokens are refused.
 */
export interface ExternalIssuer {
  readonly issuer: string;
  /** App clients whose access tokens are accepted (`client_id`); at least one. */
  readonly clientIds: readonly string[];
  /** The issuer's JWKS URL (https only), or its keys (tests, pinned keys). */
  readonly jwks: URL | jose.JSONWebKeySet;
  /** @default ['RS256'] */
  readonly algorithms?: readonly string[];
}

/** Who an external token speaks for at its issuer: what the credentials table maps to a tenant. */
export interface ExternalIdentity {
  readonly issuer: string;
  readonly subject: string;
  readonly clientId: string;
}

/** Thrown when an external issuer cannot be used as configured; says what to change. */
export class ExternalIssuerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExternalIssuerConfigError';
  }
}

export interface TokenServiceProps {
  /** `iss` of tokens this service mints and accepts. */
  readonly issuer: string;
  /** `aud` of those tokens. */
  readonly audience: string;
  /** HS256 secret of tenant tokens (minted by POST /v1/auth/token). */
  readonly tenantSecret: SecretSource;
  /**
   * Signs (mint function) and verifies (authorizer) admin tokens, ES256: the authorizer holds the
   * public key only, so nothing it can read mints an admin token.
   */
  readonly adminSigner: AdminTokenSigner;
  readonly external?: ExternalIssuer;
  /**
   * The project's own user pool (consumer accounts, issue 15): its access tokens speak for the
   * account whose `sub` the credentials table maps to the tenant registration created, and carry
   * the account scope (managing that tenant's keys), which no other credential does.
   */
  readonly accounts?: ExternalIssuer;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** Who a verified token speaks for; `external` tokens still need their tenant looked up. */
export type TokenPrincipal =
  | {
      readonly kind: 'tenant';
      readonly subject: string;
      readonly tenantId: string;
      /** The key the token was minted from (its subject). */
      readonly keyId: string;
      readonly tier?: TierName;
      readonly scopes: readonly string[];
    }
  | {
      readonly kind: 'admin';
      readonly subject: string;
      readonly scopes: readonly string[];
      /** The token's `jti`, by which it can be revoked. */
      readonly tokenId: string;
    }
  | IssuedElsewhere<'external'>
  | IssuedElsewhere<'account'>;

/** A token of another issuer: `external`, an accepted external issuer's; `account`, the project's own user pool's. */
interface IssuedElsewhere<Kind extends 'external' | 'account'> {
  readonly kind: Kind;
  readonly subject: string;
  readonly scopes: readonly string[];
  readonly tokenId?: string;
  /** The identity to map to a tenant. */
  readonly external: ExternalIdentity;
}

/** A token that must not be accepted; the message is for logs, never for the caller. */
export class TokenRejectedError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'TokenRejectedError';
  }
}

/** The keys of an issuer (its JWKS, fetched and cached by `jose`, or pinned); throws when its configuration is unusable. */
function keysOf(issuer: ExternalIssuer): jose.JWTVerifyGetKey {
  const { jwks } = issuer;
  const problems = externalIssuerProblems({ ...issuer, jwksUrl: jwks instanceof URL ? jwks.href : undefined });
  if (problems.length > 0) throw new ExternalIssuerConfigError(`${problems.join('; ')}.`);
  return jwks instanceof URL ? jose.createRemoteJWKSet(jwks) : jose.createLocalJWKSet(jwks);
}

/** The `iss` a token claims, before anything is verified: only to choose which issuer's keys verify it. */
function unverifiedIssuer(token: string): string | undefined {
  try {
    const { iss } = jose.decodeJwt(token);
    return iss;
  } catch {
    return undefined;
  }
}

/** Tokens larger than this are refused before any parsing. */
const MAX_TOKEN_BYTES = 4096;
const TOKEN_TYPE = 'at+jwt';
const OWN_ALGORITHMS = ['HS256'];
const ADMIN_ALGORITHMS = ['ES256'];
// Shared with the authorizer, which keeps cached answers within it.
const CLOCK_TOLERANCE_SECONDS = TOKEN_CLOCK_TOLERANCE_SECONDS;

/**
 * Mints and verifies access tokens with `jose`: an algorithm allow-list per key (no `none`, no
 * HS/RS confusion), `iss`, `aud`, `exp`/`nbf` with 5 s of clock tolerance, and `typ: at+jwt`.
 * Tenant tokens are HS256 and admin tokens ES256 (an asymmetric key the verifier cannot sign
 * with), chosen by `kid` with one algorithm each, so a tenant credential can never carry the admin scope.
 */
export class TokenService {
  private tenantKey?: Promise<Uint8Array>;
  private adminKey?: Promise<KeyObject>;
  private readonly externalKeys?: jose.JWTVerifyGetKey;
  private readonly accountKeys?: jose.JWTVerifyGetKey;
  private readonly clock: () => number;

  constructor(private readonly props: TokenServiceProps) {
    this.clock = props.clock ?? Date.now;
    if (props.external) this.externalKeys = keysOf(props.external);
    if (props.accounts) this.accountKeys = keysOf(props.accounts);
  }

  /** A short-lived tenant token, the client-credentials exchange of an API key. */
  public async mintTenantToken(claims: { tenantId: string; keyId: string; tier: TierName }): Promise<{ token: string; expiresIn: number }> {
    const token = await this.sign('tenant', await this.tenantSecret(), claims.keyId, { tid: claims.tenantId, tier: claims.tier, scope: TENANT_SCOPES.join(' ') });
    return { token, expiresIn: TOKEN_TTL_SECONDS };
  }

  /**
   * A short-lived admin token for an IAM principal, whose ARN becomes its subject and so the audit
   * actor. Only the mint route calls this, with the ARN API Gateway verified (IAM authorization).
   */
  public async mintAdminToken(principalArn: string): Promise<{ token: string; tokenId: string; expiresIn: number; expiresAt: number }> {
    const now = Math.floor(this.clock() / 1000);
    const tokenId = randomUUID();
    const header = { alg: 'ES256', typ: TOKEN_TYPE, kid: 'admin' };
    const claims = { iss: this.props.issuer, aud: this.props.audience, sub: principalArn, jti: tokenId, iat: now, nbf: now, exp: now + TOKEN_TTL_SECONDS, scope: SCOPES.admin };
    const signingInput = `${jose.base64url.encode(JSON.stringify(header))}.${jose.base64url.encode(JSON.stringify(claims))}`;
    // KMS and the local signer answer DER; JWS ES256 wants r||s (RFC 7518 section 3.4).
    const signature = derToJoseSignature(await this.props.adminSigner.signDer(new TextEncoder().encode(signingInput)));
    return { token: `${signingInput}.${jose.base64url.encode(signature)}`, tokenId, expiresIn: TOKEN_TTL_SECONDS, expiresAt: now + TOKEN_TTL_SECONDS };
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
      // The pool and an external issuer both sign with keys of their own (by `kid`); which one to
      // verify against is chosen by the unverified `iss`, which the verification then checks.
      if (this.accountKeys && this.props.accounts && unverifiedIssuer(token) === this.props.accounts.issuer) {
        return { ...(await this.verifyExternal(token, this.props.accounts, this.accountKeys)), kind: 'account' };
      }
      if (this.externalKeys && this.props.external) return await this.verifyExternal(token, this.props.external, this.externalKeys);
    } catch (error) {
      if (error instanceof TokenRejectedError) throw error;
      throw new TokenRejectedError((error as Error).message);
    }
    throw new TokenRejectedError(`unknown key id ${JSON.stringify(header.kid)}`);
  }

  private async verifyOwn(token: string, kid: 'tenant' | 'admin'): Promise<TokenPrincipal> {
    const key = kid === 'tenant' ? await this.tenantSecret() : await this.adminPublicKey();
    const { payload } = await jose.jwtVerify(token, key, {
      algorithms: kid === 'tenant' ? OWN_ALGORITHMS : ADMIN_ALGORITHMS,
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
      return { kind: 'admin', subject: requiredText(payload.sub, 'sub'), scopes: [SCOPES.admin], tokenId: requiredText(payload.jti, 'jti') };
    }
    if (scopes.includes(SCOPES.admin)) throw new TokenRejectedError('tenant token claiming the admin scope');
    if (typeof payload.tid !== 'string' || payload.tid === '') throw new TokenRejectedError('tenant token without tenant');
    const subject = requiredText(payload.sub, 'sub');
    return {
      kind: 'tenant',
      subject,
      tenantId: payload.tid,
      keyId: subject,
      tier: isTierName(payload.tier) ? payload.tier : undefined,
      scopes: scopes.filter((scope) => TENANT_SCOPES.includes(scope)),
    };
  }

  private async verifyExternal(token: string, external: ExternalIssuer, keys: jose.JWTVerifyGetKey): Promise<IssuedElsewhere<'external'>> {
    const { payload } = await jose.jwtVerify(token, keys, {
      algorithms: [...(external.algorithms ?? ['RS256'])],
      issuer: external.issuer,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['exp', 'sub', 'token_use', 'client_id'],
      currentDate: new Date(this.clock()),
    });
    // ID tokens (token_use "id") prove a sign-in to a client, not a grant to call this API.
    if (payload.token_use !== 'access') throw new TokenRejectedError('external token is not an access token');
    if (typeof payload.client_id !== 'string' || !external.clientIds.includes(payload.client_id)) throw new TokenRejectedError('external token of a client not on the allow-list');
    // No tenant, tier or scope from the token: the authenticator maps the identity to a tenant.
    const subject = requiredText(payload.sub, 'sub');
    return { kind: 'external', subject, scopes: [], tokenId: payload.jti, external: { issuer: external.issuer, subject, clientId: payload.client_id } };
  }

  private async sign(kid: 'tenant', key: Uint8Array, subject: string, claims: jose.JWTPayload): Promise<string> {
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

  /** Fetched once; a failed fetch is forgotten, so the next token tries again (one error must not poison the container). */
  private tenantSecret(): Promise<Uint8Array> {
    this.tenantKey ??= this.props.tenantSecret().then(requireStrongSecret).catch((error: unknown) => {
      this.tenantKey = undefined;
      throw error;
    });
    return this.tenantKey;
  }

  /** Fetched once; a failed fetch is forgotten, so the next token tries again. */
  private adminPublicKey(): Promise<KeyObject> {
    this.adminKey ??= this.props.adminSigner.publicKey().catch((error: unknown) => {
      this.adminKey = undefined;
      throw error;
    });
    return this.adminKey;
  }
}

/** A claim `requiredClaims` made sure of, as the string it must be. */
function requiredText(value: unknown, claim: string): string {
  if (typeof value !== 'string' || value === '') throw new TokenRejectedError(`token without a ${claim} string`);
  return value;
}

function requireStrongSecret(secret: Uint8Array): Uint8Array {
  if (secret.byteLength < 32) throw new Error('A token signing secret must be at least 32 bytes (256 bits) for HS256.');
  return secret;
}
