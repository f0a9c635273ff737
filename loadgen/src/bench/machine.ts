import { readFileSync } from 'node:fs';

/** Busy and total CPU time of the whole machine, in seconds, from /proc/stat. */
export interface CpuSample {
  readonly busy: number;
  readonly total: number;
}

export function sampleCpu(): CpuSample {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [, user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).map(Number) as number[];
  const hz = 100; // USER_HZ on Linux
  const busy = (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / hz;
  return { busy, total: busy + (idle! + iowait!) / hz };
}

export function cpuDelta(a: CpuSample, b: CpuSample): CpuSample {
  return { busy: b.busy - a.busy, total: b.total - a.total };
}
