// A/B of the Q4_1 / Q5_0 / Q5_1 matmuls: a baseline kernel build against build/kernels, alternated in one process, in
// Node and in workerd (miniflare), decode (1 token) and prefill (32 tokens), with Q4_0 at the same shape for scale.
// usage: npx tsx kernels/bench/legacy-ab.mjs <base-relaxed.wasm> <base-simd128.wasm> [rounds=11]
// (env LEGACY_AB_NODE_ONLY=1: skip workerd; LEGACY_AB_BASE_LAYOUT=current: the baseline reads the current layout)
// Timing runs on pseudo-random weight bytes (the integer work does not depend on them; scales are fixed finite f16),
// cycled through enough copies to stream from memory as a model's matrices do. Before timing, both builds multiply
// the same real blocks (the baseline in its own panel layout, kept below) and must agree to the bit.
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { packLegacy } from "../../src/backends/wasm/repack-legacy.ts";
import { panelByteOffset } from "../../src/backends/wasm/repack.ts";

const here = dirname(fileURLToPath(import.meta.url));
const [baseRelaxed, baseSimd, roundsArg] = process.argv.slice(2);
if (!baseRelaxed || !baseSimd) throw new Error("usage: legacy-ab.mjs <base-relaxed.wasm> <base-simd128.wasm> [rounds]");
const rounds = Number(roundsArg ?? 11);
const ROWS = 1536, COLS = 576; // SmolLM2-135M's ffn_gate / ffn_up
const MODS = { "base-relaxed": baseRelaxed, "new-relaxed": join(here, "../../build/kernels/relaxed.wasm"), "base-simd128": baseSimd, "new-simd128": join(here, "../../build/kernels/simd128.wasm") };
const FMTS = ["q5_0", "q5_1", "q4_1", "q4_0"];
const MODES = [["decode", 1, 1200], ["prefill", 32, 40]]; // name, tokens, calls per sample (~50-100 ms each)
const RUNTIMES = process.env.LEGACY_AB_NODE_ONLY ? ["node"] : ["node", "workerd"];
// LEGACY_AB_BASE_LAYOUT=current: the baseline build already reads the current panel layout (comparing two versions of it).
const BASE_IS_CURRENT = process.env.LEGACY_AB_BASE_LAYOUT === "current";

// Shared by Node and the worker: memory set-up and one timed sample (returns a checksum so nothing is elided).
const CORE = `
const ROWS = ${ROWS}, COLS = ${COLS}, COPIES = 24, NMAX = 32;
const PB = { q5_0: 88, q5_1: 96, q4_1: 80, q4_0: 80 };
function setup(e) {
  const nb = COLS / 32, mat = (ROWS / 4) * nb * 96;
  let top = (e.heap_base() + 63) & ~63;
  const alloc = (n) => { const p = top; top += (n + 63) & ~63; return p; };
  const w = alloc(mat * COPIES), x = alloc(NMAX * COLS * 4), xq = alloc(NMAX * nb * 96), xd = alloc(NMAX * nb * 4);
  const xs = alloc(NMAX * nb * 4), xst = alloc(NMAX * nb * 4), out = alloc(NMAX * ROWS * 4);
  const need = top - e.memory.buffer.byteLength;
  if (need > 0) e.memory.grow(Math.ceil(need / 65536));
  const u8 = new Uint8Array(e.memory.buffer), f32 = new Float32Array(e.memory.buffer);
  let s = 12345;
  for (let i = w; i < w + mat * COPIES; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; u8[i] = s >>> 24; }
  for (let i = 0; i < NMAX * COLS; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; f32[x / 4 + i] = (s / 2 ** 32) * 2 - 1; }
  e.quantize_q8_1(x, xq, xd, xs, xst, NMAX * COLS);
  return { w, mat, xq, xd, xs, xst, out, u8 };
}
function scalesFinite(st, fmt) {
  // d (and m) of every panel-block: f16 0.01 (0x211f), so sums stay finite whatever the quant bytes are.
  const nb = COLS / 32, pb = PB[fmt];
  for (let c = 0; c < 24; c++) for (let p = 0; p < (ROWS / 4) * nb; p++) {
    const b = st.w + c * st.mat + p * (fmt === "q4_0" ? 64 : pb);
    if (fmt === "q4_0") continue;
    for (let i = 0; i < (fmt === "q5_0" ? 8 : 16); i += 2) { st.u8[b + i] = 0x1f; st.u8[b + i + 1] = 0x21; }
  }
  if (fmt === "q4_0") { const f = new Float32Array(st.u8.buffer); for (let c = 0; c < 24; c++) { const d = st.w + c * st.mat + (ROWS / 4) * nb * 64; f.fill(0.01, d / 4, d / 4 + (ROWS / 4) * nb * 4); } }
}
function sample(e, st, fmt, n, reps) {
  const nb = COLS / 32;
  let sum = 0;
  for (let r = 0; r < reps; r++) {
    const w = st.w + (r % 24) * st.mat;
    if (fmt === "q4_0") e.matmul_q4_0(st.out, w, w + (ROWS / 4) * nb * 64, st.xq, st.xd, st.xs, ROWS, COLS, n);
    else e["matmul_" + fmt](st.out, w, st.xq, st.xd, st.xs, st.xst, ROWS, COLS, n);
    sum += new Float32Array(st.u8.buffer, st.out, 1)[0];
  }
  return sum;
}
`;

