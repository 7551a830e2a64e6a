/** How many addresses the mailbox remembers (the oldest is forgotten first). */
const MAILBOX_LIMIT = 10_000;

/**
 * The confirmation codes the local Cognito emulator "sent", by address (case-insensitively, as
 * the pool treats usernames), and who waits for one: where tests and the walkthrough read them.
 */
export class Mailbox {
  private readonly codes = new Map<string, string>();
  private readonly waiting = new Map<string, ((code: string) => void)[]>();

  public deliver(email: string, code: string): void {
    const key = email.toLowerCase();
    this.codes.delete(key);
    this.codes.set(key, code);
    if (this.codes.size > MAILBOX_LIMIT) this.codes.delete(this.codes.keys().next().value ?? key);
    for (const resolve of this.waiting.get(key) ?? []) resolve(code);
    this.waiting.delete(key);
  }

  /** The latest code sent to `email`; when none has come, the next one, waiting up to `timeoutMs`. */
  public async latest(email: string, timeoutMs: number): Promise<string> {
    const key = email.toLowerCase();
    const code = this.codes.get(key);
    if (code !== undefined) return code;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<string>((resolve, reject) => {
        this.waiting.set(key, [...(this.waiting.get(key) ?? []), resolve]);
        timer = setTimeout(() => {
          this.waiting.set(key, (this.waiting.get(key) ?? []).filter((w) => w !== resolve));
          reject(new Error(`No verification code was sent to ${email} within ${timeoutMs} ms.`));
        }, timeoutMs);
      });
    } finally {
      clearTimeout(timer);
    }
  }
}
