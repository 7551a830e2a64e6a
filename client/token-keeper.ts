/** What an exchange of credentials for an access token returns. */
export interface TokenGrant {
  readonly accessToken: string;
  /** The token's lifetime as the API stated it (`expires_in`), in seconds. */
  readonly expiresInSeconds: number;
  /** A refresh token that came with it (an account's sign-in); kept until a later grant brings another or {@link TokenKeeper.clear}. */
  readonly refreshToken?: string;
}

/**
 * Gets a new token: given the refresh token the keeper holds (an account's), if any, so that it
 * can renew with it, and sign in again when it is refused. An API key's exchange ignores it.
 */
export type TokenExchange = (refreshToken: string | undefined) => Promise<TokenGrant>;

/** A token handed to a caller, and whether it came from the cache (a refusal of it is then worth one new exchange). */
export interface HeldToken {
  readonly value: string;
  readonly fromCache: boolean;
}

interface CachedToken {
  readonly value: string;
  /** From then on, callers wait for a new token. */
  readonly refreshAt: number;
  /** Until then, it is still good enough when an exchange fails. */
  readonly expiresAt: number;
}

/**
 * Keeps one access token (and the refresh token that came with it, if any) and renews it before
 * it expires: a margin before `expires_in` runs out (at most half its lifetime, so short-lived
 * tokens are used too), measured on the client's clock from when the answer arrived, so the
 * clocks of client and server need not agree. However many calls need a token at once, one
 * exchange runs; they all get its token, or its error.
 */
export class TokenKeeper {
  private token?: CachedToken;
  private refreshToken?: string;
  private pending?: Promise<HeldToken>;
  /** Bumped by {@link clear}: an exchange that started before does not bring its tokens back. */
  private generation = 0;

  constructor(
    private readonly exchange: TokenExchange,
    private readonly now: () => number,
    private readonly refreshMarginMs: number,
  ) {}

  /** A token that is not due for renewal: the cached one, or the one exchange shared by every caller waiting. */
  public current(): Promise<HeldToken> {
    const cached = this.token;
    if (cached && this.now() < cached.refreshAt) return Promise.resolve({ value: cached.value, fromCache: true });
    this.pending ??= this.renew(cached).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** Forgets a token the API refused, unless a newer one has replaced it already (the refresh token stays, to renew with). */
  public discard(value: string): void {
    if (this.token?.value === value) this.token = undefined;
  }

  /** Forgets every token (signing out), and returns the refresh token it held, to be revoked. */
  public clear(): string | undefined {
    const refreshToken = this.refreshToken;
    this.token = undefined;
    this.refreshToken = undefined;
    this.pending = undefined;
    this.generation++;
    return refreshToken;
  }

  private async renew(previous: CachedToken | undefined): Promise<HeldToken> {
    const generation = this.generation;
    try {
      const grant = await this.exchange(this.refreshToken);
      if (generation !== this.generation) return { value: grant.accessToken, fromCache: false };
      const receivedAt = this.now();
      const lifetimeMs = grant.expiresInSeconds * 1000;
      const refreshAt = receivedAt + Math.max(lifetimeMs - this.refreshMarginMs, lifetimeMs / 2);
      this.token = { value: grant.accessToken, refreshAt, expiresAt: receivedAt + lifetimeMs };
      if (grant.refreshToken !== undefined) this.refreshToken = grant.refreshToken;
      return { value: grant.accessToken, fromCache: false };
    } catch (error) {
      // A renewal refused (a 429 on the exchange, a network blip) while the old token is still
      // valid: keep using it; the next call tries again.
      if (previous && previous === this.token && this.now() < previous.expiresAt) return { value: previous.value, fromCache: true };
      throw error;
    }
  }
}
