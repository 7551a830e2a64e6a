import { MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

/**
 * No part of a credential in any log line: every line the authorizer and the routes print while
 * refusing and admitting credentials of every shape is scanned for any 12 characters of the
 * secret part of those credentials (an API key after its `aut_` prefix; a token's payload and
 * signature).
 */

const WINDOW = 12;

/** The secret parts of a credential: what a log line must not hold any {@link WINDOW} characters of. */
function secretParts(credential: string): string[] {
  if (credential.startsWith('aut_')) return [credential.slice(4)];
  const parts = credential.split('.');
  return parts.length === 3 ? parts.slice(1) : [credential];
}

function leaks(lines: readonly string[], credential: string): string[] {
  const found: string[] = [];
  for (const part of secretParts(credential)) {
    for (let i = 0; i + WINDOW <= part.length; i++) {
      const window = part.slice(i, i + WINDOW);
      const line = lines.find((l) => l.includes(window));
      if (line) found.push(`${window} in ${line.slice(0, 200)}`);
    }
  }
  return found;
}

describe('Security: no part of a credential in any log line', () => {
  let api: MeteredApiHarness;
  const lines: string[] = [];
  const spies: jest.SpyInstance[] = [];

  beforeAll(async () => {
    const capture = (chunk: unknown) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    };
    spies.push(jest.spyOn(process.stdout, 'write').mockImplementation(capture));
    spies.push(jest.spyOn(process.stderr, 'write').mockImplementation(capture));
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) spies.push(jest.spyOn(console, method).mockImplementation((...args: unknown[]) => void capture(args.map(String).join(' '))));
    api = await startMeteredApi();
  });
  afterAll(async () => {
    await api.stop();
    for (const spy of spies) spy.mockRestore();
  });

  it('logs refusals and admissions of API keys and tokens without any part of them', async () => {
    // Prepare: a working key and token, a revoked key, and shapes a client may send by mistake.
    const { apiKey } = await api.tenantWithKey('premium');
    const revoked = await api.tenantWithKey('free');
    expect((await api.admin('POST', `/v1/admin/keys/${revoked.keyId}/revoke`)).status).toBe(200);
    const token = String((await api.call('POST', '/v1/auth/token', { headers: { 'x-api-key': apiKey } })).json.access_token);
    const [header, payload, signature] = token.split('.');
    const tampered = `${header}.${payload}.${signature.slice(0, -4)}AAAA`;
    const unknownKey = `aut_${'Z'.repeat(43)}`;
    const attempts: Record<string, string>[] = [
      { authorization: `${apiKey} ${apiKey}` },
      { authorization: `${apiKey} extra` },
      { authorization: `Basic ${Buffer.from(`user:${apiKey}`).toString('base64')}` },
      { authorization: `Token ${apiKey}` },
      { authorization: `ApiKey ${revoked.apiKey}` },
      { authorization: `ApiKey ${unknownKey}` },
      { authorization: `Bearer ${apiKey}` },
      { authorization: `Bearer ${tampered}` },
      { authorization: `${token} x` },
      { authorization: `Bearer ${token}` },
      { authorization: `ApiKey ${apiKey}` },
    ];
    // Act
    const statuses: number[] = [];
    for (const headers of attempts) statuses.push((await api.call('GET', '/v1/users', { headers })).status);
    statuses.push((await api.call('POST', '/v1/auth/token', { headers: { 'x-api-key': revoked.apiKey } })).status);
    // Assess: the refusals were logged (the scan is not vacuous), and hold no part of any credential.
    expect(statuses.slice(0, 9).every((status) => status === 401 || status === 403)).toBe(true);
    expect(lines.filter((line) => line.includes('credential refused')).length).toBeGreaterThanOrEqual(9);
    for (const credential of [apiKey, revoked.apiKey, unknownKey, token, tampered, api.adminKey]) expect(leaks(lines, credential)).toEqual([]);
  });
});
