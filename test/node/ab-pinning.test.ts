// kernels/bench/ab-pinning.ts: the whole-engine A/B scripts' rounds (order, CPU rotation, pinning, clocks, report).
import { describe, expect, it } from "vitest";
import { AbClock, abReport, abRounds, nodeThread, roundCpu, roundOrder, type AbRun, type EngineThread } from "../../kernels/bench/ab-pinning";
import { allowedCpus, currentCpu } from "../../scripts/lib/thread-cpu";

const linux = process.platform === "linux";

/** An engine thread that only records: the CPU sets it was pinned to, and a CPU clock the runs advance. */
function fakeThread(readable = true) {
  const pins: number[][] = [];
  let cpu = 0;
  const thread: EngineThread = { what: "a fake thread", pin: (cpus) => (pins.push([...cpus]), true), cpuMs: () => (readable ? cpu : NaN) };
  return { thread, pins, spend: (ms: number) => (cpu += ms) };
}

describe("ab-pinning", () => {
  it("gives each CPU two rounds in turn, A first on one turn and B first on another, on every CPU alike", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => roundOrder(2, i))).toEqual([[0, 1], [0, 1], [1, 0], [1, 0], [1, 0], [1, 0], [0, 1], [0, 1]]);
    expect([0, 1, 2, 3, 4, 5].map((i) => roundOrder(3, i))).toEqual([[0, 1], [0, 1], [1, 0], [1, 0], [0, 1], [0, 1]]);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((i) => roundCpu([0, 1], i))).toEqual([0, 0, 1, 1, 0, 0, 1, 1]);
    expect([0, 1, 2, 3, 4, 5, 6].map((i) => roundCpu([2, 5, 7], i))).toEqual([2, 2, 5, 5, 7, 7, 2]);
    expect(roundCpu([3], 9)).toBe(3);
    // The runs in sequence: within a turn each run follows the other engine's; the first run of a turn (cold caches on
    // the CPU just moved to) is A's and B's equally often on every CPU.
    for (const cpus of [[0], [0, 1], [0, 1, 2], [0, 1, 2, 3]]) {
      const turns = Array.from({ length: 4 * cpus.length }, (_, t) => [2 * t, 2 * t + 1].flatMap((i) => roundOrder(cpus.length, i)));
      for (const t of turns) expect(t.every((k, j) => j === 0 || k !== t[j - 1])).toBe(true);
      for (const c of cpus) {
        const firsts = turns.filter((_, t) => roundCpu(cpus, 2 * t) === c).map((t) => t[0]);
        expect(firsts.filter((k) => k === 0).length, `CPU ${c} of ${cpus}`).toBe(firsts.filter((k) => k === 1).length);
      }
    }
  });

  it.runIf(linux)("pins every round to its CPU, records only the timed rounds in order, and releases the engine", async () => {
    const f = fakeThread();
    const clock = new AbClock(f.thread);
    expect(clock.off).toBeNull();
    const cpus = allowedCpus();
    const log: string[] = [];
    const run = (k: 0 | 1) => async (): Promise<AbRun> => {
      log.push("AB"[k]!);
      return clock.time(() => f.spend(10 + k)); // A spends 10 ms of CPU, B 11
    };
    const times = await abRounds(clock, [run(0), run(1)], 2, 4);
    expect(log.join("")).toBe(cpus.length % 2 === 0 ? "ABABBABABABA" : "ABABBABAABAB");
    expect(f.pins).toEqual([...[0, 1, 2, 3, 4, 5].map((i) => [roundCpu(cpus, i)]), cpus]);
    expect(times.map((t) => t.map((x) => x.cpu))).toEqual([[10, 10, 10, 10], [11, 11, 11, 11]]);
    expect(times.flat().every((t) => t.wall >= 0)).toBe(true);
    const lines = abReport(clock, ["/a", "/b"], times, "ms", 2, (ms) => ms);
    expect(lines[0]).toMatch(/^ {2}timed by the CPU time of a fake thread \(wall beside\); each round's A and B runs pinned to one CPU, CPUs [\d,]+ in turn, 2 rounds each, A and B first in turn$/);
    expect(lines[1]).toMatch(/^ {2}A \/a: 10\.00 ms \(wall \d+\.\d\d\)$/);
    expect(lines[2]).toMatch(/^ {2}B \/b: 11\.00 ms \(wall \d+\.\d\d\)$/);
    expect(lines[3]).toMatch(/^ {2}B speed-up over A \(median of per-round A\/B ratios\): x0\.909 \(wall x\S+\)$/);
  });

  it.runIf(linux)("stops at a round whose two results differ, and still releases the engine", async () => {
    const f = fakeThread();
    const clock = new AbClock(f.thread);
    let n = 0;
    const run = (k: 0 | 1) => async (): Promise<AbRun> => ({ wall: 1, cpu: 1, check: k === 1 && ++n === 2 ? 7 : 5 });
    await expect(abRounds(clock, [run(0), run(1)], 1, 3)).rejects.toThrow(/round 0: the two engines' results differ \(5 vs 7\)/);
    expect(f.pins.at(-1)).toEqual(allowedCpus());
  });

  it("falls back to the wall clock, unpinned, where the engine thread's CPU time cannot be read, and says so", async () => {
    const f = fakeThread(false);
    const clock = new AbClock(f.thread);
    expect(clock.pinned).toBe(false);
    const times = await abRounds(clock, [async () => ({ wall: 4, cpu: NaN }), async () => ({ wall: 2, cpu: NaN })], 1, 3);
    expect(f.pins).toEqual([]);
    const lines = abReport(clock, ["/a", "/b"], times, "µs per token", 1, (ms) => ms * 1000);
    expect(lines).toEqual([
      `  timed by the wall clock, unpinned: ${linux ? "the CPU time of a fake thread cannot be read" : "threads cannot be pinned here (needs Linux with glibc)"}`,
      "  A /a: 4000.0 µs per token",
      "  B /b: 2000.0 µs per token",
      "  B speed-up over A (median of per-round A/B ratios): x2.000",
    ]);
  });

  it.runIf(linux)("runs this thread's rounds on their CPUs, by its CPU time, and gives it back every CPU", async () => {
    const cpus = allowedCpus();
    const clock = new AbClock(nodeThread);
    expect(clock.pinned).toBe(true);
    const seen: number[] = [];
    const run = async (): Promise<AbRun> => {
      seen.push(currentCpu());
      return clock.time(() => {
        let x = 0;
        for (let i = 0; i < 2e5; i++) x += Math.sqrt(i);
        return x;
      });
    };
    const times = await abRounds(clock, [run, run], 0, 4);
    expect(seen).toEqual([0, 0, 1, 1, 2, 2, 3, 3].map((round) => roundCpu(cpus, round)));
    for (const t of times.flat()) expect(t.cpu > 0 && t.cpu <= t.wall + 1).toBe(true);
    expect(allowedCpus()).toEqual(cpus);
  });
});
