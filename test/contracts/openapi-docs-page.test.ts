import { launchChromium } from '../support/chromium';
import { operationsOf } from '../../contracts/openapi';
import { MeteredApiHarness, startMeteredApi } from '../support/metered-api-harness';


/**
 * Issue 15, item 4: GET /docs renders the reference from GET /openapi.json in a real browser,
 * under its own Content-Security-Policy, with no request to any other origin.
 */
describe('Page: GET /docs (in chromium)', () => {
  let api: MeteredApiHarness;

  beforeAll(async () => {
    api = await startMeteredApi();
  });
  afterAll(() => api.stop());

  it('renders every operation with its parameters, schemas and authentication, offline, and nothing is blocked by its CSP', async () => {
    const browser = await launchChromium();
    try {
      // Prepare
      const page = await browser.newPage();
      const problems: string[] = [];
      const requested: string[] = [];
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      page.on('request', (request) => requested.push(request.url()));
      const documented = operationsOf((await api.call('GET', '/openapi.json')).json);
      // Act
      await page.goto(`${api.url}/docs`);
      await page.waitForSelector('#reference[data-rendered]', { timeout: 15_000 });
      const rendered = await page.evaluate(`(() => ({
        operations: [...document.querySelectorAll('section.operation h2')].map((h) => h.textContent.replace(/^(GET|POST|PUT|DELETE|PATCH)/, '$1 ')),
        text: document.getElementById('reference').textContent,
        error: document.getElementById('error').textContent,
        title: document.getElementById('title').textContent,
      }))()`);
      // Assess
      const { operations, text, error, title } = rendered as { operations: string[]; text: string; error: string; title: string };
      expect(problems).toEqual([]);
      expect(error).toBe('');
      expect(title).toBe('Metered API 1.0.0');
      expect(operations.sort()).toEqual(documented.sort());
      // Authentication, a path parameter, a request body schema and a documented refusal header.
      expect(text).toContain('Authorization: ApiKey');
      expect(text).toContain('header x-api-key');
      expect(text).toContain('tenantId');
      expect(text).toContain('"enum"');
      expect(text).toContain('Retry-After');
      expect(requested.every((url) => url.startsWith(api.url))).toBe(true);
      expect(requested.map((url) => new URL(url).pathname).sort()).toEqual(['/docs', '/openapi.json']);
    } finally {
      await browser.close();
    }
  });
});
