// Times kernels/bench/dot-form.ts's variants in Node and in workerd (miniflare), alternated, and prints ns per block.
// usage: node kernels/bench/dot-form.mjs [reps=3000] [rounds=15]   (one run takes about a minute)
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import asc from "assemblyscript/asc";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";

const here = dirname(fileURLToPath(import.meta.url));
const reps = Number(process.argv[2] ?? 3000);
const rounds = Number(process.argv[3] ?? 15);
const NBLK = 32768; // 2 MiB of panel-blocks: decode-matmul sized, read from cache and memory like one
const W = 1 << 20, X = 4096;
const KINDS = ["16", "16n", "32", "32b", "Ld", "Alu"];

const dir = mkdtempSync(join(tmpdir(), "edge-llama-dot-form-"));
const wasmPath = join(dir, "dot-form.wasm");
// The kernels' flags (kernels/build.mjs), relaxed build; 64 pages hold the weights at W and the activations at X.
const { error, stderr } = await asc.main([join(here, "dot-form.ts"), "--runtime", "stub", "-O3", "--noAssert", "--use", "abort=",
  "--enable", "simd", "--enable", "relaxed-simd", "--initialMemory", "64", "-o", wasmPath]);
if (error) throw new Error(`dot-form build failed: ${stderr.toString()}`);

// The same set-up in both runtimes: pseudo-random bytes; activations kept in i8's symmetric range (no −128).
const fill = `function fill(buf) {
  const m = new Uint8Array(buf); let s = 12345;
  for (let i = 1024; i < m.length; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; m[i] = s >>> 24; }
  for (let i = ${X}; i < ${X} + 64 * 40; i++) if (m[i] === 128) m[i] = 127;
}`;
writeFileSync(join(dir, "worker.js"), `import mod from "./dot-form.wasm";
${fill}
let inst = null;
export default {
  async fetch(req) {
    const u = new URL(req.url);
    if (u.pathname === "/noop") return new Response("0");
    if (u.pathname === "/ua") return new Response(String(globalThis.navigator?.userAgent));
    if (!inst) { inst = new WebAssembly.Instance(mod, {}); fill(inst.exports.memory.buffer); }
    const r = inst.exports[u.pathname.slice(1)](${W}, ${X}, ${NBLK}, Number(u.searchParams.get("reps")));
    return new Response(String(r));
  },
};
`);
const fillNode = new Function(`${fill}; return fill;`)();
const inst = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasmPath)), {});
fillNode(inst.exports.memory.buffer);

const mf = new Miniflare(convertV4MiniflareOptions({
  modules: [{ type: "ESModule", path: join(dir, "worker.js") }, { type: "CompiledWasm", path: wasmPath }],
  modulesRoot: dir,
  compatibilityDate: "2025-01-01",
}));
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
try {
  // workerd's clock stands still while code runs, so its time is the fetch round trip less an empty request's.
  const call = async (path) => {
    const t0 = performance.now();
    const text = await (await mf.dispatchFetch(`http://bench${path}`)).text();
    return { ms: performance.now() - t0, text };
  };
  const empty = [];
  for (let i = 0; i < 15; i++) empty.push((await call("/noop")).ms);
  const rtt = median(empty.slice(5));
  const ms = Object.fromEntries(KINDS.flatMap((k) => [[`node ${k}`, []], [`workerd ${k}`, []]]));
  for (const k of KINDS) { // warm-up: both engines tier the functions up before timing
    inst.exports[`run${k}`](W, X, NBLK, 5);
    await call(`/run${k}?reps=5`);
  }
  for (let r = 0; r < rounds; r++) {
    for (const k of KINDS) {
      const t0 = performance.now();
      const a = inst.exports[`run${k}`](W, X, NBLK, reps);
      ms[`node ${k}`].push(performance.now() - t0);
      const b = await call(`/run${k}?reps=${reps}`);
      ms[`workerd ${k}`].push(b.ms - rtt);
      if (String(a) !== b.text) throw new Error(`run${k}: Node ${a} but workerd ${b.text}`);
    }
  }
  for (const k of ["16n", "32", "32b"]) {
    if (String(inst.exports[`run${k}`](W, X, NBLK, 1)) !== String(inst.exports.run16(W, X, NBLK, 1))) throw new Error(`run${k} differs from run16`);
  }
  const ns = (v) => ((v * 1e6) / (NBLK * reps)).toFixed(2);
  console.log(`workerd navigator.userAgent: ${(await call("/ua")).text}; empty round trip ${rtt.toFixed(1)} ms`);
  console.log(`ns per 4-row 32-block (median, min of ${rounds} alternated runs, ${NBLK} blocks x ${reps}):`);
  for (const [k, v] of Object.entries(ms)) console.log(`  ${k.padEnd(12)} ${ns(median(v)).padStart(6)}  ${ns(Math.min(...v)).padStart(6)}`);
} finally {
  await mf.dispose();
  rmSync(dir, { recursive: true, force: true });
}
