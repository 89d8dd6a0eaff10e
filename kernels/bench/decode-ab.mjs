// A/B of Q4_0 / Q8_0 decode (one token): a baseline kernel build's matmul_q*_0 against build/kernels' decode_q*_0,
// alternated in one process, in Node and in workerd (miniflare), on SmolLM2-135M's and stories15M's matrix shapes.
// usage: npx tsx kernels/bench/decode-ab.mjs <base-relaxed.wasm> <base-simd128.wasm> [rounds=9]
// (env DECODE_AB_NODE_ONLY=1: skip workerd; DECODE_AB_SHAPES=smollm2|stories|all, default all)
// Timing runs on pseudo-random weight bytes (the integer work does not depend on them) with finite scales, cycled
// through enough copies (~48 MB) to stream from memory as a model's matrices do. Before timing, on every shape, the
// baseline and the new build must give the same output bits (relaxed Q4_0 in both its i16 and its fused forms).
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";

const here = dirname(fileURLToPath(import.meta.url));
const [baseRelaxed, baseSimd, roundsArg] = process.argv.slice(2);
if (!baseRelaxed || !baseSimd) throw new Error("usage: decode-ab.mjs <base-relaxed.wasm> <base-simd128.wasm> [rounds]");
const rounds = Number(roundsArg ?? 9);
const MODS = { "base-relaxed": baseRelaxed, "new-relaxed": join(here, "../../build/kernels/relaxed.wasm"), "base-simd128": baseSimd, "new-simd128": join(here, "../../build/kernels/simd128.wasm") };
const SMOL = [["attn_k/v", 192, 576], ["attn_q/o", 576, 576], ["ffn_gate/up", 1536, 576], ["ffn_down", 576, 1536], ["classifier", 49152, 576]];
const STORIES = [["attn", 288, 288], ["ffn_gate/up", 768, 288], ["ffn_down", 288, 768], ["classifier", 32000, 288]];
const which = process.env.DECODE_AB_SHAPES ?? "all";
const SHAPES = [...(which !== "stories" ? SMOL.map(([n, r, c]) => [`smollm2 ${n}`, r, c]) : []), ...(which !== "smollm2" ? STORIES.map(([n, r, c]) => [`stories15m ${n}`, r, c]) : [])];
const FMTS = ["q4_0", "q8_0"];
const RUNTIMES = process.env.DECODE_AB_NODE_ONLY ? ["node"] : ["node", "workerd"];
const TARGET_MS = Number(process.env.DECODE_AB_MS ?? 12); // per sample

// Shared by Node and the worker: memory set-up and one timed sample (returns a checksum so nothing is elided).
const CORE = `
const ARENA = 48 << 20, MAXC = 1536;
function setup(e) {
  let top = (e.heap_base() + 63) & ~63;
  const alloc = (n) => { const p = top; top += (n + 63) & ~63; return p; };
  const w = alloc(ARENA), s4 = alloc(ARENA / 4), s8 = alloc(ARENA / 8), x = alloc(MAXC * 4), xq = alloc(MAXC * 3 + MAXC / 2), xe = alloc(MAXC * 9), out = alloc(49152 * 4);
  const need = top - e.memory.buffer.byteLength;
  if (need > 0) e.memory.grow(Math.ceil(need / 65536));
  const u8 = new Uint8Array(e.memory.buffer), f32 = new Float32Array(e.memory.buffer), u16 = new Uint16Array(e.memory.buffer);
  let s = 12345;
  for (let i = w; i < w + ARENA; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; u8[i] = s >>> 24; }
  for (let i = 0; i < ARENA / 16; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; f32[s4 / 4 + i] = 0.001 + (s >>> 8) / 2 ** 31; }
  for (let i = 0; i < ARENA / 16; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; u16[s8 / 2 + i] = 0x1000 + (s >>> 20); }
  for (let i = 0; i < MAXC; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; f32[x / 4 + i] = (s / 2 ** 32) * 2 - 1; }
  return { e, w, s4, s8, x, xq, xe, out };
}
function sample(st, fmt, fresh, rows, cols, reps) {
  const e = st.e, nb = cols / 32, q4 = fmt === "q4_0";
  const wBytes = q4 ? rows * cols / 2 : rows * cols, sBytes = q4 ? rows * nb * 4 : rows * nb * 2;
  const copies = Math.max(1, Math.floor(ARENA / wBytes));
  const xd = st.xq + cols * 3, xs = xd + nb * 4;
  const fn = fresh ? e["decode_" + fmt] : e["matmul_" + fmt];
  let sum = 0;
  for (let r = 0; r < reps; r++) {
    const c = r % copies;
    e.quantize_q8_0(st.x, st.xq, xd, xs, cols);
    if (fresh) fn(st.out, st.w + c * wBytes, (q4 ? st.s4 : st.s8) + c * sBytes, st.xq, xd, xs, rows, cols, st.xe);
    else fn(st.out, st.w + c * wBytes, (q4 ? st.s4 : st.s8) + c * sBytes, st.xq, xd, xs, rows, cols, 1);
    sum += new Float32Array(e.memory.buffer, st.out, 1)[0];
  }
  return sum;
}
function outBits(st, rows) { return new Uint32Array(st.e.memory.buffer, st.out, rows).slice(); }
`;

