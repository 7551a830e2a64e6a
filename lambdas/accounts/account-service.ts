import type { Logger } from '@aws-lambda-powertools/logger';
import { ACCOUNT_TOKEN_VALIDITY, passwordProblems } from '../../contracts/accounts';
import type { AccountTokensResponse, ConfirmResponse, LogoutResponse, RegisterResponse } from '../../contracts/api-schemas';
import type { AuditLog } from '../admin/audit-log';
import { CredentialStoreError, TenantOwner, generateTenantId } from '../credentials/credential-store';
import type { SelfServiceStore } from '../credentials/self-service-store';
import { CognitoAccounts, CognitoRefusal, CognitoTokens, CognitoUnavailable } from './cognito-accounts';

/** Why an account request was refused; the route answers each with its status (auth-route.ts). */
export type AccountErrorCode = 'invalid-password' | 'invalid-body' | 'invalid-code' | 'invalid-credentials' | 'account-not-confirmed' | 'password-reset-required' | 'accounts-unavailable';

/** A refusal of an account request, its message safe to show (it never says whether an address has an account). */
export class AccountError extends Error {
  constructor(
    public readonly code: AccountErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AccountError';
  }
}

/** Seconds a caller waits after `accounts-unavailable` (Cognito throttled, failed or was not reached). */
export const ACCOUNTS_RETRY_AFTER_SECONDS = 5;

/**
 * The answer to every registration that passes the password policy, whether the address is new or
 * already has an account: byte for byte the same, so that it tells no one which addresses do.
 */
export const REGISTERED: RegisterResponse = {
  status: 'verification-sent',
  message: 'If the address can be registered, a 6-digit code is on its way to it: confirm with POST /v1/auth/confirm, then sign in with POST /v1/auth/login.',
};

const INVALID_CODE = 'The address and code do not match a registration waiting for confirmation, or the code has expired.';
const INVALID_CREDENTIALS = 'The email address or password is wrong.';
const INVALID_REFRESH_TOKEN = 'The refresh token is not valid: it expired, was revoked, or was never issued. Sign in again.';
const UNAVAILABLE = 'The account service is temporarily unavailable; retry shortly.';

/** The user pool the accounts live in, as the authorizer knows it (RuntimeConfig.accounts). */
export interface AccountPool {
  /** The pool's issuer (`iss`): the subject mappings are keyed by it. */
  readonly issuer: string;
}

export interface AccountServiceProps {
  readonly cognito: CognitoAccounts;
  readonly store: Pick<SelfServiceStore, 'createOwnedTenant' | 'findExternalTenant'>;
  readonly audit: Pick<AuditLog, 'prepare'>;
  readonly pool: AccountPool;
  readonly logger: Pick<Logger, 'error' | 'warn' | 'info'>;
}

/**
 * Self-service accounts (issue 15, item 1): registration, confirmation, sign-in, refresh and
 * sign-out against the user pool, and the free-tier tenant each account owns. Cognito's refusals
 * become answers that never say whether an address has an account (item 3): a registration of a
 * taken address is answered as a new one, a wrong password as an unknown address, every bad code
 * alike. Nothing here logs a password or a token.
 *
 * Addresses are compared in lower case (trimmed): one mailbox, one account, whatever the pool's
 * case sensitivity.
 */
export class AccountService {
  constructor(private readonly props: AccountServiceProps) {}

  /**
   * Registers an account and creates its tenant (free tier, owned by the new user's `sub`). The
   * password policy is checked first, so that a refusal names each rule it misses. A taken address
   * gets {@link REGISTERED} too, and nothing is written; if it is not confirmed yet, a new code is
   * sent ({@link registeredAgain}). A tenant write that fails after SignUp is
   * logged and answered as a success: the first sign-in creates the tenant ({@link login}).
   */
  public async register(input: { readonly email: string; readonly password: string }): Promise<RegisterResponse> {
    const problems = passwordProblems(input.password);
    if (problems.length > 0) throw new AccountError('invalid-password', `password: the password needs ${problems.join(', ')}.`);
    const email = normalizedEmail(input.email);
    let userSub: string;
    try {
      ({ userSub } = await this.props.cognito.signUp({ email, password: input.password }));
    } catch (error) {
      if (error instanceof CognitoRefusal && error.code === 'UsernameExistsException') return this.registeredAgain(email);
      throw this.registrationRefusal(error);
    }
    try {
      await this.createTenant({ subject: userSub, email });
    } catch (error) {
      this.props.logger.error('registered account without a tenant; its first sign-in creates it', { error: error as Error, subject: userSub });
    }
    return REGISTERED;
  }

