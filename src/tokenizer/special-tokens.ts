// Token attributes, llama.cpp's load-time special-token detection (EOT/EOM/FIM/end-of-generation by text) and the
// partitioning of text around special tokens (tokenizer_st_partition).
import type { TokenLookup, TokenTexts } from "./token-texts";
import { NO_TOKEN, TokenType, type Vocab } from "./vocab";

/** llama_token_attr bits. */
export const Attr = {
  UNDEFINED: 0,
  UNKNOWN: 1,
  UNUSED: 2,
  NORMAL: 4,
  CONTROL: 8,
  USER_DEFINED: 16,
  BYTE: 32,
  LSTRIP: 128,
  RSTRIP: 256,
} as const;

const TYPE_ATTR: Record<number, number> = {
  [TokenType.UNKNOWN]: Attr.UNKNOWN,
  [TokenType.UNUSED]: Attr.UNUSED,
  [TokenType.NORMAL]: Attr.NORMAL,
  [TokenType.CONTROL]: Attr.CONTROL,
  [TokenType.USER_DEFINED]: Attr.USER_DEFINED,
  [TokenType.BYTE]: Attr.BYTE,
};

/** Attributes from tokenizer.ggml.token_type (all NORMAL when the file has none, as llama.cpp). */
export function attrsFromTypes(n: number, types: ArrayLike<number> | undefined): Uint16Array {
  const attrs = new Uint16Array(n).fill(Attr.NORMAL);
  if (types) for (let i = 0; i < n; i++) attrs[i] = TYPE_ATTR[types[i]!] ?? Attr.UNDEFINED;
  return attrs;
}

/** Special ids that take part in end-of-generation; NO_TOKEN when none. */
export interface SpecialIds {
  eos: number;
  eot: number;
  eom: number;
  fimPre: number;
  fimSuf: number;
  fimMid: number;
  fimPad: number;
  fimRep: number;
  fimSep: number;
}

