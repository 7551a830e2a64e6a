import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalStack, startLocalStack } from '../../../local/stack/local-stack';

const PASSWORD = 'Correct-horse-7-battery';

async function post(stack: LocalStack, route: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${stack.apiUrl}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function me(stack: LocalStack, accessToken: string) {
  const response = await fetch(`${stack.apiUrl}/v1/auth/me`, { headers: { authorization: `Bearer ${accessToken}` } });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function health(stack: LocalStack): Promise<Record<string, unknown>> {
  return (await (await fetch(`${stack.apiUrl}/health`)).json()) as Record<string, unknown>;
}

describe('npm start with consumer accounts (the Cognito emulator beside the stack)', () => {
  let dataDir: string;
  let stack: LocalStack | undefined;
  const lines: string[] = [];
  const start = () =>
    startLocalStack({ dataDir, apiPort: 0, eventsPort: 0, demo: false, bufferIntervalSeconds: 900, bufferSizeMiB: 1, etlIntervalSeconds: 3600, log: (line) => lines.push(line) });

  beforeAll(() => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'stack-accounts-'));
  });
  afterAll(async () => {
    await stack?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the code, signs the account in, and keeps its tenant across a restart', async () => {
    stack = await start();
    expect(stack.accounts?.issuer).toBe(`${stack.accounts?.endpoint}/${stack.accounts?.userPoolId}`);
    const email = 'ada@example.com';
    expect((await post(stack, '/v1/auth/register', { email, password: PASSWORD })).status).toBe(202);
    const code = await stack.verificationCode(email);
    expect(lines).toContain(`accounts: verification code for ${email}: ${code}`);
    expect((await post(stack, '/v1/auth/confirm', { email, code })).status).toBe(200);
    const first = await post(stack, '/v1/auth/login', { email, password: PASSWORD });
    const before = await me(stack, String(first.json.access_token));
    expect(before).toMatchObject({ status: 200, json: { email, tier: 'free' } });
    expect(await health(stack)).toMatchObject({ status: 'ok', accounts: 'running' });
    const { endpoint, issuer } = stack.accounts!;
    await stack.stop();
    await expect(fetch(`${endpoint}/health`)).rejects.toThrow();

    stack = await start();
    expect(stack.accounts).toMatchObject({ endpoint, issuer });
    const again = await post(stack, '/v1/auth/login', { email, password: PASSWORD });
    expect(again.status).toBe(200);
    expect((await me(stack, String(again.json.access_token))).json.tenantId).toBe(before.json.tenantId);
  });
});
