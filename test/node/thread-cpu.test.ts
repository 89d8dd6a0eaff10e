// scripts/lib/thread-cpu.ts: thread CPU time, pinning and child lookup, as the workerd bench beside llama.cpp uses them.
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { allowedCpus, canPin, childPids, currentCpu, pinProcess, pinThread, threadCpuMs } from "../../scripts/lib/thread-cpu";

const linux = process.platform === "linux";

describe.runIf(linux)("thread-cpu", () => {
  it("threadCpuMs counts the calling thread's work, never more than the wall time, and not its sleep", async () => {
    let t = threadCpuMs();
    const w0 = performance.now();
    let x = 0;
    // Busy until 30 ms of CPU time (a crowded machine may take longer in wall time to give it).
    while (threadCpuMs() - t < 30 && performance.now() - w0 < 10_000) for (let i = 0; i < 1e5; i++) x += Math.sqrt(x + i);
    const busy = threadCpuMs() - t;
    const wall = performance.now() - w0;
    t = threadCpuMs();
    await sleep(60);
    const slept = threadCpuMs() - t;
    expect(x).toBeGreaterThan(0);
    expect(busy).toBeGreaterThanOrEqual(30);
    expect(busy).toBeLessThanOrEqual(wall + 1);
    expect(slept).toBeLessThan(15);
    expect(threadCpuMs(process.pid)).toBeGreaterThan(0); // this process's main thread, by pid
    expect(threadCpuMs(2 ** 22 + 1)).toBeNaN(); // no such process
  });

  it("pinThread moves the calling thread to the CPU asked for, and back to all of them", () => {
    expect(canPin()).toBe(true);
    const cpus = allowedCpus();
    expect(cpus.length).toBeGreaterThan(0);
    expect(cpus).toContain(currentCpu());
    try {
      for (const c of cpus) {
        expect(pinThread(0, [c])).toBe(true);
        expect(currentCpu()).toBe(c);
      }
    } finally {
      expect(pinThread(0, cpus)).toBe(true);
    }
    expect(pinThread(0, [])).toBe(false); // an empty set is refused, the affinity unchanged
  });

  it("childPids finds a child by command; pinProcess pins all its threads", async () => {
    const child = spawn("sleep", ["5"]);
    try {
      let pids: number[] = [];
      for (let i = 0; i < 50 && pids.length === 0; i++) {
        pids = childPids("sleep");
        if (pids.length === 0) await sleep(10);
      }
      expect(pids).toEqual([child.pid]);
      const cpu = allowedCpus().at(-1)!;
      expect(pinProcess(child.pid!, [cpu])).toBe(true);
      expect(childPids("no-such-command")).toEqual([]);
    } finally {
      child.kill();
    }
  });
});
