import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium';
import { MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';

const PASSWORD = 'Correct-Horse-9-battery';

/** A page of GET /sdk, with what it reports as problems (script errors, CSP violations: console errors) and the URLs it requested. */
async function openDemo(browser: Browser, url: string): Promise<{ page: Page; problems: string[]; requested: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  const requested: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 429/.test(message.text())) problems.push(message.text());
  });
  page.on('request', (request) => requested.push(request.url()));
  await page.goto(`${url}/sdk`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
  return { page, problems, requested };
}

const text = (page: Page, selector: string) => page.locator(selector).innerText();

/** Clicks a call button until the page shows a 429 (at most `clicks` times); returns the quota seen after each answer. */
async function callUntilRefused(page: Page, button: string, clicks: number): Promise<string[]> {
  const quotas: string[] = [];
  for (let i = 0; i < clicks; i++) {
    await page.click(button);
    await page.waitForSelector('button[data-call="users"]:not([disabled])');
    quotas.push(await text(page, '#quota'));
    if ((await text(page, '#error')).startsWith('Rate limited')) break;
  }
  return quotas;
}

/**
 * Issue 15, item 5: the demo page at GET /sdk, in Debian's chromium, against the local API and its
 * Cognito emulator. The test waits on selectors: the page's CSP refuses the eval of string
 * predicates, and this project's TypeScript has no DOM types for function ones.
 */
describe('Page: GET /sdk, the client demo (in chromium)', () => {
  let api: MeteredApiHarness;
  let browser: Browser;

  beforeAll(async () => {
    api = await startMeteredApi({ accounts: true, sourceIpPolicy: { limit: { requestsPerMinute: 1000, burst: 1000 } } });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser.close();
    await api.stop();
  });

  it('renders under its CSP, calls with a pasted API key, shows the quota live, and a 429 with its retry time', async () => {
    // Prepare
    const { apiKey } = await api.tenantWithKey('free');
    const { page, problems, requested } = await openDemo(browser, api.url);
    try {
      // Act
      await page.fill('#api-key', apiKey);
      await page.click('button[data-call="usage"]');
      await page.waitForSelector('#result[data-route="usage"]');
      const usage = JSON.parse(await text(page, '#result')) as { tier: string };
      const quotas = await callUntilRefused(page, 'button[data-call="users"]', 8);
      // Assess: the exchange and the usage call take 2 of the free tier's 5.
      expect(usage.tier).toBe('free');
      expect(quotas.slice(0, 3)).toEqual([2, 1, 0].map((left) => expect.stringMatching(new RegExp(`^free: ${left} of 5 requests left, all back in \\d+ s$`)) as unknown));
      expect(await page.locator('#quota').getAttribute('data-remaining')).toBe('0');
      expect(await text(page, '#error')).toMatch(/^Rate limited \(free\): retry in \d+\.\d s\.$/);
      expect(Number(await page.locator('#error').getAttribute('data-retry-after-ms'))).toBeGreaterThanOrEqual(11_000);
      expect(await page.locator('#quota').getAttribute('aria-live')).toBe('polite');
      expect(problems).toEqual([]);
      expect(requested.every((url) => url.startsWith(api.url))).toBe(true);
    } finally {
      await page.close();
    }
  }, 60_000);

  it('signs up, confirms with the emailed code, signs in, creates a key shown once, and calls with the key and with the session', async () => {
    const email = 'demo.page@example.com';
    const { page, problems } = await openDemo(browser, api.url);
    try {
      // Register: the focus moves to the code.
      await page.fill('#register-email', email);
      await page.fill('#register-password', PASSWORD);
      await page.click('#register-form button');
      await page.waitForSelector('#confirm-code:focus');
      expect(await page.inputValue('#confirm-email')).toBe(email);
      // Confirm with the code the emulator delivered.
      await page.fill('#confirm-code', await api.verificationCode(email));
      await page.click('#confirm-form button');
      await page.waitForSelector('#login-password:focus');
      // Sign in.
      await page.fill('#login-password', PASSWORD);
      await page.click('#login-form button');
      await page.locator('#account', { hasText: /^Signed in as/ }).waitFor();
      expect(await text(page, '#account')).toMatch(new RegExp(`^Signed in as ${email.replace('.', '\\.')} \\(tenant [^,]+, free tier\\)\\.$`));
      // A key, shown once, and filled in for the calls.
      await page.click('#key-form button');
      await page.waitForSelector('#new-key:focus');
      const key = await page.inputValue('#new-key');
      expect(key).toMatch(/^aut_/);
      expect(await page.inputValue('#api-key')).toBe(key);
      await page.click('button[data-call="products"]');
      await page.waitForSelector('#result[data-route="products"]');
      // With the session.
      await page.check('#use-session');
      await page.click('button[data-call="usage"]');
      await page.waitForSelector('#result[data-route="usage"]');
      expect((JSON.parse(await text(page, '#result')) as { tier: string }).tier).toBe('free');
      expect(await text(page, '#quota')).toMatch(/^free: \d+ of \d+ requests left/);
      // Sign out.
      await page.click('#logout');
      await page.locator('#account', { hasText: /^Signed out\.$/ }).waitFor();
      expect(await text(page, '#error')).toBe('');
      expect(problems).toEqual([]);
    } finally {
      await page.close();
    }
  }, 90_000);
});
