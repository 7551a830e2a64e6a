import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createDashboardHandler } from '../../../local/dashboard/dashboard';
import { LocalLake } from '../../../local/lake/local-lake';
import type { LakeState } from '../../../local/stack/background-lake';

interface Answer {
  readonly status: number;
  readonly type: string | null;
  readonly body: Record<string, unknown>;
}

interface RunningDashboard {
  /** GETs `/dashboard/data` with the query string. */
  readonly getData: (query: string) => Promise<Answer>;
  /** The named queries the data endpoint ran. */
  readonly ran: jest.SpiedFunction<LocalLake['runNamedQuery']>;
}

/** The dashboard on an empty lake, served on a loopback port, for one test. */
async function withDashboard(test: (dashboard: RunningDashboard) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'dashboard-'));
  const lake = await LocalLake.open(dataDir);
  const dashboard = createDashboardHandler(() => ({ state: 'ready', lake }));
  const server = createServer((req, res) => {
    if (!dashboard(req, res)) res.writeHead(404).end();
  });
  try {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const getData = async (query: string): Promise<Answer> => {
      const response = await fetch(`${base}/dashboard/data${query}`);
      return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as Record<string, unknown> };
    };
    await test({ getData, ran: jest.spyOn(lake, 'runNamedQuery') });
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await lake.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('Dashboard: the data endpoint checks its parameters as the CLI does', () => {
  it.each([
    ['?window=forever', 'malformed', 'window=forever: window must be one of last_hour, last_24h, last_30d, all; got "forever".'],
    ['?window=', 'malformed', 'window=: window must be one of last_hour, last_24h, last_30d, all; got "".'],
    ['?window=all&window=last_hour', 'repeated', 'window is given 2 times ("all", "last_hour"); give it once, as one of last_hour, last_24h, last_30d, all.'],
    ['?window=all&month=2026-11', 'unknown', 'month is not a parameter of traffic_timeline; it takes window=last_hour|last_24h|last_30d|all.'],
  ])('refuses %s with 400 JSON naming the parameter, before any query runs', (query, kind, message) =>
    withDashboard(async ({ getData, ran }) => {
      const answer = await getData(query);
      expect(answer).toMatchObject({ status: 400, type: 'application/json', body: { message } });
      expect(answer.body.problems).toEqual([expect.objectContaining({ kind })]);
      expect(ran).not.toHaveBeenCalled();
    }),
  );

  it.each([
    ['', 'last_hour'],
    ['?window=last_24h', 'last_24h'],
  ])('answers "%s" with the data of the window it used', (query, window) =>
    withDashboard(async ({ getData, ran }) => {
      const answer = await getData(query);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ window, curatedRows: 0, billing: [] });
      expect(ran).toHaveBeenCalledWith('traffic_timeline', { window });
    }),
  );
});

describe('Dashboard: while the lake is not open, the data endpoint answers at once', () => {
  /** GETs a dashboard path from a handler whose lake is in the given state. */
  async function get(state: LakeState, route: string): Promise<{ status: number; retryAfter: string | null; body: string }> {
    const dashboard = createDashboardHandler(() => state);
    const server = createServer((req, res) => {
      if (!dashboard(req, res)) res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${route}`, { signal: AbortSignal.timeout(5000) });
      return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.text() };
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it('503 "starting" with Retry-After while the lake opens; the page itself is served', async () => {
    const data = await get({ state: 'opening' }, '/dashboard/data?window=all');
    expect({ status: data.status, retryAfter: data.retryAfter }).toEqual({ status: 503, retryAfter: '1' });
    expect(JSON.parse(data.body)).toEqual({ error: 'starting', message: 'The lake is opening (DuckDB and its catalogue); try again in a moment.' });
    expect((await get({ state: 'opening' }, '/dashboard')).status).toBe(200);
  });

  it('503 "lake unavailable" with the reason when the lake failed to open', async () => {
    const data = await get({ state: 'failed', message: 'DuckDB could not start' }, '/dashboard/data');
    expect(data.status).toBe(503);
    expect(JSON.parse(data.body)).toEqual({ error: 'lake unavailable', message: 'The lake could not be opened: DuckDB could not start' });
  });
});
