// bench --runtimes workerd --kv-type: the type reaches the bench Worker's sessions, and q8_0 on a model that cannot take it is skipped.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { benchWorkerd, bundle } from "../../scripts/lib/bench-workerd";
import { findModel } from "../../scripts/lib/bench-core";

describe("bench in workerd with --kv-type", () => {
  it("the bench Worker's sessions take the loaded type, or /session?kv=; q8_0 on 16-wide heads is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-kv-test-"));
    try {
      const { script, wasm } = await bundle(dir);
      const modules = [{ type: "ESModule" as const, path: script }, ...wasm.map((f) => ({ type: "CompiledWasm" as const, path: join(dir, f) }))];
      const mf = new Miniflare(convertV4MiniflareOptions({ modules, modulesRoot: dir, compatibilityDate: "2025-01-01" }));
      try {
        const get = async (path: string) => {
          const res = await mf.dispatchFetch(`http://bench${path}`);
          return { status: res.status, text: await res.text() };
        };
        const load = await get("/load?model=tiny-Q4_0&backend=wasm-relaxed&prefill=4&decode=2&kv=f16");
        expect(JSON.parse(load.text)).toMatchObject({ kv_type: "f16", prefill: 4, decode: 2 });
        expect(JSON.parse((await get("/session")).text)).toEqual({ kv_type: "f16" });
        expect(JSON.parse((await get("/session?kv=f32")).text)).toEqual({ kv_type: "f32" });
        expect((await get("/prefill")).status).toBe(200);
        const q8 = await get("/session?kv=q8_0");
        expect([q8.status, q8.text]).toEqual([500, expect.stringContaining("a q8_0 KV cache needs a head dimension divisible by 32, not 16")]);
        const bad = await get("/load?model=tiny-Q4_0&backend=wasm-relaxed&prefill=4&decode=2&kv=f8");
        expect([bad.status, bad.text]).toEqual([500, expect.stringContaining('unknown KV cache type "f8"')]);
      } finally {
        await mf.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("benchWorkerd passes the type to /load: q8_0 on the tiny shape is skipped with a log line", async () => {
    const lines: string[] = [];
    const rows = await benchWorkerd([findModel("tiny-Q4_0")], ["wasm-relaxed"], { prefill: 4, decode: 2, runs: 1, warmup: 0, kvType: "q8_0" }, (l) => lines.push(l));
    expect(rows).toEqual([]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^workerd: tiny-Q4_0 wasm-relaxed: .*kv=q8_0: skipped, a q8_0 KV cache needs a head dimension divisible by 32, not 16$/);
  }, 60_000);
});
