// The engine A/B scripts' shared set-up: a bench model loaded through another checkout's own src and build/kernels.
import { pathToFileURL } from "node:url";
import { join } from "node:path";

/**
 * The bench model modelId (synthetic, or a file from $EDGE_LLAMA_MODELS) loaded on backend by the checkout at root,
 * the bench prompt of `prefill` tokens for it, and that checkout's module loader (for the classes a script drives).
 */
export async function loadCheckoutModel(root: string, modelId: string, backend: string, prefill: number) {
  const mod = (p: string) => import(pathToFileURL(join(root, p)).href); // that checkout's copy of the module
  await mod("src/backends/wasm/load-node.ts");
  const { benchPrompt, findModel, modelBytes } = await mod("scripts/lib/bench-core.ts");
  const { readBenchModel } = await mod("scripts/lib/bench-run.ts");
  const { LlamaModel } = await mod("src/engine/model.ts");
  const { createBackend } = await mod("src/backends/select.ts");
  const model = LlamaModel.load(modelBytes(findModel(modelId), readBenchModel), createBackend(backend));
  return { mod, model, prompt: benchPrompt(model.config.vocabSize, prefill) as number[] };
}
