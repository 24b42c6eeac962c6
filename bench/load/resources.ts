import fs from 'node:fs';
import os from 'node:os';

/**
 * Who used the CPU during a phase, from /proc (Linux): each process of the set-up, and the whole
 * machine, so that load from anything else on these shared 2-core machines shows up too. Read
 * before and after each phase; the difference over the wall time is in cores (1.0 = one core busy).
 */

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux that Node supports

/** utime + stime of a process in seconds, or 0 when it is gone or unreadable. */
function processSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Busy seconds of the whole machine (all cores), from the first line of /proc/stat. */
function machineSeconds(): number {
  try {
    const [, ...values] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
    const [user, nice, system, , , irq, softirq, steal] = values.map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

export type Groups = Record<string, number[]>;

export interface CpuSample {
  at: number;
  /** Seconds per pid, per group. */
  groups: Record<string, Map<number, number>>;
  machine: number;
}

export function sampleCpu(groups: Groups): CpuSample {
  return {
    at: performance.now(),
    groups: Object.fromEntries(
      Object.entries(groups).map(([name, pids]) => [name, new Map(pids.map((pid) => [pid, processSeconds(pid)]))]),
    ),
    machine: machineSeconds(),
  };
}

/** Cores used per group between two samples, plus the machine's total and what nobody here used. */
export function cpuBetween(before: CpuSample, after: CpuSample): Record<string, number> {
  const seconds = (after.at - before.at) / 1000;
  const cores = (value: number) => Math.round((value / seconds) * 100) / 100;
  const out: Record<string, number> = {};
  let ours = 0;
  for (const [name, pids] of Object.entries(after.groups)) {
    let used = 0;
    // A process that ended during the phase (a database session closed) reads 0 afterwards:
    // only processes seen alive at both ends count.
    for (const [pid, end] of pids) {
      const start = before.groups[name]?.get(pid) ?? 0;
      if (start > 0 && end >= start) used += end - start;
    }
    ours += used;
    out[name] = cores(used);
  }
  const machine = after.machine - before.machine;
  out.machine = cores(machine);
  out.others = cores(Math.max(0, machine - ours));
  out.machineCores = os.cpus().length;
  return out;
}
