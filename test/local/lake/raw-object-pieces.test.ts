import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { LAKE_PREFIXES } from '../../../contracts/lake-layout';
import { CompactionResult, LocalLake, QueryResult } from '../../../local/lake/local-lake';
import { MIN_PIECE_BYTES, rawSources } from '../../../local/lake/raw-object-pieces';
import { generateUsageDataset } from '../../support/usage-dataset';

/** Lines of about 100 bytes, numbered, ending with `ending`. */
const lines = (count: number, ending: string) => Array.from({ length: count }, (_, i) => `{"n":${i},"pad":"${'x'.repeat(80)}"}${ending}`).join('');

describe('rawSources: raw objects cut into plain pieces so that DuckDB reads them on every thread', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'raw-pieces-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const object = (name: string, content: Buffer | string) => {
    const file = path.join(dir, name);
    writeFileSync(file, typeof content === 'string' ? gzipSync(content) : content);
    return file;
  };
  const pieces = (threads: number, files: string[], minPieceBytes = 1) => rawSources(files, threads, path.join(dir, 'pieces'), minPieceBytes);

  it.each([
    ['\\n', '\n'],
    ['\\r\\n', '\r\n'],
  ])('cuts one object into as many pieces as threads, each ending after a line end (%s), which together hold its bytes in order', async (_name, ending) => {
    const text = lines(1000, ending);
    const file = object('usage-1.gz', text);
    const sources = await pieces(4, [file]);
    expect(sources).toHaveLength(4);
    expect(sources.every((s) => s.object === file && s.path !== file)).toBe(true);
    const parts = sources.map((s) => readFileSync(s.path, 'utf8'));
    expect(parts.join('')).toBe(text);
    for (const part of parts) expect(part.endsWith(ending)).toBe(true);
    // About the same size: within one line of a quarter each.
    for (const part of parts.slice(0, -1)) expect(Math.abs(part.length - text.length / 4)).toBeLessThan(120);
  });

  it('keeps a last line without a line end, and never leaves an empty piece', async () => {
    const text = `${lines(99, '\n')}{"last":true}`;
    const sources = await pieces(2, [object('a.gz', text)]);
    expect(sources.map((s) => readFileSync(s.path, 'utf8')).join('')).toBe(text);
    const exact = lines(10, '\n');
    const cut = await pieces(2, [object('b.gz', exact)], exact.length);
    expect(cut.map((s) => readFileSync(s.path, 'utf8'))).toEqual([exact]);
  });

  it('reads every member of a multi-member gzip object', async () => {
    const [a, b] = [lines(300, '\n'), lines(200, '\n')];
    const sources = await pieces(2, [object('multi.gz', Buffer.concat([gzipSync(a), gzipSync(b)]))]);
    expect(sources.map((s) => readFileSync(s.path, 'utf8')).join('')).toBe(a + b);
  });

  it('does not cut pieces below the minimum size, nor objects when there are at least as many as threads', async () => {
    const small = object('small.gz', lines(50, '\n'));
    expect(await pieces(2, [small], 1 << 20)).toHaveLength(1);
    const files = [object('x.gz', lines(50, '\n')), object('y.gz', lines(50, '\n'))];
    expect(await pieces(2, files)).toEqual(files.map((file) => ({ path: file, object: file })));
  });

  it('names the object when it is not gzip', async () => {
    const broken = object('broken.gz', Buffer.from('not gzip at all, just text\n'));
    await expect(pieces(2, [broken])).rejects.toThrow(`Cannot read raw object ${broken} as gzip`);
  });
});

describe('compaction of one raw object on two threads, read as pieces, against one thread, read whole', () => {
  const dataset = generateUsageDataset(new Date('2026-11-23T12:00:00Z'), 5000);
  // Every line of the first batch in one object, malformed lines and copies included, some ending in \r\n.
  const text = dataset.firstBatch
    .flatMap((o) => o.lines)
    .map((line, i) => `${line}${i % 7 === 0 ? '\r\n' : '\n'}`)
    .join('');
  const key = 'raw/year=2026/month=11/day=23/hour=11/usage-one-object.gz';
  const results = new Map<number, { result: CompactionResult; rows: QueryResult; errors: QueryResult; pieces: number }>();

  beforeAll(async () => {
    for (const threads of [1, 2]) {
      const dataDir = mkdtempSync(path.join(tmpdir(), `raw-pieces-lake-${threads}-`));
      const file = path.join(dataDir, key);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, gzipSync(text));
      const pieces = (await rawSources([file], threads, path.join(dataDir, 'pieces-probe'))).length;
      rmSync(path.join(dataDir, 'pieces-probe'), { recursive: true, force: true });
      const lake = await LocalLake.open(dataDir, { threads });
      try {
        const result = await lake.compact(dataset.now);
        const rows = await lake.query(`SELECT * FROM usage_events ORDER BY event_id`);
        // The errors files themselves: the table over them has no raw_object column.
        const errors = await lake.query(
          `SELECT reason, line, replace(raw_object, ?, '') AS object FROM read_json(?, format = 'newline_delimited') ORDER BY line, reason`,
          [dataDir, path.join(dataDir, LAKE_PREFIXES.glueErrors, '**', '*.json.gz')],
        );
        results.set(threads, { result, rows, errors, pieces });
      } finally {
        await lake.close();
        rmSync(dataDir, { recursive: true, force: true });
      }
    }
  }, 60_000);

  it('cuts the object in two on two threads (it decodes to more than two minimum pieces)', () => {
    expect(text.length).toBeGreaterThan(2 * MIN_PIECE_BYTES);
    expect(results.get(1)?.pieces).toBe(1);
    expect(results.get(2)?.pieces).toBe(2);
  });

  it('curates the same rows and refuses the same lines, each refusal naming the raw object, not a piece', () => {
    const [one, two] = [results.get(1)!, results.get(2)!];
    expect(two.result).toMatchObject({ files: 1, lines: one.result.lines, rows: one.result.rows, duplicates: one.result.duplicates, malformed: one.result.malformed });
    expect(one.result.malformed).toBe(dataset.malformed.length);
    expect(one.result.duplicates).toBe(dataset.duplicates.firstBatch);
    expect(two.rows.rows).toEqual(one.rows.rows);
    expect(two.errors.rows).toEqual(one.errors.rows);
    expect(new Set(two.errors.rows.map((r) => r.object))).toEqual(new Set([`${path.sep}${key.split('/').join(path.sep)}`]));
  });
});
