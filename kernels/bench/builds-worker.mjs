// Kernel builds side by side in one workerd Worker (miniflare), for the A/B benches: each build imported as a compiled
// module, the bench's driver source pasted in, each request timed from outside (workerd's clock stands still while
// code runs), so a bench subtracts an empty request's round trip (rtt).
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";

/**
 * Starts a Worker holding `builds` ({ name: path to a .wasm }) as `mods` ({ name: WebAssembly.Module }), then `source`
 * (top-level code: the bench's driver). A request to /noop answers "0"; any other runs `handler` (a function body
 * with `u`, the request's URL, and `mods` in scope) and answers String(its return value).
 * Returns call(path) → { ms, text }, rtt() → the median empty round trip in ms (after a few unmeasured ones), dispose().
 */
export async function startBuildsWorker({ builds, source, handler }) {
  const dir = mkdtempSync(join(tmpdir(), "edge-llama-builds-"));
  const names = Object.keys(builds);
  names.forEach((name, i) => copyFileSync(resolve(builds[name]), join(dir, `m${i}.wasm`)));
  writeFileSync(join(dir, "worker.js"), `${names.map((_, i) => `import m${i} from "./m${i}.wasm";`).join("\n")}
const mods = { ${names.map((name, i) => `${JSON.stringify(name)}: m${i}`).join(", ")} };
${source}
export default {
  async fetch(req) {
    const u = new URL(req.url);
    if (u.pathname === "/noop") return new Response("0");
    return new Response(String(await (async () => { ${handler} })()));
  },
};
`);
  const mf = new Miniflare(convertV4MiniflareOptions({
    modules: [{ type: "ESModule", path: join(dir, "worker.js") }, ...names.map((_, i) => ({ type: "CompiledWasm", path: join(dir, `m${i}.wasm`) }))],
    modulesRoot: dir,
    compatibilityDate: "2025-01-01",
  }));
  const call = async (path) => {
    const t0 = performance.now();
    const text = await (await mf.dispatchFetch(`http://bench${path}`)).text();
    return { ms: performance.now() - t0, text };
  };
  const rtt = async (samples = 15, skip = 5) => {
    const empty = [];
    for (let i = 0; i < samples; i++) empty.push((await call("/noop")).ms);
    return median(empty.slice(skip));
  };
  const dispose = async () => {
    await mf.dispose();
    rmSync(dir, { recursive: true, force: true });
  };
  return { call, rtt, dispose };
}

/** The median of a list of numbers (the upper one of an even list's middle two). */
export function median(a) {
  return [...a].sort((x, y) => x - y)[a.length >> 1];
}
