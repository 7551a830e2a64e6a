import { TokenGrant, TokenKeeper } from '../../client/token-keeper';

/** An exchange that hands out numbered tokens when the test lets it, or fails when told to. */
function controlledExchange(expiresInSeconds = 900) {
  const waiting: { resolve: (grant: TokenGrant) => void; reject: (error: Error) => void }[] = [];
  let issued = 0;
  return {
    exchange: () => new Promise<TokenGrant>((resolve, reject) => waiting.push({ resolve, reject })),
    calls: () => waiting.length,
    grant: () => {
      waiting.shift()!.resolve({ accessToken: `token-${++issued}`, expiresInSeconds });
    },
    fail: (error: Error) => {
      waiting.shift()!.reject(error);
    },
  };
}

describe('Class: TokenKeeper', () => {
  let now = 1_000_000;
  const clock = () => now;

  it('runs one exchange for every caller waiting at once, and they all get its token', async () => {
    // Prepare
    const source = controlledExchange();
    const keeper = new TokenKeeper(source.exchange, clock, 60_000);
    // Act
    const waiting = [keeper.current(), keeper.current(), keeper.current()];
    source.grant();
    // Assess
    expect(await Promise.all(waiting)).toEqual(Array.from({ length: 3 }, () => ({ value: 'token-1', fromCache: false })));
    expect(await keeper.current()).toEqual({ value: 'token-1', fromCache: true });
    expect(source.calls()).toBe(0);
  });

  it('shares a failed exchange’s error with every caller, then tries again on the next call', async () => {
    const source = controlledExchange();
    const keeper = new TokenKeeper(source.exchange, clock, 60_000);
    const waiting = [keeper.current(), keeper.current()];
    source.fail(new Error('429'));
    await expect(Promise.all(waiting)).rejects.toThrow('429');
    const next = keeper.current();
    expect(source.calls()).toBe(1);
    source.grant();
    expect(await next).toEqual({ value: 'token-1', fromCache: false });
  });

  it('renews a margin before expiry, but a short-lived token no sooner than half its lifetime', async () => {
    const source = controlledExchange(100);
    const keeper = new TokenKeeper(source.exchange, clock, 60_000);
    const first = keeper.current();
    source.grant();
    await first;
    now += 49_000;
    expect(await keeper.current()).toEqual({ value: 'token-1', fromCache: true });
    now += 1_000;
    const renewed = keeper.current();
    source.grant();
    expect(await renewed).toEqual({ value: 'token-2', fromCache: false });
  });

  it('keeps using a token due for renewal while it is valid when the renewal fails, not after it expired', async () => {
    const source = controlledExchange(900);
    const keeper = new TokenKeeper(source.exchange, clock, 60_000);
    const first = keeper.current();
    source.grant();
    await first;
    now += 850_000;
    const during = keeper.current();
    source.fail(new Error('429'));
    expect(await during).toEqual({ value: 'token-1', fromCache: true });
    now += 60_000;
    const after = keeper.current();
    source.fail(new Error('429'));
    await expect(after).rejects.toThrow('429');
  });

  it('discard forgets the token it names only', async () => {
    const source = controlledExchange();
    const keeper = new TokenKeeper(source.exchange, clock, 60_000);
    const first = keeper.current();
    source.grant();
    await first;
    keeper.discard('token-0');
    expect(await keeper.current()).toEqual({ value: 'token-1', fromCache: true });
    keeper.discard('token-1');
    const next = keeper.current();
    source.grant();
    expect(await next).toEqual({ value: 'token-2', fromCache: false });
  });

  it('hands the refresh token of the last grant that had one to each exchange, and clear() returns it and forgets every token', async () => {
    // Prepare: the first grant brings refresh-1, the second none (kept), the third refresh-2.
    const given: (string | undefined)[] = [];
    const grants: TokenGrant[] = [
      { accessToken: 'a-1', expiresInSeconds: 900, refreshToken: 'refresh-1' },
      { accessToken: 'a-2', expiresInSeconds: 900 },
      { accessToken: 'a-3', expiresInSeconds: 900, refreshToken: 'refresh-2' },
      { accessToken: 'a-4', expiresInSeconds: 900 },
    ];
    const keeper = new TokenKeeper(
      (refreshToken) => {
        given.push(refreshToken);
        return Promise.resolve(grants[given.length - 1]);
      },
      clock,
      60_000,
    );
    // Act
    for (const value of ['a-1', 'a-2', 'a-3']) {
      expect(await keeper.current()).toEqual({ value, fromCache: false });
      keeper.discard(value);
    }
    const revoked = keeper.clear();
    const afterClear = await keeper.current();
    // Assess
    expect(given).toEqual([undefined, 'refresh-1', 'refresh-1', undefined]);
    expect(revoked).toBe('refresh-2');
    expect(afterClear).toEqual({ value: 'a-4', fromCache: false });
  });

  it('does not keep the tokens of an exchange that was under way when clear() was called', async () => {
    const source = controlledExchange();
    const keeper = new TokenKeeper(source.exchange, clock, 60_000);
    const before = keeper.current();
    keeper.clear();
    source.grant();
    expect(await before).toEqual({ value: 'token-1', fromCache: false });
    const next = keeper.current();
    expect(source.calls()).toBe(1);
    source.grant();
    expect(await next).toEqual({ value: 'token-2', fromCache: false });
  });
});
