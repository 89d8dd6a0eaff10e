// Times decode (and prefill) attention on an F16 / Q8_0 KV cache at the SmolLM2-135M shape (9 heads, 3 KV heads, 64
// dims), in Node and in workerd (miniflare), alternated: the shipped path against an optional baseline module, and the
// stages of the f32 kernel (the per-head plane decode, scores, softmax + f16 rounding, weighted V sum).
// usage: node kernels/bench/attention.mjs [--base old-relaxed.wasm] [--rounds 9] [--quick] [--lens 128,512,2048]
//   [--types f16,q8_0,f32] [--no-prefill] [--shape smollm2|k256] (k256: 8 heads, 4 KV heads, 64 dims)
//   [--stages] (f32: the f32 kernel's stages on the cache's own layout, one token)
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : process.argv[i + 1];
};
const basePath = arg("--base", null);
const rounds = Number(arg("--rounds", 9));
const quick = process.argv.includes("--quick");
const shapes = { smollm2: [9, 3], k256: [8, 4] };
const shapeName = arg("--shape", "smollm2");
if (!shapes[shapeName]) throw new Error(`--shape: one of ${Object.keys(shapes).join(", ")}`);
const [nHeads, nKv] = shapes[shapeName];
const newPath = resolve(here, "../../build/kernels/relaxed.wasm");

const dir = mkdtempSync(join(tmpdir(), "edge-llama-attn-bench-"));
const partsPath = join(dir, "parts.wasm");
const { error, stderr } = await asc.main([join(here, "attention-parts.ts"), "--runtime", "stub", "-O3", "--noAssert", "--use", "abort=",
  "--enable", "simd", "--enable", "relaxed-simd", "--initialMemory", "256", "-o", partsPath]);
if (error) throw new Error(`attention-parts build failed: ${stderr.toString()}`);
copyFileSync(newPath, join(dir, "new.wasm"));
if (basePath) copyFileSync(basePath, join(dir, "base.wasm"));