/** The baseline's panel layout (before the Q5 operand layout): d, m, the rows' raw qh u32s, then Q4_0-ordered nibbles. */
function packBaseline(fmt, mem, rows, cols, bytes, relaxed) {
  const L = { q4_1: [20, 2, -1, 4], q5_0: [22, -1, 2, 6], q5_1: [24, 2, 4, 8] }[fmt];
  const [block, m, qh, qs] = L, nb = cols / 32, pb = 4 * block;
  const data = mem.alloc(Math.ceil(rows / 4) * nb * pb);
  const qhOff = m >= 0 ? 16 : 8, qOff = qhOff + (qh >= 0 ? 16 : 0);
  for (let r = 0; r < rows; r++) for (let b = 0; b < nb; b++) {
    const s = (r * nb + b) * block, base = data + ((r >> 2) * nb + b) * pb, rr = r & 3;
    mem.u8[base + 2 * rr] = bytes[s]; mem.u8[base + 2 * rr + 1] = bytes[s + 1];
    if (m >= 0) { mem.u8[base + 8 + 2 * rr] = bytes[s + m]; mem.u8[base + 9 + 2 * rr] = bytes[s + m + 1]; }
    if (qh >= 0) for (let i = 0; i < 4; i++) mem.u8[base + qhOff + 4 * rr + i] = bytes[s + qh + i];
    for (let k = 0; k < 16; k++) mem.u8[base + qOff + panelByteOffset(rr, k, relaxed)] = bytes[s + qs + k];
  }
  return { data };
}

// Node compiles every module with the optimizing tier up front: on a loaded machine background tier-up can leave one
// side in the baseline tier for many rounds. workerd tiers up by itself: three warm-up rounds there.
setFlagsFromString("--no-liftoff");
const core = new Function(`${CORE}; return { setup, scalesFinite, sample };`)();
const modules = Object.fromEntries(Object.entries(MODS).map(([k, p]) => [k, new WebAssembly.Module(readFileSync(p))]));

