import { IncomingHttpHeaders, Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { CognitoAccountsClient, CognitoRefusal, CognitoUnavailable } from '../../lambdas/accounts/cognito-accounts';

interface Seen {
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

/** A loopback stand-in for Cognito: records each request, answers what the test queued (status, body). */
async function fakeCognito(): Promise<{ url: string; seen: Seen[]; answers: { status: number; body: object }[]; server: Server }> {
  const seen: Seen[] = [];
  const answers: { status: number; body: object }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
      const answer = answers.shift() ?? { status: 200, body: {} };
      res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => { resolve(); }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, answers, server };
}

/**
 * Unit: the Cognito adapter's requests (AWS JSON 1.1, unsigned: Cognito evaluates no IAM policy for
 * SignUp, ConfirmSignUp, InitiateAuth and RevokeToken,
 * https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_SignUp.html) and how
 * it tells Cognito's refusals from Cognito not deciding.
 */
describe('CognitoAccountsClient', () => {
  let fake: Awaited<ReturnType<typeof fakeCognito>>;
  let client: CognitoAccountsClient;

  beforeEach(async () => {
    fake = await fakeCognito();
    client = new CognitoAccountsClient({ clientId: 'app-client' }, { env: { AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: fake.url }, policy: { connectionTimeoutMs: 1000, requestTimeoutMs: 2000, maxAttempts: 1 } });
  });
  afterEach(async () => {
    client.destroy();
    await new Promise<void>((resolve) => fake.server.close(() => { resolve(); }));
  });

  it('sends SignUp unsigned to AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER, with the address as username and email attribute', async () => {
    // Prepare
    fake.answers.push({ status: 200, body: { UserSub: 'sub-1', UserConfirmed: false } });
    // Act
    const answer = await client.signUp({ email: 'a@example.test', password: 'pw' });
    // Assess
    expect(answer).toEqual({ userSub: 'sub-1', confirmed: false });
    const [request] = fake.seen;
    expect(request.headers['x-amz-target']).toBe('AWSCognitoIdentityProviderService.SignUp');
    expect(request.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(request.headers.authorization).toBeUndefined();
    expect(request.headers['x-amz-date']).toBeUndefined();
    expect(request.body).toEqual({ ClientId: 'app-client', Username: 'a@example.test', Password: 'pw', UserAttributes: [{ Name: 'email', Value: 'a@example.test' }] });
  });

  it('signs in with USER_PASSWORD_AUTH and refreshes with REFRESH_TOKEN_AUTH, reading AuthenticationResult', async () => {
    // Prepare
    fake.answers.push({ status: 200, body: { AuthenticationResult: { AccessToken: 'at', IdToken: 'it', RefreshToken: 'rt', ExpiresIn: 900, TokenType: 'Bearer' } } });
    fake.answers.push({ status: 200, body: { AuthenticationResult: { AccessToken: 'at2', IdToken: 'it2', ExpiresIn: 900 } } });
    // Act
    const signedIn = await client.passwordSignIn({ email: 'a@example.test', password: 'pw' });
    const refreshed = await client.refresh('rt');
    // Assess
    expect(signedIn).toEqual({ accessToken: 'at', idToken: 'it', refreshToken: 'rt', expiresIn: 900 });
    expect(refreshed).toEqual({ accessToken: 'at2', idToken: 'it2', expiresIn: 900 });
    expect(fake.seen.map((s) => s.body)).toEqual([
      { ClientId: 'app-client', AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: 'a@example.test', PASSWORD: 'pw' } },
      { ClientId: 'app-client', AuthFlow: 'REFRESH_TOKEN_AUTH', AuthParameters: { REFRESH_TOKEN: 'rt' } },
    ]);
  });

  it('refuses a challenge (MFA, new password) instead of tokens as UnsupportedChallenge', async () => {
    // Prepare
    fake.answers.push({ status: 200, body: { ChallengeName: 'SOFTWARE_TOKEN_MFA', Session: 's' } });
    // Act
    const signIn = client.passwordSignIn({ email: 'a@example.test', password: 'pw' });
    // Assess
    await expect(signIn).rejects.toMatchObject({ name: 'CognitoRefusal', code: 'UnsupportedChallenge' });
  });

  it.each([
    [400, 'com.amazonaws.cognito#NotAuthorizedException', CognitoRefusal],
    [400, 'UsernameExistsException', CognitoRefusal],
    [400, 'LimitExceededException', CognitoRefusal],
    [400, 'TooManyRequestsException', CognitoUnavailable],
    [500, 'InternalErrorException', CognitoUnavailable],
  ])('classifies HTTP %i %s as %p', async (status, type, expected) => {
    // Prepare
    fake.answers.push({ status, body: { __type: type, message: 'no' } });
    // Act
    const revoke = client.revoke('rt');
    // Assess
    const name = type.slice(type.lastIndexOf('#') + 1);
    await expect(revoke).rejects.toBeInstanceOf(expected);
    // Either way, it is Cognito's answer that was classified (not a failure to reach it).
    await expect(revoke).rejects.toMatchObject(expected === CognitoRefusal ? { code: name } : { message: expect.stringContaining(`${name} (HTTP ${String(status)})`) as unknown });
    expect(fake.seen).toHaveLength(1);
  });
});
