import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { ACCOUNT_AUTH_FLOWS, ACCOUNT_TOKEN_VALIDITY, PASSWORD_POLICY } from '../contracts/accounts';
import { AccountsPoolSettings } from '../contracts/lambda-environment';
import { acknowledgeNagFindings } from './nag-acknowledgements';

/** Properties of an {@link AccountsUserPool}. */
export interface AccountsUserPoolProps {
  /**
   * What happens to the pool (and so to every account in it) when the stack is deleted. With
   * RETAIN, deletion protection is on too, as on the metered API's tables.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * A verified Amazon SES identity to send the confirmation codes from. Without one, Cognito's
   * default email sends them, which allows only a limited number of emails each day per pool:
   * "for typical production environments, the default email limit is below the required delivery
   * volume" (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-email.html).
   * @default - Cognito's default email (no-reply@verificationemail.com)
   */
  readonly emailFrom?: SesEmailIdentity;
}

/** An SES identity in the pool's region that Cognito may send as: an address, or an address of a verified domain. */
export interface SesEmailIdentity {
  readonly fromEmail: string;
  /** When the verified SES identity is a domain (of `fromEmail`) rather than the address itself. */
  readonly sesVerifiedDomain?: string;
  /**
   * The identity's region, when it is not the pool's (Cognito sends with SES in the pool's region,
   * and in alternate regions in some cases: https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-email.html).
   * @default - the stack's region
   */
  readonly sesRegion?: string;
}

/** The app client's auth flows as CloudFormation names them (`ExplicitAuthFlows`). */
export const ACCOUNT_EXPLICIT_AUTH_FLOWS: readonly string[] = ACCOUNT_AUTH_FLOWS.map((flow) => `ALLOW_${flow}`);

/**
 * The consumer accounts (issue 15): an Amazon Cognito user pool with email as the username, the
 * password policy of contracts/accounts.ts, email verification by code; and the one app client
 * the account routes sign in with (lambdas/accounts/), public (no secret: the routes are the
 * client, and a browser page can use them), with password sign-in and refresh only.
 *
 * The routes call SignUp, ConfirmSignUp, InitiateAuth, RevokeToken and GetUser: public operations
 * that Cognito authorizes with the app client id (and the user's tokens), not with IAM, so the
 * functions need no Cognito permission
 * (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pools-API-operations.html,
 * https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SignUp.html).
 */
export class AccountsUserPool extends Construct {
  public readonly userPool: cognito.UserPool;
  public readonly client: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, props: AccountsUserPoolProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.userPool = this.createUserPool(removalPolicy, props.emailFrom);
    this.client = this.createClient();
  }

  /**
   * `iss` of the pool's tokens, whose `/.well-known/jwks.json` holds the keys that sign them:
   * `https://cognito-idp.<region>.amazonaws.com/<userPoolId>`
   * (https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html).
   */
  public get issuer(): string {
    const stack = Stack.of(this);
    return `https://cognito-idp.${stack.region}.${stack.urlSuffix}/${this.userPool.userPoolId}`;
  }

  /** What the functions need to know of the pool (contracts/lambda-environment.ts). */
  public get settings(): AccountsPoolSettings {
    return { userPoolId: this.userPool.userPoolId, clientId: this.client.userPoolClientId, issuer: this.issuer };
  }

  private createUserPool(removalPolicy: RemovalPolicy, emailFrom: SesEmailIdentity | undefined): cognito.UserPool {
    const pool = new cognito.UserPool(this, 'UserPool', {
      selfSignUpEnabled: true,
      // Email as the username, case-insensitive: User@Example.com and user@example.com are one account.
      signInAliases: { email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      userVerification: { emailStyle: cognito.VerificationEmailStyle.CODE },
      // A changed address takes effect only once its code is confirmed (UserAttributeUpdateSettings).
      keepOriginal: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: {
        minLength: PASSWORD_POLICY.minLength,
        requireLowercase: PASSWORD_POLICY.requireLowercase,
        requireUppercase: PASSWORD_POLICY.requireUppercase,
        requireDigits: PASSWORD_POLICY.requireDigits,
        requireSymbols: PASSWORD_POLICY.requireSymbols,
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      // The routes sign in with a password and answer tokens; they take no MFA challenge (see the COG2 acknowledgement).
      mfa: cognito.Mfa.OFF,
      // Lite has everything the routes use (password sign-in, refresh, token revocation, user existence errors
      // off), at the lowest price per monthly active user (https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-sign-in-feature-plans.html).
      featurePlan: cognito.FeaturePlan.LITE,
      email: emailFrom
        ? cognito.UserPoolEmail.withSES({ fromEmail: emailFrom.fromEmail, sesVerifiedDomain: emailFrom.sesVerifiedDomain, sesRegion: emailFrom.sesRegion ?? Stack.of(this).region })
        : cognito.UserPoolEmail.withCognito(),
      deletionProtection: removalPolicy === RemovalPolicy.RETAIN,
      removalPolicy,
    });
    acknowledgeNagFindings(pool, [
      {
        id: 'AwsSolutions-COG2',
        reason:
          'MFA is not required: accounts only manage the API keys of a free self-service tenant, and the routes (POST /v1/auth/login) sign in with USER_PASSWORD_AUTH and answer tokens, with no challenge step; a required second factor would lock every account out. The password policy asks for 12 characters of all four classes, sign-in is behind the per-IP guard and the route throttle, and access tokens live 15 minutes.',
      },
      {
        id: 'AwsSolutions-COG8',
        reason:
          'Threat protection (compromised credentials, adaptive authentication) needs the Plus feature plan, billed per monthly active user with no free tier (https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-settings-threat-protection.html). The routes in front of the pool limit and ban by source IP and are throttled per route, and answers never reveal whether an account exists; an operator who wants Plus can switch the plan on the pool.',
      },
    ]);
    return pool;
  }

  /**
   * The public app client: password sign-in and refresh only, no OAuth (no hosted UI, no
   * redirects), tokens with the lifetimes of contracts/accounts.ts.
   * - `preventUserExistenceErrors`: sign-in with an unknown address fails as a wrong password does
   *   (https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-managing-errors.html).
   * - `enableTokenRevocation`: RevokeToken (logout) revokes a refresh token and the access tokens
   *   Cognito minted from it for Cognito's own APIs; this API verifies access tokens by signature,
   *   so they stay usable here until they expire, at most 15 minutes
   *   (https://docs.aws.amazon.com/cognito/latest/developerguide/token-revocation.html).
   */
  private createClient(): cognito.UserPoolClient {
    return this.userPool.addClient('Client', {
      generateSecret: false,
      // USER_PASSWORD_AUTH; CDK adds REFRESH_TOKEN_AUTH (ACCOUNT_AUTH_FLOWS).
      authFlows: { userPassword: true },
      disableOAuth: true,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.minutes(ACCOUNT_TOKEN_VALIDITY.accessMinutes),
      idTokenValidity: Duration.minutes(ACCOUNT_TOKEN_VALIDITY.idMinutes),
      refreshTokenValidity: Duration.days(ACCOUNT_TOKEN_VALIDITY.refreshDays),
    });
  }
}
