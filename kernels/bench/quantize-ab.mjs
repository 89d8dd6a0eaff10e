// A/B of an activation quantizer (quantize_q8_0; KIND=q8_1, q8_k, or q8_0_tiles for TOKENS rows of cols, default 32)
// between two kernel builds, in Node and in workerd, alternated.
// usage: [KIND=q8_0|q8_1|q8_k|q8_0_tiles] [TOKENS=32] node kernels/bench/quantize-ab.mjs BASE.wasm [NEW.wasm=build/kernels/relaxed.wasm] [cols=1536] [calls=4000] [rounds=15]
// Checks first that both builds write the same bytes (quants, d, sums) for random rows and for edge blocks (zero, ties,
// tiny, subnormal and huge amax, ±Inf, NaN), then prints new/base time ratios (medians, fastest rounds, median
// of the per-round ratios).
import { readFileSync } from "node:fs";
import { median, startBuildsWorker } from "./builds-worker.mjs";

const [basePath, newPath = "build/kernels/relaxed.wasm"] = process.argv.slice(2, 4);
if (!basePath) throw new Error("usage: node kernels/bench/quantize-ab.mjs BASE.wasm [NEW.wasm] [cols] [calls] [rounds]");
const cols = Number(process.argv[4] ?? 1536);
const calls = Number(process.argv[5] ?? 4000);
const rounds = Number(process.argv[6] ?? 15);
const kind = process.env.KIND ?? "q8_0";
if (!["q8_0", "q8_1", "q8_k", "q8_0_tiles"].includes(kind)) throw new Error(`KIND must be q8_0, q8_1, q8_k or q8_0_tiles, not ${kind}`);
if (cols % (kind === "q8_k" ? 256 : 32) !== 0) throw new Error(`cols must be a multiple of ${kind === "q8_k" ? 256 : 32}`);
const tokens = kind === "q8_0_tiles" ? Number(process.env.TOKENS ?? 32) : 1;
const total = cols * tokens; // floats per call
// Output layout per block: [quant bytes, d offset, sums bytes] (q8_k: i16 quants fit the larger SIMD128 size; q8_1:
// -Σq then st; the tiles hold their d and sums among the quants, in the same total room).
const layout = kind === "q8_k" ? { block: 256, q: 512, sums: 112 } : kind === "q8_1" ? { block: 32, q: 96, sums: 8 } : { block: 32, q: 96, sums: 4 };
// One call of the quantizer on the floats at X, outputs from Q (nb blocks).
const callExpr = {
  q8_0: "ex.quantize_q8_0(X, Q, Q + nb * 96, Q + nb * 100, cols)",
  q8_1: "ex.quantize_q8_1(X, Q, Q + nb * 96, Q + nb * 100, Q + nb * 104, cols)",
  q8_k: "ex.quantize_q8_k(X, Q, Q + nb * 512, Q + nb * 516, cols)",
  q8_0_tiles: `ex.quantize_q8_0_tiles(X, Q, Q + nb * 96, Q + nb * 100, cols / ${tokens}, ${tokens})`,
}[kind];

// The same set-up in both runtimes: activations at 1 MiB, outputs after them; returns the bytes written.
const setup = `function setup(ex, cols, seed) {
  const X = 1 << 20, mem = () => new Float32Array(ex.memory.buffer);
  if (ex.memory.buffer.byteLength < (4 << 20)) ex.memory.grow(((4 << 20) - ex.memory.buffer.byteLength) >> 16);
  let s = seed >>> 0;
  const rnd = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s / 4294967296; };
  const x = mem().subarray(X >> 2, (X >> 2) + cols);
  for (let i = 0; i < cols; i++) x[i] = (rnd() - 0.5) * 8 * Math.exp(3 * (rnd() - 0.5));
  return { X, Q: X + cols * 4, nb: cols / ${layout.block} };
}
function edges(ex, X, cols) {
  const x = new Float32Array(ex.memory.buffer, X, cols);
  const blocks = [
    (i) => 0, (i) => (i === 3 ? 127 : i - 15.5), (i) => (i % 2 ? 0.5 : -2.5) * (i === 0 ? 50.8 : 1),
    (i) => (i === 7 ? 1e-31 : i * 1e-33), (i) => (i === 1 ? 1e-38 : 3e-39), (i) => (i === 2 ? 3.4e38 : -i * 1e37),
    (i) => (i === 5 ? Infinity : i), (i) => (i === 9 ? -Infinity : -i), (i) => (i === 4 ? NaN : i), (i) => (i === 0 ? -0 : 0),
    (i) => (i - 16) * (127 / 254),
  ];
  for (let b = 0; b < blocks.length && (b + 1) * 32 <= cols; b++) for (let i = 0; i < 32; i++) x[b * 32 + i] = blocks[b](i);
  // Whole 256-blocks after those: zero, NaN among values, +Inf, a magnitude tie of opposite signs, tiny amax.
  const wide = [() => 0, (i) => (i === 9 ? NaN : i - 100), (i) => (i === 77 ? Infinity : 1), (i) => (i === 10 ? -5 : i === 20 ? 5 : 0.25), (i) => i * 1e-33];
  for (let b = 0; b < wide.length && (b + 2) * 256 <= cols; b++) for (let i = 0; i < 256; i++) x[(b + 2) * 256 + i] = wide[b](i);
}
function quantizeOnce(ex, X, Q, cols, nb) { ${callExpr}; }
function run(ex, X, Q, cols, nb, calls) { for (let c = 0; c < calls; c++) ${callExpr}; return 0; }`;
// Quants and -Σq as bytes, d as values: a NaN d's sign and payload are whatever the engine's NaN arithmetic gives
// (WebAssembly leaves them open), so every NaN counts as the same d.
const bytes = (ex, Q, nb) => {
  const { q, sums } = layout;
  const d = Array.from(new Float32Array(ex.memory.buffer, Q + nb * q, nb), (v) => (Number.isNaN(v) ? "NaN" : Object.is(v, -0) ? "-0" : String(v)));
  return Buffer.from(new Uint8Array(ex.memory.buffer, Q, nb * q)).toString("hex") + d.join() + Buffer.from(new Uint8Array(ex.memory.buffer, Q + nb * (q + 4), nb * sums)).toString("hex");
};

