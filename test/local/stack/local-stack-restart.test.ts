import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DEFAULT_EVENT_SOURCE, USAGE_EVENT_DETAIL_TYPE } from '../../../contracts/usage-event';
import { LAKE_PREFIXES } from '../../../contracts/lake-layout';
import { dataDirLayout } from '../../../local/data-dir';
import { DEFAULT_BUS_NAME } from '../../../local/stack/local-stack';
import { runCli } from '../../../local/cli/usage-tracker';
import { capturingCliContext } from '../../support/cli-context';
import { listFiles } from '../../../local/lake/local-lake';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'usage-tracker.js');

interface Running {
  readonly child: ChildProcess;
  readonly apiUrl: string;
  readonly eventsUrl: string;
  readonly stdout: () => string;
  readonly exited: Promise<number | null>;
}

/** `usage-tracker local` as its own process, as `npm start` runs it; resolves once it printed its endpoints. */
async function start(dataDir: string): Promise<Running> {
  const child = spawn(process.execPath, [BIN, 'local', '--no-demo', '--data-dir', dataDir, '--api-port', '0', '--events-port', '0', '--buffer-seconds', '900', '--etl-seconds', '3600'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => { err += chunk; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { resolve(code); }));
  // Ready when it printed its endpoints: no polling, the output itself says so.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`local stack did not start in 30 s:\n${out}\n${err}`)); }, 30_000);
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (!out.includes('Ctrl-C to stop.')) return;
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`local stack exited before it started:\n${out}\n${err}`));
    });
  });
  const url = (label: string) => new RegExp(`${label}\\s+(http://127\\.0\\.0\\.1:\\d+)`).exec(out)![1];
  return { child, apiUrl: url('Metered API'), eventsUrl: url('EventBridge'), stdout: () => out, exited };
}

const cliContext = capturingCliContext;

