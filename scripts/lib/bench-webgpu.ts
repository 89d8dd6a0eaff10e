// Bench rows for the webgpu backend (asynchronous readback), and what a decode step costs in dispatch overhead alone.
import "./gpu-node";
import { LlamaContext } from "../../src/engine/context";
import { LlamaModel } from "../../src/engine/model";
import { createBackend } from "../../src/backends/select";
import { FailoverBackend } from "../../src/backends/webgpu/failover-backend";
import { requestGpuAdapter } from "../../src/backends/webgpu/gpu";
import { WebGpuBackend } from "../../src/backends/webgpu/webgpu-backend";
import { argmax, benchPrompt, benchRow, median, tokenCounts, type BenchModelSpec, type BenchOptions, type BenchRow } from "./bench-core";

/** One timed run: prefill the prompt (batches of 32), then greedy-decode, each step ending in a logits readback. */
async function runOnceAsync(model: LlamaModel, prompt: readonly number[], decode: number) {
  const ctx = new LlamaContext(model, { nCtx: prompt.length + decode + 1 });
  const t0 = performance.now();
  let logits = await ctx.evaluateAsync(prompt);
  const t1 = performance.now();
  for (let i = 0; i < decode; i++) logits = await ctx.evaluateAsync([argmax(logits)]);
  const t2 = performance.now();
  ctx.dispose();
  return { prefill: (prompt.length * 1000) / (t1 - t0), decode: (decode * 1000) / (t2 - t1), decodeMs: (t2 - t1) / decode };
}

/**
 * Loads the model on webgpu and measures like benchModel. Then the overhead split: the dispatches and submissions of
 * one decode step, and the time of as many no-op dispatches in one submission plus a readback (the floor that
 * dispatching alone costs), against the real step.
 */
export async function benchWebGpu(spec: BenchModelSpec, bytes: Uint8Array, o: BenchOptions, log: (line: string) => void): Promise<BenchRow | null> {
  const adapter = await requestGpuAdapter();
  if (!adapter) {
    log(`webgpu: skipped, no WebGPU adapter in this runtime (see docs/kernels.md)`);
    return null;
  }
  const backend = new FailoverBackend(await WebGpuBackend.create(adapter), () => createBackend("wasm"));
  const gpu = backend.active as WebGpuBackend;
  const model = LlamaModel.load(bytes, backend);
  const n = tokenCounts(spec, "webgpu", o);
  const prompt = benchPrompt(model.config.vocabSize, n.prefill);
  for (let i = 0; i < o.warmup; i++) await runOnceAsync(model, prompt, n.decode);
  const before = gpu.stats;
  const results = [];
  for (let i = 0; i < o.runs; i++) results.push(await runOnceAsync(model, prompt, n.decode));
  const after = gpu.stats;

  const steps = o.runs * (n.decode + Math.ceil(n.prefill / 32));
  const perStep = Math.round((after.dispatches - before.dispatches) / steps);
  const groupsPerDispatch = Math.max(1, Math.round((after.workgroups - before.workgroups) / steps / perStep));
  const decodeMs = median(results.map((r) => r.decodeMs));
  const baseline = async (groups: number) => {
    const target = gpu.createBuffer(4);
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) {
      for (let d = 0; d < perStep; d++) gpu.noop(target, groups);
      await gpu.readAsync(target, 0, 1);
    }
    gpu.release(target);
    return (performance.now() - t0) / 10;
  };
  const [oneGroup, sameGroups] = [await baseline(1), await baseline(groupsPerDispatch)];
  const pct = (ms: number) => `${Math.round((100 * ms) / decodeMs)}%`;
  log(
    `webgpu on ${gpu.adapterDescription}: a decode step takes ${decodeMs.toFixed(2)} ms for ~${perStep} dispatches (~${groupsPerDispatch} workgroups each) in ` +
      `${((after.submissions - before.submissions) / steps).toFixed(2)} submissions; as many no-op dispatches + readback take ${oneGroup.toFixed(2)} ms (${pct(oneGroup)}) ` +
      `with 1 workgroup each, ${sameGroups.toFixed(2)} ms (${pct(sameGroups)}) with the same workgroup counts`,
  );
  return benchRow(spec, model, o, n, results);
}
