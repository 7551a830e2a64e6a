import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DeleteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as jose from 'jose';
import { MeteredHttpApi } from '../../lib/metered-http-api';
import { readUsageTrackerConfig } from '../../lib/stack-config';
import { testApp } from '../lib/fixtures';
import { EXTERNAL_IDENTITY_REFUSAL } from '../../lambdas/auth/authenticator';
import { limiterKey } from '../../lambdas/limiter/token-bucket-limiter';
import { LAMBDA_ENV } from '../../contracts/lambda-environment';
import { readRuntimeConfig } from '../../lambdas/runtime/runtime-config';
import { LocalAdminTokenSigner } from '../../lambdas/tokens/admin-token-signer';
import { TokenService } from '../../lambdas/tokens/token-service';
import { EXTERNAL, MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

/**
 * Issue 18, item 4: an external (Cognito-style) token names who the caller is at its issuer; the
 * credentials table alone says which tenant that is. Replays the review's proofs of concept.
 */
describe('Security: external issuer tokens map to tenants on the server', () => {
  let api: MeteredApiHarness;
  let victim: string;
  let own: string;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  /** A token as a Cognito user pool issues it: access tokens carry token_use and client_id, and no aud. */
  const cognitoToken = (claims: jose.JWTPayload, subject = 'user-1') =>
    new jose.SignJWT({ token_use: 'access', client_id: EXTERNAL.clientId, scope: 'aws.cognito.signin.user.admin', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: EXTERNAL.kid })
      .setIssuer(EXTERNAL.issuer)
      .setSubject(subject)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(api.externalKeys.privateKey);

  beforeAll(async () => {
    api = await startMeteredApi();
    victim = (await api.tenantWithKey('enterprise', 'victim-corp')).tenantId;
    own = (await api.tenantWithKey('free', 'user-corp')).tenantId;
  });
  afterAll(() => api.stop());

  it('never takes the tenant from a claim: an unmapped user naming another tenant in tenant_id is refused', async () => {
    // Prepare: the review's proof of concept, a user-writable attribute in an ID token (aud = the app client), and the same in an access token.
    const idToken = await new jose.SignJWT({ token_use: 'id', tenant_id: victim })
      .setProtectedHeader({ alg: 'ES256', kid: EXTERNAL.kid })
      .setIssuer(EXTERNAL.issuer)
      .setAudience(EXTERNAL.clientId)
      .setSubject('attacker')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(api.externalKeys.privateKey);
    // Act
    const answers = [await api.call('GET', '/v1/usage', { headers: bearer(idToken) }), await api.call('GET', '/v1/usage', { headers: bearer(await cognitoToken({ tenant_id: victim }, 'attacker')) })];
    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([403, 403]);
  });

  it('acts for the mapped tenant whatever tenant_id says, with that tenant\'s tier', async () => {
    // Prepare
    expect((await api.admin('POST', `/v1/admin/tenants/${own}/external-identities`, { issuer: EXTERNAL.issuer, subject: 'mapped-user' })).status).toBe(201);
    // Act
    const answer = await api.call('GET', '/v1/usage', { headers: bearer(await cognitoToken({ tenant_id: victim }, 'mapped-user')) });
    // Assess
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ tenantId: own, tier: 'free' });
  });

  it('maps an app client (machine-to-machine tokens) when the subject itself is not mapped', async () => {
    // Prepare
    const m2m = 'm2m-client';
    const tokens = new TokenService({ issuer: 'i', audience: 'a', tenantSecret: () => Promise.resolve(new Uint8Array(40)), adminSigner: new LocalAdminTokenSigner(path.join(mkdtempSync(path.join(tmpdir(), 'admin-key-')), 'admin.pem')), external: { issuer: EXTERNAL.issuer, clientIds: [m2m], jwks: { keys: [{ ...(await jose.exportJWK(api.externalKeys.publicKey)), kid: EXTERNAL.kid }] }, algorithms: ['ES256'] } });
    await api.deps.store.mapExternalIdentity({ issuer: EXTERNAL.issuer, clientId: m2m, tenantId: own });
    // Act
    const verified = await tokens.verify(await cognitoToken({ client_id: m2m }, m2m));
    // Assess
    if (verified.kind !== 'external') throw new Error(`expected an external token, got a ${verified.kind} one`);
    expect(await api.deps.store.findExternalTenant(verified.external)).toEqual({ tenantId: own, tierHint: 'free' });
  });

  it('refuses ID tokens (token_use "id", with aud) and access tokens of clients not on the allow-list', async () => {
    // Prepare
    await api.admin('POST', `/v1/admin/tenants/${own}/external-identities`, { issuer: EXTERNAL.issuer, subject: 'id-token-user' });
    const idToken = await new jose.SignJWT({ token_use: 'id', aud: EXTERNAL.clientId, email: 'u@example.com' })
      .setProtectedHeader({ alg: 'ES256', kid: EXTERNAL.kid })
      .setIssuer(EXTERNAL.issuer)
      .setSubject('id-token-user')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(api.externalKeys.privateKey);
    // Act + Assess
    expect((await api.call('GET', '/v1/usage', { headers: bearer(idToken) })).status).toBe(403);
    expect((await api.call('GET', '/v1/usage', { headers: bearer(await cognitoToken({ client_id: 'other-client' }, 'id-token-user')) })).status).toBe(403);
    expect((await api.call('GET', '/v1/usage', { headers: bearer(await cognitoToken({ token_use: undefined }, 'id-token-user')) })).status).toBe(403);
    expect((await api.call('GET', '/v1/usage', { headers: bearer(await cognitoToken({}, 'id-token-user')) })).status).toBe(200);
  });

  it('gives the same answer for an unmapped identity and for a mapping to a tenant that does not exist', async () => {
    // Prepare: a mapping whose tenant (its record and its limiter item) was removed behind the API's
    // back. The authorizer reads the mapping only (issue 13: one read per cache miss), so the
    // route's limiter finds no tenant and answers with the gateway's own refusal.
    await api.admin('POST', '/v1/admin/tenants', { name: 'Gone', tenantId: 'gone-corp' });
    await api.admin('POST', '/v1/admin/tenants/gone-corp/external-identities', { issuer: EXTERNAL.issuer, subject: 'orphan' });
    const documents = DynamoDBDocumentClient.from(api.deps.dynamodb);
    await documents.send(new DeleteCommand({ TableName: api.deps.config.tables.credentials, Key: { pk: 'TENANT#gone-corp' } }));
    await documents.send(new DeleteCommand({ TableName: api.deps.config.tables.limiter, Key: { pk: limiterKey('gone-corp') } }));
    // Act
    const unmapped = await api.call('GET', '/v1/usage', { headers: bearer(await cognitoToken({}, 'nobody')) });
    const dangling = await api.call('GET', '/v1/usage', { headers: bearer(await cognitoToken({}, 'orphan')) });
    const danglingAgain = await api.call('GET', '/v1/products', { headers: bearer(await cognitoToken({}, 'orphan')) });
    const byAuthenticator = await api.deps.authenticator.authenticate(bearer(await cognitoToken({}, 'nobody')), 'authorization');
    // Assess
    const answer = (call: typeof unmapped) => [call.status, call.headers.get('content-type'), call.headers.get('cache-control'), call.text];
    expect(answer(unmapped)).toEqual([403, 'application/json', null, '{"message":"Forbidden"}']);
    expect([answer(dangling), answer(danglingAgain)]).toEqual([answer(unmapped), answer(unmapped)]);
    expect(byAuthenticator).toEqual({ ok: false, reason: EXTERNAL_IDENTITY_REFUSAL });
  });

  it('registers mappings on an admin route only: never twice, never to an unknown tenant, never by a tenant', async () => {
    // Prepare
    const tenant = await api.tenantWithKey('basic', 'mapping-corp');
    const route = `/v1/admin/tenants/${tenant.tenantId}/external-identities`;
    // Act + Assess
    expect((await api.admin('POST', route, { issuer: EXTERNAL.issuer, subject: 'twice' })).status).toBe(201);
    expect((await api.admin('POST', route, { issuer: EXTERNAL.issuer, subject: 'twice' })).json).toMatchObject({ error: 'external-identity-mapped' });
    expect((await api.admin('POST', '/v1/admin/tenants/no-such-tenant/external-identities', { issuer: EXTERNAL.issuer, subject: 'x' })).status).toBe(404);
    expect((await api.admin('POST', route, { issuer: EXTERNAL.issuer, subject: 's', clientId: 'c' })).status).toBe(400);
    expect((await api.call('POST', route, { headers: { authorization: `ApiKey ${tenant.apiKey}` }, body: { issuer: EXTERNAL.issuer, subject: 'self' } })).status).toBe(403);
    expect((await api.admin('GET', '/v1/admin/audit')).json.items).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'external-identity.map', target: tenant.tenantId })]));
  });

  it('refuses a JWKS URL that is not https, at start-up', () => {
    // Prepare
    const env = {
      [LAMBDA_ENV.tables.credentials]: 'c', [LAMBDA_ENV.tables.limiter]: 'l', [LAMBDA_ENV.tables.audit]: 'a', [LAMBDA_ENV.tokenIssuer]: 'i', [LAMBDA_ENV.tokenAudience]: 'a',
      [LAMBDA_ENV.tenantTokenSecretFile]: '/t', [LAMBDA_ENV.adminTokenKeyFile]: '/a.pem',
      [LAMBDA_ENV.externalIssuer]: EXTERNAL.issuer, [LAMBDA_ENV.externalClientIds]: EXTERNAL.clientId, [LAMBDA_ENV.externalJwksUrl]: 'http://idp.test/.well-known/jwks.json',
    };
    // Act + Assess
    expect(() => readRuntimeConfig(env)).toThrow('the external JWKS URL must be an https URL (http only on a loopback address); got "http://idp.test/.well-known/jwks.json"');
    expect(() => readRuntimeConfig({ ...env, [LAMBDA_ENV.externalJwksUrl]: 'https://idp.test/.well-known/jwks.json', [LAMBDA_ENV.externalClientIds]: '' })).toThrow('needs at least one app client id');
    expect(() => new TokenService({ issuer: 'i', audience: 'a', tenantSecret: () => Promise.resolve(new Uint8Array(40)), adminSigner: new LocalAdminTokenSigner(path.join(mkdtempSync(path.join(tmpdir(), 'admin-key-')), 'admin.pem')), external: { issuer: EXTERNAL.issuer, clientIds: ['c'], jwks: new URL('http://idp.test/jwks') } })).toThrow('must be an https URL');
  });

  it('refuses a JWKS URL that is not https, and an empty client allow-list, at synth time', () => {
    // Prepare
    const stack = new Stack(new App(), 'Synth');
    const usageEventBus = events.EventBus.fromEventBusName(stack, 'Bus', 'usage');
    const context = { externalIssuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc', externalClientIds: 'client-a' };
    // Act + Assess
    expect(() => new MeteredHttpApi(stack, 'Plain', { usageEventBus, externalIssuer: { issuer: 'https://idp', clientIds: ['c'], jwksUrl: 'http://idp/jwks' } })).toThrow(
      'externalIssuer of Synth/Plain: the external JWKS URL must be an https URL (http only on a loopback address); got "http://idp/jwks". Use the issuer\'s https JWKS URL and list its app client ids in clientIds.',
    );
    expect(() => new MeteredHttpApi(stack, 'NoClients', { usageEventBus, externalIssuer: { issuer: 'https://idp', clientIds: [], jwksUrl: 'https://idp/jwks' } })).toThrow('needs at least one app client id');
    expect(() => readUsageTrackerConfig(testApp({ ...context, externalJwksUrl: 'http://idp/jwks' }).node)).toThrow('Context parameter "externalJwksUrl" is "http://idp/jwks"; expected an https URL');
    expect(readUsageTrackerConfig(testApp({ ...context, externalJwksUrl: `${context.externalIssuer}/.well-known/jwks.json` }).node).externalIssuer).toEqual({
      issuer: context.externalIssuer,
      clientIds: ['client-a'],
      jwksUrl: `${context.externalIssuer}/.well-known/jwks.json`,
    });
  });
});
