// Reads a byte-level BPE vocabulary (tokenizer.ggml.model "gpt2") from GGUF metadata with llama.cpp's defaults.
import { ModelError } from "../engine/errors";
import { KEY, type GgufFile } from "../gguf/index";
import { GgufValueType, type GgufValue } from "../gguf/types";
import { MergeTable } from "./bpe-merges";
import { preTypeSpec, type PreTypeSpec } from "./bpe-pre-types";
import { array, bool, tokenId } from "./gguf-vocab";
import { attrsFromTypes, detectSpecials, partitionCandidates, setStripAttrs, typesFromAttrs, type SpecialIds } from "./special-tokens";
import { NO_TOKEN, TokenizerError, packTokens, type Vocab } from "./vocab";

/** A byte-level BPE vocabulary. The Vocab fields hold what the SentencePiece code paths read (no scores, no space prefix). */
export interface BpeVocab extends Vocab {
  readonly model: "gpt2";
  /** tokenizer.ggml.pre as given ("default" when absent) and llama.cpp's pre-tokenizer type for it. */
  readonly pre: string;
  readonly preType: string;
  readonly spec: PreTypeSpec;
  /** tokenizer.ggml.merges by rank (earlier merges first), indexed by token ids (their texts are not kept). */
  readonly merges: MergeTable;
  /** llama_token_attr bits per token, after llama.cpp's load-time fixes (EOG texts become CONTROL, ...). */
  readonly attrs: Uint16Array;
  /** Special tokens tokenizer_st_partition tries, longest first. */
  readonly candidates: readonly number[];
  /** End-of-generation tokens, as llama.cpp's special_eog_ids. */
  readonly eog: ReadonlySet<number>;
  readonly ignoreMerges: boolean;
  readonly cleanSpaces: boolean;
}

const KEYS = {
  merges: KEY.merges,
  pre: KEY.pre,
  eot: "tokenizer.ggml.eot_token_id",
  eom: "tokenizer.ggml.eom_token_id",
  fimPre: "tokenizer.ggml.fim_pre_token_id",
  fimSuf: "tokenizer.ggml.fim_suf_token_id",
  fimMid: "tokenizer.ggml.fim_mid_token_id",
  fimPad: "tokenizer.ggml.fim_pad_token_id",
  fimRep: "tokenizer.ggml.fim_rep_token_id",
  fimSep: "tokenizer.ggml.fim_sep_token_id",
} as const;

const str = (v: GgufValue | undefined): string | undefined => (v?.type === GgufValueType.STRING ? v.value : undefined);

/**
 * The vocabulary of a "gpt2" GGUF. Throws ModelError for a tokenizer.ggml.pre llama.cpp does not know (or one this
 * project cannot run yet), TokenizerError for missing or mistyped tokens / merges.
 * Special ids follow llama.cpp: defaults bos = eos = 11 (!) when the file gives none, ids out of range keep the default.
 */
export function bpeVocabFromGguf(file: GgufFile): BpeVocab {
  const meta = file.metadata;
  const preValue = meta.get(KEYS.pre);
  if (preValue !== undefined && preValue.type !== GgufValueType.STRING) throw new TokenizerError(`${KEYS.pre} must be a string`);
  const pre = preValue?.value ?? "default";
  const found = preTypeSpec(pre);
  if (!found.spec) {
    throw new ModelError(
      found.known
        ? `pre-tokenizer ${JSON.stringify(pre)} (${KEYS.pre}) is not supported yet: it needs a tokenizer other than the byte-level BPE one`
        : `unknown pre-tokenizer type ${JSON.stringify(pre)} (${KEYS.pre}): llama.cpp does not know it either`,
    );
  }
  const spec = found.spec;
  const tokensIn = array(meta.get(KEY.tokens), KEY.tokens, [GgufValueType.STRING], true)!.items as string[];
  const n = tokensIn.length;
  if (n === 0) throw new TokenizerError("vocabulary is empty (tokenizer.ggml.tokens has no entries)");
  const mergesValue = meta.get(KEYS.merges);
  if (mergesValue === undefined) throw new TokenizerError(`GGUF has no ${KEYS.merges}: a "gpt2" (byte-level BPE) vocabulary needs its merges`);
  const merges = array(mergesValue, KEYS.merges, [GgufValueType.STRING], true)!.items as string[];
  const types = array(meta.get(KEY.tokenType), KEY.tokenType, [GgufValueType.INT32, GgufValueType.UINT32, GgufValueType.INT8, GgufValueType.UINT8], false);
  if (types && types.items.length < n) throw new TokenizerError(`vocabulary has ${n} tokens but ${types.items.length} token types (${KEY.tokenType})`);

  const tokens = packTokens(tokensIn);
  const lookup = tokens;

  const id = (key: string, fallback: number): number => {
    const def = fallback < n ? fallback : NO_TOKEN;
    const v = tokenId(meta.get(key), key);
    return v === undefined || v < 0 || v >= n ? def : v;
  };
  const bosId = id(KEY.bosId, spec.noDefaultBos ? NO_TOKEN : 11);
  const eosId = id(KEY.eosId, 11);
  const ids: SpecialIds = {
    eos: eosId,
    eot: id(KEYS.eot, NO_TOKEN),
    eom: id(KEYS.eom, NO_TOKEN),
    fimPre: id(KEYS.fimPre, NO_TOKEN),
    fimSuf: id(KEYS.fimSuf, NO_TOKEN),
    fimMid: id(KEYS.fimMid, NO_TOKEN),
    fimPad: id(KEYS.fimPad, NO_TOKEN),
    fimRep: id(KEYS.fimRep, NO_TOKEN),
    fimSep: id(KEYS.fimSep, NO_TOKEN),
  };
  const attrs = attrsFromTypes(n, types?.items as number[] | undefined);
  const eog = detectSpecials(tokens, lookup, attrs, ids);
  const candidates = partitionCandidates(tokens, attrs);
  setStripAttrs(str(meta.get("general.name")) ?? "", pre, str(meta.get("general.architecture")) ?? "", lookup, attrs, candidates);

  return {
    model: "gpt2",
    pre,
    preType: found.type,
    spec,
    merges: new MergeTable(tokens, merges),
    attrs,
    candidates,
    eog,
    ignoreMerges: spec.ignoreMerges ?? false,
    cleanSpaces: spec.cleanSpaces ?? true,
    tokens,
    scores: new Float32Array(0), // byte-level BPE merges by rank (merges), not by piece score
    types: typesFromAttrs(attrs),
    bosId,
    eosId,
    unkId: id(KEY.unkId, NO_TOKEN),
    padId: id(KEY.padId, NO_TOKEN),
    eotId: ids.eot,
    eomId: ids.eom,
    addBos: bool(meta.get(KEY.addBos), KEY.addBos) ?? spec.addBos ?? false,
    addEos: bool(meta.get(KEY.addEos), KEY.addEos) ?? false,
    // Only llama_detokenize reads it for BPE: it strips the first token's leading space.
    addSpacePrefix: bool(meta.get(KEY.addSpacePrefix), KEY.addSpacePrefix) ?? false,
    lookup,
  };
}
