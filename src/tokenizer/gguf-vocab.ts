// Builds a Vocab from a GGUF file's tokenizer.ggml.* metadata, with llama.cpp's defaults and clear errors.
import { KEY, type GgufFile } from "../gguf/index";
import { GgufValueType, type GgufArray, type GgufValue } from "../gguf/types";
import { TokenizerError, makeVocab, type Vocab } from "./vocab";

const K = {
  model: KEY.tokenizerModel,
  tokens: KEY.tokens,
  scores: KEY.scores,
  types: KEY.tokenType,
  bos: KEY.bosId,
  eos: KEY.eosId,
  unk: KEY.unkId,
  pad: KEY.padId,
  eot: "tokenizer.ggml.eot_token_id",
  eom: "tokenizer.ggml.eom_token_id",
  addBos: KEY.addBos,
  addEos: KEY.addEos,
  addSpacePrefix: KEY.addSpacePrefix,
} as const;

/** tokenizer.ggml.model values llama.cpp knows, with what they are, for the "not supported" message. */
const OTHER_MODELS: Record<string, string> = {
  bert: "WordPiece",
  t5: "Unigram",
  rwkv: "RWKV greedy",
  plamo2: "PLaMo-2",
  none: "no vocabulary",
  no_vocab: "no vocabulary",
};

const INTEGER_TYPES = new Set<GgufValueType>([
  GgufValueType.UINT8,
  GgufValueType.INT8,
  GgufValueType.UINT16,
  GgufValueType.INT16,
  GgufValueType.UINT32,
  GgufValueType.INT32,
  GgufValueType.UINT64,
  GgufValueType.INT64,
]);

/**
 * Reads the vocabulary of a "llama" (SentencePiece BPE) GGUF. Throws TokenizerError for another or missing
 * tokenizer.ggml.model, missing or mistyped tokens/scores, mismatched array lengths and out-of-range special ids.
 * Absent keys take llama.cpp's defaults (bos 1, eos 2, unk 0, add_bos true, add_eos false, add_space_prefix true).
 */
export function vocabFromGguf(file: GgufFile): Vocab {
  const meta = file.metadata;
  const model = meta.get(K.model);
  if (model === undefined) throw new TokenizerError(`GGUF has no ${K.model}: cannot tell which tokenizer the model uses`);
  if (model.type !== GgufValueType.STRING) throw new TokenizerError(`${K.model} must be a string`);
  if (model.value !== "llama") {
    const what = OTHER_MODELS[model.value];
    throw new TokenizerError(
      `tokenizer model ${JSON.stringify(model.value)}${what ? ` (${what})` : ""} is not supported yet; supported: "llama" (SentencePiece BPE), "gpt2" (byte-level BPE, through createTokenizer)`,
    );
  }
  const tokens = array(meta.get(K.tokens), K.tokens, [GgufValueType.STRING], true)!;
  const scores = array(meta.get(K.scores), K.scores, [GgufValueType.FLOAT32, GgufValueType.INT32, GgufValueType.FLOAT64], true)!;
  const types = array(meta.get(K.types), K.types, [GgufValueType.INT32, GgufValueType.UINT32, GgufValueType.INT8, GgufValueType.UINT8], false);
  return makeVocab({
    tokens: tokens.items as string[],
    scores: scores.items as number[],
    ...(types ? { types: types.items as number[] } : {}),
    bosId: tokenId(meta.get(K.bos), K.bos),
    eosId: tokenId(meta.get(K.eos), K.eos),
    unkId: tokenId(meta.get(K.unk), K.unk),
    padId: tokenId(meta.get(K.pad), K.pad),
    eotId: tokenId(meta.get(K.eot), K.eot),
    eomId: tokenId(meta.get(K.eom), K.eom),
    addBos: bool(meta.get(K.addBos), K.addBos),
    addEos: bool(meta.get(K.addEos), K.addEos),
    addSpacePrefix: bool(meta.get(K.addSpacePrefix), K.addSpacePrefix),
    ...optString(meta.get("general.name"), "modelName"),
    ...optString(meta.get("general.architecture"), "architecture"),
  });
}

/** { [field]: value } for a string metadata value, {} otherwise. */
function optString<F extends string>(v: GgufValue | undefined, field: F): Partial<Record<F, string>> {
  return v?.type === GgufValueType.STRING ? ({ [field]: v.value } as Record<F, string>) : {};
}

/** A typed array value of the metadata (TokenizerError if mistyped; undefined if absent and not required). */
export function array(v: GgufValue | undefined, key: string, elementTypes: GgufValueType[], required: boolean): GgufArray | undefined {
  if (v === undefined) {
    if (required) throw new TokenizerError(`GGUF has no ${key}: the vocabulary is incomplete`);
    return undefined;
  }
  if (v.type !== GgufValueType.ARRAY || !elementTypes.includes(v.value.elementType)) {
    const names = elementTypes.map((t) => GgufValueType[t]).join(" or ");
    throw new TokenizerError(`${key} must be an array of ${names}`);
  }
  return v.value;
}

/** An integer token id of the metadata, as a number (undefined if absent). */
export function tokenId(v: GgufValue | undefined, key: string): number | undefined {
  if (v === undefined) return undefined;
  if (!INTEGER_TYPES.has(v.type)) throw new TokenizerError(`${key} must be an integer`);
  const n = Number(v.value);
  // uint32 0xFFFFFFFF (and -1) are used for "none"; makeVocab maps them to the default.
  return n;
}

/** A boolean of the metadata (undefined if absent). */
export function bool(v: GgufValue | undefined, key: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (v.type !== GgufValueType.BOOL) throw new TokenizerError(`${key} must be a boolean`);
  return v.value;
}
