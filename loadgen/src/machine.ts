import { readdirSync, readFileSync } from 'node:fs';

/** Busy and total CPU time of the whole machine, in seconds, from /proc/stat. */
export interface CpuSample {
  readonly busy: number;
  readonly total: number;
}

export function sampleCpu(): CpuSample {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [, user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).map<number>(Number);
  const hz = 100; // USER_HZ on Linux
  const busy = (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / hz;
  return { busy, total: busy + (idle! + iowait!) / hz };
}

export function cpuDelta(a: CpuSample, b: CpuSample): CpuSample {
  return { busy: b.busy - a.busy, total: b.total - a.total };
}

/**
 * CPU seconds used so far by each process of the local platform (pid files in `.local/run`),
 * each with its children (PostgreSQL's backends), and by this process (the producer).
 */
export function sampleProcesses(runDir: string): Map<string, number> {
  const out = new Map<string, number>();
  let files: string[];
  try {
    files = readdirSync(runDir).filter((f) => f.endsWith('.pid'));
  } catch {
    return out;
  }
  const children = childrenByParent();
  for (const f of files) {
    const pid = Number(readFileSync(`${runDir}/${f}`, 'utf8').trim());
    if (!Number.isInteger(pid)) continue;
    const tree = [pid, ...(children.get(pid) ?? [])];
    out.set(
      f.replace(/\.pid$/, ''),
      tree.reduce((sum, p) => sum + cpuSecondsOf(p), 0),
    );
  }
  const self = process.cpuUsage();
  out.set('producer (this process)', (self.user + self.system) / 1e6);
  return out;
}

function childrenByParent(): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const stat = statFields(Number(d));
    if (!stat) continue;
    const ppid = Number(stat[1]);
    map.set(ppid, [...(map.get(ppid) ?? []), Number(d)]);
  }
  return map;
}

/** utime + stime + cutime + cstime (waited-for children, e.g. ended PostgreSQL backends), in seconds. */
function cpuSecondsOf(pid: number): number {
  const f = statFields(pid);
  if (!f) return 0;
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
}

/** The fields of /proc/PID/stat after the command name (field 3 onwards), or undefined. */
function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}
