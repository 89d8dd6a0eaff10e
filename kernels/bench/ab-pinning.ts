// The whole-engine A/B scripts' rounds (decode-engine-ab.ts, prefill-engine-ab.ts, engine-workerd-ab.ts): A and B
// alternated, each round's two runs pinned to one CPU (CPUs in turn) and timed by the CPU time of the thread running
// the engine, the wall time beside, as `scripts/bench.ts --vs-llama-cpp` times its pairs (docs/benchmarks.md, "Timing
// workerd beside llama.cpp"): this host's two CPUs run at unequal speeds for seconds at a time and the wall clock
// also counts run-queue waits, which made the workerd A/A favour the checkout named first by 4-17 %.
import { allowedCpus, canPin, pinProcess, pinThread, threadCpuMs } from "../../scripts/lib/thread-cpu";

/** One run's time in ms: by the wall clock, and by the engine thread's CPU time (NaN when that is not read). */
export interface Timing {
  readonly wall: number;
  readonly cpu: number;
}

/** Where the engine runs: how to pin it and read its thread's CPU time (ms, NaN where unknown). */
export interface EngineThread {
  readonly what: string;
  pin(cpus: readonly number[]): boolean;
  cpuMs(): number;
}

/** This process's calling thread (the Node scripts run both engines on it). */
export const nodeThread: EngineThread = { what: "this thread", pin: (cpus) => pinThread(0, cpus), cpuMs: () => threadCpuMs() };

/**
 * A workerd process whose main thread (tid = pid) runs the isolates and serves their requests: every thread of it is
 * pinned (V8's helpers too, as the bench pins workerd), the main thread's CPU time read from /proc once it is asleep.
 */
export function workerdThread(pid: number | null): EngineThread {
  return {
    what: "workerd's main thread (the isolates')",
    pin: (cpus) => pid !== null && pinProcess(pid, cpus),
    cpuMs: () => (pid === null ? NaN : threadCpuMs(pid)),
  };
}

