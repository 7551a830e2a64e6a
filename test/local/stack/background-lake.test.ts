import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LocalLake } from '../../../local/lake/local-lake';
import { BackgroundLake } from '../../../local/stack/background-lake';

/** A promise and the functions that settle it. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('BackgroundLake, over a real DuckDB lake', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'background-lake-'));
  afterAll(() => { rmSync(dataDir, { recursive: true, force: true }); });

  it('says "opening" until the lake is open, then "ready" with a lake that answers; onOpen runs once; close closes it', async () => {
    const opened: LocalLake[] = [];
    const gate = deferred<undefined>();
    const background = new BackgroundLake(
      async () => {
        await gate.promise;
        return LocalLake.open(dataDir);
      },
      (lake) => opened.push(lake),
    );
    expect(background.state).toEqual({ state: 'opening' });
    background.start();
    background.start();
    expect(background.state).toEqual({ state: 'opening' });
    gate.resolve(undefined);
    const lake = await background.lake();
    expect(background.state).toEqual({ state: 'ready', lake });
    expect(opened).toEqual([lake]);
    expect((await lake.query('SELECT count(*) AS n FROM usage_events')).rows).toEqual([{ n: 0 }]);
    await background.close();
    await expect(lake.query('SELECT 1')).rejects.toThrow();
  });

  it('keeps a failure to open as its state ("failed" and why); lake() rejects with it', async () => {
    const background = new BackgroundLake(() => Promise.reject(new Error('no DuckDB here')), () => undefined);
    background.start();
    await expect(background.lake()).rejects.toThrow('no DuckDB here');
    expect(background.state).toEqual({ state: 'failed', message: 'no DuckDB here' });
    await background.close();
  });

  it('demand() starts opening; lake() too, when nothing had started it', async () => {
    let opens = 0;
    const lakeFor = () => {
      opens++;
      return LocalLake.open(dataDir);
    };
    const byDemand = new BackgroundLake(lakeFor, () => undefined);
    expect(byDemand.demand()).toEqual({ state: 'opening' });
    expect(opens).toBe(1);
    await byDemand.lake();
    expect(byDemand.demand().state).toBe('ready');
    const byLake = new BackgroundLake(lakeFor, () => undefined);
    await byLake.lake();
    expect(opens).toBe(2);
    await Promise.all([byDemand.close(), byLake.close()]);
  });

  it('stopped while opening: waits for the opening, closes the lake, never runs onOpen; after close nothing opens', async () => {
    const gate = deferred<undefined>();
    let lake: LocalLake | undefined;
    const onOpen = jest.fn();
    const background = new BackgroundLake(async () => {
      await gate.promise;
      lake = await LocalLake.open(dataDir);
      return lake;
    }, onOpen);
    background.start();
    const closing = background.close();
    gate.resolve(undefined);
    await closing;
    expect(onOpen).not.toHaveBeenCalled();
    await expect(lake?.query('SELECT 1')).rejects.toThrow();
    const never = new BackgroundLake(() => LocalLake.open(dataDir), () => undefined);
    await never.close();
    never.start();
    await expect(never.lake()).rejects.toThrow('The stack has stopped: the lake is closed.');
  });
});
