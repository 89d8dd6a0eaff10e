// Bindings the workers test project provides, on top of the Worker's own Env.
import type { Env as WorkerEnv } from "../../src/index";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_MODEL_STORIES260K: ArrayBuffer;
      TEST_MODEL_STORIES260K_Q8_0: ArrayBuffer;
      TEST_REFERENCE_OUTPUTS: string;
      /** vocab/smollm2.gguf when $EDGE_LLAMA_MODELS has it (vitest.config.mts). */
      TEST_VOCAB_SMOLLM2?: ArrayBuffer;
    }
  }
}
export {};
