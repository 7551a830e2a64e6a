import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';

/**
 * The file operations the local lake builds on: listing a folder's files, and writing so that a
 * reader (a query or a status in another process) never sees half a file.
 */

/** Files under a folder (recursively) with a suffix. */
export async function listFiles(dir: string, suffix: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith(suffix)).map((e) => path.join(e.parentPath, e.name));
}

/** Moves every file under `from` to the same relative place under `to` (renames: atomic per file). */
export async function moveTree(from: string, to: string): Promise<void> {
  for (const file of await listFiles(from, '')) {
    const target = path.join(to, path.relative(from, file));
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.rename(file, target);
  }
}

/** Writes JSON through a temporary file and a rename, so a reader never sees half of it. */
export async function writeJsonAtomically(file: string, value: unknown): Promise<void> {
  await fs.writeFile(`${file}.tmp`, JSON.stringify(value));
  await fs.rename(`${file}.tmp`, file);
}

/** A JSON file's value, or `undefined` when the file is missing or not JSON. */
export async function readJsonFile(file: string): Promise<unknown> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
}
