import { appendFileSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { EventSpool, SpoolFullError } from '../../sdk/event-spool';

const dir = () => mkdtempSync(path.join(tmpdir(), 'spool-test-'));
const event = (i: number) => ({ eventId: `evt-${String(i).padStart(8, '0')}`, source: 'my-applications', detail: JSON.stringify({ eventId: `evt-${i}`, n: i }) });

describe('Class: EventSpool', () => {
  it('appends events and reads back what it claimed', async () => {
    // Prepare
    const spool = new EventSpool(dir());
    await spool.append([event(1), event(2)]);
    await spool.append([event(3)]);
    // Act
    const files = await spool.claimReplayable();
    const events = (await Promise.all(files.map((f) => spool.read(f)))).flat();
    // Assess
    expect(events).toEqual([event(1), event(2), event(3)]);
    expect(files.every((f) => f.includes(`.replay-${spool.instanceId}`))).toBe(true);
    await spool.close();
  });

  it('writes files readable by the owner only', async () => {
    const folder = dir();
    const spool = new EventSpool(folder);
    await spool.append([event(1)]);
    await spool.flush();
    const { statSync } = await import('node:fs');
    const [file] = readdirSync(folder);
    expect(statSync(path.join(folder, file)).mode & 0o777).toBe(0o600);
    await spool.close();
  });

  it('skips a torn last line left by a crash', async () => {
    const folder = dir();
    const spool = new EventSpool(folder);
    await spool.append([event(1)]);
    await spool.flush();
    const [file] = readdirSync(folder);
    appendFileSync(path.join(folder, file), '{"v":1,"eventId":"evt-torn');
    const [claimed] = await spool.claimReplayable();
    expect(await spool.read(claimed)).toEqual([event(1)]);
    await spool.close();
  });

  it("leaves a live process's active file alone and claims a dead writer's", async () => {
    const folder = dir();
    const live = `usage-events.${process.ppid}-aaaaaaaa.20261123T000000000Z.000001.ndjson`;
    const dead = `usage-events.999999999-bbbbbbbb.20261123T000000000Z.000001.ndjson`;
    writeFileSync(path.join(folder, live), `${JSON.stringify({ v: 1, ...event(1) })}\n`);
    writeFileSync(path.join(folder, dead), `${JSON.stringify({ v: 1, ...event(2) })}\n`);
    const spool = new EventSpool(folder);
    const claimed = await spool.claimReplayable();
    expect(claimed.map((f) => path.basename(f).split('.replay-')[0])).toEqual([dead]);
    expect(readdirSync(folder)).toContain(live);
    await spool.close();
  });

  it('removes replayed files and frees their bytes', async () => {
    const folder = dir();
    const spool = new EventSpool(folder);
    await spool.append([event(1)]);
    const before = spool.bytes;
    const [file] = await spool.claimReplayable();
    await spool.remove(file);
    expect(before).toBeGreaterThan(0);
    expect(spool.bytes).toBe(0);
    expect(readdirSync(folder)).toEqual([]);
  });

  it('refuses appends beyond its size cap', async () => {
    const spool = new EventSpool(dir(), { maxBytes: 200 });
    await spool.append([event(1)]);
    await expect(spool.append([event(2), event(3)])).rejects.toThrow(SpoolFullError);
    await expect(spool.append([event(2), event(3)])).rejects.toThrow('the spool folder reached its cap of 200 bytes');
    await spool.close();
  });

  it('rotates files at maxFileBytes', async () => {
    const folder = dir();
    const spool = new EventSpool(folder, { maxFileBytes: 150 });
    for (let i = 0; i < 4; i++) await spool.append([event(i)]);
    await spool.flush();
    expect(readdirSync(folder).length).toBeGreaterThanOrEqual(2);
    await spool.close();
  });
});
