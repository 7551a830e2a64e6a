import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { RawLinesSource } from './curation-sql';

/**
 * DuckDB reads a gzip object on one thread, from decoding to the last expression of the query
 * over its lines: an hourly run, which reads one object, curates on one core while the others
 * wait. So when a run has fewer objects than DuckDB has threads, each object is decoded here
 * (zlib, off the main thread) into plain pieces that end on line ends, and DuckDB reads the pieces
 * in parallel. The lines are the same bytes either way: a piece ends right after a `\n`, which
 * ends a line however lines end (`\n` or `\r\n`).
 */

/** Plain pieces are not worth cutting below this size: each costs a file and a scan's start. */
export const MIN_PIECE_BYTES = 1 << 20;

/**
 * The files to read for some raw objects: the objects themselves when there are at least
 * `threads`, otherwise each object cut into plain pieces under `dir` (which the caller removes),
 * about `threads` pieces in all, none smaller than `minPieceBytes` but the last of an object.
 */
export async function rawSources(objects: readonly string[], threads: number, dir: string, minPieceBytes = MIN_PIECE_BYTES): Promise<RawLinesSource[]> {
  if (objects.length === 0 || objects.length >= threads) return objects.map((object) => ({ path: object, object }));
  await fs.mkdir(dir, { recursive: true });
  const perObject = Math.ceil(threads / objects.length);
  const sources: RawLinesSource[] = [];
  for (const [index, object] of objects.entries()) {
    const pieces = await cutIntoPieces(object, { count: perObject, minBytes: minPieceBytes }, path.join(dir, `object-${index}`));
    sources.push(...pieces.map((piece) => ({ path: piece, object })));
  }
  return sources;
}

/**
 * Decodes a gzip object into at most `cut.count` plain files named `${prefix}-N.jsonl`, each about
 * the same size (the gzip trailer's size of the last member, an estimate for several members),
 * at least `cut.minBytes`, and ending after a line end (the last one where the object ends).
 * Returns their paths.
 */
async function cutIntoPieces(object: string, cut: { readonly count: number; readonly minBytes: number }, prefix: string): Promise<string[]> {
  const { count } = cut;
  const target = Math.max(cut.minBytes, 1, Math.ceil((await decodedSizeEstimate(object)) / count));
  const pieces: string[] = [];
  let piece: fs.FileHandle | undefined;
  let written = 0;
  const open = async () => {
    const file = `${prefix}-${pieces.length}.jsonl`;
    pieces.push(file);
    piece = await fs.open(file, 'w');
    written = 0;
  };
  try {
    await open();
    await pipeline(createReadStream(object), createGunzip({ chunkSize: 1 << 20 }), async (decoded: AsyncIterable<Buffer>) => {
      for await (const chunk of decoded) {
        let rest = chunk;
        while (pieces.length < count && written + rest.length >= target) {
          // The first line end at or after the target ends this piece.
          const end = rest.indexOf(0x0a, Math.max(0, target - written - 1));
          if (end < 0) break;
          await piece?.writeFile(rest.subarray(0, end + 1));
          rest = rest.subarray(end + 1);
          await piece?.close();
          piece = undefined;
          await open();
        }
        if (rest.length > 0) await piece?.writeFile(rest);
        written += rest.length;
      }
    });
  } catch (error) {
    throw new Error(`Cannot read raw object ${object} as gzip: ${(error as Error).message}`, { cause: error });
  } finally {
    await piece?.close();
  }
  // A cut right at the object's end leaves an empty last piece.
  if (written === 0 && pieces.length > 1) await fs.rm(pieces.pop() ?? '', { force: true });
  return pieces;
}

/** The decoded size a gzip trailer states (ISIZE, RFC 1952 section 2.3.1: the last member's size modulo 2^32). */
async function decodedSizeEstimate(object: string): Promise<number> {
  const handle = await fs.open(object, 'r');
  try {
    const { size } = await handle.stat();
    if (size < 18) return 0;
    const trailer = Buffer.alloc(4);
    await handle.read(trailer, 0, 4, size - 4);
    return trailer.readUInt32LE(0);
  } finally {
    await handle.close();
  }
}