const lib = new Function(`${setup}; return { setup, edges, quantizeOnce, run };`)();
const inst = (p) => new WebAssembly.Instance(new WebAssembly.Module(readFileSync(p)), {}).exports;
const A = inst(basePath);
const B = inst(newPath);
for (let seed = 1; seed <= 200; seed++) {
  for (const ex of [A, B]) {
    const { X, Q, nb } = lib.setup(ex, total, seed);
    if (seed === 1) lib.edges(ex, X, total);
    lib.quantizeOnce(ex, X, Q, total, nb);
  }
  const { Q, nb } = lib.setup(A, total, seed); // same addresses; does not touch the outputs
  if (bytes(A, Q, nb) !== bytes(B, Q, nb)) throw new Error(`seed ${seed}: the builds' outputs differ`);
}
console.log(`quantize_${kind} outputs equal: 200 calls of ${tokens > 1 ? `${tokens} rows of ${cols}` : cols} (the first with edge blocks)`);

const wd = await startBuildsWorker({
  builds: { a: basePath, b: newPath },
  source: `${setup}
const ex = { a: new WebAssembly.Instance(mods.a, {}).exports, b: new WebAssembly.Instance(mods.b, {}).exports };`,
  handler: `const e = ex[u.pathname.slice(1)]; const { X, Q, nb } = setup(e, ${total}, 7);
    return run(e, X, Q, ${total}, nb, Number(u.searchParams.get("calls")));`,
});
try {
  const call = async (path) => (await wd.call(path)).ms;
  const rtt = await wd.rtt();
  const t = { "node a": [], "node b": [], "workerd a": [], "workerd b": [] };
  const node = (ex) => { const { X, Q, nb } = lib.setup(ex, total, 7); const t0 = performance.now(); lib.run(ex, X, Q, total, nb, calls); return performance.now() - t0; };
  for (const k of ["a", "b"]) { node(k === "a" ? A : B); await call(`/${k}?calls=${calls >> 2}`); } // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const k of r % 2 ? ["b", "a"] : ["a", "b"]) {
      t[`node ${k}`].push(node(k === "a" ? A : B));
      t[`workerd ${k}`].push((await call(`/${k}?calls=${calls}`)) - rtt);
    }
  }
  const ns = (v) => ((v * 1e6) / (calls * total)).toFixed(3);
  console.log(`ns per float (median / fastest of ${rounds} alternated rounds, ${calls} calls of ${tokens > 1 ? `${tokens} × ` : ""}${cols}); a = ${basePath}, b = ${newPath}`);
  for (const rt of ["node", "workerd"]) {
    const [a, b] = [t[`${rt} a`], t[`${rt} b`]];
    const perRound = median(a.map((v, i) => b[i] / v)); // load drifts between rounds: each round's own ratio
    console.log(`  ${rt.padEnd(8)} a ${ns(median(a))} / ${ns(Math.min(...a))}   b ${ns(median(b))} / ${ns(Math.min(...b))}   b/a ${(median(b) / median(a)).toFixed(3)} / ${(Math.min(...b) / Math.min(...a)).toFixed(3)}, per round ${perRound.toFixed(3)}`);
  }
} finally {
  await wd.dispose();
}
