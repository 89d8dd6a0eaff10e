// A/B of the swiglu kernel of two kernel builds (e.g. a base checkout's build/kernels/relaxed.wasm and this one's), on
// 1,536 floats (ffn_down's input at the SmolLM2-135M and k256 shapes), in Node and in workerd, rounds alternated;
// checks first that both builds give the same bits.
// usage: npx tsx kernels/bench/swiglu-ab.ts <a.wasm> <b.wasm>   (env CALLS=5000 ROUNDS=41)
import { readFileSync } from "node:fs";
import { median, startBuildsWorker } from "./builds-worker.mjs";

const [pathA, pathB] = process.argv.slice(2);
if (!pathA || !pathB) throw new Error("usage: swiglu-ab.ts <a.wasm> <b.wasm>");
const calls = Number(process.env.CALLS ?? 5000), rounds = Number(process.env.ROUNDS ?? 41);
const F = 1536;

// The same set-up and loop in both runtimes (as source for the Worker): gates in (-6, 6), ups in (-1, 1).
const setup = `function setup(ex) {
  const base = ex.heap_base(), need = base + ${F} * 16 + 65536;
  if (ex.memory.buffer.byteLength < need) ex.memory.grow(Math.ceil((need - ex.memory.buffer.byteLength) / 65536));
  const g = (base + 15) & ~15, u = g + ${F} * 4, o = u + ${F} * 4;
  const f32 = new Float32Array(ex.memory.buffer);
  for (let i = 0; i < ${F}; i++) { f32[g / 4 + i] = Math.sin(i) * 6; f32[u / 4 + i] = Math.cos(i); }
  return { g, u, o };
}
function run(ex, calls) {
  const { g, u, o } = setup(ex);
  for (let i = 0; i < calls; i++) ex.swiglu(o, g, u, ${F});
  return o;
}`;
const lib = new Function(`${setup}; return { setup, run };`)() as {
  setup(ex: WebAssembly.Exports): { o: number };
  run(ex: WebAssembly.Exports, calls: number): number;
};
const inst = (p: string) => new WebAssembly.Instance(new WebAssembly.Module(readFileSync(p)), {}).exports;
const A = inst(pathA), B = inst(pathB);
const out = (ex: WebAssembly.Exports) => {
  const o = lib.run(ex, 1); // may grow the memory: its buffer read after
  return new Uint32Array((ex.memory as WebAssembly.Memory).buffer, o, F).join();
};
if (out(A) !== out(B)) throw new Error("the builds' swiglu outputs differ");

const wd = await startBuildsWorker({
  builds: { a: pathA, b: pathB },
  source: `${setup}
const ex = { a: new WebAssembly.Instance(mods.a, {}).exports, b: new WebAssembly.Instance(mods.b, {}).exports };`,
  handler: `return run(ex[u.pathname.slice(1)], Number(u.searchParams.get("calls")));`,
});
try {
  const call = async (path: string) => (await wd.call(path)).ms;
  const rtt = await wd.rtt();
  const node = (ex: WebAssembly.Exports) => {
    const t0 = performance.now();
    lib.run(ex, calls);
    return performance.now() - t0;
  };
  const t: Record<string, number[]> = { "node a": [], "node b": [], "workerd a": [], "workerd b": [] };
  for (const k of ["a", "b"]) {
    node(k === "a" ? A : B);
    await call(`/${k}?calls=${calls >> 2}`);
  }
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 ? ["b", "a"] : ["a", "b"]) {
      t[`node ${k}`]!.push(node(k === "a" ? A : B));
      t[`workerd ${k}`]!.push((await call(`/${k}?calls=${calls}`)) - rtt);
    }
  }
  console.log(`swiglu of ${F} floats: µs per call (medians of ${rounds} alternated rounds of ${calls} calls); a = ${pathA}, b = ${pathB}`);
  for (const rt of ["node", "workerd"]) {
    const [a, b] = [t[`${rt} a`]!, t[`${rt} b`]!];
    const us = (v: number) => ((v * 1000) / calls).toFixed(3);
    console.log(`  ${rt.padEnd(8)} a ${us(median(a))}  b ${us(median(b))}  a/b per round ${median(a.map((v, i) => v / b[i]!)).toFixed(3)}`);
  }
} finally {
  await wd.dispose();
}