export const median = (a: readonly number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;

/** Rounds run in a row on one CPU before the next CPU's turn. */
export const ROUNDS_PER_CPU = 2;

/**
 * The CPU of round i: ROUNDS_PER_CPU rounds on each CPU, the CPUs in turn (each round's A and B runs on the same one,
 * so a CPU that is slow for a stretch slows both).
 */
export function roundCpu(cpus: readonly number[], round: number): number {
  return cpus[Math.floor(round / ROUNDS_PER_CPU) % cpus.length]!;
}

/**
 * Round i's runs in order, of `cpus` CPUs: A then B throughout one CPU's turn, B then A throughout the next, and with
 * an even number of CPUs flipped every cycle too (else a CPU would only ever run one order). So every run but the
 * first of a turn follows the other engine's run on the same CPU, and that first run, which finds its caches cold on
 * the CPU just moved to (4-5 % slower in a Node A/A), is A's and B's equally often on each CPU. (With A B, B A on every
 * CPU, a turn ran A B B A: B always ran right after itself, and A always first after the move; Node A/As then read
 * B faster, x1.013 and x1.033 over 61 rounds.)
 */
export function roundOrder(cpus: number, round: number): readonly [0 | 1, 0 | 1] {
  const turn = Math.floor(round / ROUNDS_PER_CPU);
  const flip = cpus % 2 === 0 ? Math.floor(turn / cpus) : 0;
  return (turn + flip) & 1 ? [1, 0] : [0, 1];
}

/** The clock and placement of an A/B: pinned and CPU-timed where this host allows, else the wall clock, unpinned. */
export class AbClock {
  readonly cpus: readonly number[];
  /** Why the runs are not pinned and CPU-timed; null when they are. */
  readonly off: string | null;

  constructor(readonly thread: EngineThread) {
    const cpus = allowedCpus();
    this.cpus = cpus;
    if (!canPin()) this.off = "threads cannot be pinned here (needs Linux with glibc)";
    else if (cpus.length === 0) this.off = "this thread's CPU set is unknown";
    else if (!Number.isFinite(thread.cpuMs())) this.off = `the CPU time of ${thread.what} cannot be read`;
    else this.off = null;
  }

  get pinned(): boolean {
    return this.off === null;
  }

  /** The line saying how the runs were timed and placed. */
  describe(): string {
    if (this.off !== null) return `  timed by the wall clock, unpinned: ${this.off}`;
    return `  timed by the CPU time of ${this.thread.what} (wall beside); each round's A and B runs pinned to one CPU, CPUs ${this.cpus.join(",")} in turn, ${ROUNDS_PER_CPU} rounds each, A and B first in turn`;
  }

  /** Pins the engine for round i (nothing when off). */
  pinRound(round: number): void {
    if (this.pinned && !this.thread.pin([roundCpu(this.cpus, round)])) throw new Error(`could not pin ${this.thread.what} to CPU ${roundCpu(this.cpus, round)}`);
  }

  /** Gives the engine back every CPU it had. */
  release(): void {
    if (this.pinned) this.thread.pin(this.cpus);
  }

  /** Times fn: wall ms, and the engine thread's CPU ms (NaN when off). */
  async time(fn: () => unknown): Promise<Timing> {
    const c0 = this.pinned ? this.thread.cpuMs() : NaN;
    const t0 = performance.now();
    await fn();
    const wall = performance.now() - t0;
    return { wall, cpu: this.pinned ? this.thread.cpuMs() - c0 : NaN };
  }
}

/** A run's time, and optionally a check value the two engines' runs of a round must agree on (e.g. a logits hash). */
export type AbRun = Timing & { readonly check?: number };

/**
 * `warmup` rounds, then `rounds` recorded ones, of runs[0] (A) and runs[1] (B) in turn (roundOrder), each round
 * pinned to its CPU (roundCpu); the engine gets its CPUs back afterwards. Returns each side's timings, round by round.
 */
export async function abRounds(clock: AbClock, runs: readonly [() => Promise<AbRun>, () => Promise<AbRun>], warmup: number, rounds: number): Promise<[Timing[], Timing[]]> {
  const times: [Timing[], Timing[]] = [[], []];
  try {
    for (let i = -warmup; i < rounds; i++) {
      clock.pinRound(i + warmup);
      const got: AbRun[] = [];
      for (const k of roundOrder(Math.max(1, clock.cpus.length), i + warmup)) got[k] = await runs[k]();
      const [a, b] = got as [AbRun, AbRun];
      if (a.check !== b.check) throw new Error(`round ${i}: the two engines' results differ (${a.check} vs ${b.check})`);
      if (i >= 0) for (const k of [0, 1] as const) times[k].push({ wall: got[k]!.wall, cpu: got[k]!.cpu });
    }
  } finally {
    clock.release();
  }
  return times;
}

/**
 * The result lines: each side's median (CPU time when pinned, the wall median beside) and the median per-round A/B
 * ratio; `value` turns a run's ms into the unit printed (e.g. µs per token).
 */
export function abReport(clock: AbClock, roots: readonly [string, string], times: readonly [Timing[], Timing[]], unit: string, digits: number, value: (ms: number) => number): string[] {
  const by = (t: Timing) => (clock.pinned ? t.cpu : t.wall);
  const ratio = (f: (t: Timing) => number) => median(times[0].map((a, i) => f(a) / f(times[1][i]!))).toFixed(3);
  const wall = (s: string) => (clock.pinned ? ` (wall ${s})` : "");
  const side = (k: 0 | 1) => {
    const m = (f: (t: Timing) => number) => value(median(times[k].map(f))).toFixed(digits);
    return `  ${"AB"[k]} ${roots[k]}: ${m(by)} ${unit}${wall(m((t) => t.wall))}`;
  };
  return [clock.describe(), side(0), side(1), `  B speed-up over A (median of per-round A/B ratios): x${ratio(by)}${wall(`x${ratio((t) => t.wall)}`)}`];
}
