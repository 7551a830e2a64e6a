import { AwsJsonClient, AwsJsonClientOptions, AwsJsonError, AwsJsonService, isRetryable } from '../runtime/aws-json-client';

/**
 * Amazon Cognito user pools in the AWS JSON 1.1 protocol: the AWS SDK's `CognitoIdentityProvider`
 * client names (`X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>`, signing name and
 * endpoint prefix `cognito-idp`, `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`).
 * https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/CommonParameters.html
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
 */
export const COGNITO_IDENTITY_PROVIDER: AwsJsonService = { targetPrefix: 'AWSCognitoIdentityProviderService', signingName: 'cognito-idp', endpointEnvName: 'COGNITO_IDENTITY_PROVIDER' };

/** The tokens of a sign-in or a refresh. */
export interface CognitoTokens {
  readonly accessToken: string;
  /** The ID token: its `email` claim is the account's address as the pool keeps it. */
  readonly idToken?: string;
  /** Only a sign-in returns one; a refresh keeps the token it was given. */
  readonly refreshToken?: string;
  /** The access token's lifetime in seconds, when the pool says it. */
  readonly expiresIn?: number;
}

/**
 * Cognito refused the request for what it is (a 4xx other than throttling): `code` is the
 * exception's name (`NotAuthorizedException`, `UsernameExistsException`, ...).
 */
export class CognitoRefusal extends Error {
  constructor(
    public readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CognitoRefusal';
  }
}

/** Cognito did not decide: it throttled (`TooManyRequestsException`), failed (5xx), timed out or could not be reached. */
export class CognitoUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CognitoUnavailable';
  }
}

/**
 * The user pool operations the account routes use: Cognito's public (unauthenticated) API, called
 * for one app client without a secret. Every method rejects with a {@link CognitoRefusal} or a
 * {@link CognitoUnavailable}.
 */
export interface CognitoAccounts {
  /** Registers `email` (the username) with `password`; Cognito emails a confirmation code. */
  signUp(input: { readonly email: string; readonly password: string }): Promise<{ readonly userSub: string; readonly confirmed: boolean }>;
  /** Emails a new confirmation code to a registered address that is not confirmed yet. */
  resendConfirmationCode(input: { readonly email: string }): Promise<void>;
  /** Confirms a registration with the emailed code. */
  confirmSignUp(input: { readonly email: string; readonly code: string }): Promise<void>;
  /** Signs in with a password (`USER_PASSWORD_AUTH`). */
  passwordSignIn(input: { readonly email: string; readonly password: string }): Promise<CognitoTokens>;
  /** New tokens for a refresh token (`REFRESH_TOKEN_AUTH`). */
  refresh(refreshToken: string): Promise<CognitoTokens>;
  /** Revokes a refresh token and the access tokens minted from it. */
  revoke(refreshToken: string): Promise<void>;
}

/** The parts of a user pool the routes call. */
export interface CognitoAppClient {
  /** The app client (public: no secret). */
  readonly clientId: string;
  /**
   * The Cognito endpoint, for the local emulator.
   * @default - `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`, `AWS_ENDPOINT_URL`, else `https://cognito-idp.<region>.amazonaws.com`
   */
  readonly endpoint?: string;
}

interface AuthenticationResult {
  readonly AccessToken?: string;
  readonly IdToken?: string;
  readonly RefreshToken?: string;
  readonly ExpiresIn?: number;
}

interface InitiateAuthResponse {
  readonly AuthenticationResult?: AuthenticationResult;
  readonly ChallengeName?: string;
}

/**
 * {@link CognitoAccounts} over the project's AWS JSON 1.1 client, with the request path's timeouts
 * and attempts. The requests go unsigned: Cognito "doesn't evaluate IAM policies in requests for
 * this API operation. For this operation, you can't use IAM credentials to authorize requests"
 * (the note on each of SignUp, ConfirmSignUp, InitiateAuth and RevokeToken), so the functions need
 * no IAM grant for them; the app client id is the request's authorization
 * (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pools-API-operations.html,
 * "public (unauthenticated)" operations).
 */
export class CognitoAccountsClient implements CognitoAccounts {
  private readonly client: AwsJsonClient;

  constructor(
    private readonly appClient: CognitoAppClient,
    options: Omit<AwsJsonClientOptions, 'unsigned'> = {},
  ) {
    const env = options.env ?? process.env;
    // The region picks the endpoint only (the requests are unsigned): none is needed when the endpoint is given (the local emulator).
    const region = options.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (appClient.endpoint ? 'local' : undefined);
    this.client = new AwsJsonClient(COGNITO_IDENTITY_PROVIDER, {
      ...options,
      ...(region ? { region } : {}),
      unsigned: true,
      env: appClient.endpoint ? { ...env, [`AWS_ENDPOINT_URL_${COGNITO_IDENTITY_PROVIDER.endpointEnvName}`]: appClient.endpoint } : env,
    });
  }

  /**
   * SignUp: `{ ClientId, Username, Password, UserAttributes }` → `{ UserConfirmed, UserSub, CodeDeliveryDetails? }`;
   * `UsernameExistsException` when the username is taken, `InvalidPasswordException`,
   * `CodeDeliveryFailureException`, `TooManyRequestsException`, `LimitExceededException`, ...
   * https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SignUp.html
   */
  public async signUp(input: { readonly email: string; readonly password: string }): Promise<{ readonly userSub: string; readonly confirmed: boolean }> {
    const answer = await this.call<{ UserSub?: string; UserConfirmed?: boolean }>('SignUp', {
      ClientId: this.appClient.clientId,
      Username: input.email,
      Password: input.password,
      UserAttributes: [{ Name: 'email', Value: input.email }],
    });
    if (!answer.UserSub) throw new CognitoUnavailable('SignUp answered without a UserSub.');
    return { userSub: answer.UserSub, confirmed: answer.UserConfirmed === true };
  }