// Node compiles every module with the optimizing tier up front (on a loaded machine background tier-up can leave one
// side in the baseline tier for many rounds); workerd tiers up by itself: warm-up rounds there.
setFlagsFromString("--no-liftoff");
const core = new Function(`${CORE}; return { setup, sample, outBits };`)();
const modules = Object.fromEntries(Object.entries(MODS).map(([k, p]) => [k, new WebAssembly.Module(readFileSync(p))]));
const states = Object.fromEntries(Object.keys(MODS).map((k) => [k, core.setup(new WebAssembly.Instance(modules[k], {}).exports)]));

// Same bits: baseline matmul (1 token) and new decode, every shape and format, each probe answer on the relaxed build.
for (const build of ["relaxed", "simd128"]) for (const fused of build === "relaxed" ? [0, 1] : [0]) {
  const [b, n] = [states[`base-${build}`], states[`new-${build}`]];
  for (const st of [b, n]) st.e.set_dot_add_fused(fused);
  for (const [name, rows, cols] of SHAPES) for (const fmt of FMTS) {
    core.sample(b, fmt, false, rows, cols, 1);
    core.sample(n, fmt, true, rows, cols, 1);
    const [x, y] = [core.outBits(b, rows), core.outBits(n, rows)];
    if (x.some((v, i) => v !== y[i])) throw new Error(`${build} ${fmt} ${name} (fused ${fused}): base and new output bits differ`);
  }
  for (const st of [b, n]) st.e.set_dot_add_fused(-1);
}
console.log(`base matmul and new decode: equal output bits (${SHAPES.length} shapes; Q4_0, Q8_0; relaxed with both probe answers, SIMD128)`);

