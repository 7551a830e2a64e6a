import { parseArgs } from 'node:util';
import { isValidParameterValue } from '../../contracts/named-queries';
import { ENGINE_OPTIONS } from './engine-options';
import { UsageError } from './cli-context';

/** The named query the command runs (queries/rejected_records.sql). */
const REJECTS_QUERY = 'rejected_records';

/** Options passed on unchanged to `usage-tracker query`: where it runs and how it prints. */
const PASSED_ON = ENGINE_OPTIONS;

const DATE_FORM = 'a date as YYYY-MM-DD (a real calendar date)';

function day(name: 'start' | 'end', value: string | undefined): string {
  if (value === undefined) throw new UsageError(`rejects needs --${name} YYYY-MM-DD, the ${name === 'start' ? 'first' : 'last'} day (UTC) the curation ran.`);
  if (!isValidParameterValue({ kind: 'date' }, value)) throw new UsageError(`--${name} must be ${DATE_FORM}; got "${value}".`);
  return value;
}

/**
 * `usage-tracker rejects --start D --end D`: the records the curation refused between two days
 * (UTC, inclusive), by reason and producing service. It checks its own arguments (exit 2), then
 * runs the named query `rejected_records` through `runQuery` (the CLI's `query` command, with its
 * local and Athena options, checks and output formats).
 */
export async function runRejectsCommand(argv: readonly string[], runQuery: (argv: readonly string[]) => Promise<number>): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: { start: { type: 'string' }, end: { type: 'string' }, ...PASSED_ON }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw new UsageError(`rejects takes no arguments; got ${positionals.join(' ')}.`);
  const start = day('start', values.start);
  const end = day('end', values.end);
  if (start > end) throw new UsageError(`--start ${start} is after --end ${end}.`);
  const passed = Object.entries(values).flatMap(([name, value]) => {
    if (name === 'start' || name === 'end') return [];
    if (typeof value === 'string') return [`--${name}`, value];
    return value ? [`--${name}`] : [];
  });
  return runQuery([REJECTS_QUERY, '--param', `start_date=${start}`, '--param', `end_date=${end}`, ...passed]);
}
