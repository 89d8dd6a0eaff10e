// A/B of one decode step's matmuls (every Q4_0, Q8_0, Q5_0 or Q5_1 matrix of a model, laid out in load order, one token
// each, quantize_q8_0 / q8_1 per call): a baseline kernel build's matmul_q* against decode_q* of one or more newer builds,
// alternated per round in one process, in Node and in workerd (miniflare). The weights stream from memory as in a model.
// usage: npx tsx kernels/bench/decode-model-ab.mjs <base.wasm> <new.wasm>... (same build kind: all relaxed or all SIMD128)
// env: DECODE_MODEL=smollm2 (SmolLM2-135M shapes, default) | stories (stories15M) | k256; DECODE_FMT=q4_0 (default) |
// q8_0 | q5_0 | q5_1 (Q5: the baseline may be a build without decode_q5_*, its matmul_q5_* is what runs);
// DECODE_ROUNDS (default 21; each build's fastest step is printed too, with base's fastest over it); DECODE_NODE_ONLY=1 skips workerd, DECODE_WORKERD_ONLY=1 Node; DECODE_Q4_F16=2,3 lays the Q4_0 scales of the builds at
// those argument positions (0 = base) out as f16, for a build whose decode_q4_0 reads f16 scales (a layout experiment).
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";

const paths = process.argv.slice(2);
if (paths.length < 2) throw new Error("usage: decode-model-ab.mjs <base.wasm> <new.wasm>...");
const MODELS = {
  // [rows, cols] per layer (q, k, v, o, gate, up, down), layers, classifier rows
  smollm2: { dim: 576, layer: [[576, 576], [192, 576], [192, 576], [576, 576], [1536, 576], [1536, 576], [576, 1536]], layers: 30, vocab: 49152 },
  k256: { dim: 512, layer: [[512, 512], [256, 512], [256, 512], [512, 512], [1536, 512], [1536, 512], [512, 1536]], layers: 4, vocab: 8192 },
  stories: { dim: 288, layer: [[288, 288], [288, 288], [288, 288], [288, 288], [768, 288], [768, 288], [288, 768]], layers: 6, vocab: 32000 },
};
const modelName = process.env.DECODE_MODEL ?? "smollm2";
const model = MODELS[modelName];
const fmt = process.env.DECODE_FMT ?? "q4_0";
const rounds = Number(process.env.DECODE_ROUNDS ?? 21);
const RUNTIMES = process.env.DECODE_NODE_ONLY ? ["node"] : process.env.DECODE_WORKERD_ONLY ? ["workerd"] : ["node", "workerd"];
const shapes = [];
for (let l = 0; l < model.layers; l++) shapes.push(...model.layer);
shapes.push([model.vocab, model.dim]);
const macs = shapes.reduce((a, [r, c]) => a + r * c, 0);

// Shared by Node and the worker: one instance's matrices and one timed step (all matmuls once; `reps` steps).
const CORE = `
const SHAPES = ${JSON.stringify(shapes)}, FMT = "${fmt}";
function setup(e, useDecode, f16Scales) {
  const q4 = FMT === "q4_0", q5 = FMT === "q5_0" || FMT === "q5_1", q51 = FMT === "q5_1";
  // Q5: repack-legacy.ts's one stream of panel-blocks (f16 d [and m] of 4 rows, then 80 quant bytes) per 4 rows
  const pb = q51 ? 96 : 88;
  const bytesOf = (r, c) => q5 ? ((r + 3) >> 2) * (c / 32) * pb : q4 ? r * c / 2 + r * c / (f16Scales ? 16 : 8) : r * c + r * c / 16;
  let total = 0;
  for (const [r, c] of SHAPES) total += bytesOf(r, c);
  const base = (e.heap_base() + 65535) & ~65535;
  const need = base + total + (4 << 20) - e.memory.buffer.byteLength;
  if (need > 0) e.memory.grow(Math.ceil(need / 65536));
  const u8 = new Uint8Array(e.memory.buffer), f32 = new Float32Array(e.memory.buffer), u16 = new Uint16Array(e.memory.buffer);
  let p = base, s = 12345;
  const mats = [];
  for (const [r, c] of SHAPES) {
    const w = p, wBytes = q5 ? bytesOf(r, c) : q4 ? r * c / 2 : r * c, sBytes = q5 ? 0 : q4 && !f16Scales ? r * c / 8 : r * c / 16;
    p += wBytes;
    const sc = p;
    p += sBytes;
    for (let i = w; i < sc; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; u8[i] = s >>> 24; }
    if (q5) for (let b = w; b < sc; b += pb) u16.fill(0x211f, b / 2, b / 2 + (q51 ? 8 : 4));
    else if (q4 && !f16Scales) f32.fill(0.01, sc / 4, (sc + sBytes) / 4); else u16.fill(0x211f, sc / 2, (sc + sBytes) / 2);
    mats.push([w, sc, r, c]);
  }
  const x = p, xq = x + 8192, out = xq + 16384, xe = out + 262144;
  for (let i = 0; i < 1536; i++) f32[x / 4 + i] = Math.sin(i);
  const mm = e["matmul_" + FMT];
  // A build without decode_q5_* (Q5's one-token path is then matmul_q5_*): its matmul for one token
  const dec = e["decode_" + FMT] ?? ((out, w, xq, xd, xs, xst, r, c) => mm(out, w, xq, xd, xs, xst, r, c, 1));
  return (reps) => {
    let sum = 0;
    for (let t = 0; t < reps; t++) for (const [w, sc, r, c] of mats) {
      const nb = c / 32, xd = xq + c * 3, xs = xd + nb * 4, xst = xs + nb * 4;
      if (q51) e.quantize_q8_1(x, xq, xd, xs, xst, c); else e.quantize_q8_0(x, xq, xd, xs, c);
      if (q5) { if (useDecode) dec(out, w, xq, xd, xs, xst, r, c, xe); else mm(out, w, xq, xd, xs, xst, r, c, 1); }
      else if (useDecode) dec(out, w, sc, xq, xd, xs, r, c, xe); else mm(out, w, sc, xq, xd, xs, r, c, 1);
      sum += f32[out / 4];
    }
    return sum;
  };
}
`;

