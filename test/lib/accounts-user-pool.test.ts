import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ACCOUNT_AUTH_FLOWS, ACCOUNT_TOKEN_VALIDITY, PASSWORD_POLICY } from '../../contracts/accounts';
import { CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE_SECONDS } from '../../contracts/cors';
import { LAMBDA_ENV } from '../../contracts/lambda-environment';
import { AUTHORIZER_CACHE_TTL_BY_ACCESS, BUILT_IN_ROUTES, PUBLIC_ROUTES, authorizerNameOf } from '../../contracts/metered-api';
import { STACK_OUTPUTS } from '../../contracts/stack-outputs';
import { ACCOUNT_EXPLICIT_AUTH_FLOWS, AccountsUserPool, AccountsUserPoolProps } from '../../lib/accounts-user-pool';
import { STACK_ID } from '../../lib/app';
import { ApiUsageTrackerStack } from '../../lib/api-usage-tracker-stack';
import { readUsageTrackerConfig } from '../../lib/stack-config';
import { CDK_JSON_CONTEXT, resourcesOf, testApp } from './fixtures';

/**
 * Issue 15, item 1: the Cognito user pool behind the account routes, and how the stack wires it
 * (routes, authorizer, throttles, CORS, the functions' environment, outputs). Each expectation
 * names the contract it comes from, so a changed contract changes the template or fails here.
 */

const poolTemplate = (props: AccountsUserPoolProps = {}) => {
  const stack = new Stack(testApp(), 'PoolStack', { env: { account: '123456789012', region: 'eu-west-1' } });
  const accounts = new AccountsUserPool(stack, 'Accounts', props);
  return { template: Template.fromStack(stack), stack, accounts };
};

describe('Construct: AccountsUserPool', () => {
  const { template, stack, accounts } = poolTemplate();

  it('signs up by itself with email as the username, case-insensitive, verified by a code (https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-settings-attributes.html)', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: false },
      UsernameAttributes: ['email'],
      UsernameConfiguration: { CaseSensitive: false },
      AutoVerifiedAttributes: ['email'],
      VerificationMessageTemplate: Match.objectLike({ DefaultEmailOption: 'CONFIRM_WITH_CODE' }),
      UserAttributeUpdateSettings: { AttributesRequireVerificationBeforeUpdate: ['email'] },
      Schema: Match.arrayWith([Match.objectLike({ Name: 'email', Required: true, Mutable: true })]),
    });
  });

  it('has the password policy of contracts/accounts.ts (Cognito caps passwords at 99 characters itself)', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      Policies: {
        PasswordPolicy: Match.objectLike({
          MinimumLength: PASSWORD_POLICY.minLength,
          RequireLowercase: PASSWORD_POLICY.requireLowercase,
          RequireUppercase: PASSWORD_POLICY.requireUppercase,
          RequireNumbers: PASSWORD_POLICY.requireDigits,
          RequireSymbols: PASSWORD_POLICY.requireSymbols,
        }),
      },
    });
    expect(PASSWORD_POLICY.maxLength).toBe(99);
  });

  it('recovers accounts by email only, takes no MFA challenge, is on the Lite plan, and is kept with deletion protection', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AccountRecoverySetting: { RecoveryMechanisms: [{ Name: 'verified_email', Priority: 1 }] },
      MfaConfiguration: 'OFF',
      UserPoolTier: 'LITE',
      DeletionProtection: 'ACTIVE',
      EmailConfiguration: { EmailSendingAccount: 'COGNITO_DEFAULT' },
    });
    template.hasResource('AWS::Cognito::UserPool', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('gives the app client no secret, password sign-in and refresh only, no OAuth, no user existence errors, revocable tokens with the contract lifetimes', () => {
    template.resourceCountIs('AWS::Cognito::UserPoolClient', 1);
    const [client] = resourcesOf<Record<string, unknown>>(template, 'AWS::Cognito::UserPoolClient');
    expect(client.Properties).toMatchObject({
      GenerateSecret: false,
      PreventUserExistenceErrors: 'ENABLED',
      EnableTokenRevocation: true,
      AllowedOAuthFlowsUserPoolClient: false,
      AccessTokenValidity: ACCOUNT_TOKEN_VALIDITY.accessMinutes,
      IdTokenValidity: ACCOUNT_TOKEN_VALIDITY.idMinutes,
      RefreshTokenValidity: ACCOUNT_TOKEN_VALIDITY.refreshDays * 24 * 60,
      TokenValidityUnits: { AccessToken: 'minutes', IdToken: 'minutes', RefreshToken: 'minutes' },
    });
    expect([...(client.Properties.ExplicitAuthFlows as string[])].sort()).toEqual([...ACCOUNT_EXPLICIT_AUTH_FLOWS].sort());
    expect(ACCOUNT_EXPLICIT_AUTH_FLOWS).toEqual(ACCOUNT_AUTH_FLOWS.map((flow) => `ALLOW_${flow}`));
    for (const oauth of ['AllowedOAuthFlows', 'AllowedOAuthScopes', 'CallbackURLs', 'LogoutURLs']) expect(client.Properties[oauth]).toBeUndefined();
  });

  it('names its issuer as Cognito signs it: https://cognito-idp.<region>.amazonaws.com/<poolId> (amazon-cognito-user-pools-using-tokens-verifying-a-jwt)', () => {
    const poolId = stack.getLogicalId(accounts.userPool.node.defaultChild as never);
    expect(stack.resolve(accounts.issuer)).toEqual({ 'Fn::Join': ['', ['https://cognito-idp.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/', { Ref: poolId }]] });
    expect(stack.resolve(accounts.settings)).toEqual({
      userPoolId: { Ref: poolId },
      clientId: { Ref: stack.getLogicalId(accounts.client.node.defaultChild as never) },
      issuer: stack.resolve(accounts.issuer) as unknown,
    });
  });

  it('sends from a verified SES identity when given one, and may be destroyed with the stack when asked', () => {
    const { template: custom } = poolTemplate({ emailFrom: { fromEmail: 'accounts@example.com' }, removalPolicy: RemovalPolicy.DESTROY });
    custom.hasResourceProperties('AWS::Cognito::UserPool', {
      EmailConfiguration: Match.objectLike({ EmailSendingAccount: 'DEVELOPER', From: 'accounts@example.com', SourceArn: Match.stringLikeRegexp(':ses:eu-west-1:123456789012:identity/accounts@example.com$') }),
      DeletionProtection: 'INACTIVE',
    });
    custom.hasResource('AWS::Cognito::UserPool', { DeletionPolicy: 'Delete' });
  });
});

