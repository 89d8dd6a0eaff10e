// A/B of one decode step's matmul sequence through two checkouts' WasmBackend (each with its own build/kernels),
// alternated per round in one Node process: per layer rmsnorm, q/k/v on its output, o, add, rmsnorm, gate/up, swiglu,
// down, add; then the classifier. Random Q4_0 (or Q8_0) weights of SmolLM2-135M's shapes, laid out in load order.
// usage: npx tsx kernels/bench/backend-step-ab.ts <repo-root-A> <repo-root-B> (env STEP_FMT=q8_0, STEP_ROUNDS=31)
import { pathToFileURL } from "node:url";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";

setFlagsFromString("--no-liftoff");
const roots = process.argv.slice(2);
if (roots.length !== 2) throw new Error("usage: backend-step-ab.ts <repo-root-A> <repo-root-B>");
const Q8 = process.env.STEP_FMT === "q8_0";
const rounds = Number(process.env.STEP_ROUNDS ?? 31);
const [DIM, KV, FFN, LAYERS, VOCAB] = [576, 192, 1536, 30, 49152];
const TYPE = Q8 ? 8 : 2; // GGML Q8_0 / Q4_0

/** GGUF bytes of a rows×cols matrix: random quants, f16 scale 0.01 per block. */
function blocks(rows: number, cols: number, seed: number): Uint8Array {
  const bs = Q8 ? 34 : 18, out = new Uint8Array((rows * cols) / 32 * bs);
  let s = seed;
  for (let i = 0; i < out.length; i++) out[i] = (s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24;
  for (let b = 0; b < out.length; b += bs) out.set([0x1f, 0x21], b);
  return out;
}

async function step(root: string): Promise<() => void> {
  await import(pathToFileURL(join(root, "src/backends/wasm/load-node.ts")).href);
  const { WasmBackend } = await import(pathToFileURL(join(root, "src/backends/wasm/wasm-backend.ts")).href);
  const { kernelModules } = await import(pathToFileURL(join(root, "src/backends/wasm/kernel-modules.ts")).href);
  const b = new WasmBackend(kernelModules().relaxed!);
  const m = (rows: number, cols: number, seed: number) => b.loadMatrix("w", TYPE, rows, cols, blocks(rows, cols, seed));
  const layers = Array.from({ length: LAYERS }, (_, l) => ({
    q: m(DIM, DIM, l * 7 + 1), k: m(KV, DIM, l * 7 + 2), v: m(KV, DIM, l * 7 + 3), o: m(DIM, DIM, l * 7 + 4),
    gate: m(FFN, DIM, l * 7 + 5), up: m(FFN, DIM, l * 7 + 6), down: m(DIM, FFN, l * 7 + 7),
  }));
  const cls = m(VOCAB, DIM, 999);
  const norm = b.loadVector("norm", new Float32Array(DIM).fill(1));
  const buf = (n: number) => b.createBuffer(n);
  const [x, xb, q, k, v, att, proj, gate, up, logits] = [buf(DIM), buf(DIM), buf(DIM), buf(KV), buf(KV), buf(DIM), buf(DIM), buf(FFN), buf(FFN), buf(VOCAB)];
  b.write(x, new Float32Array(DIM).map((_, i) => Math.sin(i)));
  b.write(att, new Float32Array(DIM).map((_, i) => Math.cos(i)));
  return () => {
    for (const L of layers) {
      b.rmsnorm(xb, x, norm, 1, 1e-5);
      b.matmul(q, L.q, xb, 1);
      b.matmul(k, L.k, xb, 1);
      b.matmul(v, L.v, xb, 1);
      b.matmul(proj, L.o, att, 1);
      b.add(x, x, proj, DIM);
      b.rmsnorm(xb, x, norm, 1, 1e-5);
      b.matmul(gate, L.gate, xb, 1);
      b.matmul(up, L.up, xb, 1);
      b.swiglu(gate, gate, up, FFN);
      b.matmul(proj, L.down, gate, 1);
      b.add(x, x, proj, DIM);
    }
    b.rmsnorm(xb, x, norm, 1, 1e-5);
    b.matmul(logits, cls, xb, 1);
  };
}

const runs = [await step(roots[0]!), await step(roots[1]!)];
for (const r of runs) r();
const t: number[][] = [[], []];
for (let round = 0; round < rounds; round++) for (const i of round & 1 ? [1, 0] : [0, 1]) {
  const t0 = performance.now();
  runs[i]!();
  t[i]!.push(performance.now() - t0);
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
console.log(`one decode step's matmul sequence (${Q8 ? "Q8_0" : "Q4_0"}, SmolLM2-135M shapes), median of ${rounds} alternated rounds:`);
console.log(`  A ${roots[0]}: ${median(t[0]!).toFixed(2)} ms`);
console.log(`  B ${roots[1]}: ${median(t[1]!).toFixed(2)} ms  speed-up B/A (median per-round ratio) x${median(t[0]!.map((a, i) => a / t[1]![i]!)).toFixed(3)}`);