setFlagsFromString("--no-liftoff"); // Node: the optimizing tier from the start (workerd tiers up during warm-up)
const core = new Function(`${CORE}; return { setup };`)();
// Builds whose Q4_0 scales are laid out as f16 (DECODE_Q4_F16, above).
const F16 = (process.env.DECODE_Q4_F16 ?? "").split(",").filter(Boolean).map(Number);
const names = paths.map((p, i) => (i === 0 ? "base" : `${i}:${basename(p)}`));
const steps = paths.map((p, i) => core.setup(new WebAssembly.Instance(new WebAssembly.Module(readFileSync(p)), {}).exports, i > 0, F16.includes(i)));

const dir = mkdtempSync(join(tmpdir(), "edge-llama-decode-model-ab-"));
paths.forEach((p, i) => copyFileSync(p, join(dir, `m${i}.wasm`)));
writeFileSync(join(dir, "worker.js"), `${paths.map((_, i) => `import m${i} from "./m${i}.wasm";`).join("\n")}
${CORE}
const MODS = [${paths.map((_, i) => `m${i}`).join(", ")}];
const steps = [];
export default {
  async fetch(req) {
    const u = new URL(req.url), p = u.searchParams;
    if (u.pathname === "/noop") return new Response("0");
    const i = Number(p.get("i"));
    steps[i] ??= setup(new WebAssembly.Instance(MODS[i], {}).exports, i > 0, ${JSON.stringify(F16)}.includes(i));
    return new Response(String(steps[i](Number(p.get("reps")))));
  },
};
`);
const mf = RUNTIMES.includes("workerd") ? new Miniflare(convertV4MiniflareOptions({
  modules: [{ type: "ESModule", path: join(dir, "worker.js") }, ...paths.map((_, i) => ({ type: "CompiledWasm", path: join(dir, `m${i}.wasm`) }))],
  modulesRoot: dir,
  compatibilityDate: "2025-01-01",
})) : null;
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
try {
  const call = async (q) => {
    const t0 = performance.now();
    await (await mf.dispatchFetch(`http://bench/${q}`)).text();
    return performance.now() - t0;
  };
  let rtt = 0;
  if (mf) {
    const empty = [];
    for (let i = 0; i < 15; i++) empty.push(await call("noop"));
    rtt = median(empty.slice(5));
  }
  const REPS = Math.max(3, Math.round(4e8 / macs)); // steps per workerd request: ~10 ms or more, well past the round trip's noise
  const ms = Object.fromEntries(RUNTIMES.map((rt) => [rt, names.map(() => [])]));
  for (let i = 0; i < paths.length; i++) { // warm-up
    steps[i](1);
    if (mf) for (let w = 0; w < 3; w++) await call(`run?i=${i}&reps=${REPS}`);
  }
  for (let r = 0; r < rounds; r++) {
    const order = names.map((_, i) => i);
    if (r & 1) order.reverse();
    for (const i of order) {
      if (ms.node) {
        const t0 = performance.now();
        steps[i](1);
        ms.node[i].push(performance.now() - t0);
      }
      if (mf) ms.workerd[i].push(((await call(`run?i=${i}&reps=${REPS}`)) - rtt) / REPS);
    }
  }
  console.log(`${modelName} ${fmt}: one decode step's matmuls (${shapes.length}, ${(macs / 1e6).toFixed(1)} M MAC), ms per step (median of ${rounds} alternated rounds); speed-up: median of the per-round base/new ratios`);
  for (const rt of RUNTIMES) for (let i = 0; i < names.length; i++) {
    const ratio = median(ms[rt][0].map((b, k) => b / ms[rt][i][k]));
    const min = Math.min(...ms[rt][i]), minRatio = Math.min(...ms[rt][0]) / min;
    console.log(`  ${rt.padEnd(7)} ${names[i].padEnd(28)} ${median(ms[rt][i]).toFixed(2)} ms (${(macs / median(ms[rt][i]) / 1e6).toFixed(1)} GMAC/s)${i ? `  x${ratio.toFixed(3)}` : ""}; fastest ${min.toFixed(2)} ms${i ? ` x${minRatio.toFixed(3)}` : ""}`);
  }
} finally {
  await mf?.dispose();
  rmSync(dir, { recursive: true, force: true });
}