describe('npm start stops cleanly and carries on', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'local-restart-'));
  afterAll(() => { rmSync(dataDir, { recursive: true, force: true }); });

  it('SIGTERM flushes every accepted event to raw/; the next start keeps the admin key, tenants and limiter state', async () => {
    const first = await start(dataDir);
    let second: Running | undefined;
    try {
      expect(first.stdout()).toContain('(created now)');
      // The banner's portal URLs answer: the API reference, its OpenAPI document, and the client for pages.
      const banner = (label: string) => new RegExp(`${label}\\s+(http://127\\.0\\.0\\.1:\\d+\\S*)`).exec(first.stdout())![1];
      expect(banner('API reference')).toBe(`${first.apiUrl}/docs`);
      expect((await fetch(banner('API reference'))).headers.get('content-type')).toMatch(/^text\/html/);
      expect(((await (await fetch(`${first.apiUrl}/openapi.json`)).json()) as { openapi: string }).openapi).toMatch(/^3\.1\./);
      const pageClient = await fetch(banner('Client for pages'));
      expect(pageClient.status).toBe(200);
      expect(pageClient.headers.get('content-type')).toMatch(/^text\/javascript/);
      // The accounts emulator's line, and the demo page it points to.
      expect(first.stdout()).toMatch(/Accounts\s+http:\/\/127\.0\.0\.1:\d+\s+\(Cognito emulator, pool /);
      expect((await fetch(`${first.apiUrl}/sdk`)).status).toBe(200);
      // The local SES server's line: its web UI, which lists the notifications' mails (it starts once /health is healthy, and says when it answers).
      let mailState = '';
      for (let i = 0; i < 200 && mailState !== 'running'; i++) {
        mailState = ((await (await fetch(`${first.apiUrl}/health`)).json()) as { mail: string }).mail;
        if (mailState !== 'running') await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const mailUi = await fetch(banner('Mail'));
      expect(banner('Mail')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect(mailUi.headers.get('content-type')).toMatch(/^text\/html/);
      const adminKey = readFileSync(dataDirLayout(dataDir).adminKey, 'utf8').trim();
      const admin = (method: string, route: string, body?: unknown) =>
        fetch(`${first.apiUrl}${route}`, { method, headers: { authorization: `ApiKey ${adminKey}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, string> }));
      expect((await admin('POST', '/v1/admin/tenants', { tenantId: 'steady', name: 'Steady', tier: 'free' })).status).toBe(201);
      expect((await admin('POST', '/v1/admin/tenants', { tenantId: 'blocked-co', name: 'Blocked', tier: 'basic' })).status).toBe(201);
      const steadyKey = (await admin('POST', '/v1/admin/tenants/steady/keys')).json.apiKey;
      const blockedKey = (await admin('POST', '/v1/admin/tenants/blocked-co/keys')).json.apiKey;
      expect((await admin('POST', '/v1/admin/tenants/blocked-co/block')).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await fetch(`${first.apiUrl}/v1/users`, { headers: { authorization: `ApiKey ${steadyKey}` } })).status).toBe(200);

      const client = new EventBridgeClient({ endpoint: first.eventsUrl, region: 'us-east-1', credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
      const ids = Array.from({ length: 7 }, () => randomUUID());
      const detail = (eventId: string) => JSON.stringify({ schemaVersion: '1', eventId, occurredAt: new Date().toISOString(), service: 'billing', tenantId: 'sdk-tenant', operation: 'GET /v1/invoices', method: 'GET', statusCode: 200, latencyMs: 3 });
      const entries = ids.map((id) => ({ EventBusName: DEFAULT_BUS_NAME, Source: DEFAULT_EVENT_SOURCE, DetailType: USAGE_EVENT_DETAIL_TYPE, Detail: detail(id) }));
      const put = await client.send(new PutEventsCommand({ Entries: entries }));
      client.destroy();
      expect(put.FailedEntryCount).toBe(0);
      expect(await listFiles(path.join(dataDir, LAKE_PREFIXES.raw), '.gz')).toEqual([]); // still buffered (900 s hint)

      first.child.kill('SIGTERM');
      expect(await first.exited).toBe(0);
      const lines = (await listFiles(path.join(dataDir, LAKE_PREFIXES.raw), '.gz')).flatMap((f) => gunzipSync(readFileSync(f)).toString('utf8').split('\n').filter(Boolean));
      const delivered = new Set(lines.map((l) => (JSON.parse(l) as { detail: { eventId: string } }).detail.eventId));
      expect(ids.every((id) => delivered.has(id))).toBe(true);
      expect(lines.filter((l) => l.includes('"tenantId":"steady"'))).toHaveLength(5); // the API's own usage events, flushed too
      expect(readdirSync(dataDirLayout(dataDir).firehoseWal)).toEqual([]);

      second = await start(dataDir);
      expect(second.stdout()).not.toContain('(created now)');
      expect(readFileSync(dataDirLayout(dataDir).adminKey, 'utf8').trim()).toBe(adminKey);
      const blocked = await fetch(`${second.apiUrl}/v1/users`, { headers: { authorization: `ApiKey ${blockedKey}` } });
      expect(blocked.status).toBe(403);
      const usage = await fetch(`${second.apiUrl}/v1/usage`, { headers: { authorization: `ApiKey ${steadyKey}` } });
      // The burst spent before the restart is still spent (at most one token refilled since).
      if (usage.status === 200) expect(((await usage.json()) as { remaining: number }).remaining).toBeLessThanOrEqual(1);
      else expect(usage.status).toBe(429);
      second.child.kill('SIGINT');
      expect(await second.exited).toBe(0);
      second = undefined;

      const etl = cliContext();
      expect(await runCli(['etl', '--local', '--data-dir', dataDir], etl)).toBe(0);
      const billing = cliContext();
      expect(await runCli(['query', 'billing_by_tenant', '--data-dir', dataDir, '--param', `month=${new Date().toISOString().slice(0, 7)}`, '--format', 'json'], billing)).toBe(0);
      const rows = JSON.parse(billing.out) as { tenant_id: string; calls: number }[];
      expect(rows.find((r) => r.tenant_id === 'sdk-tenant')?.calls).toBe(7);
      expect(rows.find((r) => r.tenant_id === 'steady')?.calls).toBe(5);
    } finally {
      if (first.child.exitCode === null) first.child.kill('SIGKILL');
      if (second && second.child.exitCode === null) second.child.kill('SIGKILL');
    }
  });

  it.each([
    [['--api-port', '70000'], '--api-port must be a port number from 0 to 65535; got "70000".'],
    [['--buffer-mib', '512'], "--buffer-mib must be at most 128 (Firehose's limit); got 512."],
    [['--buffer-seconds', '901'], "--buffer-seconds must be at most 900 (Firehose's limit); got 901."],
    [['--etl-seconds', '0'], '--etl-seconds must be a positive number; got "0".'],
    [['--demo', '--no-demo'], '--demo and --no-demo cannot both be given.'],
    [['--no-mail', '--mail-port', '8005'], '--mail-port and --no-mail cannot both be given.'],
    [['--mail-port', '70000'], '--mail-port must be a port number from 0 to 65535; got "70000".'],
    [['--notification-operators', 'ops@example.com,not-an-address'], '--notification-operators: "not-an-address" is not an email address.'],
    [['--notification-operators', ' , '], '--notification-operators needs at least one address, e.g. ops@example.com,oncall@example.com.'],
    [['--notification-cooldown', 'soon'], '--notification-cooldown must be a non-negative number; got "soon".'],
    [['--account-signals', '{"spike":{"count":3}}'], '--account-signals: accountSignals.spike is not a signal; use rateLimitSpike or authFailures.'],
    [['--account-signals', '{"authFailures":{"minutes":7}}'], '--account-signals: accountSignals.authFailures.minutes must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60); got 7.'],
  ])('refuses local %j with a message and exit code 2, starting nothing', async (args, message) => {
    const c = cliContext();
    expect(await runCli(['local', ...args], c)).toBe(2);
    expect(c.err).toBe(`usage-tracker: ${message}\nRun "usage-tracker --help" for the commands and options.\n`);
    expect(c.out).toBe('');
  });
});
