import { ApiClient, ApiError, NotificationKind } from '../../client';
import { MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

const PASSWORD = 'Correct-Horse-9-battery';

/** Registers, confirms with the code the emulator sent, and returns a client signed in with the account's email and password. */
async function signedUpClient(api: MeteredApiHarness, email: string): Promise<ApiClient> {
  const registered = await ApiClient.register(api.url, email, PASSWORD);
  expect(registered.status).toBe('verification-sent');
  expect(await ApiClient.confirm(api.url, email, await api.verificationCode(email))).toEqual({ status: 'confirmed' });
  return new ApiClient({ baseUrl: api.url, email, password: PASSWORD, onRateLimit: 'throw' });
}

/** Issue 15, item 5 (accounts half): the client against the local API, its account routes and the Cognito emulator. */
describe('Class: ApiClient with an account, against the local API and its Cognito emulator', () => {
  let api: MeteredApiHarness;

  beforeAll(async () => {
    api = await startMeteredApi({ accounts: true, sourceIpPolicy: { limit: { requestsPerMinute: 1000, burst: 1000 } }, tiers: { free: { requestsPerMinute: 600, burst: 100 } } });
  });
  afterAll(() => api.stop());

  it('signs up, signs in, and manages its own keys: create (shown once), list, rotate with a grace period, revoke', async () => {
    // Prepare
    const email = 'ada.client@example.com';
    const client = await signedUpClient(api, email);
    // Act
    const me = await client.me();
    const created = await client.createKey('ci');
    const withKey = new ApiClient({ baseUrl: api.url, apiKey: created.apiKey });
    const users = await withKey.users();
    const rotated = await client.rotateKey(created.keyId, 600);
    const revoked = await client.revokeKey(rotated.key.keyId);
    const listed = await client.listKeys();
    // Assess
    expect(me).toMatchObject({ email, tier: 'free', blocked: false });
    expect(created.apiKey.startsWith(created.prefix)).toBe(true);
    expect(users.items.length).toBeGreaterThan(0);
    expect(rotated.previous.keyId).toBe(created.keyId);
    expect(Date.parse(rotated.previous.expiresAt ?? '') - Date.now()).toBeGreaterThan(500_000);
    expect(revoked).toMatchObject({ keyId: rotated.key.keyId, status: 'revoked' });
    expect(listed.map((key) => key.keyId).sort()).toEqual([created.keyId, rotated.key.keyId].sort());
    expect(listed.every((key) => !('apiKey' in key))).toBe(true);
  });

  it('calls the tenant routes with the session, shows the quota, and signs in again after logout', async () => {
    const client = await signedUpClient(api, 'grace.client@example.com');
    const usage = await client.usage();
    expect(usage.tier).toBe('free');
    expect(client.quota?.policy).toBe('free');
    await client.logout();
    expect((await client.me()).email).toBe('grace.client@example.com');
  });

  it('cannot touch another tenant’s key: 404 key-not-found, as for a key that does not exist', async () => {
    const owner = await signedUpClient(api, 'owner.client@example.com');
    const other = await signedUpClient(api, 'other.client@example.com');
    const { keyId } = await owner.createKey('mine');
    const refusal = await other.revokeKey(keyId).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ApiError);
    expect(refusal).toMatchObject({ status: 404, error: 'key-not-found' });
    expect((await owner.listKeys()).find((key) => key.keyId === keyId)?.status).toBe('active');
  });

  it('reads and sets its notification opt-outs (issue 16) through the local API, and gets ApiError 400 for a kind one may not opt out of', async () => {
    // Prepare
    const client = await signedUpClient(api, 'notify.client@example.com');
    // Act
    const before = await client.notificationSettings();
    const set = await client.setNotificationOptOuts(['quota-80', 'key-created']);
    const after = await client.notificationSettings();
    const refusal = await client.setNotificationOptOuts(['quota-100' as NotificationKind]).catch((error: unknown) => error);
    // Assess
    expect(before.optOuts).toEqual([]);
    expect(before.optional).toContain('quota-80');
    expect(before.critical).toContain('quota-100');
    expect(set.optOuts).toEqual(['key-created', 'quota-80']);
    expect(after.optOuts).toEqual(['key-created', 'quota-80']);
    expect(refusal).toBeInstanceOf(ApiError);
    expect(refusal).toMatchObject({ status: 400, error: 'invalid-body', message: expect.stringContaining('"quota-100"') as unknown });
    expect((await client.notificationSettings()).optOuts).toEqual(['key-created', 'quota-80']);
  });

  it('throws ApiError invalid-credentials for a wrong password', async () => {
    await signedUpClient(api, 'wrong.client@example.com');
    const client = new ApiClient({ baseUrl: api.url, email: 'wrong.client@example.com', password: `${PASSWORD}x` });
    await expect(client.me()).rejects.toMatchObject({ name: 'ApiError', status: 401, error: 'invalid-credentials' });
  });
});
