// llama.cpp's BPE pre-tokenizer types (tokenizer.ggml.pre): the regex list each applies, and its per-type flags.
//
// Regexes are llama.cpp v0.4.0's (llm_tokenizer_bpe in src/llama-vocab.cpp), which it runs in sequence, each one
// re-splitting the pieces of the one before. They run here through bpe-pretokenize.ts, which reproduces how llama.cpp
// evaluates them (its category table, its \s); llama.cpp's hand-written splitters for the GPT-2, Llama 3, Qwen2 and
// Qwen3.5 patterns are equivalent to the regexes evaluated that way.

export interface PreTypeSpec {
  readonly regexes: readonly string[];
  /** A piece that is a whole vocabulary entry is that token, without merging (tokenizer_ignore_merges). */
  readonly ignoreMerges?: boolean;
  /** llama_detokenize's clean-up of " ." " ," " 's" ... (default true for BPE). */
  readonly cleanSpaces?: boolean;
  /** Default of tokenizer.ggml.add_bos_token (false for BPE unless set here). */
  readonly addBos?: boolean;
  /** No default BOS id (llama.cpp's default for BPE is 11); a bos_token_id key still sets one. */
  readonly noDefaultBos?: boolean;
}

const CONTRACTIONS = String.raw`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`;
const GPT2 = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)`;
const LLAMA3 = CONTRACTIONS + String.raw`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const QWEN2 = CONTRACTIONS + String.raw`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const DEEPSEEK3 = [
  String.raw`\p{N}{1,3}`,
  String.raw`[\u{4E00}-\u{9FA5}\u{3040}-\u{309F}\u{30A0}-\u{30FF}]+`,
  String.raw`[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_` + "`" + String.raw`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
];
const CASED = (letters: string) =>
  String.raw`[^\r\n\p{L}\p{N}]?((?=[${letters}])([^a-z]))*((?=[${letters}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[${letters}])([^a-z]))+((?=[${letters}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const YOUTU_WORDS = String.raw`[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const BLOOM = String.raw` ?[^(\s|.,!?\u{2026}\u{3002}\u{FF0C}\u{3001}\u{964}\u{6D4}\u{60C})]+`;
const DIGIT_THEN_GPT2 = [String.raw`\p{N}`, GPT2];

/** Pre-tokenizer types by llama.cpp's internal name. */
const TYPES: Record<string, PreTypeSpec> = {
  DEFAULT: { regexes: [String.raw`[\p{P}\$\+<=>\^~\|]+`, GPT2, String.raw`\p{N}+`, "[0-9][0-9][0-9]"] },
  MINICPM5: { regexes: [String.raw`\p{N}{1,3}`, LLAMA3.replace(String.raw`\p{N}{1,3}`, String.raw`\p{N}+`)], ignoreMerges: true },
  LLAMA3: { regexes: [LLAMA3], ignoreMerges: true, addBos: true },
  DBRX: { regexes: [LLAMA3] },
  CHATGLM4: { regexes: [LLAMA3], noDefaultBos: true },
  DEEPSEEK_LLM: {
    regexes: [
      "[\r\n]",
      String.raw`\s?[A-Za-z\u{B5}\u{C0}-\u{D6}\u{D8}-\u{F6}\u{F8}-\u{1BA}\u{1BC}-\u{1BF}\u{1C4}-\u{293}\u{295}-\u{2AF}\u{370}-\u{373}\u{376}\u{377}\u{37B}-\u{37D}\u{37F}\u{386}\u{388}-\u{38A}\u{38C}\u{38E}-\u{3A1}\u{3A3}-\u{3F5}\u{3F7}-\u{481}\u{48A}-\u{52F}\u{531}-\u{556}\u{10A0}-\u{10C5}\u{13A0}-\u{13F5}\u{13F8}-\u{13FD}\u{1C90}-\u{1CBA}\u{1CBD}-\u{1CBF}\u{1D00}-\u{1D2B}\u{1D6B}-\u{1D77}\u{1D79}-\u{1D9A}\u{1E00}-\u{1F15}\u{1F18}-\u{1F1D}\u{1F20}-\u{1F45}\u{1F48}-\u{1F4D}\u{1F50}-\u{1F57}\u{1F59}\u{1F5B}\u{1F5D}\u{1F5F}-\u{1F7D}\u{1F80}-\u{1FB4}\u{1FB6}-\u{1FBC}\u{1FBE}\u{1FC2}-\u{1FC4}\u{1FC6}-\u{1FCC}\u{1FD0}-\u{1FD3}\u{1FD6}-\u{1FDB}\u{1FE0}-\u{1FEC}\u{1FF2}-\u{1FF4}\u{1FF6}-\u{1FFC}\u{2102}\u{2107}\u{210A}-\u{2113}\u{2115}\u{2119}-\u{211D}\u{2124}\u{2126}\u{2128}\u{212A}-\u{212D}\u{212F}-\u{2134}\u{2139}\u{213C}-\u{213F}\u{2145}-\u{2149}\u{214E}\u{2183}\u{2184}\u{2C00}-\u{2C7B}\u{2C7E}-\u{2CE4}\u{2CEB}-\u{2CEE}\u{2CF2}\u{2CF3}\u{A640}-\u{A66D}\u{A680}-\u{A69B}\u{A722}-\u{A76F}\u{A771}-\u{A787}\u{A78B}-\u{A78E}\u{AB70}-\u{ABBF}\u{FB00}-\u{FB06}\u{FB13}-\u{FB17}\u{FF21}-\u{FF3A}\u{FF41}-\u{FF5A}\u{10400}-\u{1044F}\u{104B0}-\u{104D3}\u{104D8}-\u{104FB}\u{10C80}-\u{10CB2}\u{10CC0}-\u{10CF2}\u{118A0}-\u{118DF}\u{1E900}-\u{1E943}]+`,
      String.raw`\s?[!-/:-~\u{FF01}-\u{FF0F}\u{FF1A}-\u{FF5E}\u{2018}-\u{201F}\u{3000}-\u{3002}]+`,
      "\\s+$",
      String.raw`[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+`,
      String.raw`\p{N}+`,
    ],
    cleanSpaces: false,
  },
  DEEPSEEK_CODER: {
    regexes: ["[\r\n]", String.raw`\s?\p{L}+`, String.raw`\s?\p{P}+`, String.raw`[\u{4E00}-\u{9FA5}\u{800}-\u{4E00}\u{AC00}-\u{D7FF}]+`, String.raw`\p{N}`],
    cleanSpaces: false,
  },
  DEEPSEEK3_LLM: { regexes: DEEPSEEK3, cleanSpaces: false },
  YOUTU: {
    regexes: [String.raw`[\u{AC00}-\u{D7A3}\u{3131}-\u{318E}]+|[\u{FF01}\u{2026}\u{201C}\u{201D}\u{2018}\u{2019}\u{2014}\u{FF1A}\u{FF1B}\u{FF0C}\u{3001}-\u{303F}\u{FE30}-\u{FE4F}]+|[\u{3105}-\u{312F}]+|[\u{4E00}-\u{9FA5}\u{3040}-\u{309F}\u{30A0}-\u{30FF}]+`, YOUTU_WORDS],
    cleanSpaces: false,
    ignoreMerges: true,
  },
  FALCON: { regexes: [String.raw`[\p{P}\$\+<=>\^~\|` + "`]+", GPT2, "[0-9][0-9][0-9]"] },
  STARCODER: { regexes: DIGIT_THEN_GPT2 },
  SMOLLM: { regexes: DIGIT_THEN_GPT2, cleanSpaces: false },
  COMMAND_R: { regexes: DIGIT_THEN_GPT2, cleanSpaces: false },
  GPT2: { regexes: [GPT2] },
  GPT2_NO_CLEAN: { regexes: [GPT2], cleanSpaces: false },
  JAIS2: {
    regexes: [
      CONTRACTIONS +
        String.raw`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}`,
    ],
  },
  QWEN2: { regexes: [QWEN2], cleanSpaces: false },
  QWEN35: {
    regexes: [CONTRACTIONS + String.raw`|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`],
    cleanSpaces: false,
  },
  QWEN2_CLEAN: { regexes: [QWEN2] },
  BLOOM: { regexes: [BLOOM] },
  BLOOM_NO_CLEAN: { regexes: [BLOOM], cleanSpaces: false },
  VIKING: { regexes: [BLOOM, String.raw`\p{N}`], cleanSpaces: false },
  TEKKEN: {
    regexes: [
      String.raw`[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
    ],
    ignoreMerges: true,
    cleanSpaces: false,
    addBos: true,
  },
  EXAONE_MOE: {
    regexes: [
      CONTRACTIONS +
        String.raw`|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+`,
    ],
  },
  CHAMELEON: {
    regexes: [
      "<sentinel:[0-9]+>",
      "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
      "([\\t\\n]|    |  )",
      String.raw`\p{N}`,
      String.raw`[\p{P}!-/:-@\[-` + "`{-~]",
      GPT2,
    ],
    cleanSpaces: false,
    addBos: true,
  },
  GPT4O: { regexes: [CASED(String.raw`\p{L}`)], cleanSpaces: false },
  GRANITE_EMB_MULTI: { regexes: [CASED(String.raw`\p{L}\p{M}`)], ignoreMerges: true, cleanSpaces: false },
  BAILINGMOE: {
    regexes: [String.raw`'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+`],
    cleanSpaces: false,
  },
  SEED_CODER: {
    regexes: [CONTRACTIONS + String.raw`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+`],
    cleanSpaces: false,
  },
  HUNYUAN_DENSE: { regexes: DEEPSEEK3, cleanSpaces: false },
  LAGUNA: { regexes: ["[^\\n]+|[\\n]+", QWEN2], cleanSpaces: false },
};

/** tokenizer.ggml.pre value -> internal type, for every name llama.cpp v0.4.0 accepts with a byte-level BPE we run. */
const NAMES: Record<string, string> = {
  default: "DEFAULT",
  minicpm5: "MINICPM5",
  ...Object.fromEntries(
    ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"].map((n) => [n, "LLAMA3"]),
  ),
  "deepseek-llm": "DEEPSEEK_LLM",
  "deepseek-coder": "DEEPSEEK_CODER",
  "deepseek-v3": "DEEPSEEK3_LLM",
  youtu: "YOUTU",
  falcon: "FALCON",
  ...Object.fromEntries(
    ["mpt", "olmo", "jais", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert"]
      .concat(["jina-v1-en", "jina-v2-code", "roberta-bpe", "exaone4"])
      .map((n) => [n, "GPT2"]),
  ),
  ...Object.fromEntries(["trillion", "granite-docling"].map((n) => [n, "GPT2_NO_CLEAN"])),
  "jais-2": "JAIS2",
  ...Object.fromEntries(["starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"].map((n) => [n, "STARCODER"])),
  smollm: "SMOLLM",
  "command-r": "COMMAND_R",
  ...Object.fromEntries(
    ["qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "grok-2", "solar-open"].map((n) => [n, "QWEN2"]),
  ),
  ...Object.fromEntries(["megrez", "stablelm2"].map((n) => [n, "QWEN2_CLEAN"])),
  ...Object.fromEntries(["dbrx", "smaug-bpe"].map((n) => [n, "DBRX"])),
  ...Object.fromEntries(["glm4", "chatglm-bpe"].map((n) => [n, "CHATGLM4"])),
  ...Object.fromEntries(["bloom", "gpt3-finnish"].map((n) => [n, "BLOOM"])),
  qwen35: "QWEN35",
  "poro-chat": "BLOOM_NO_CLEAN",
  viking: "VIKING",
  tekken: "TEKKEN",
  "exaone-moe": "EXAONE_MOE",
  chameleon: "CHAMELEON",
  ...Object.fromEntries(["gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"].map((n) => [n, "GPT4O"])),
  "granite-embed-multi-97m": "GRANITE_EMB_MULTI",
  ...Object.fromEntries(["bailingmoe", "bailingmoe2", "llada-moe"].map((n) => [n, "BAILINGMOE"])),
  "seed-coder": "SEED_CODER",
  ...Object.fromEntries(["hunyuan-dense", "joyai-llm"].map((n) => [n, "HUNYUAN_DENSE"])),
  laguna: "LAGUNA",
};

/** Names llama.cpp accepts that need a tokenizer this project does not have yet (hand-written splitters, no byte encoding). */
const NOT_YET = new Set(["kimi-k2", "afmoe", "tiny_aya", "cohere2moe", "superbpe", "gemma4", "granite-embed-multi-311m", "sarvam-moe", "whitespace"]);

/** The spec of a tokenizer.ggml.pre value; undefined pre (no key) is "default". `known` is false for names llama.cpp rejects. */
export function preTypeSpec(pre: string | undefined): { spec: PreTypeSpec; type: string } | { spec?: undefined; known: boolean } {
  const type = NAMES[pre ?? "default"];
  if (type) return { spec: TYPES[type]!, type };
  return { known: NOT_YET.has(pre!) };
}
