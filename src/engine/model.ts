// LlamaModel: config, tokenizer and weights of one GGUF file, loaded once into a backend and shared by every context.
import { readGguf, type GgufFile, type GgufHeader } from "../gguf/index";
import { createTokenizer, type Tokenizer } from "../tokenizer/index";
import type { Backend } from "../backends/backend";
import { configFromGguf, type LlamaConfig } from "./config";
import { ModelError } from "./errors";
import { loadWeights, loadWeightsStreaming, type FetchRange, type ModelWeights } from "./weights";

export class LlamaModel {
  private constructor(
    readonly config: LlamaConfig,
    readonly tokenizer: Tokenizer,
    readonly backend: Backend,
    readonly weights: ModelWeights,
    /** Size of the GGUF file the model came from. */
    readonly fileBytes: number,
  ) {}

  /** Parses and loads a model; errors name the offending key or tensor (GgufError, ModelError, TokenizerError). */
  static load(bytes: Uint8Array | ArrayBuffer | GgufFile, backend: Backend): LlamaModel {
    const file = "tensorByName" in bytes ? bytes : readGguf(bytes);
    const { config, tokenizer } = describe(file);
    const weights = loadWeights(file, config, backend);
    return new LlamaModel(config, tokenizer, backend, weights, file.bytes.byteLength);
  }

  /**
   * Loads a model from its header and the tensors read one at a time through `fetch` (absolute file offset, length),
   * so the file never has to be in memory whole; same errors as load().
   */
  static async loadStreaming(header: GgufHeader, fetch: FetchRange, backend: Backend): Promise<LlamaModel> {
    const { config, tokenizer } = describe(header);
    const weights = await loadWeightsStreaming(header, config, backend, fetch);
    return new LlamaModel(config, tokenizer, backend, weights, header.fileSize);
  }
}

/** Config and tokenizer from the metadata, checked against each other. */
function describe(file: GgufFile): { config: LlamaConfig; tokenizer: Tokenizer } {
  const config = configFromGguf(file);
  const tokenizer = createTokenizer(file);
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new ModelError(`tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary is ${config.vocabSize}`);
  }
  return { config, tokenizer };
}
