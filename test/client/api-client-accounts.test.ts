import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { ApiClient, ApiClientClock, ApiError, RateLimitedError } from '../../client';

interface Received {
  readonly method: string;
  readonly path: string;
  readonly authorization?: string;
  readonly body: unknown;
}

type Answer = readonly [status: number, body: unknown, headers?: Record<string, string>];

/**
 * A real HTTP server scripted per route, standing for what the account routes cannot be made to do
 * on purpose (expire a token now, refuse a refresh token); the same flows run against the local
 * API and its Cognito emulator in api-client-accounts.integration.test.ts.
 */
async function startServer(answer: (request: Received) => Answer): Promise<{ url: string; server: Server; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      const request: Received = { method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization, body: text === '' ? undefined : JSON.parse(text) };
      received.push(request);
      const [status, body, headers = {}] = answer(request);
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, received };
}

const close = (server: Server) =>
  new Promise((resolve) => {
    server.closeAllConnections();
    server.close(resolve);
  });

/** A clock the test moves; sleeping moves it. */
function manualClock(start = 1_000_000): ApiClientClock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, sleep: (ms) => { now += ms; return Promise.resolve(); }, advance: (ms) => { now += ms; } };
}

const EMAIL = 'ada@example.com';
const PASSWORD = 'Correct-Horse-9';
const calls = (received: Received[]) => received.map((r) => `${r.method} ${r.path}`);

/** The account routes: login grants access-N with refresh-1, refresh grants access-N (no new refresh token), as Cognito's REFRESH_TOKEN_AUTH does. */
function accountRoutes(overrides: (request: Received) => Answer | undefined = () => undefined) {
  let issued = 0;
  return (request: Received): Answer => {
    const overridden = overrides(request);
    if (overridden) return overridden;
    const route = request.path.replace(/^\/stage/, '');
    if (route === '/v1/auth/login') return [200, { access_token: `access-${++issued}`, token_type: 'Bearer', expires_in: 900, refresh_token: 'refresh-1' }];
    if (route === '/v1/auth/refresh') return [200, { access_token: `access-${++issued}`, token_type: 'Bearer', expires_in: 900 }];
    if (route === '/v1/auth/logout') return [200, { status: 'signed-out' }];
    return [200, { path: request.path, authorization: request.authorization, body: request.body }];
  };
}

