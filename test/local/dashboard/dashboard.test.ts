import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createDashboardHandler } from '../../../local/dashboard/dashboard';
import { LocalLake } from '../../../local/lake/local-lake';

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
  const dashboard = createDashboardHandler(lake);
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
