// Memory of the workerd process behind `wrangler dev`: found in wrangler's process group, read from /proc/<pid>/status.
import { readdirSync, readFileSync } from "node:fs";

/** pid, process group and command name of a /proc entry (the name may hold spaces or parentheses). */
function procStat(pid: number): { pgrp: number; comm: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const open = stat.indexOf("(");
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    // After the name: state, ppid, pgrp.
    return { pgrp: Number(fields[2]), comm: stat.slice(open + 1, close) };
  } catch {
    return null; // exited while we looked
  }
}

/** The workerd processes in process group `pgid` (wrangler dev is started detached, so its pid is the group id). */
export function workerdPids(pgid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (s && s.pgrp === pgid && s.comm === "workerd") pids.push(Number(name));
  }
  return pids;
}

export interface Memory {
  /** Resident set now, and its peak over the process's life (VmHWM), in bytes. */
  readonly rssBytes: number;
  readonly peakRssBytes: number;
}

/** RSS of one process from /proc/<pid>/status (kB lines), or null when it is gone. */
export function memoryOf(pid: number): Memory | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
    return { rssBytes: kb("VmRSS"), peakRssBytes: kb("VmHWM") };
  } catch {
    return null;
  }
}

/** Summed memory of the workerd processes of the group (there is normally one). */
export function workerdMemory(pgid: number): Memory | null {
  const mems = workerdPids(pgid).map(memoryOf).filter((m): m is Memory => m !== null);
  if (mems.length === 0) return null;
  return { rssBytes: mems.reduce((a, m) => a + m.rssBytes, 0), peakRssBytes: mems.reduce((a, m) => a + m.peakRssBytes, 0) };
}