describe('Class: ApiClient with an account (email and password)', () => {
  it('signs in at POST /v1/auth/login with the email and password, and calls with the access token', async () => {
    // Prepare
    const { url, server, received } = await startServer(accountRoutes());
    try {
      const client = new ApiClient({ baseUrl: url, email: EMAIL, password: PASSWORD });
      // Act
      const first = await client.request<{ authorization: string }>('GET', '/v1/auth/me');
      await client.usage();
      // Assess
      expect(first.authorization).toBe('Bearer access-1');
      expect(received[0]).toEqual({ method: 'POST', path: '/v1/auth/login', authorization: undefined, body: { email: EMAIL, password: PASSWORD } });
      expect(calls(received)).toEqual(['POST /v1/auth/login', 'GET /v1/auth/me', 'GET /v1/usage']);
    } finally {
      await close(server);
    }
  });

  it('renews the access token at POST /v1/auth/refresh before it expires, keeping the refresh token Cognito does not reissue', async () => {
    const clock = manualClock();
    const { url, server, received } = await startServer(accountRoutes());
    try {
      const client = new ApiClient({ baseUrl: url, email: EMAIL, password: PASSWORD, clock, tokenRefreshMarginMs: 60_000 });
      await client.usage();
      clock.advance(839_000);
      expect((await client.request<{ authorization: string }>('GET', '/v1/usage')).authorization).toBe('Bearer access-1');
      clock.advance(2_000); // 60 s before the 900 s run out
      expect((await client.request<{ authorization: string }>('GET', '/v1/usage')).authorization).toBe('Bearer access-2');
      clock.advance(841_000);
      expect((await client.request<{ authorization: string }>('GET', '/v1/usage')).authorization).toBe('Bearer access-3');
      expect(received.filter((r) => r.path === '/v1/auth/refresh').map((r) => r.body)).toEqual([{ refresh_token: 'refresh-1' }, { refresh_token: 'refresh-1' }]);
      expect(calls(received).filter((c) => c.includes('/auth/'))).toEqual(['POST /v1/auth/login', 'POST /v1/auth/refresh', 'POST /v1/auth/refresh']);
    } finally {
      await close(server);
    }
  });

  it('renews once on a 401 from the gateway, and signs in again when the refresh token is refused', async () => {
    let refusedOnce = false;
    const { url, server, received } = await startServer(
      accountRoutes((request) => {
        if (request.path === '/v1/auth/refresh') return [400, { error: 'invalid-refresh-token', message: 'The refresh token is not valid.' }];
        if (request.path === '/v1/users' && !refusedOnce) {
          refusedOnce = true;
          return [401, { message: 'Unauthorized' }];
        }
        return undefined;
      }),
    );
    try {
      const client = new ApiClient({ baseUrl: url, email: EMAIL, password: PASSWORD });
      await client.usage();
      const answer = await client.request<{ authorization: string }>('GET', '/v1/users');
      expect(answer.authorization).toBe('Bearer access-2');
      expect(calls(received)).toEqual(['POST /v1/auth/login', 'GET /v1/usage', 'GET /v1/users', 'POST /v1/auth/refresh', 'POST /v1/auth/login', 'GET /v1/users']);
    } finally {
      await close(server);
    }
  });

  it('throws the typed errors of the sign-in: ApiError with its code for refused credentials, RateLimitedError with the retry time for a 429', async () => {
    let attempts = 0;
    const { url, server } = await startServer(() =>
      ++attempts === 1 ? [401, { error: 'invalid-credentials', message: 'Wrong email or password.' }] : [429, { error: 'rate-limited', message: 'Slow down.' }, { 'retry-after': '7' }],
    );
    try {
      const client = new ApiClient({ baseUrl: url, email: EMAIL, password: 'wrong', onRateLimit: 'throw' });
      const refused = await client.me().catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ApiError);
      expect(refused).toMatchObject({ status: 401, error: 'invalid-credentials' });
      const limited = await client.me().catch((error: unknown) => error);
      expect(limited).toBeInstanceOf(RateLimitedError);
      expect(limited).toMatchObject({ status: 429, retryAfterMs: 7_000 });
    } finally {
      await close(server);
    }
  });

  it('logout() revokes the refresh token at POST /v1/auth/logout and forgets the tokens: the next call signs in again', async () => {
    const { url, server, received } = await startServer(accountRoutes());
    try {
      const client = new ApiClient({ baseUrl: url, email: EMAIL, password: PASSWORD });
      await client.usage();
      await client.logout();
      const after = await client.request<{ authorization: string }>('GET', '/v1/usage');
      expect(received.find((r) => r.path === '/v1/auth/logout')?.body).toEqual({ refresh_token: 'refresh-1' });
      expect(after.authorization).toBe('Bearer access-2');
      expect(calls(received)).toEqual(['POST /v1/auth/login', 'GET /v1/usage', 'POST /v1/auth/logout', 'POST /v1/auth/login', 'GET /v1/usage']);
    } finally {
      await close(server);
    }
  });

  it('sends the account helpers to their routes: register and confirm without a credential, me, the key and notification routes with the session', async () => {
    const { url, server, received } = await startServer(accountRoutes());
    try {
      const client = new ApiClient({ baseUrl: `${url}/stage`, email: EMAIL, password: PASSWORD });
      await ApiClient.register(`${url}/stage`, EMAIL, PASSWORD);
      await ApiClient.confirm(`${url}/stage`, EMAIL, '123456');
      await client.me();
      await client.createKey('ci');
      await client.listKeys().catch(() => undefined); // the echo has no items: only the request matters here
      await client.rotateKey('key/1', 600);
      await client.revokeKey('key-2');
      await client.notificationSettings();
      await client.setNotificationOptOuts(['tier-changed']);
      expect(received.map((r) => [r.method, r.path, r.body, r.authorization?.split(' ')[0]])).toEqual([
        ['POST', '/stage/v1/auth/register', { email: EMAIL, password: PASSWORD }, undefined],
        ['POST', '/stage/v1/auth/confirm', { email: EMAIL, code: '123456' }, undefined],
        ['POST', '/stage/v1/auth/login', { email: EMAIL, password: PASSWORD }, undefined],
        ['GET', '/stage/v1/auth/me', undefined, 'Bearer'],
        ['POST', '/stage/v1/keys', { name: 'ci' }, 'Bearer'],
        ['GET', '/stage/v1/keys', undefined, 'Bearer'],
        ['POST', '/stage/v1/keys/key%2F1/rotate', { graceSeconds: 600 }, 'Bearer'],
        ['POST', '/stage/v1/keys/key-2/revoke', undefined, 'Bearer'],
        ['GET', '/stage/v1/notifications', undefined, 'Bearer'],
        ['PUT', '/stage/v1/notifications', { optOuts: ['tier-changed'] }, 'Bearer'],
      ]);
    } finally {
      await close(server);
    }
  });
});
