import type { ParseArgsConfig } from 'node:util';

/**
 * Where a command's queries run (the local lake or Athena) and how it prints: the options that
 * `query`, `rejects` and `billing` share, parsed the same way by each.
 */
export const ENGINE_OPTIONS = {
  local: { type: 'boolean' },
  aws: { type: 'boolean' },
  'data-dir': { type: 'string' },
  stack: { type: 'string' },
  region: { type: 'string' },
  workgroup: { type: 'string' },
  database: { type: 'string' },
  format: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];