  /**
   * Registering an address that has an account already: a new confirmation code if it is not
   * confirmed yet (so that a lost code is not the end of the account), and the same answer as a
   * new registration whatever happens, so that the answer still says nothing about the address.
   * A confirmed account makes Cognito refuse the resend; that, and any failure, is only logged.
   */
  private async registeredAgain(email: string): Promise<RegisterResponse> {
    try {
      await this.props.cognito.resendConfirmationCode({ email });
    } catch (error) {
      const code = error instanceof CognitoRefusal ? error.code : (error as Error).name;
      this.props.logger.info('registration of an existing address: no new code sent', { code });
    }
    return REGISTERED;
  }

  /**
   * Confirms an address with its code. Every refusal of the code, the address or the attempt
   * (CodeMismatch, ExpiredCode, NotAuthorized, UserNotFound, AliasExists, TooManyFailedAttempts,
   * LimitExceeded) is the same 400, so that a caller cannot probe addresses with made-up codes.
   */
  public async confirm(input: { readonly email: string; readonly code: string }): Promise<ConfirmResponse> {
    try {
      await this.props.cognito.confirmSignUp({ email: normalizedEmail(input.email), code: input.code });
    } catch (error) {
      if (error instanceof CognitoRefusal) throw new AccountError('invalid-code', INVALID_CODE, { cause: error });
      throw this.unavailable(error, 'ConfirmSignUp');
    }
    return { status: 'confirmed' };
  }

  /**
   * Signs in: the pool's access token (its `sub` is the tenant's owner) and a refresh token. A wrong
   * password and an unknown address are the same 401; an unconfirmed account (Cognito says so only
   * after the password matched) is 403. The account's tenant is made sure of before the tokens are
   * handed out: the authorizer finds a token's tenant by the subject's mapping.
   */
  public async login(input: { readonly email: string; readonly password: string }): Promise<AccountTokensResponse> {
    const email = normalizedEmail(input.email);
    let tokens: CognitoTokens;
    try {
      tokens = await this.props.cognito.passwordSignIn({ email, password: input.password });
    } catch (error) {
      throw this.signInRefusal(error);
    }
    const access = claimsOf(tokens.accessToken);
    if (typeof access.sub !== 'string' || access.sub === '') throw new Error('The pool\'s access token has no sub.');
    const idEmail = tokens.idToken ? claimsOf(tokens.idToken).email : undefined;
    try {
      await this.ensureTenant({ subject: access.sub, email: typeof idEmail === 'string' ? idEmail : email }, typeof access.client_id === 'string' ? access.client_id : '');
    } catch (error) {
      this.props.logger.error('signed-in account whose tenant could not be made sure of', { error: error as Error, subject: access.sub });
      throw new AccountError('accounts-unavailable', UNAVAILABLE, { cause: error });
    }
    return tokensResponse(tokens, access);
  }

  /** New access token for a refresh token; any refusal of the token is the same 401. */
  public async refresh(input: { readonly refresh_token: string }): Promise<AccountTokensResponse> {
    let tokens: CognitoTokens;
    try {
      tokens = await this.props.cognito.refresh(input.refresh_token);
    } catch (error) {
      if (error instanceof CognitoRefusal) throw new AccountError('invalid-credentials', INVALID_REFRESH_TOKEN, { cause: error });
      throw this.unavailable(error, 'InitiateAuth');
    }
    // Cognito returns a new refresh token only when the app client rotates them; else the caller keeps its own.
    return tokensResponse(tokens, claimsOf(tokens.accessToken));
  }

  /**
   * Revokes a refresh token (and, at Cognito, the access tokens minted from it). A token Cognito
   * refuses (unknown, already revoked, malformed) is answered as signed out all the same: the
   * caller holds no working refresh token either way.
   */
  public async logout(input: { readonly refresh_token: string }): Promise<LogoutResponse> {
    try {
      await this.props.cognito.revoke(input.refresh_token);
    } catch (error) {
      if (!(error instanceof CognitoRefusal)) throw this.unavailable(error, 'RevokeToken');
      if (error.code === 'UnsupportedOperationException') this.props.logger.error('RevokeToken refused: token revocation is off for the app client', { error });
    }
    return { status: 'signed-out' };
  }

