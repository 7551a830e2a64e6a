import { mkdtempSync, rmSync } from 'node:fs';
import { Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { launchChromium } from '../../support/chromium';
import { FIREHOSE_RAW_PREFIX, renderFirehosePrefix } from '../../../contracts/lake-layout';
import { createDashboardHandler } from '../../../local/dashboard/dashboard';
import { LocalLake } from '../../../local/lake/local-lake';
import { DatasetEvent, envelopeLine, writeRawObjects } from '../../support/usage-dataset';


/** An operation label of 120 characters, as a deeply nested REST route makes them. */
const LONG_OPERATION = 'GET /v1/organisations/{organisationId}/projects/{projectId}/environments/{environmentId}/deployments/{deploymentId}/logs'.padEnd(120, 'x');
/** A tenant id of 120 characters, with no space to break it at. */
const LONG_TENANT = `tenant-${'0123456789abcdef'.repeat(8)}`.slice(0, 120);

/** Traffic of the last minutes: the long operation and tenant beside short ones, with some 429s. */
function events(now: number): DatasetEvent[] {
  const at = (i: number) => new Date(now - 60_000 - i * 1000).toISOString();
  const event = (i: number, tenantId: string, operation: string, statusCode: number): DatasetEvent => ({
    detail: { schemaVersion: '1', eventId: `evt-label-${String(i).padStart(4, '0')}`, occurredAt: at(i), service: 'orders-service', tenantId, operation, method: 'GET', statusCode, latencyMs: 10 + i },
    receivedAt: at(i),
    source: 'my-applications',
  });
  return [
    ...Array.from({ length: 6 }, (_, i) => event(i, LONG_TENANT, LONG_OPERATION, i === 0 ? 429 : 200)),
    ...Array.from({ length: 4 }, (_, i) => event(10 + i, 'acme', 'GET /v1/products', 200)),
  ];
}

/** What the page reports about one bar label, one bar row and its card (read in the page). */
interface LabelFigures {
  readonly chart: string;
  readonly text: string;
  readonly title: string;
  readonly clipped: boolean;
  readonly textOverflow: string;
  /** `hidden` when the text is cut at the label's edge; anything else lets it run over the bar. */
  readonly overflow: string;
  readonly tabIndex: number;
  /** The label ends before its bar begins, and the row stays inside its card. */
  readonly separate: boolean;
  readonly insideCard: boolean;
}

/** Runs in the page (as a string: this project's TypeScript has no DOM types). */
const READ_LABELS = `[...document.querySelectorAll('[data-chart] .bars li')].map((row) => {
  const label = row.querySelector('.bar-label');
  const track = row.querySelector('.bar-track').getBoundingClientRect();
  const value = row.querySelector('.bar-value').getBoundingClientRect();
  const box = label.getBoundingClientRect();
  const card = row.closest('[data-chart]').getBoundingClientRect();
  return {
    chart: row.closest('[data-chart]').dataset.chart,
    text: label.textContent,
    title: label.getAttribute('title') ?? '',
    clipped: label.scrollWidth > label.clientWidth,
    textOverflow: getComputedStyle(label).textOverflow,
    overflow: getComputedStyle(label).overflowX,
    tabIndex: label.tabIndex,
    separate: box.right <= track.left && track.right <= value.left,
    insideCard: box.left >= card.left && value.right <= card.right,
  };
})`;

/** Cards and cells whose content spills out of them, horizontally (should be none). */
const READ_OVERFLOWS = `[
  ...[...document.querySelectorAll('[data-chart]')].filter((card) => card.scrollWidth > card.clientWidth).map((card) => 'card ' + card.dataset.chart),
  ...[...document.querySelectorAll('td, th')].filter((cell) => cell.scrollWidth > cell.clientWidth).map((cell) => 'cell ' + cell.textContent),
  ...(document.documentElement.scrollWidth > document.documentElement.clientWidth ? ['page'] : []),
]`;

describe('Dashboard: long labels are shown whole, or ellipsized with the whole text on hover and focus (in chromium)', () => {
  let dataDir: string;
  let lake: LocalLake;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'dashboard-labels-'));
    const now = Date.now();
    writeRawObjects(dataDir, [{ key: `${renderFirehosePrefix(FIREHOSE_RAW_PREFIX, new Date(now))}labels.gz`, lines: events(now).map(envelopeLine) }]);
    lake = await LocalLake.open(dataDir);
    expect((await lake.compact()).rows).toBe(10);
    const dashboard = createDashboardHandler(() => ({ state: 'ready', lake }));
    server = createServer((req, res) => {
      if (!dashboard(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dashboard`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await lake.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it.each([
    ['a wide window', 1280],
    ['a narrow window', 480],
  ])('in %s (%i px): every clipped label is ellipsized with its whole text in title, focusable, and nothing runs over', async (_name, width) => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(url);
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 15_000 });
      const labels = await page.evaluate<LabelFigures[]>(READ_LABELS);
      // The long operation (p95 latency), the long tenant (top tenants, and rate-limited with its tier).
      const long = labels.filter((l) => l.text.includes(LONG_OPERATION) || l.text.includes(LONG_TENANT));
      expect(long.map((l) => l.chart).sort()).toEqual(['latency', 'rate-limited', 'tenants']);
      for (const label of labels) {
        // Whole text in the page and in title, whether or not it fits.
        expect({ text: label.text, title: label.title }).toEqual({ text: label.text, title: label.text });
        if (label.clipped) {
          const { chart, textOverflow, overflow, tabIndex } = label;
          expect({ chart, textOverflow, overflow, tabIndex }).toEqual({ chart, textOverflow: 'ellipsis', overflow: 'hidden', tabIndex: 0 });
        }
        expect({ chart: label.chart, separate: label.separate, insideCard: label.insideCard }).toEqual({ chart: label.chart, separate: true, insideCard: true });
      }
      // At these widths 120 characters cannot fit a label column: they are ellipsized.
      expect(long.every((l) => l.clipped)).toBe(true);
      // Focus (keyboard) shows the long operation whole, wrapped within its column.
      await page.focus('[data-chart="latency"] .bar-label[tabindex="0"]');
      const focused = await page.evaluate<{ text: string; clipped: boolean }>(
        `(() => { const l = document.activeElement; return { text: l.textContent, clipped: l.scrollWidth > l.clientWidth || l.scrollHeight > l.clientHeight }; })()`,
      );
      expect(focused).toEqual({ text: LONG_OPERATION, clipped: false });
      // The billing table wraps the long tenant id whole inside its cell.
      expect(await page.textContent('[data-chart="billing"] table')).toContain(LONG_TENANT);
      expect(await page.evaluate<string[]>(READ_OVERFLOWS)).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
