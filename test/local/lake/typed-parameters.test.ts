import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { QueryParameterError } from '../../../contracts/named-queries';
import { LocalLake } from '../../../local/lake/local-lake';

describe('LocalLake: typed parameters are checked, then bound as strings the SQL casts', () => {
  let root: string;
  let lake: LocalLake;

  beforeAll(async () => {
    root = mkdtempSync(path.join(tmpdir(), 'typed-parameters-'));
    const queriesDir = path.join(root, 'queries');
    const dataDir = path.join(root, 'data');
    for (const dir of [queriesDir, dataDir]) mkdirSync(dir);
    writeFileSync(
      path.join(queriesDir, 'echo_values.sql'),
      [
        '-- name: echo_values',
        '-- description: Echoes its parameters.',
        '-- param: top (integer 1..10): How many',
        '-- param: day (date): A day',
        '-- param: mode (enum fast | slow): A mode',
        "SELECT CAST(? AS integer) + 1 AS next, CAST(? AS date) + INTERVAL '1' DAY AS tomorrow, ? AS mode",
      ].join('\n'),
    );
    lake = await LocalLake.open(dataDir, { queriesDir });
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  afterAll(async () => {
    await lake.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('binds valid values in placeholder order, whatever order they are given in', async () => {
    const result = await lake.runNamedQuery('echo_values', { mode: 'slow', day: '2024-02-28', top: '10' });
    expect(result.rows).toEqual([{ next: 11, tomorrow: '2024-02-29T00:00:00.000Z', mode: 'slow' }]);
  });

  it.each([
    [{ top: '11', day: '2024-02-28', mode: 'fast' }, 'top=11: top must be a whole number from 1 to 10; got "11"'],
    [{ top: '1', day: '2023-02-29', mode: 'fast' }, 'day=2023-02-29: day must be a date as YYYY-MM-DD (a real calendar date); got "2023-02-29"'],
    [{ top: '1', day: '2024-02-28', mode: 'FAST' }, 'mode=FAST: mode must be one of fast, slow; got "FAST"'],
    [{ top: '1', day: '2024-02-28', mode: 'fast', extra: 'x' }, 'extra is not a parameter of echo_values; it takes top=N, day=YYYY-MM-DD, mode=fast|slow'],
  ])('refuses %j before DuckDB runs', async (parameters, message) => {
    const query = jest.spyOn(lake, 'query');
    await expect(lake.runNamedQuery('echo_values', parameters)).rejects.toThrow(QueryParameterError);
    await expect(lake.runNamedQuery('echo_values', parameters)).rejects.toThrow(message);
    expect(query).not.toHaveBeenCalled();
  });
});