const dir = mkdtempSync(join(tmpdir(), "edge-llama-decode-ab-"));
for (const [k, p] of Object.entries(MODS)) copyFileSync(p, join(dir, `${k}.wasm`));
writeFileSync(join(dir, "worker.js"), `${Object.keys(MODS).map((k, i) => `import m${i} from "./${k}.wasm";`).join("\n")}
${CORE}
const MODS = { ${Object.keys(MODS).map((k, i) => `"${k}": m${i}`).join(", ")} };
const inst = {};
export default {
  async fetch(req) {
    const u = new URL(req.url), p = u.searchParams;
    if (u.pathname === "/noop") return new Response("0");
    const mod = p.get("mod");
    if (!inst[mod]) inst[mod] = setup(new WebAssembly.Instance(MODS[mod], {}).exports);
    if (u.pathname === "/probe") return new Response(String(inst[mod].e.dot_add_fused()));
    return new Response(String(sample(inst[mod], p.get("fmt"), mod.startsWith("new"), Number(p.get("rows")), Number(p.get("cols")), Number(p.get("reps")))));
  },
};
`);
const mf = RUNTIMES.includes("workerd") ? new Miniflare(convertV4MiniflareOptions({
  modules: [{ type: "ESModule", path: join(dir, "worker.js") }, ...Object.keys(MODS).map((k) => ({ type: "CompiledWasm", path: join(dir, `${k}.wasm`) }))],
  modulesRoot: dir,
  compatibilityDate: "2025-01-01",
})) : null;
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
try {
  const call = async (q) => {
    const t0 = performance.now();
    const text = await (await mf.dispatchFetch(`http://bench/${q}`)).text();
    return { ms: performance.now() - t0, text };
  };
  let rtt = 0;
  if (mf) {
    const empty = [];
    for (let i = 0; i < 15; i++) empty.push((await call("noop")).ms);
    rtt = median(empty.slice(5));
    console.log(`workerd dot_add_fused: ${(await call("probe?mod=new-relaxed")).text}; Node: ${states["new-relaxed"].e.dot_add_fused()}`);
  }
  const cases = [];
  for (const [name, rows, cols] of SHAPES) for (const fmt of FMTS) for (const build of ["relaxed", "simd128"]) {
    const reps = Math.max(4, Math.round((TARGET_MS * 30e6) / (rows * cols))); // ~30 GMAC/s
    cases.push({ name, rows, cols, fmt, build, reps });
  }
  const ms = {};
  const key = (rt, c, v) => `${rt}|${c.name}|${c.fmt}|${c.build}|${v}`;
  const q = (c, v) => `run?mod=${v}-${c.build}&fmt=${c.fmt}&rows=${c.rows}&cols=${c.cols}&reps=${c.reps}`;
  for (const c of cases) for (const v of ["base", "new"]) { // warm-up: both engines tier up first
    core.sample(states[`${v}-${c.build}`], c.fmt, v === "new", c.rows, c.cols, c.reps);
    if (mf) for (let w = 0; w < 3; w++) await call(q(c, v));
    for (const rt of RUNTIMES) ms[key(rt, c, v)] = [];
  }
  for (let r = 0; r < rounds; r++) for (const c of cases) for (const v of r & 1 ? ["new", "base"] : ["base", "new"]) {
    const t0 = performance.now();
    core.sample(states[`${v}-${c.build}`], c.fmt, v === "new", c.rows, c.cols, c.reps);
    ms[key("node", c, v)].push(performance.now() - t0);
    if (mf) ms[key("workerd", c, v)].push((await call(q(c, v))).ms - rtt);
  }
  const gmac = (k, c) => (c.rows * c.cols * c.reps) / (median(ms[k]) * 1e6);
  console.log(`decode (1 token, quantize_q8_0 included), GMAC/s base -> new (medians of ${rounds} alternated samples; speed-up: median of the per-round ratios; workerd: round trip less an empty one's ${rtt.toFixed(1)} ms)`);
  for (const rt of RUNTIMES) for (const build of ["relaxed", "simd128"]) for (const fmt of FMTS) {
    const cells = cases.filter((c) => c.build === build && c.fmt === fmt).map((c) => {
      const [b, n] = [gmac(key(rt, c, "base"), c), gmac(key(rt, c, "new"), c)];
      // Speed-up: the median of each round's base/new time ratio (the two ran back to back: less load drift).
      const r = median(ms[key(rt, c, "base")].map((t, i) => t / ms[key(rt, c, "new")][i]));
      return `${c.name} ${c.rows}x${c.cols} ${b.toFixed(1)} -> ${n.toFixed(1)} (x${r.toFixed(2)})`;
    });
    console.log(`  ${rt.padEnd(7)} ${build.padEnd(7)} ${fmt}: ${cells.join(" | ")}`);
  }
} finally {
  await mf?.dispose();
  rmSync(dir, { recursive: true, force: true });
}