  /**
   * ResendConfirmationCode: `{ ClientId, Username }` → `{ CodeDeliveryDetails }`; a public
   * operation like SignUp ("Amazon Cognito doesn't evaluate IAM policies in requests for this API
   * operation"); `InvalidParameterException` for a confirmed user, `LimitExceededException`, ...
   * https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ResendConfirmationCode.html
   */
  public async resendConfirmationCode(input: { readonly email: string }): Promise<void> {
    await this.call('ResendConfirmationCode', { ClientId: this.appClient.clientId, Username: input.email });
  }

  /**
   * ConfirmSignUp: `{ ClientId, Username, ConfirmationCode }` → `{}`; `CodeMismatchException`,
   * `ExpiredCodeException`, `NotAuthorizedException`, `UserNotFoundException`, `TooManyFailedAttemptsException`, ...
   * https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_ConfirmSignUp.html
   */
  public async confirmSignUp(input: { readonly email: string; readonly code: string }): Promise<void> {
    await this.call('ConfirmSignUp', { ClientId: this.appClient.clientId, Username: input.email, ConfirmationCode: input.code });
  }

  /**
   * InitiateAuth with `USER_PASSWORD_AUTH` (`AuthParameters: { USERNAME, PASSWORD }`) →
   * `AuthenticationResult: { AccessToken, IdToken, RefreshToken, ExpiresIn, TokenType }`;
   * `NotAuthorizedException` (wrong password, or with PreventUserExistenceErrors an unknown user),
   * `UserNotConfirmedException`, `PasswordResetRequiredException`, ...
   * https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
   */
  public async passwordSignIn(input: { readonly email: string; readonly password: string }): Promise<CognitoTokens> {
    return this.initiateAuth('USER_PASSWORD_AUTH', { USERNAME: input.email, PASSWORD: input.password });
  }

  /**
   * InitiateAuth with `REFRESH_TOKEN_AUTH` (`AuthParameters: { REFRESH_TOKEN }`): new access and ID
   * tokens, no new refresh token (unless the pool rotates them).
   * https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_InitiateAuth.html
   */
  public async refresh(refreshToken: string): Promise<CognitoTokens> {
    return this.initiateAuth('REFRESH_TOKEN_AUTH', { REFRESH_TOKEN: refreshToken });
  }

  /**
   * RevokeToken: `{ ClientId, Token }` → an empty 200; `UnauthorizedException`,
   * `UnsupportedTokenTypeException`, `UnsupportedOperationException` (revocation off for the client), ...
   * https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RevokeToken.html
   */
  public async revoke(refreshToken: string): Promise<void> {
    await this.call('RevokeToken', { ClientId: this.appClient.clientId, Token: refreshToken });
  }

  /** Closes the kept-alive connections. */
  public destroy(): void {
    this.client.destroy();
  }

  private async initiateAuth(flow: 'USER_PASSWORD_AUTH' | 'REFRESH_TOKEN_AUTH', parameters: Record<string, string>): Promise<CognitoTokens> {
    const answer = await this.call<InitiateAuthResponse>('InitiateAuth', { ClientId: this.appClient.clientId, AuthFlow: flow, AuthParameters: parameters });
    const result = answer.AuthenticationResult;
    if (!result?.AccessToken) {
      // A challenge (MFA, a new password): the pool asks for a step these routes do not offer.
      throw new CognitoRefusal('UnsupportedChallenge', `InitiateAuth answered the challenge ${answer.ChallengeName ?? '(none)'} instead of tokens.`);
    }
    return {
      accessToken: result.AccessToken,
      ...(result.IdToken ? { idToken: result.IdToken } : {}),
      ...(result.RefreshToken ? { refreshToken: result.RefreshToken } : {}),
      ...(typeof result.ExpiresIn === 'number' ? { expiresIn: result.ExpiresIn } : {}),
    };
  }

  /** One operation; its failure as a {@link CognitoRefusal} or a {@link CognitoUnavailable}. */
  private async call<T = unknown>(operation: string, input: object): Promise<T> {
    try {
      return await this.client.call<T>(operation, input);
    } catch (error) {
      throw classify(operation, error);
    }
  }
}

/**
 * What a failed call means. Throttling (`TooManyRequestsException`, HTTP 400 in Cognito), 5xx,
 * timeouts and network errors are Cognito not deciding; every other answered error is a refusal.
 * `LimitExceededException` is a refusal too: Cognito uses it for per-user attempt limits
 * (ConfirmSignUp) and for its email quota (SignUp), which each operation's caller tells apart.
 */
export function classify(operation: string, error: unknown): CognitoRefusal | CognitoUnavailable {
  if (error instanceof AwsJsonError && error.statusCode >= 400 && error.statusCode < 500 && error.name !== 'TooManyRequestsException') {
    return new CognitoRefusal(error.name, error.message, { cause: error });
  }
  const what = error instanceof AwsJsonError ? `${error.name} (HTTP ${String(error.statusCode)})` : isRetryable(error) ? 'a network error' : 'an unexpected error';
  return new CognitoUnavailable(`Cognito ${operation} failed: ${what}.`, { cause: error });
}
