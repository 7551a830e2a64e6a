import * as jose from 'jose';
import { MeteredApiHarness, startMeteredApi } from '../../support/metered-api-harness';

const PASSWORD = 'Correct-horse-7-battery';

describe('the account routes on the local gateway, against the Cognito emulator', () => {
  let api: MeteredApiHarness;

  beforeAll(async () => {
    api = await startMeteredApi({ accounts: true, sourceIpPolicy: { limit: { requestsPerMinute: 1000, burst: 1000 } } });
  });
  afterAll(async () => {
    await api.stop();
  });

  it('registers, confirms with the code the emulator sent, signs in, and manages its own keys', async () => {
    const email = 'grace.hopper@example.com';
    const registered = await api.call('POST', '/v1/auth/register', { body: { email, password: PASSWORD } });
    expect(registered.status).toBe(202);
    const code = await api.verificationCode(email);
    expect((await api.call('POST', '/v1/auth/confirm', { body: { email, code } })).status).toBe(200);

    const login = await api.call('POST', '/v1/auth/login', { body: { email, password: PASSWORD } });
    expect(login.status).toBe(200);
    const accessToken = String(login.json.access_token);
    expect(jose.decodeJwt(accessToken).iss).toBe(api.accounts!.issuer);
    const bearer = { authorization: `Bearer ${accessToken}` };

    const me = await api.call('GET', '/v1/auth/me', { headers: bearer });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ email, tier: 'free', blocked: false });

    const created = await api.call('POST', '/v1/keys', { headers: bearer, body: { name: 'laptop' } });
    expect(created.status).toBe(201);
    const usage = await api.call('GET', '/v1/usage', { headers: { authorization: `ApiKey ${String(created.json.apiKey)}` } });
    expect(usage.status).toBe(200);

    const logout = await api.call('POST', '/v1/auth/logout', { body: { refresh_token: String(login.json.refresh_token) } });
    expect(logout.status).toBe(200);
    const refreshed = await api.call('POST', '/v1/auth/refresh', { body: { refresh_token: String(login.json.refresh_token) } });
    expect(refreshed.status).toBe(401);
  });

  it('answers a second registration of the same address as the first; a confirmed address gets no new code', async () => {
    const email = 'twice@example.com';
    const first = await api.call('POST', '/v1/auth/register', { body: { email, password: PASSWORD } });
    const confirmed = await api.call('POST', '/v1/auth/confirm', { body: { email, code: await api.verificationCode(email) } });
    const code = await api.verificationCode(email);
    const second = await api.call('POST', '/v1/auth/register', { body: { email, password: PASSWORD } });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(confirmed.status).toBe(200);
    expect([second.status, second.json]).toEqual([first.status, first.json]);
    // An unconfirmed address gets a new code instead (test/accounts/auth-route.test.ts).
    expect(await api.verificationCode(email)).toBe(code);
  });

  it('refuses a wrong password and an unknown address alike', async () => {
    const email = 'known@example.com';
    await api.call('POST', '/v1/auth/register', { body: { email, password: PASSWORD } });
    await api.call('POST', '/v1/auth/confirm', { body: { email, code: await api.verificationCode(email) } });
    const wrong = await api.call('POST', '/v1/auth/login', { body: { email, password: `${PASSWORD}x` } });
    const unknown = await api.call('POST', '/v1/auth/login', { body: { email: 'nobody@example.com', password: PASSWORD } });
    expect(wrong.status).toBe(401);
    expect([unknown.status, (unknown.json.error as string | undefined)]).toEqual([wrong.status, wrong.json.error]);
  });
});