/** Real blocks (random quants, finite f16 scales) through both builds' packs and kernels: outputs must be equal bits. */
function checkSame() {
  const rows = 70, cols = 96; // a last panel of two rows, 3 blocks
  for (const build of ["relaxed", "simd128"]) for (const fmt of ["q4_1", "q5_0", "q5_1"]) for (const n of [1, 3, 4, 5, 9]) {
    const block = { q4_1: 20, q5_0: 22, q5_1: 24 }[fmt];
    let s = 777 + n;
    const bytes = new Uint8Array(rows * (cols / 32) * block).map(() => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 24));
    for (let b = 0; b < rows * (cols / 32); b++) for (const f of fmt === "q5_0" ? [0] : [0, 2]) { bytes[b * block + f] = 0x1f; bytes[b * block + f + 1] = 0x21 | (f ? 0x80 : 0); }
    // A few Inf, NaN and subnormal scales: the kernels' rare full f16 conversion must give the same bits too.
    for (const [b, h] of [[4, 0x7c00], [40, 0xfe00], [77, 0x0003], [150, 0xfc00]]) { bytes[b * block] = h & 0xff; bytes[b * block + 1] = h >> 8; }
    const outs = ["base", "new"].map((v) => {
      const e = new WebAssembly.Instance(modules[`${v}-${build}`], {}).exports;
      let top = (e.heap_base() + 63) & ~63;
      e.memory.grow(64);
      const mem = { alloc: (k) => { const p = top; top += (k + 63) & ~63; return p; }, get u8() { return new Uint8Array(e.memory.buffer); }, get f32() { return new Float32Array(e.memory.buffer); } };
      const pack = v === "base" && !BASE_IS_CURRENT ? packBaseline : packLegacy;
      const w = pack(fmt, mem, rows, cols, bytes, build === "relaxed").data;
      const x = mem.alloc(n * cols * 4), xq = mem.alloc(n * cols * 3), xd = mem.alloc(n * cols), xs = mem.alloc(n * cols), xst = mem.alloc(n * cols), out = mem.alloc(n * rows * 4);
      let t = 99;
      for (let i = 0; i < n * cols; i++) mem.f32[x / 4 + i] = ((t = (Math.imul(t, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
      e.quantize_q8_1(x, xq, xd, xs, xst, n * cols);
      e[`matmul_${fmt}`](out, w, xq, xd, xs, xst, rows, cols, n);
      return new Uint32Array(e.memory.buffer, out, n * rows).slice();
    });
    if (outs[0].some((v, i) => v !== outs[1][i])) throw new Error(`${build} ${fmt} × ${n}: base and new outputs differ`);
  }
  console.log("base and new builds: equal output bits (Q4_1, Q5_0, Q5_1; 1, 3, 4, 5, 9 tokens; Inf/NaN/subnormal scales; both builds)");
}
checkSame();

const dir = mkdtempSync(join(tmpdir(), "edge-llama-legacy-ab-"));
for (const [k, p] of Object.entries(MODS)) copyFileSync(p, join(dir, `${k}.wasm`));
writeFileSync(join(dir, "worker.js"), `${Object.keys(MODS).map((k, i) => `import m${i} from "./${k}.wasm";`).join("\n")}
${CORE}
const MODS = { ${Object.keys(MODS).map((k, i) => `"${k}": m${i}`).join(", ")} };
const inst = {};
export default {
  async fetch(req) {
    const u = new URL(req.url), p = u.searchParams;
    if (u.pathname === "/noop") return new Response("0");
    const key = p.get("mod") + "/" + p.get("fmt");
    if (!inst[key]) { const e = new WebAssembly.Instance(MODS[p.get("mod")], {}).exports; const st = setup(e); scalesFinite(st, p.get("fmt")); inst[key] = { e, st }; }
    const { e, st } = inst[key];
    return new Response(String(sample(e, st, p.get("fmt"), Number(p.get("n")), Number(p.get("reps")))));
  },
};
`);
const mf = new Miniflare(convertV4MiniflareOptions({
  modules: [{ type: "ESModule", path: join(dir, "worker.js") }, ...Object.keys(MODS).map((k) => ({ type: "CompiledWasm", path: join(dir, `${k}.wasm`) }))],
  modulesRoot: dir,
  compatibilityDate: "2025-01-01",
}));
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
try {
  const call = async (q) => {
    const t0 = performance.now();
    const text = await (await mf.dispatchFetch(`http://bench/${q}`)).text();
    return { ms: performance.now() - t0, text };
  };
  const empty = [];
  for (let i = 0; i < 15; i++) empty.push((await call("noop")).ms);
  const rtt = median(empty.slice(5));
  const variants = [];
  for (const mod of Object.keys(MODS)) for (const fmt of FMTS) {
    if (fmt === "q4_0" && mod.startsWith("base")) continue; // Q4_0's kernel is the same in both
    const e = new WebAssembly.Instance(modules[mod], {}).exports;
    const st = core.setup(e);
    core.scalesFinite(st, fmt);
    variants.push({ mod, fmt, e, st });
  }
  const ms = {};
  const key = (rt, v, mode) => `${rt} ${v.mod} ${v.fmt} ${mode}`;
  for (const v of variants) for (const [mode, n, reps] of MODES) { // warm-up: both engines tier up first
    core.sample(v.e, v.st, v.fmt, n, reps);
    if (RUNTIMES.length > 1) for (let w = 0; w < 3; w++) await call(`run?mod=${v.mod}&fmt=${v.fmt}&n=${n}&reps=${reps}`);
    ms[key("node", v, mode)] = [];
    ms[key("workerd", v, mode)] = [];
  }
  for (let r = 0; r < rounds; r++) {
    for (const v of variants) for (const [mode, n, reps] of MODES) {
      const t0 = performance.now();
      core.sample(v.e, v.st, v.fmt, n, reps);
      ms[key("node", v, mode)].push(performance.now() - t0);
      if (RUNTIMES.length < 2) continue;
      const b = await call(`run?mod=${v.mod}&fmt=${v.fmt}&n=${n}&reps=${reps}`);
      ms[key("workerd", v, mode)].push(b.ms - rtt);
    }
  }
  const gmac = (k, n, reps) => (ROWS * COLS * n * reps) / (median(ms[k]) * 1e6);
  console.log(`${ROWS}x${COLS} matmuls, GMAC/s (median of ${rounds} alternated samples; workerd: round trip less an empty one's ${rtt.toFixed(1)} ms)`);
  for (const rt of RUNTIMES) for (const build of ["relaxed", "simd128"]) for (const [mode, n, reps] of MODES) {
    const q40 = gmac(`${rt} new-${build} q4_0 ${mode}`, n, reps);
    const cells = ["q5_0", "q5_1", "q4_1"].map((fmt) => {
      const b = gmac(`${rt} base-${build} ${fmt} ${mode}`, n, reps), nw = gmac(`${rt} new-${build} ${fmt} ${mode}`, n, reps);
      return `${fmt} ${b.toFixed(1)} -> ${nw.toFixed(1)} (x${(nw / b).toFixed(2)}, ${((100 * nw) / q40).toFixed(0)}% of Q4_0)`;
    });
    console.log(`  ${rt.padEnd(7)} ${build.padEnd(7)} ${mode.padEnd(7)} Q4_0 ${q40.toFixed(1)} | ${cells.join(" | ")}`);
  }
} finally {
  await mf.dispose();
  rmSync(dir, { recursive: true, force: true });
}
