// Threads' CPU time and placement on Linux (schedstat; sched_setaffinity through koffi), so the bench can time two
// engines by the CPU time of the thread running each and run a pair of their runs on one CPU (docs/benchmarks.md,
// "Timing workerd beside llama.cpp": this host's run queues and CPU speeds differ between its two CPUs for seconds).
import { existsSync, readFileSync, readdirSync } from "node:fs";
import koffi from "koffi";

interface Libc {
  setaffinity: (tid: number, size: number, mask: Uint8Array) => number;
  getcpu: () => number;
  clockGettime: (clock: number, ts: { tv_sec: number | bigint; tv_nsec: number | bigint }) => number;
}
let libc: Libc | null | undefined;
const CLOCK_THREAD_CPUTIME_ID = 3;

function bind() {
  if (libc !== undefined) return libc;
  try {
    const lib = koffi.load("libc.so.6");
    koffi.struct("Timespec", { tv_sec: "int64", tv_nsec: "int64" });
    libc = {
      setaffinity: lib.func("int sched_setaffinity(int pid, size_t size, const uint8_t *mask)"),
      getcpu: lib.func("int sched_getcpu()"),
      clockGettime: lib.func("int clock_gettime(int clock, _Out_ Timespec *ts)"),
    };
  } catch {
    libc = null; // not Linux/glibc: nothing is pinned (callers log that pinning is off)
  }
  return libc;
}

/** Whether threads can be pinned here (Linux with glibc). */
export function canPin(): boolean {
  return bind() !== null;
}

/** Restricts thread `tid` (0: the calling thread) to `cpus`; false where that failed or pinning is unavailable. */
export function pinThread(tid: number, cpus: readonly number[]): boolean {
  const c = bind();
  if (!c) return false;
  const mask = new Uint8Array(128); // a cpu_set_t: 1024 bits
  for (const cpu of cpus) mask[cpu >> 3]! |= 1 << (cpu & 7);
  return c.setaffinity(tid, mask.length, mask) === 0;
}

/** Restricts every thread of process `pid` to `cpus` (threads it starts later inherit it); false if any failed. */
export function pinProcess(pid: number, cpus: readonly number[]): boolean {
  let ok = true;
  // A thread that exited meanwhile does not count as a failure.
  for (const t of readdirSync(`/proc/${pid}/task`)) ok = (pinThread(Number(t), cpus) || !existsSync(`/proc/${pid}/task/${t}`)) && ok;
  return ok;
}

/** The CPU the calling thread runs on now (-1 if unknown). */
export function currentCpu(): number {
  return bind()?.getcpu() ?? -1;
}

/**
 * CPU time (ms) a thread has run. Without `pid`: the calling thread, by CLOCK_THREAD_CPUTIME_ID (exact; Node's
 * `process.threadCpuUsage()` reads getrusage, whose user + system split lags it by up to 1.8 ms over a few ms here,
 * 2026-12-05). With `pid`:
 * thread `tid` (default pid, the main thread) of that process, from its /proc schedstat, the scheduler's own account
 * (time spent waiting for a CPU is not in it); that figure is brought up to date only when the thread stops running
 * or at a scheduler tick, so this waits (up to 50 ms) for the thread to be asleep, as it is between two requests.
 * NaN where neither can be read.
 */
export function threadCpuMs(pid?: number, tid = pid): number {
  if (pid === undefined) {
    const c = bind();
    const ts = { tv_sec: 0, tv_nsec: 0 };
    if (c && c.clockGettime(CLOCK_THREAD_CPUTIME_ID, ts) === 0) return Number(ts.tv_sec) * 1e3 + Number(ts.tv_nsec) / 1e6;
    return NaN;
  }
  const dir = `/proc/${pid}/task/${tid}`;
  try {
    const end = performance.now() + 50;
    while (performance.now() < end) {
      const stat = readFileSync(`${dir}/stat`, "utf8");
      if (stat[stat.lastIndexOf(")") + 2] !== "R") break; // state: R running or runnable
    }
    return Number(readFileSync(`${dir}/schedstat`, "utf8").split(" ")[0]) / 1e6;
  } catch {
    return NaN;
  }
}

/**
 * Every CPU the calling thread may run on now (its own /proc/thread-self/status Cpus_allowed_list: pinThread(0, …)
 * changes the calling thread's, which need not be the process's main thread); [] where unknown.
 */
export function allowedCpus(): number[] {
  try {
    const line = /Cpus_allowed_list:\s*(\S+)/.exec(readFileSync("/proc/thread-self/status", "utf8"))?.[1] ?? "";
    return line.split(",").flatMap((r) => {
      const [a, b = a] = r.split("-").map(Number);
      return Array.from({ length: b! - a! + 1 }, (_, i) => a! + i);
    });
  } catch {
    return [];
  }
}

/** Pids of this process's children whose command is `comm` (e.g. "workerd"); [] where /proc cannot be read. */
export function childPids(comm: string): number[] {
  const out: number[] = [];
  try {
    for (const p of readdirSync("/proc")) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const stat = readFileSync(`/proc/${p}/stat`, "utf8");
        const close = stat.lastIndexOf(")");
        if (stat.slice(stat.indexOf("(") + 1, close) === comm && Number(stat.slice(close + 2).split(" ")[1]) === process.pid) out.push(Number(p));
      } catch {
        // exited meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return out;
}