describe('cdk-nag AwsSolutions on the pool', () => {
  /** A stack of one pool under the AwsSolutions checks, as lib/app.ts registers them. */
  const nagApp = (build: (stack: Stack) => void) => {
    const app = new App({ outdir: mkdtempSync(path.join(tmpdir(), 'cdk-out-')), context: CDK_JSON_CONTEXT });
    build(new Stack(app, 'PoolStack', { env: { account: '123456789012', region: 'eu-west-1' } }));
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    return app;
  };

  it('passes COG1 by its password policy, and acknowledges only MFA (COG2) and the Plus plan (COG8), with reasons', () => {
    let accounts: AccountsUserPool | undefined;
    const assembly = nagApp((stack) => (accounts = new AccountsUserPool(stack, 'Accounts'))).synth();
    const report = JSON.parse(readFileSync(path.join(assembly.directory, 'validation-report.json'), 'utf8')) as { pluginReports: { violations: unknown[] }[] };
    expect(report.pluginReports.flatMap((plugin) => plugin.violations)).toEqual([]);
    const acknowledged = Object.fromEntries(
      (accounts?.userPool.node.metadata ?? [])
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) => Object.entries(m.data as Record<string, string>)),
    );
    // The metadata keys name the finding's source: `Annotation::<rule id>`.
    expect(Object.keys(acknowledged).sort()).toEqual(['Annotation::AwsSolutions-COG2', 'Annotation::AwsSolutions-COG8']);
    expect(acknowledged['Annotation::AwsSolutions-COG8']).toContain('Plus feature plan');
  });

  it('would flag a weaker password policy (COG1): the check is live, not acknowledged away', () => {
    const app = nagApp((stack) => {
      const pool = new cognito.UserPool(stack, 'Weak', { passwordPolicy: { minLength: 6, requireSymbols: false } });
      Validations.of(pool).acknowledge({ id: 'AwsSolutions-COG2', reason: 'test' }, { id: 'AwsSolutions-COG8', reason: 'test' });
    });
    expect(() => app.synth()).toThrow(/AwsSolutions-COG1/);
  });
});

