// workerd side of kernels/bench/greedy-ab.ts: loads a synthetic model, then prefills and decodes a session of a mode per request.
import "../../src/backends/wasm/load-workers";
import { createBackend } from "../../src/backends/select";
import { LlamaModel } from "../../src/engine/model";
import { benchPrompt, findModel, modelBytes } from "../../scripts/lib/bench-core";
import { abSession, pickLoop, type AbMode } from "./greedy-ab-sessions";

let model: LlamaModel | null = null;
let session: ReturnType<typeof abSession> | null = null;
let prefill = 0;
let decode = 0;

export default {
  async fetch(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const q = (k: string) => url.searchParams.get(k) ?? "";
    try {
      switch (url.pathname) {
        case "/load":
          session?.dispose();
          session = null;
          model = LlamaModel.load(modelBytes(findModel(q("model")), () => new Uint8Array()), createBackend(q("backend")));
          prefill = Number(q("prefill"));
          decode = Number(q("decode"));
          break;
        case "/session": // a fresh session of the mode, prefilled (untimed)
          session?.dispose();
          session = abSession(q("mode") as AbMode, model!, benchPrompt(model!.config.vocabSize, prefill), decode);
          session.prefill();
          break;
        case "/decode":
          session!.decodeAll();
          break;
        case "/pick": // the pick alone, n times (pickLoop)
          return new Response(JSON.stringify(pickLoop(model!, q("mode") as AbMode, Number(q("n")))));
        case "/noop":
          break;
        default:
          return new Response("not found", { status: 404 });
      }
      return new Response("{}");
    } catch (e) {
      return new Response(e instanceof Error ? `${e.message}\n${e.stack}` : String(e), { status: 500 });
    }
  },
};
