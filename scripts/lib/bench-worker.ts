// A throwaway Worker for `npm run bench -- --runtimes workerd`: the bench phases as fetch endpoints, so Node times
// each phase from outside (workerd's clocks do not advance during synchronous work). Bundled by bench-workerd.ts.
import "../../src/backends/wasm/load-workers";
import { LlamaModel } from "../../src/engine/model";
import { createBackend } from "../../src/backends/select";
import { moduleFor } from "../../src/backends/wasm/kernel-modules";
import { warmKernels } from "../../kernels/bench/warm-kernels";
import { parseKvType, type KvType } from "../../src/backends/kv-format";
import { BenchSession, benchPrompt, findModel, kvTypeProblem, modelBytes, modelLabel, modelType, peakMemory, tokenCounts } from "./bench-core";

let model: LlamaModel | null = null;
let session: BenchSession | null = null;
let counts = { prefill: 0, decode: 0 };
let kvType: KvType = "f32";

const json = (v: unknown) => new Response(JSON.stringify(v), { headers: { "content-type": "application/json" } });

export default {
  async fetch(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const q = (k: string) => url.searchParams.get(k) ?? "";
    try {
      switch (url.pathname) {
        case "/load": {
          const spec = findModel(q("model"));
          if (spec.kind !== "synth") throw new Error("workerd bench runs synthetic models only (no file access)");
          session?.dispose();
          session = null;
          model = LlamaModel.load(modelBytes(spec, () => new Uint8Array()), createBackend(q("backend")));
          // kv=f32|f16|q8_0: the sessions' KV cache type (default f32); a model that cannot take it is refused.
          kvType = parseKvType(q("kv") || "f32");
          const problem = kvTypeProblem(model, kvType);
          if (problem) throw new Error(`skipped, ${problem}`);
          counts = tokenCounts(spec, q("backend"), { prefill: Number(q("prefill")), decode: Number(q("decode")) });
          // fused=0|1 sets the kernels' dot_add_fused answer (kernels/bench/profile-engine.ts compares both forms).
          if (q("fused")) (model.backend as unknown as { k: { set_dot_add_fused(v: number): void } }).k.set_dot_add_fused(Number(q("fused")));
          return json({ model: modelLabel(spec), type: modelType(model), backend: model.backend.name, kv_type: kvType, ...counts });
        }
        case "/session": {
          // kv=…: this session's cache type instead of the loaded one (kernels/bench/kv-type-ab.ts alternates types on
          // one model in one isolate: two Workers of one workerd differed by up to 15 % with the same type).
          const t = q("kv") ? parseKvType(q("kv")) : kvType;
          const problem = kvTypeProblem(model!, t);
          if (problem) throw new Error(problem);
          session?.dispose();
          session = new BenchSession(model!, benchPrompt(model!.config.vocabSize, counts.prefill), counts.decode, t);
          return json({ kv_type: session.kvType });
        }
        case "/prefill":
          session!.prefill();
          return json({});
        case "/decode":
          session!.decodeAll();
          return json({});
        case "/memory": {
          const r = { weights_bytes: model!.backend.memory().weightsBytes, peak_memory_bytes: peakMemory(model!, counts.prefill + counts.decode + 1, kvType) };
          session?.dispose();
          session = null;
          return json(r);
        }
        case "/warm": // the load-time kernel warm-up alone (kernels/bench/first-request.ts times it)
          return json({ calls: warmKernels(moduleFor(q("build") === "simd128" ? "simd128" : "relaxed")) });
        case "/noop":
          return json({});
      }
      return new Response("not found", { status: 404 });
    } catch (e) {
      return new Response(e instanceof Error ? `${e.message}\n${e.stack}` : String(e), { status: 500 });
    }
  },
};