/** The stack as lib/app.ts builds it; bundling is skipped (assets do not change routes or settings). */
const stackOf = (context: Record<string, unknown> = {}) => {
  const app = testApp({ 'aws:cdk:bundling-stacks': [], ...context });
  const stack = new ApiUsageTrackerStack(app, STACK_ID, { config: readUsageTrackerConfig(app.node) });
  return { stack, template: Template.fromStack(stack) };
};

interface RouteProperties {
  readonly RouteKey: string;
  readonly AuthorizationType?: string;
  readonly AuthorizerId?: { Ref: string };
  readonly Target: unknown;
}

describe('Stack: the account routes and their pool', () => {
  const { stack, template } = stackOf();
  const routes = resourcesOf<RouteProperties>(template, 'AWS::ApiGatewayV2::Route').map((r) => r.Properties);
  const routeOf = (routeKey: string) => routes.find((r) => r.RouteKey === routeKey);
  const accountRoutes = BUILT_IN_ROUTES.filter((route) => route.access === 'account');
  const authRoutes = PUBLIC_ROUTES.filter((route) => route.handler === 'auth');

  it('puts GET /v1/auth/me and /v1/keys behind the account-authorization authorizer: the Authorization header, answers cached 5 s, invoked through its own alias', () => {
    const name = authorizerNameOf({ access: 'account', credential: 'authorization' });
    const authorizers = template.findResources('AWS::ApiGatewayV2::Authorizer', { Properties: { Name: name } });
    expect(Object.values(authorizers).map((a) => (a as { Properties: Record<string, unknown> }).Properties)).toEqual([
      expect.objectContaining({ IdentitySource: ['$request.header.Authorization'], AuthorizerResultTtlInSeconds: AUTHORIZER_CACHE_TTL_BY_ACCESS.account, EnableSimpleResponses: true }),
    ]);
    const [authorizerId] = Object.keys(authorizers);
    expect(accountRoutes.map((route) => [route.routeKey, routeOf(route.routeKey)?.AuthorizationType, routeOf(route.routeKey)?.AuthorizerId])).toEqual(
      accountRoutes.map((route) => [route.routeKey, 'CUSTOM', { Ref: authorizerId }]),
    );
    template.hasResourceProperties('AWS::Lambda::Alias', { Name: name, FunctionName: { Ref: stack.getLogicalId(stack.meteredApi.authorizerFunction.node.defaultChild as never) } });
  });

  it('serves register, confirm, login, refresh and logout without an authorizer, from the auth function alone', () => {
    expect(authRoutes.map((route) => route.routeKey).sort()).toEqual(['POST /v1/auth/confirm', 'POST /v1/auth/login', 'POST /v1/auth/logout', 'POST /v1/auth/refresh', 'POST /v1/auth/register']);
    expect(authRoutes.map((route) => routeOf(route.routeKey)?.AuthorizationType ?? 'NONE')).toEqual(authRoutes.map(() => 'NONE'));
    // Each route has its own integration; every one of them invokes the auth function.
    const integrations = Object.entries(template.findResources('AWS::ApiGatewayV2::Integration')) as [string, { Properties: { IntegrationUri: unknown } }][];
    const functionOf = (routeKey: string) => integrations.find(([id]) => JSON.stringify(routeOf(routeKey)?.Target).includes(`"${id}"`))?.[1].Properties.IntegrationUri;
    const authFunction = { 'Fn::GetAtt': [stack.getLogicalId(stack.meteredApi.authFunction.node.defaultChild as never), 'Arn'] };
    expect(authRoutes.map((route) => functionOf(route.routeKey))).toEqual(authRoutes.map(() => authFunction));
    expect(functionOf('GET /openapi.json')).not.toEqual(authFunction);
  });

  it('throttles the sign-up and sign-in routes as the token exchange (20/s, burst 40) and the account routes as the admin routes (10/s, burst 20)', () => {
    const [stage] = resourcesOf<{ RouteSettings: Record<string, unknown> }>(template, 'AWS::ApiGatewayV2::Stage');
    const settings = stage.Properties.RouteSettings;
    expect(authRoutes.map((route) => settings[route.routeKey])).toEqual(authRoutes.map(() => ({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 })));
    expect(settings['POST /v1/auth/token']).toEqual({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 });
    expect(accountRoutes.map((route) => settings[route.routeKey])).toEqual(accountRoutes.map(() => ({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 })));
  });

  it('answers preflights with the CORS configuration of contracts/cors.ts, any origin by default (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html)', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: {
        AllowOrigins: ['*'],
        AllowHeaders: [...CORS_ALLOW_HEADERS],
        ExposeHeaders: [...CORS_EXPOSE_HEADERS],
        AllowMethods: [...CORS_ALLOW_METHODS],
        MaxAge: CORS_MAX_AGE_SECONDS,
      },
    });
    // No OPTIONS route: API Gateway answers preflights itself, before any authorizer.
    expect(routes.filter((r) => r.RouteKey.startsWith('OPTIONS '))).toEqual([]);
    const custom = stackOf({ corsAllowOrigins: 'https://app.example.com,http://localhost:5173' }).template;
    custom.hasResourceProperties('AWS::ApiGatewayV2::Api', { CorsConfiguration: Match.objectLike({ AllowOrigins: ['https://app.example.com', 'http://localhost:5173'] }) });
  });

  it('tells the pool to the authorizer, auth and account functions only', () => {
    const pool = stack.accounts;
    if (!pool) throw new Error('accounts are on by default');
    const resolved = (value: string): unknown => stack.resolve(value);
    const expected = {
      [LAMBDA_ENV.accountsUserPoolId]: resolved(pool.userPool.userPoolId),
      [LAMBDA_ENV.accountsClientId]: resolved(pool.client.userPoolClientId),
      [LAMBDA_ENV.accountsIssuer]: resolved(pool.issuer),
    };
    const functions = resourcesOf<{ Description?: string; Environment?: { Variables: Record<string, unknown> } }>(template, 'AWS::Lambda::Function');
    const withPool = functions.filter((fn) => fn.Properties.Environment?.Variables[LAMBDA_ENV.accountsUserPoolId] !== undefined);
    expect(withPool.map((fn) => fn.Properties.Description).sort()).toEqual([
      'Authorizer of the metered API: JWT or API key',
      'Consumer accounts: register, confirm, log in, refresh, log out (Amazon Cognito)',
      'Metered API account routes',
    ]);
    for (const fn of withPool) expect(fn.Properties.Environment?.Variables).toMatchObject(expected);
  });

  it('outputs the pool and client ids under the contract keys', () => {
    const outputs = template.findOutputs('*');
    expect(outputs[STACK_OUTPUTS.accountsUserPoolId].Value).toEqual({ Ref: stack.getLogicalId(stack.accounts?.userPool.node.defaultChild as never) });
    expect(outputs[STACK_OUTPUTS.accountsClientId].Value).toEqual({ Ref: stack.getLogicalId(stack.accounts?.client.node.defaultChild as never) });
  });

  it('keeps the routes but no pool with accounts=false (the sign-up and sign-in routes then answer 503), and sends from SES with accountsEmailFrom', () => {
    const { stack: off, template: offTemplate } = stackOf({ accounts: 'false' });
    offTemplate.resourceCountIs('AWS::Cognito::UserPool', 0);
    expect(off.accounts).toBeUndefined();
    const offRoutes = resourcesOf<RouteProperties>(offTemplate, 'AWS::ApiGatewayV2::Route').map((r) => r.Properties.RouteKey);
    expect(offRoutes.sort()).toEqual(routes.map((r) => r.RouteKey).sort());
    const outputs = offTemplate.findOutputs('*');
    expect([STACK_OUTPUTS.accountsUserPoolId, STACK_OUTPUTS.accountsClientId].filter((key) => key in outputs)).toEqual([]);
    const variables = resourcesOf<{ Environment?: { Variables: Record<string, unknown> } }>(offTemplate, 'AWS::Lambda::Function').map((fn) => fn.Properties.Environment?.Variables ?? {});
    expect(variables.filter((v) => LAMBDA_ENV.accountsUserPoolId in v)).toEqual([]);
    stackOf({ accountsEmailFrom: 'accounts@example.com' }).template.hasResourceProperties('AWS::Cognito::UserPool', {
      EmailConfiguration: Match.objectLike({ EmailSendingAccount: 'DEVELOPER', From: 'accounts@example.com' }),
    });
  });
});