/** Texts by which llama.cpp recognises each special id when the file does not give it. */
const DETECT: [keyof SpecialIds, readonly string[]][] = [
  ["eot", ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"]],
  ["eom", ["<|eom_id|>"]],
  ["fimPre", ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"]],
  ["fimSuf", ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"]],
  ["fimMid", ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"]],
  ["fimPad", ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]],
  ["fimRep", ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]],
  ["fimSep", ["<|file_sep|>"]],
];

/** Token texts that end generation (llama.cpp's special_eog_ids scan). */
const EOG_TEXTS = new Set([
  "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>", "<|endoftext|>",
  "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>",
  "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
]);

/**
 * What llama.cpp's vocabulary load does after reading the special ids: finds the EOT/EOM/FIM tokens the file does not
 * name by their text, marks those and every end-of-generation text as CONTROL (updating `attrs`), applies the gpt-oss
 * and Gemma 4 workarounds, and returns the end-of-generation set: FIM pad/repo/sep, every EOG text, eos, eot and eom.
 * llama.cpp scans a hash map, so when two texts could give one id its choice is arbitrary; we take the lowest id.
 */
export function detectSpecials(tokens: TokenTexts, lookup: TokenLookup, attrs: Uint16Array, ids: SpecialIds): Set<number> {
  for (const [key, texts] of DETECT) {
    if (ids[key] !== NO_TOKEN) continue;
    const found = texts.map((t) => lookup.get(t)).filter((id): id is number => id !== undefined);
    if (found.length === 0) continue;
    ids[key] = Math.min(...found);
    attrs[ids[key]]! |= Attr.CONTROL;
  }
  const eog = new Set<number>([ids.fimPad, ids.fimRep, ids.fimSep].filter((id) => id !== NO_TOKEN));
  for (const text of EOG_TEXTS) {
    const id = lookup.get(text);
    if (id === undefined) continue;
    eog.add(id);
    attrs[id]! |= Attr.CONTROL;
  }
  for (const text of ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"]) {
    const id = lookup.get(text);
    if (id !== undefined) attrs[id] = Attr.USER_DEFINED; // gpt-oss: always rendered
  }
  for (const id of [ids.eos, ids.eot, ids.eom]) if (id !== NO_TOKEN) eog.add(id);
  const eogText = (t: string) => [...eog].find((id) => tokens.text(id) === t);
  const end = eogText("<|end|>");
  // o200k_harmony / solar-open: <|end|> ends a message, not the generation, when <|return|> + <|call|> exist.
  if (end !== undefined && ((eogText("<|return|>") !== undefined && eogText("<|call|>") !== undefined) || (eogText("<|calls|>") !== undefined && eogText("<|flush|>") !== undefined))) {
    eog.delete(end);
    attrs[end] = Attr.USER_DEFINED;
  }
  const s = eogText("</s>");
  if (s !== undefined && eogText("<|tool_response>") !== undefined) {
    eog.delete(s); // Gemma 4 / PaddleOCR
    attrs[s] = Attr.NORMAL;
  }
  return eog;
}

const encoder = new TextEncoder();

/** Tokens tokenizer_st_partition tries (control, user-defined, unknown), longest UTF-8 text first, ties by id. */
export function partitionCandidates(tokens: TokenTexts, attrs: Uint16Array): number[] {
  const ids: number[] = [];
  for (let id = 0; id < tokens.length; id++) if (attrs[id]! & (Attr.CONTROL | Attr.USER_DEFINED | Attr.UNKNOWN)) ids.push(id);
  const size = new Map(ids.map((id) => [id, encoder.encode(tokens.text(id)).length]));
  return ids.sort((a, b) => size.get(b)! - size.get(a)! || a - b);
}

/** Raw text to tokenize, or a special token found in the text. */
export type Fragment = { readonly text: string } | { readonly token: number };

const isSpace = (c: string) => c === " " || (c >= "\t" && c <= "\r");

/**
 * Cuts text at every occurrence of each candidate in turn (longest first). Without parseSpecial, control and unknown
 * tokens are skipped but user-defined ones are still cut out (llama.cpp, after Hugging Face). LSTRIP / RSTRIP
 * tokens eat the ASCII whitespace before / after them.
 */
export function partitionSpecial(text: string, tokens: TokenTexts, attrs: Uint16Array, candidates: readonly number[], parseSpecial: boolean): Fragment[] {
  let fragments: Fragment[] = [{ text }];
  // Vocabularies can have thousands of user-defined tokens: skip those whose first character is not in the text.
  const present = new Uint8Array(0x10000);
  for (let i = 0; i < text.length; i++) present[text.charCodeAt(i)] = 1;
  const texts = candidateTexts(tokens, candidates);
  for (let k = 0; k < candidates.length; k++) {
    const id = candidates[k]!;
    const attr = attrs[id]!;
    if (!parseSpecial && attr & (Attr.CONTROL | Attr.UNKNOWN)) continue;
    const needle = texts[k]!;
    if (!present[needle.charCodeAt(0)] || !fragments.some((f) => "text" in f && f.text.includes(needle))) continue;
    const next: Fragment[] = [];
    for (const f of fragments) {
      if (!("text" in f)) {
        next.push(f);
        continue;
      }
      let from = 0;
      for (let at = f.text.indexOf(needle, from); at >= 0; at = f.text.indexOf(needle, from)) {
        let leftEnd = at;
        if (attr & Attr.LSTRIP) while (leftEnd > from && isSpace(f.text[leftEnd - 1]!)) leftEnd--;
        if (leftEnd > from) next.push({ text: f.text.slice(from, leftEnd) });
        next.push({ token: id });
        from = at + needle.length;
        if (attr & Attr.RSTRIP) while (from < f.text.length && isSpace(f.text[from]!)) from++;
      }
      if (from < f.text.length) next.push({ text: f.text.slice(from) });
    }
    fragments = next;
  }
  return fragments;
}

/** The texts of a candidate list (few: the special tokens), kept as strings so partitioning makes none per call. */
const candidateTextCache = new WeakMap<readonly number[], readonly string[]>();

function candidateTexts(tokens: TokenTexts, candidates: readonly number[]): readonly string[] {
  let texts = candidateTextCache.get(candidates);
  if (!texts) {
    texts = candidates.map((id) => tokens.text(id));
    candidateTextCache.set(candidates, texts);
  }
  return texts;
}

/** llama.cpp's per-model LSTRIP / RSTRIP attributes (set after the partition list is built, by model or pre name). */
export function setStripAttrs(name: string, pre: string, arch: string, lookup: TokenLookup, attrs: Uint16Array, candidates: readonly number[]): void {
  const set = (text: string, bit: number, on: boolean) => {
    const id = lookup.get(text);
    if (id !== undefined) attrs[id] = on ? attrs[id]! | bit : attrs[id]! & ~bit;
  };
  const lower = name.toLowerCase();
  if (["jina-v2-de", "jina-v2-es", "jina-v2-code"].some((p) => pre.includes(p)) || ["nomic-bert-moe", "jina-bert-v3"].some((a) => arch.includes(a))) {
    set("<mask>", Attr.LSTRIP, true);
  } else if (lower.includes("phi-3") || lower.includes("phi3")) {
    for (const id of candidates) attrs[id]! |= Attr.RSTRIP;
    set("</s>", Attr.RSTRIP, true);
    for (const t of ["<unk>", "<s>", "<|endoftext|>"]) set(t, Attr.RSTRIP, false);
  } else if (lower.includes("modern-bert")) {
    set("[MASK]", Attr.LSTRIP, true);
  }
}

/** Token types that describe the attributes (what Vocab.types means for the SentencePiece paths). */
export function typesFromAttrs(attrs: Uint16Array): Uint8Array {
  const types = new Uint8Array(attrs.length);
  attrs.forEach((a, i) => {
    types[i] =
      a & Attr.CONTROL ? TokenType.CONTROL
      : a & Attr.UNKNOWN ? TokenType.UNKNOWN
      : a & Attr.USER_DEFINED ? TokenType.USER_DEFINED
      : a & Attr.NORMAL ? TokenType.NORMAL
      : a & Attr.BYTE ? TokenType.BYTE
      : a & Attr.UNUSED ? TokenType.UNUSED
      : TokenType.UNDEFINED;
  });
  return types;
}

/** A SentencePiece vocabulary's attributes after llama.cpp's load-time fixes, its partition candidates and EOG set. */
export interface LlamaSpecials {
  readonly attrs: Uint16Array;
  readonly candidates: readonly number[];
  readonly eog: ReadonlySet<number>;
  /** Token types that match the attributes (a token promoted to CONTROL renders as one). */
  readonly types: Uint8Array;
}

const spmSpecialsCache = new WeakMap<Vocab, LlamaSpecials>();

/**
 * llama.cpp's load-time special-token handling for a SentencePiece vocabulary (computed once per Vocab): EOG texts
 * become CONTROL (so "</s>" typed USER_DEFINED is no longer matched without parse_special), and Phi-3's special
 * tokens eat the whitespace after them (by general.name, as llama.cpp decides).
 */
export function spmSpecials(vocab: Vocab): LlamaSpecials {
  let found = spmSpecialsCache.get(vocab);
  if (!found) {
    const attrs = attrsFromTypes(vocab.tokens.length, vocab.types);
    const none = NO_TOKEN;
    const ids = { eos: vocab.eosId, eot: vocab.eotId, eom: vocab.eomId, fimPre: none, fimSuf: none, fimMid: none, fimPad: none, fimRep: none, fimSep: none };
    const eog = detectSpecials(vocab.tokens, vocab.lookup, attrs, ids);
    const candidates = partitionCandidates(vocab.tokens, attrs);
    setStripAttrs(vocab.modelName ?? "", "", vocab.architecture ?? "", vocab.lookup, attrs, candidates);
    found = { attrs, candidates, eog, types: typesFromAttrs(attrs) };
    spmSpecialsCache.set(vocab, found);
  }
  return found;
}
