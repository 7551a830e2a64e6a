import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as jose from 'jose';
import { ACCOUNT_TOKEN_VALIDITY } from '../../../contracts/accounts';
import { CognitoEmulator, startCognitoEmulator } from '../../../local/accounts/cognito-emulator';
import { processAlive } from '../../../sdk/process-alive';

const ROOT = path.join(__dirname, '..', '..', '..');
const PASSWORD = 'Correct-horse-7-battery';

/** One Cognito API call, as the AWS JSON 1.1 protocol has it. */
async function cognito(emulator: CognitoEmulator, operation: string, input: object): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(emulator.endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSCognitoIdentityProviderService.${operation}` },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return condition();
}

describe('the local Cognito emulator (cognito-local in a process of its own)', () => {
  let dir: string;
  const started: CognitoEmulator[] = [];
  const start = async (options: { port?: number; early?: boolean } = {}) => {
    const emulator = await startCognitoEmulator({ dir, ...options });
    started.push(emulator);
    return emulator;
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'cognito-emulator-'));
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((emulator) => emulator.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('signs up, sends the code to the mailbox, confirms, and signs in with an access token of the pool (15 minutes, verified by its JWKS)', async () => {
    const emulator = await start();
    const email = 'Ada.Lovelace@example.com';
    const signUp = await cognito(emulator, 'SignUp', { ClientId: emulator.clientId, Username: email, Password: PASSWORD });
    expect(signUp).toMatchObject({ status: 200, body: { UserConfirmed: false } });
    const code = await emulator.verificationCode(email);
    expect(code).toMatch(/^[0-9]{6}$/);
    // Before confirming, a sign-in is refused.
    const early = await cognito(emulator, 'InitiateAuth', { ClientId: emulator.clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: email, PASSWORD } });
    expect(early.body.__type).toBe('UserNotConfirmedException');
    expect(await cognito(emulator, 'ConfirmSignUp', { ClientId: emulator.clientId, Username: email, ConfirmationCode: code })).toEqual({ status: 200, body: {} });

    const auth = await cognito(emulator, 'InitiateAuth', { ClientId: emulator.clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: email, PASSWORD } });
    expect(auth.status).toBe(200);
    const result = auth.body.AuthenticationResult as { AccessToken: string; RefreshToken: string };
    const { payload, protectedHeader } = await jose.jwtVerify(result.AccessToken, jose.createRemoteJWKSet(new URL(emulator.jwksUrl)), { issuer: emulator.issuer });
    expect(protectedHeader.alg).toBe('RS256');
    expect(emulator.issuer).toBe(`${emulator.endpoint}/${emulator.userPoolId}`);
    expect(payload).toMatchObject({ token_use: 'access', client_id: emulator.clientId, sub: signUp.body.UserSub });
    expect(payload.exp! - payload.iat!).toBe(ACCOUNT_TOKEN_VALIDITY.accessMinutes * 60);
    expect(emulator.pool).toMatchObject({ userPoolId: emulator.userPoolId, clientIds: [emulator.clientId], issuer: emulator.issuer, algorithms: ['RS256'] });
    expect(emulator.pool.jwks).toEqual(new URL(emulator.jwksUrl));

    // The refresh token works until it is revoked.
    const refresh = () => cognito(emulator, 'InitiateAuth', { ClientId: emulator.clientId, AuthFlow: 'REFRESH_TOKEN_AUTH', AuthParameters: { REFRESH_TOKEN: result.RefreshToken } });
    expect((await refresh()).status).toBe(200);
    expect((await cognito(emulator, 'RevokeToken', { ClientId: emulator.clientId, Token: result.RefreshToken })).status).toBe(200);
    expect((await refresh()).body.__type).toBe('NotAuthorizedException');
  });

  it('creates the pool and its public app client with the contract settings', async () => {
    const emulator = await start();
    const { body } = await cognito(emulator, 'DescribeUserPoolClient', { UserPoolId: emulator.userPoolId, ClientId: emulator.clientId });
    const client = body.UserPoolClient as Record<string, unknown>;
    expect(client).toMatchObject({
      ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      PreventUserExistenceErrors: 'ENABLED',
      EnableTokenRevocation: true,
      AccessTokenValidity: 15,
      TokenValidityUnits: { AccessToken: 'minutes', IdToken: 'minutes', RefreshToken: 'days' },
    });
    expect(client.ClientSecret).toBeUndefined();
    const pool = (await cognito(emulator, 'DescribeUserPool', { UserPoolId: emulator.userPoolId })).body.UserPool as Record<string, unknown>;
    expect(pool).toMatchObject({ UsernameAttributes: ['email'], AutoVerifiedAttributes: ['email'], MfaConfiguration: 'OFF', Policies: { PasswordPolicy: { MinimumLength: 12, RequireSymbols: true } } });
  });

  it('keeps the pool across restarts, and makes a new one when the data is gone', async () => {
    const first = await start();
    const email = 'kept@example.com';
    await cognito(first, 'SignUp', { ClientId: first.clientId, Username: email, Password: PASSWORD });
    await first.stop();

    const second = await start();
    expect([second.userPoolId, second.clientId, second.issuer, second.endpoint]).toEqual([first.userPoolId, first.clientId, first.issuer, first.endpoint]);
    // The user is still there: signing up again is refused.
    expect((await cognito(second, 'SignUp', { ClientId: second.clientId, Username: email, Password: PASSWORD })).body.__type).toBe('UsernameExistsException');
    await second.stop();

    rmSync(path.join(dir, '.cognito'), { recursive: true });
    const third = await start();
    expect(third.userPoolId).not.toBe(first.userPoolId);
    expect((await cognito(third, 'DescribeUserPoolClient', { UserPoolId: third.userPoolId, ClientId: third.clientId })).status).toBe(200);
  });

  it('brings a kept pool up to the current settings when they changed', async () => {
    const first = await start();
    await cognito(first, 'UpdateUserPoolClient', { UserPoolId: first.userPoolId, ClientId: first.clientId, AccessTokenValidity: 60, PreventUserExistenceErrors: 'LEGACY' });
    await first.stop();
    const file = path.join(dir, 'pool.json');
    writeFileSync(file, JSON.stringify({ ...(JSON.parse(readFileSync(file, 'utf8')) as object), settings: 'older settings' }));

    const second = await start();
    expect(second.clientId).toBe(first.clientId);
    const { body } = await cognito(second, 'DescribeUserPoolClient', { UserPoolId: second.userPoolId, ClientId: second.clientId });
    expect(body.UserPoolClient).toMatchObject({ AccessTokenValidity: 15, PreventUserExistenceErrors: 'ENABLED' });
    expect((JSON.parse(readFileSync(file, 'utf8')) as { settings: string }).settings).not.toBe('older settings');
  });

  it('keeps the issuer when the port it was made on is taken at the next start', async () => {
    const first = await start();
    await first.stop();
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(Number(new URL(first.endpoint).port), '127.0.0.1', resolve));
    try {
      const second = await start();
      expect(second.endpoint).not.toBe(first.endpoint);
      expect(second.issuer).toBe(first.issuer);
      const email = 'moved@example.com';
      await cognito(second, 'SignUp', { ClientId: second.clientId, Username: email, Password: PASSWORD });
      await cognito(second, 'ConfirmSignUp', { ClientId: second.clientId, Username: email, ConfirmationCode: await second.verificationCode(email) });
      const auth = await cognito(second, 'InitiateAuth', { ClientId: second.clientId, AuthFlow: 'USER_PASSWORD_AUTH', AuthParameters: { USERNAME: email, PASSWORD } });
      const token = (auth.body.AuthenticationResult as { AccessToken: string }).AccessToken;
      const { payload } = await jose.jwtVerify(token, jose.createRemoteJWKSet(second.pool.jwks as URL), { issuer: first.issuer });
      expect(payload.client_id).toBe(first.clientId);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('with `early`, hands a kept pool over before the emulator answers, and waits where there is none', async () => {
    const fresh = await start({ early: true });
    expect(fresh.state()).toBe('running');
    await fresh.stop();

    const kept = await start({ early: true });
    expect([kept.userPoolId, kept.issuer]).toEqual([fresh.userPoolId, fresh.issuer]);
    await kept.ready;
    expect(kept.state()).toBe('running');
    expect((await cognito(kept, 'DescribeUserPoolClient', { UserPoolId: kept.userPoolId, ClientId: kept.clientId })).status).toBe(200);
    await kept.stop();

    // Its data gone, the kept ids are not handed over: a new pool is made first.
    rmSync(path.join(dir, '.cognito'), { recursive: true });
    const remade = await start({ early: true });
    expect(remade.state()).toBe('running');
    expect(remade.userPoolId).not.toBe(fresh.userPoolId);
  });

  it('listens on the port asked for, and says when no code comes', async () => {
    const probe = await start();
    const port = Number(new URL(probe.endpoint).port);
    await probe.stop();
    const emulator = await start({ port });
    expect(emulator.endpoint).toBe(`http://127.0.0.1:${port}`);
    await expect(emulator.verificationCode('nobody@example.com', { timeoutMs: 200 })).rejects.toThrow(/No verification code was sent to nobody@example.com/);
  });

  it('leaves no process behind when stopped', async () => {
    const emulator = await start();
    const pid = emulator.pid!;
    expect(processAlive(pid)).toBe(true);
    await emulator.stop();
    expect(processAlive(pid)).toBe(false);
    expect(emulator.state()).toBe('stopped');
    await expect(fetch(`${emulator.endpoint}/health`)).rejects.toThrow();
  });

  it('leaves Ctrl-C to its parent, and says so when it ends unasked', async () => {
    const lines: string[] = [];
    const emulator = await startCognitoEmulator({ dir, log: (line) => lines.push(line) });
    started.push(emulator);
    const pid = emulator.pid!;
    process.kill(pid, 'SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await fetch(`${emulator.endpoint}/health`)).status).toBe(200);
    process.kill(pid, 'SIGKILL');
    expect(await waitUntil(() => emulator.state() === 'exited', 5000)).toBe(true);
    expect(lines.some((line) => line.startsWith('accounts: the Cognito emulator exited unexpectedly'))).toBe(true);
  });

  it('ends when the process that started it is killed', async () => {
    const script = path.join(dir, 'parent.ts');
    writeFileSync(
      script,
      `import { startCognitoEmulator } from ${JSON.stringify(path.join(ROOT, 'local', 'accounts', 'cognito-emulator'))};\n` +
        `void startCognitoEmulator({ dir: ${JSON.stringify(path.join(dir, 'data'))} }).then((e) => { process.stdout.write(String(e.pid) + '\\n'); });\n` +
        'setInterval(() => undefined, 1000);\n',
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (chunk: Buffer) => { resolve(Number.parseInt(chunk.toString(), 10)); });
      parent.once('exit', (code) => { reject(new Error(`the parent exited (${code}) before the emulator started`)); });
    });
    expect(processAlive(pid)).toBe(true);
    parent.kill('SIGKILL');
    expect(await waitUntil(() => !processAlive(pid), 5000)).toBe(true);
  });
});