// One driver for both runtimes (a string, evaluated in Node and pasted into the worker).
const driver = `
const H = ${nHeads}, KV = ${nKv}, D = 64, G = ${nHeads / nKv}, KVD = ${nKv * 64}, NCTX = 4096;
function rng(seed) { let s = seed >>> 0; return () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 8) / 8388608 - 1; }; }
function setup(ex, code, nTok) {
  const rowBytes = code === 0 ? KVD * 4 : code === 1 ? KVD * 2 : (KVD / 32) * 34;
  let at = (ex.heap_base() + 15) & ~15;
  const take = (b) => { const p = at; at += (b + 15) & ~15; return p; };
  const m = { rowBytes, code, nTok };
  m.src = take(NCTX * KVD * 4); m.k = take(NCTX * rowBytes); m.v = take(NCTX * rowBytes);
  m.q = take(nTok * H * D * 4); m.qr = take(nTok * H * D * 4 + nTok * H * D * 2); m.out = take(nTok * H * D * 4);
  m.scores = take(32 * G * NCTX * 4); m.kp = take(NCTX * KVD * 4); m.vp = take(NCTX * KVD * 4);
  if (at > ex.memory.buffer.byteLength) ex.memory.grow(Math.ceil((at - ex.memory.buffer.byteLength) / 65536));
  const f = new Float32Array(ex.memory.buffer), r = rng(7);
  if (!ex.kv_encode) { // the stages module: f32 planes and query straight from the generator
    for (let i = 0; i < NCTX * KVD; i++) { f[m.kp / 4 + i] = 3 * r(); f[m.vp / 4 + i] = 2 * r(); }
    for (let i = 0; i < nTok * H * D; i++) f[m.qr / 4 + i] = 2 * r();
    return m;
  }
  for (let i = 0; i < NCTX * KVD; i++) f[m.src / 4 + i] = 3 * r();
  if (code === 0) f.copyWithin(m.k / 4, m.src / 4, m.src / 4 + NCTX * KVD);
  else ex.kv_encode(m.k, m.src, NCTX * KVD, code);
  for (let i = 0; i < NCTX * KVD; i++) f[m.src / 4 + i] = 2 * r();
  if (code === 0) f.copyWithin(m.v / 4, m.src / 4, m.src / 4 + NCTX * KVD);
  else ex.kv_encode(m.v, m.src, NCTX * KVD, code);
  for (let i = 0; i < nTok * H * D; i++) f[m.q / 4 + i] = 2 * r();
  return m;
}
function roundQ(ex, m) {
  const qn = m.nTok * H * D;
  if (m.code === 0) ex.copy_bytes(m.qr, m.q, qn * 4);
  else if (m.code === 1) ex.round_f16(m.qr, m.q, qn);
  else { ex.kv_encode(m.qr + qn * 4, m.q, qn, m.code); ex.kv_decode(m.qr, m.qr + qn * 4, qn, m.code); }
}
// planes: the per-head f32 planes then attention_kv_head (the previous path: --base module only); convert: the plane
// decode alone (kv_decode_rows, either module); fused: attention_typed (tiles of 8 tokens, as the backend).
function step(ex, m, how, nPos) {
  const pos0 = nPos - m.nTok, hb = m.code === 1 ? D * 2 : 68;
  roundQ(ex, m);
  if (how === "f32") { ex.attention(m.out, m.qr, m.k, m.v, m.scores, pos0, m.nTok, H, KV, D, 0, 0); return; } // a cache-resident layer: no touches
  if (how.startsWith("fused")) { ex.attention_typed(m.out, m.qr, m.k, m.v, m.scores, pos0, m.nTok, H, KV, D, m.rowBytes, m.code, Number(how.slice(5) || 8)); return; }
  for (let g = 0; g < KV; g++) {
    ex.kv_decode_rows(m.kp, m.k + g * hb, nPos, m.rowBytes, D, m.code);
    ex.kv_decode_rows(m.vp, m.v + g * hb, nPos, m.rowBytes, D, m.code);
    if (how !== "convert") ex.attention_kv_head(m.out + g * G * D * 4, m.qr + g * G * D * 4, m.kp, m.vp, m.scores, pos0, m.nTok, H * D * 4, G, D, D * 4, m.code === 1 ? 1 : 0);
  }
}
// The f32 kernel's stages on one token (planes and scores already in place), KV heads in turn.
// code 0 (an f32 cache): on the cache's own rows (KV head g's at k + g·D·4, KVD·4 bytes apart).
function part(px, m, what, nPos) {
  for (let g = 0; g < KV; g++) {
    const kp = m.code === 0 ? m.kp + g * D * 4 : m.kp, vp = m.code === 0 ? m.vp + g * D * 4 : m.vp, st = m.code === 0 ? KVD * 4 : D * 4;
    if (what === "scores") px.scores_only(m.scores, m.qr + g * G * D * 4, kp, nPos, G, D, nPos * 4, st);
    else if (what === "softmax") px.softmax_only(m.scores, nPos, G, nPos * 4, m.code === 1 ? 1 : 0);
    else px.vsum_only(m.out + g * G * D * 4, m.scores, vp, nPos, G, D, nPos * 4, st);
  }
}
function hash(ex, m) { const u = new Uint32Array(ex.memory.buffer, m.out, m.nTok * H * D); let h = 0; for (const x of u) h = (Math.imul(h, 31) + x) >>> 0; return h; }
const cache = new Map();
function run(mods, which, how, code, nTok, nPos, reps) {
  const key = which + ":" + code + ":" + nTok;
  if (!cache.has(key)) { const ex = new WebAssembly.Instance(mods[which], {}).exports; cache.set(key, { ex, m: setup(ex, code, nTok) }); }
  const { ex, m } = cache.get(key);
  if (which === "parts") {
    for (let r = 0; r < reps; r++) part(ex, m, how, nPos);
    return 0;
  }
  for (let r = 0; r < reps; r++) step(ex, m, how, nPos);
  return hash(ex, m);
}
`;
writeFileSync(join(dir, "worker.js"), `import base from "./base.wasm";
import neu from "./new.wasm";
import parts from "./parts.wasm";
${driver}
const mods = { base, new: neu, parts };
export default {
  async fetch(req) {
    const u = new URL(req.url), p = u.searchParams;
    if (u.pathname === "/noop") return new Response("0");
    return new Response(String(run(mods, p.get("w"), p.get("how"), +p.get("code"), +p.get("nTok"), +p.get("nPos"), +p.get("reps"))));
  },
};
`);
if (!basePath) writeFileSync(join(dir, "base.wasm"), readFileSync(newPath));
const mods = Object.fromEntries(["base", "new", "parts"].map((w) => [w, new WebAssembly.Module(readFileSync(join(dir, `${w === "new" ? "new" : w}.wasm`)))]));
const runNode = new Function(`${driver}; return run;`)();
const mf = new Miniflare(convertV4MiniflareOptions({
  modules: [{ type: "ESModule", path: join(dir, "worker.js") }, ...["base", "new", "parts"].map((w) => ({ type: "CompiledWasm", path: join(dir, `${w}.wasm`) }))],
  modulesRoot: dir,
  compatibilityDate: "2025-01-01",
}));
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const call = async (q) => {
  const t0 = performance.now();
  const text = await (await mf.dispatchFetch(`http://bench/run?${q}`)).text();
  return { ms: performance.now() - t0, text };
};
try {
  const empty = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    await (await mf.dispatchFetch("http://bench/noop")).text();
    empty.push(performance.now() - t0);
  }
  const rtt = median(empty.slice(5));
  // [label, module, how, code, nTok, nPos]
  const cases = [];
  const lens = quick ? [512] : (arg("--lens", "128,512,2048")).split(",").map(Number);
  const types = arg("--types", "f16,q8_0").split(",");
  // An f32 cache (the default KV type): the f32 kernel, which shares the softmax.
  if (types.includes("f32")) {
    for (const nPos of lens) {
      if (basePath) cases.push([`f32 decode ${nPos}: base`, "base", "f32", 0, 1, nPos]);
      cases.push([`f32 decode ${nPos}: now`, "new", "f32", 0, 1, nPos]);
      if (process.argv.includes("--stages")) for (const part of ["scores", "softmax", "vsum"]) cases.push([`f32 decode ${nPos}: stage ${part}`, "parts", part, 0, 1, nPos]);
      if (nPos >= 128 && !process.argv.includes("--no-prefill")) { // a 128-token prompt pass ending at nPos
        if (basePath) cases.push([`f32 prefill 128 to ${nPos}: base`, "base", "f32", 0, 128, nPos]);
        cases.push([`f32 prefill 128 to ${nPos}: now`, "new", "f32", 0, 128, nPos]);
      }
    }
  }
  for (const [code, tname] of [[1, "f16"], [2, "q8_0"]].filter(([, t]) => types.includes(t))) {
    for (const nPos of lens) {
      if (basePath) cases.push([`${tname} decode ${nPos}: base planes`, "base", "planes", code, 1, nPos]);
      cases.push([`${tname} decode ${nPos}: fused`, "new", "fused", code, 1, nPos]);
      if (!quick) {
        if (basePath) cases.push([`${tname} decode ${nPos}: base plane decode`, "base", "convert", code, 1, nPos]);
        cases.push([`${tname} decode ${nPos}: plane decode`, "new", "convert", code, 1, nPos]);
        for (const part of ["scores", "softmax", "vsum"]) cases.push([`${tname} decode ${nPos}: stage ${part}`, "parts", part, code, 1, nPos]);
      }
    }
    if (!quick && !process.argv.includes("--no-prefill")) {
      // Prefill: one 32-token batch (the model host's prefill pass) ending at 32, 512 and 2048 positions; tiles of 8
      // tokens (the backend's) and, for comparison, 16 and 32.
      for (const [nTok, nPos] of [[32, 32], [32, 512], [32, 2048]]) {
        if (basePath) cases.push([`${tname} prefill ${nTok} to ${nPos}: base planes`, "base", "planes", code, nTok, nPos]);
        for (const t of [8, 16, 32]) cases.push([`${tname} prefill ${nTok} to ${nPos}: fused${t === 8 ? "" : `, tile ${t}`}`, "new", `fused${t}`, code, nTok, nPos]);
      }
    }
  }
  // reps per call: some 50-150 ms of work, well above workerd's round-trip noise.
  const reps = (c) => Math.max(1, Math.round((c[4] > 1 ? 60 : c[1] === "parts" ? 6000 : 2000) * (512 / c[5])));
  const ms = new Map(cases.map((c) => [c[0], { node: [], workerd: [], hashes: new Set() }]));
  for (const c of cases) { runNode(mods, c[1], c[2], c[3], c[4], c[5], 3); await call(`w=${c[1]}&how=${c[2]}&code=${c[3]}&nTok=${c[4]}&nPos=${c[5]}&reps=3`); }
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const n = reps(c), e = ms.get(c[0]);
      const t0 = performance.now();
      const h = runNode(mods, c[1], c[2], c[3], c[4], c[5], n);
      e.node.push((performance.now() - t0) / n);
      const w = await call(`w=${c[1]}&how=${c[2]}&code=${c[3]}&nTok=${c[4]}&nPos=${c[5]}&reps=${n}`);
      e.workerd.push((w.ms - rtt) / n);
      if (c[2] === "planes" || c[2] === "f32" || c[2].startsWith("fused")) e.hashes.add(`${h}`).add(w.text);
    }
  }
  console.log(`attention per layer call (${nKv} KV heads x ${nHeads / nKv} query heads x 64 dims), µs, median of ${rounds} alternated rounds; empty round trip ${rtt.toFixed(1)} ms`);
  console.log(`${"case".padEnd(48)} ${"node".padStart(8)} ${"workerd".padStart(8)} ${"node min".padStart(9)} ${"wd min".padStart(8)}  output bits`);
  const byGroup = new Map();
  for (const [label, e] of ms) {
    const group = label.split(":")[0];
    if (!byGroup.has(group)) byGroup.set(group, new Set());
    for (const h of e.hashes) byGroup.get(group).add(h);
  }
  for (const [label, e] of ms) {
    const same = byGroup.get(label.split(":")[0]).size <= 1 ? "same" : "DIFFER";
    console.log(`${label.padEnd(48)} ${(median(e.node) * 1000).toFixed(1).padStart(8)} ${(median(e.workerd) * 1000).toFixed(1).padStart(8)} ${(Math.min(...e.node) * 1000).toFixed(1).padStart(9)} ${(Math.min(...e.workerd) * 1000).toFixed(1).padStart(8)}  ${e.hashes.size ? same : ""}`);
  }
} finally {
  await mf.dispose();
  rmSync(dir, { recursive: true, force: true });
}
