// A/B of the swiglu kernel of two kernel builds (e.g. a base checkout's build/kernels/relaxed.wasm and this one's), alternated
// in one Node process on 1,536 floats (ffn_down's input at the SmolLM2-135M and k256 shapes); checks their outputs equal first.
// usage: npx tsx kernels/bench/swiglu-ab.ts <a.wasm> <b.wasm>
import { readFileSync } from "node:fs";

interface Swiglu {
  memory: WebAssembly.Memory;
  heap_base(): number;
  swiglu(out: number, g: number, u: number, n: number): void;
}
const mods = [process.argv[2]!, process.argv[3]!].map((p) => new WebAssembly.Instance(new WebAssembly.Module(readFileSync(p)), {}).exports as unknown as Swiglu);
const F = 1536;
const setups = mods.map((k) => {
  const base = k.heap_base(); const need = base + F * 16 + 65536;
  if (k.memory.buffer.byteLength < need) k.memory.grow(Math.ceil((need - k.memory.buffer.byteLength) / 65536));
  const g = (base + 15) & ~15, u = g + F * 4, o = u + F * 4;
  const f32 = new Float32Array(k.memory.buffer);
  for (let i = 0; i < F; i++) { f32[g / 4 + i] = Math.sin(i) * 6; f32[u / 4 + i] = Math.cos(i); }
  return { k, g, u, o, f32 };
});
// The same bits from both (NaN lanes aside).
for (const s of setups) s.k.swiglu(s.o, s.g, s.u, F);
const a = setups[0]!, b = setups[1]!;
let diff = 0; for (let i = 0; i < F; i++) if (a.f32[a.o / 4 + i] !== b.f32[b.o / 4 + i] && !(isNaN(a.f32[a.o/4+i]))) diff++;
console.log("differing outputs:", diff);
const N = 5000;
const t: number[][] = [[], []];
for (let r = 0; r < 41; r++) for (const j of r & 1 ? [1, 0] : [0, 1]) {
  const s = setups[j]!; const t0 = performance.now();
  for (let i = 0; i < N; i++) s.k.swiglu(s.o, s.g, s.u, F);
  t[j]!.push((performance.now() - t0) * 1000 / N);
  for (let i = 0; i < F; i++) { s.f32[s.g / 4 + i] = Math.sin(i) * 6; }
}
const med = (x: number[]) => [...x].sort((p, q) => p - q)[x.length >> 1]!;
console.log("A", med(t[0]!).toFixed(3), "B", med(t[1]!).toFixed(3), "A/B", med(t[0]!.map((x, i) => x / t[1]![i]!)).toFixed(3));