  /** The tenant of a subject: found by its mapping, else created (a registration whose tenant write failed). */
  private async ensureTenant(owner: TenantOwner, clientId: string): Promise<void> {
    // The lookup the authorizer makes for the token (lambdas/auth/authenticator.ts): the subject's mapping, else its app client's.
    if (await this.props.store.findExternalTenant({ issuer: this.props.pool.issuer, subject: owner.subject, clientId })) return;
    try {
      await this.createTenant(owner);
      this.props.logger.warn('created the missing tenant of a signed-in account', { subject: owner.subject });
    } catch (error) {
      // A concurrent sign-in of the same account created it first: the mapping's condition kept it to one.
      if (error instanceof CredentialStoreError && error.code === 'external-identity-mapped') return;
      throw error;
    }
  }

  private async createTenant(owner: TenantOwner): Promise<void> {
    const tenantId = generateTenantId();
    const audit = this.props.audit.prepare({ actor: `account:${owner.subject}`, action: 'tenant.create', target: tenantId, details: { tier: 'free', name: owner.email, owner: owner.subject, via: 'self-service' } });
    await this.props.store.createOwnedTenant({ tenantId, owner, issuer: this.props.pool.issuer }, audit);
  }

  private registrationRefusal(error: unknown): Error {
    if (!(error instanceof CognitoRefusal)) return this.unavailable(error, 'SignUp');
    switch (error.code) {
      case 'InvalidPasswordException':
        return new AccountError('invalid-password', `password: ${error.message}`, { cause: error });
      case 'InvalidParameterException':
        return new AccountError('invalid-body', 'email: the account service refused this address.', { cause: error });
      // The confirmation email could not be sent, or the pool's email quota is used up: retry later.
      case 'CodeDeliveryFailureException':
      case 'LimitExceededException':
        return this.unavailable(error, 'SignUp');
      default:
        return error;
    }
  }

  private signInRefusal(error: unknown): Error {
    if (!(error instanceof CognitoRefusal)) return this.unavailable(error, 'InitiateAuth');
    // InvalidPasswordException: cognito-local's answer to a wrong password, where Cognito answers NotAuthorizedException.
    switch (error.code) {
      case 'NotAuthorizedException':
      case 'UserNotFoundException':
      case 'InvalidPasswordException':
        return new AccountError('invalid-credentials', INVALID_CREDENTIALS, { cause: error });
      case 'UserNotConfirmedException':
        return new AccountError('account-not-confirmed', 'The address is not confirmed yet: confirm it with the code emailed on registration (POST /v1/auth/confirm).', { cause: error });
      case 'PasswordResetRequiredException':
        return new AccountError('password-reset-required', 'The password of this account must be reset before it can sign in.', { cause: error });
      default:
        return error;
    }
  }

  private unavailable(error: unknown, operation: string): AccountError {
    this.props.logger.error(`Cognito ${operation} unavailable`, { error: error as Error });
    return new AccountError('accounts-unavailable', UNAVAILABLE, { cause: error });
  }
}

/** One address, one account: trimmed, in lower case. */
export function normalizedEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * The claims of a token the pool just issued to this function over TLS: read, not verified (the
 * authorizer verifies every token it is later shown against the pool's JWKS).
 */
function claimsOf(token: string): Record<string, unknown> {
  const payload = token.split('.')[1] ?? '';
  try {
    const claims: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (claims && typeof claims === 'object') return claims as Record<string, unknown>;
  } catch {
    // Falls through to the error below.
  }
  throw new CognitoUnavailable('Cognito answered a token that is not a JWT.');
}

/** The route's answer: the access token's lifetime from Cognito's `ExpiresIn`, else from its own `exp` and `iat`. */
function tokensResponse(tokens: CognitoTokens, access: Record<string, unknown>): AccountTokensResponse {
  const lifetime = typeof access.exp === 'number' && typeof access.iat === 'number' ? access.exp - access.iat : ACCOUNT_TOKEN_VALIDITY.accessMinutes * 60;
  return {
    access_token: tokens.accessToken,
    token_type: 'Bearer',
    expires_in: tokens.expiresIn ?? lifetime,
    ...(tokens.refreshToken ? { refresh_token: tokens.refreshToken } : {}),
  };
}
