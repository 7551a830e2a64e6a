import { readFileSync } from 'node:fs';

/**
 * What Linux's process table says of one process (`/proc/<pid>/stat`, proc(5)): its state, parent,
 * process group and start time. The start time (clock ticks since boot) tells a process from a later
 * one that was given the same pid. Undefined when the process is gone, or where there is no `/proc`.
 */
export interface ProcessStat {
  /** `R`, `S`, `D`, … ; `Z` (a zombie) and `X` (dead) have ended. */
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
  readonly startTicks: string;
}

export function processStat(pid: number): ProcessStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces and parentheses itself: the fields after the last ')' are plain.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state (field 3), ppid (4), pgrp (5), …, starttime (22).
  if (fields.length < 20) return undefined;
  const [state, ppid, pgrp, startTicks] = [fields[0], Number(fields[1]), Number(fields[2]), fields[19]];
  if (!Number.isInteger(ppid) || !Number.isInteger(pgrp)) return undefined;
  return { state, ppid, pgrp, startTicks };
}

/** Whether a process has ended by what the process table says (gone, a zombie, or dead). */
export function hasEnded(stat: ProcessStat | undefined): boolean {
  return stat === undefined || stat.state === 'Z' || stat.state === 'X';
}

/** The process's short name (`/proc/<pid>/comm`), for messages; undefined when unknown. */
export function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Whether the environment a process was started with holds this variable; false when it cannot be read. */
export function processEnvironmentHas(pid: number, name: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').some((entry) => entry.startsWith(`${name}=`));
  } catch {
    return false;
  }
}
