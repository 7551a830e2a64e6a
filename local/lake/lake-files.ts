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

/** Whether a folder holds (recursively) a file with a suffix; stops at the first one, so it costs little however many there are. */
export async function hasFileUnder(dir: string, suffix: string): Promise<boolean> {
  if (!existsSync(dir)) return false;
  for await (const entry of await fs.opendir(dir, { recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(suffix)) return true;
  }
  return false;
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
