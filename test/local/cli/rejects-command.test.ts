import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalLake } from '../../../local/lake/local-lake';
import { runCli } from '../../../local/cli/usage-tracker';
import { capturingCliContext } from '../../support/cli-context';
import { generateUsageDataset, writeRawObjects } from '../../support/usage-dataset';

/** What rejected_records must say, worked out from the dataset on its own: records per reason and service. */
function expectedRejects(malformed: readonly { line: string; reason: string }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const { line, reason } of malformed) {
    let service = '(unknown)';
    try {
      const value = (JSON.parse(line) as { detail?: { service?: unknown } } | null)?.detail?.service;
      if (typeof value === 'string' || typeof value === 'number') service = String(value);
    } catch {
      // not JSON: no service
    }
    counts.set(`${reason}|${service}`, (counts.get(`${reason}|${service}`) ?? 0) + 1);
  }
  return counts;
}

describe('usage-tracker rejects', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'usage-rejects-'));
  const dataset = generateUsageDataset(new Date('2026-11-23T12:00:00Z'), 200);
  const runDay = '2026-11-23';

  beforeAll(async () => {
    writeRawObjects(dataDir, [...dataset.firstBatch, ...dataset.secondBatch]);
    const lake = await LocalLake.open(dataDir);
    try {
      await lake.compact(new Date(`${runDay}T12:05:00Z`));
    } finally {
      await lake.close();
    }
  });
  afterAll(() => { rmSync(dataDir, { recursive: true, force: true }); });

  it('lists the records the curation refused, by reason and producing service, over the days it ran', async () => {
    const c = capturingCliContext();
    expect(await runCli(['rejects', '--start', runDay, '--end', runDay, '--data-dir', dataDir, '--format', 'json'], c)).toBe(0);
    const rows = JSON.parse(c.out) as { reason: string; service: string; records: number; first_seen: string; last_seen: string; example: string }[];
    expect(Object.keys(rows[0])).toEqual(['reason', 'service', 'records', 'first_seen', 'last_seen', 'example']);
    expect(new Map(rows.map((r) => [`${r.reason}|${r.service}`, r.records]))).toEqual(expectedRejects(dataset.malformed));
    expect(rows.reduce((sum, r) => sum + r.records, 0)).toBe(dataset.malformed.length);
    expect(rows.every((r) => r.first_seen === runDay && r.last_seen === runDay)).toBe(true);
    expect(rows.map((r) => r.records)).toEqual([...rows.map((r) => r.records)].sort((a, b) => b - a));
  });

  it('counts nothing outside the window', async () => {
    const c = capturingCliContext();
    expect(await runCli(['rejects', '--start', '2026-11-24', '--end', '2026-12-31', '--data-dir', dataDir, '--format', 'csv'], c)).toBe(0);
    expect(c.out).toBe('reason,service,records,first_seen,last_seen,example\r\n');
  });

  it.each([
    [['--end', runDay], 'rejects needs --start YYYY-MM-DD, the first day (UTC) the curation ran.'],
    [['--start', runDay], 'rejects needs --end YYYY-MM-DD, the last day (UTC) the curation ran.'],
    [['--start', '2026-13-01', '--end', runDay], '--start must be a date as YYYY-MM-DD (a real calendar date); got "2026-13-01".'],
    [['--start', '2026-11-1', '--end', runDay], '--start must be a date as YYYY-MM-DD (a real calendar date); got "2026-11-1".'],
    [['--start', runDay, '--end', '2026-02-29'], '--end must be a date as YYYY-MM-DD (a real calendar date); got "2026-02-29".'],
    [['--start', '2026-11-24', '--end', runDay], `--start 2026-11-24 is after --end ${runDay}.`],
    [['--start', runDay, '--end', runDay, 'extra'], 'rejects takes no arguments; got extra.'],
    [['--start', runDay, '--end', runDay, '--month', '2026-11'], "Unknown option '--month'"],
  ])('refuses %j with exit 2 before any engine runs', async (args, message) => {
    const c = capturingCliContext();
    expect(await runCli(['rejects', ...args, '--data-dir', dataDir], c)).toBe(2);
    expect(c.err).toContain(message);
    expect(c.out).toBe('');
  });

  it('refuses a data folder that does not exist, with exit 2', async () => {
    const c = capturingCliContext();
    const missing = path.join(dataDir, 'no-such-folder');
    expect(await runCli(['rejects', '--start', runDay, '--end', runDay, '--data-dir', missing], c)).toBe(2);
    expect(c.err).toContain(missing);
  });

  it('is in the CLI help', async () => {
    const c = capturingCliContext();
    expect(await runCli(['--help'], c)).toBe(0);
    expect(c.out).toContain('rejects --start YYYY-MM-DD');
  });
});
