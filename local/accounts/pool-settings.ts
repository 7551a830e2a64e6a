import { ACCOUNT_AUTH_FLOWS, ACCOUNT_TOKEN_VALIDITY, PASSWORD_POLICY } from '../../contracts/accounts';

/**
 * The accounts' user pool as the local emulator makes it: the settings of the stack's pool
 * (lib/accounts-user-pool.ts), from the same contract (contracts/accounts.ts), in the API's own
 * terms (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPool.html):
 * the email address is the username, case-insensitive, verified with a code sent to it; recovery
 * by email only; no MFA. These can be changed later (UpdateUserPool); see {@link accountsUserPoolSettings}.
 */
export function accountsUserPoolUpdatableSettings() {
  return {
    AutoVerifiedAttributes: ['email'],
    VerificationMessageTemplate: { DefaultEmailOption: 'CONFIRM_WITH_CODE' },
    UserAttributeUpdateSettings: { AttributesRequireVerificationBeforeUpdate: ['email'] },
    AccountRecoverySetting: { RecoveryMechanisms: [{ Name: 'verified_email', Priority: 1 }] },
    AdminCreateUserConfig: { AllowAdminCreateUserOnly: false },
    MfaConfiguration: 'OFF',
    Policies: {
      PasswordPolicy: {
        MinimumLength: PASSWORD_POLICY.minLength,
        RequireLowercase: PASSWORD_POLICY.requireLowercase,
        RequireUppercase: PASSWORD_POLICY.requireUppercase,
        RequireNumbers: PASSWORD_POLICY.requireDigits,
        RequireSymbols: PASSWORD_POLICY.requireSymbols,
      },
    },
  };
}

/** CreateUserPool's input: the updatable settings and those fixed when a pool is made (name, username attributes, schema). */
export function accountsUserPoolSettings() {
  return {
    PoolName: 'api-usage-tracker-accounts',
    UsernameAttributes: ['email'],
    UsernameConfiguration: { CaseSensitive: false },
    Schema: [{ Name: 'email', AttributeDataType: 'String', Required: true, Mutable: true }],
    ...accountsUserPoolUpdatableSettings(),
  };
}

/**
 * The public app client the account routes sign in with: no secret, only the password and refresh
 * flows, no answer that tells whether an account exists, refresh tokens that can be revoked, and
 * the token lifetimes of the contract
 * (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html,
 * https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pool-managing-errors.html).
 */
export function accountsAppClientSettings() {
  return {
    ClientName: 'api-usage-tracker-accounts',
    ExplicitAuthFlows: ACCOUNT_AUTH_FLOWS.map((flow) => `ALLOW_${flow}`),
    PreventUserExistenceErrors: 'ENABLED',
    EnableTokenRevocation: true,
    AccessTokenValidity: ACCOUNT_TOKEN_VALIDITY.accessMinutes,
    IdTokenValidity: ACCOUNT_TOKEN_VALIDITY.idMinutes,
    RefreshTokenValidity: ACCOUNT_TOKEN_VALIDITY.refreshDays,
    TokenValidityUnits: { AccessToken: 'minutes', IdToken: 'minutes', RefreshToken: 'days' },
  };
}
