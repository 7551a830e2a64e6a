import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as jose from 'jose';
import { ADMIN_TOKEN_ROUTE } from '../../contracts/metered-api';
import { LocalAdminTokenSigner, derToJoseSignature } from '../../lambdas/tokens/admin-token-signer';
import { TokenService } from '../../lambdas/tokens/token-service';
import { signedMintRequest } from '../../scripts/mint-admin-token';
import { SigV4Signer } from '../../sdk/sigv4';
import { ADMIN_SECRET, AUDIENCE, ISSUER, LOCAL_OPERATOR, LOCAL_REGION, MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';
import { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { MeteredHttpApi } from '../../lib/metered-http-api';
import { testApp } from '../lib/fixtures';

/**
 * Issue 18, item 3: admin tokens come from a path that proves the caller's IAM principal, that
 * principal is the audit actor, the signing key names who may use it, and a token can be revoked.
 */
describe('Security: admin identity is an IAM identity', () => {
  let api: MeteredApiHarness;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const operatorArn = 'arn:aws:sts::123456789012:assumed-role/Operators/alice';
  /** The mint route as API Gateway calls it after IAM authorization: the verified ARN in the request context. */
  const mintEvent = (userArn?: string) => ({
    version: '2.0',
    routeKey: ADMIN_TOKEN_ROUTE.routeKey,
    rawPath: '/v1/admin/token',
    rawQueryString: '',
    headers: { 'x-operator': 'mallory' },
    isBase64Encoded: false,
    requestContext: { requestId: 'r-1', http: { method: 'POST', path: '/v1/admin/token' }, ...(userArn ? { authorizer: { iam: { userArn } } } : {}) },
  });

  beforeAll(async () => {
    api = await startMeteredApi();
  });
  afterAll(() => api.stop());

  describe('Function: derToJoseSignature', () => {
    it('turns DER ECDSA signatures (as KMS Sign answers them) into the r||s that JWS ES256 verifies, including short r and s', async () => {
      // Prepare
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const signingInput = `${jose.base64url.encode('{"alg":"ES256"}')}.${jose.base64url.encode('{"sub":"x"}')}`;
      // Act: enough signatures that some r or s has a leading zero byte (DER drops it, r||s keeps it).
      const tokens = Array.from({ length: 300 }, () => `${signingInput}.${jose.base64url.encode(derToJoseSignature(sign('sha256', Buffer.from(signingInput), { key: privateKey, dsaEncoding: 'der' })))}`);
      // Assess
      for (const token of tokens) await expect(jose.compactVerify(token, publicKey, { algorithms: ['ES256'] })).resolves.toBeDefined();
    });
  });

  describe('Route: POST /v1/admin/token', () => {
    it('mints for the IAM principal API Gateway verified and audits that ARN as the actor, whatever the request says', async () => {
      // Prepare
      const handler = (await import('../../lambdas/handlers/registry')).createAdminTokenHandler(api.deps);
      // Act
      const answer = await handler(mintEvent(operatorArn) as never, {});
      const body = JSON.parse(answer.body as string) as { access_token: string; token_id: string; subject: string };
      const tenants = await api.call('GET', '/v1/admin/tenants', { headers: bearer(body.access_token) });
      const audit = await api.admin('GET', '/v1/admin/audit');
      // Assess
      expect(answer.statusCode).toBe(200);
      expect(body.subject).toBe(operatorArn);
      expect(tenants.status).toBe(200);
      expect(audit.json.items).toEqual(expect.arrayContaining([expect.objectContaining({ actor: operatorArn, action: 'admin-token.mint', target: body.token_id })]));
    });

    it('answers scripts/mint-admin-token.ts (SigV4 as the operator) on the local gateway with a working token for that ARN', async () => {
      // Prepare
      const { url, init } = signedMintRequest(api.url, LOCAL_REGION, LOCAL_OPERATOR);
      // Act
      const answer = await fetch(url, init);
      const body = (await answer.json()) as { access_token: string; subject: string };
      // Assess
      expect(answer.status).toBe(200);
      expect(body.subject).toBe(LOCAL_OPERATOR.arn);
      expect((await api.call('GET', '/v1/admin/tenants', { headers: bearer(body.access_token) })).status).toBe(200);
    });

    it('answers 403 to an unsigned request, a wrong secret, an unknown key, a stale signature and one made for another path, as IAM authorization does', async () => {
      // Prepare
      const wrongSecret = signedMintRequest(api.url, LOCAL_REGION, { ...LOCAL_OPERATOR, secretAccessKey: 'guessed' });
      const unknownKey = signedMintRequest(api.url, LOCAL_REGION, { ...LOCAL_OPERATOR, accessKeyId: 'AKIAUNKNOWN' });
      const stale = signedMintRequest(api.url, LOCAL_REGION, LOCAL_OPERATOR, new Date(Date.now() - 20 * 60 * 1000));
      const host = new URL(api.url).host;
      const signedHeaders = new SigV4Signer('execute-api', LOCAL_REGION).sign({ method: 'POST', path: '/v1/admin/other', headers: { host }, body: '' }, LOCAL_OPERATOR);
      // The signature's headers without the host, which fetch sets itself.
      const signedForOtherPath = Object.fromEntries(Object.entries(signedHeaders).filter(([name]) => name !== 'host'));
      // Act
      const answers = await Promise.all([
        fetch(`${api.url}/v1/admin/token`, { method: 'POST', headers: { 'x-operator': LOCAL_OPERATOR.arn } }),
        fetch(wrongSecret.url, wrongSecret.init),
        fetch(unknownKey.url, unknownKey.init),
        fetch(stale.url, stale.init),
        fetch(`${api.url}/v1/admin/token`, { method: 'POST', headers: signedForOtherPath }),
      ]);
      // Assess
      expect(answers.map((answer) => answer.status)).toEqual([403, 403, 403, 403, 403]);
    });

    it('refuses to mint without a verified IAM principal', async () => {
      // Prepare
      const handler = (await import('../../lambdas/handlers/registry')).createAdminTokenHandler(api.deps);
      // Act
      const answer = await handler(mintEvent() as never, {});
      // Assess
      expect(answer.statusCode).toBe(403);
    });
  });

  describe('Admin tokens', () => {
    it('are refused when signed with anything the authorizer can read: the old HS256 admin secret, or a key of its own', async () => {
      // Prepare
      const claims = { scope: 'admin', sub: 'mallory', jti: crypto.randomUUID() };
      const hs256 = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: 'admin' }).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(new TextEncoder().encode(ADMIN_SECRET));
      const otherKey = new TokenService({ issuer: ISSUER, audience: AUDIENCE, tenantSecret: () => Promise.resolve(new Uint8Array(40)), adminSigner: new LocalAdminTokenSigner(path.join(mkdtempSync(path.join(tmpdir(), 'other-')), 'k.pem')) });
      const selfSigned = (await otherKey.mintAdminToken('arn:aws:iam::123456789012:user/mallory')).token;
      // Act + Assess
      expect((await api.call('GET', '/v1/admin/tenants', { headers: bearer(hs256) })).status).toBe(403);
      expect((await api.call('GET', '/v1/admin/tenants', { headers: bearer(selfSigned) })).status).toBe(403);
    });

    it('can be revoked before they expire, by jti, and the revocation acts on the next request', async () => {
      // Prepare
      const { token, tokenId } = await api.deps.tokens.mintAdminToken(operatorArn);
      const other = await api.deps.tokens.mintAdminToken(operatorArn);
      expect((await api.call('GET', '/v1/admin/tenants', { headers: bearer(token) })).status).toBe(200);
      // Act
      const revoked = await api.call('POST', `/v1/admin/tokens/${tokenId}/revoke`, { headers: bearer(other.token) });
      // Assess
      expect(revoked.status).toBe(200);
      expect((await api.call('GET', '/v1/admin/tenants', { headers: bearer(token) })).status).toBe(403);
      expect((await api.call('GET', '/v1/admin/tenants', { headers: bearer(other.token) })).status).toBe(200);
      expect((await api.admin('GET', '/v1/admin/audit')).json.items).toEqual(expect.arrayContaining([expect.objectContaining({ actor: operatorArn, action: 'admin-token.revoke', target: tokenId })]));
    });
  });

  describe('Stack: the admin token key and the mint route', () => {
    const stack = new Stack(testApp({ 'aws:cdk:bundling-stacks': [] }), 'AdminIdentity');
    const meteredApi = new MeteredHttpApi(stack, 'MeteredApi', { usageEventBus: new events.EventBus(stack, 'Bus') });
    const operators = new iam.Role(stack, 'Operators', { assumedBy: new iam.AccountRootPrincipal() });
    meteredApi.grantMintAdminTokens(operators);
    const template = Template.fromStack(stack);
    const keyPolicy = () => (Object.values(template.findResources('AWS::KMS::Key')) as { Properties: { KeySpec?: string; KeyPolicy: unknown } }[])
      .map((key) => key.Properties)
      .find((properties) => properties.KeySpec === 'ECC_NIST_P256')!.KeyPolicy as { Statement: { Sid?: string; Action: string | string[]; Principal: unknown }[] };

    it('is an ECC_NIST_P256 signing key whose policy names the mint function alone for kms:Sign, and never delegates Sign to the account', () => {
      // Act
      const statements = keyPolicy().Statement;
      const actions = (statement: { Action: string | string[] }) => [statement.Action].flat();
      // Assess
      expect(statements.filter((statement) => actions(statement).some((action) => action === 'kms:Sign' || action === 'kms:*'))).toEqual([
        expect.objectContaining({ Sid: 'MintAdminTokens', Action: 'kms:Sign', Principal: { AWS: { 'Fn::GetAtt': [expect.stringMatching(/^MeteredApiAdminTokenFunctionServiceRole/), 'Arn'] } } }),
      ]);
      expect(statements.find((statement) => statement.Sid === 'VerifyAdminTokens')).toMatchObject({ Action: 'kms:GetPublicKey', Principal: { AWS: { 'Fn::GetAtt': [expect.stringMatching(/^MeteredApiAuthorizerFunctionServiceRole/), 'Arn'] } } });
    });

    it('puts POST /v1/admin/token behind IAM authorization and grants operators execute-api:Invoke on that route only', () => {
      // Assess
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: ADMIN_TOKEN_ROUTE.routeKey, AuthorizationType: 'AWS_IAM' });
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^Operators') }],
        PolicyDocument: { Statement: [Match.objectLike({ Action: 'execute-api:Invoke', Resource: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp('/POST/v1/admin/token$')])]) }) })] },
      });
      template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    });
  });
});
