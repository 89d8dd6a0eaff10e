// Writes test/fixtures/tokenizer-golden-bpe.json: llama.cpp's tokenization of extra strings with the byte-level BPE
// test vocabularies (EDGE_LLAMA_MODELS/vocab, see its README), beyond the .inp/.out vectors they come with, and with
// the two SentencePiece ones there as a control of the special-token handling both share.
//
// llama.cpp comes from node-llama-cpp, which is NOT a project dependency (see scripts/tokenizer-golden.ts):
//   mkdir -p /tmp/llcpp && cd /tmp/llcpp && npm init -y && npm i -E node-llama-cpp@3.21.1 --ignore-scripts
//   cd <repo> && NODE_LLAMA_CPP_DIR=/tmp/llcpp EDGE_LLAMA_MODELS=/path/to/models npx tsx scripts/tokenizer-golden-bpe.ts
//
// Per vocabulary: for every string, ids = llama_tokenize(text, add_special=false, parse_special=false), idsSpecial
// with parse_special=true (only when it differs), text = llama_detokenize(ids, remove_special=false,
// unparse_special=false) and detokSpecial = llama_detokenize(idsSpecial, unparse_special=true), each only when it is not
// the text itself; then add_bos/add_eos, the
// end-of-generation ids (llama_vocab_is_eog over the whole vocabulary) and every token attribute other than NORMAL.
// Then, for many more tokenizer.ggml.pre names, a hash of the ids of every string with the GPT-2 vocabulary relabelled.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { idsHash } from "./lib/ids-hash";
import { modelPath } from "./lib/model-dir";
import { importNodeLlamaCpp } from "./lib/node-llama-cpp";

const FILES = [
  "ggml-vocab-gpt-2.gguf", "ggml-vocab-starcoder.gguf", "ggml-vocab-deepseek-llm.gguf", "ggml-vocab-deepseek-coder.gguf",
  "ggml-vocab-qwen2.gguf", "smollm2.gguf", "gpt-2-pre-llama-bpe.gguf", "gpt-2-pre-qwen2.gguf", "gpt-2-pre-smollm.gguf",
  "gpt-2-pre-deepseek-v3.gguf", "gpt-2-pre-tekken.gguf",
  // SentencePiece controls: special-token handling is shared (Phi-3's RSTRIP tokens, "</s>" typed USER_DEFINED).
  "ggml-vocab-llama-spm.gguf", "ggml-vocab-phi-3.gguf",
];

/**
 * tokenizer.ggml.pre names also checked on the GPT-2 vocabulary relabelled in memory (a temporary file here): for each,
 * an FNV-1a hash of every string's ids (parse_special=false), so the fixture stays small.
 */
const RELABELLED_PRE = [
  "default", "qwen35", "minicpm5", "deepseek-llm", "deepseek-coder", "youtu", "falcon", "starcoder", "command-r", "jais-2", "stablelm2",
  "bloom", "poro-chat", "viking", "exaone-moe", "chameleon", "gpt-4o", "granite-embed-multi-97m", "bailingmoe", "seed-coder",
  "hunyuan-dense", "laguna", "chatglm-bpe", "dbrx", "trillion", "llama-bpe", "qwen2", "smollm", "deepseek-v3", "tekken", "gpt-2",
];

/** Strings where pre-tokenizers and llama.cpp's own unicode table matter. */
const STRINGS: string[] = [
  "Hello world", "I'm HERE'S THEY'LL we'Re you'VE", "don't 'tis ''quoted''", "  two  spaces  ", "tab\t\tx", "\r\n\r\n x \r \n",
  "a \n b", "x  \n\n  y", "end with spaces   ", "1 22 333 4444 55555 666666 7777777", "3.14159e-10", "١٢٣٤ ٥٦", "Ⅻ ½ ²³",
  "camelCaseHTTPServer XMLHttpRequest iOS", "ÀÉÎ àéî ǅungla ǈ", "ПриветМир ΑλφαΒήτα", "e\u0301 a\u0300\u0301 n\u0303o",
  "\u0915\u094d\u0937\u093f", "ไทย ภาษา", "中文，标点。日本語！", "한국어 텍스트", "カタカナ ﾊﾝｶｸ", "𠀀𪚥 龘",
  "😀 👍🏽 👨‍👩‍👧‍👦 🇺🇸", "❤️ ✅ ™ © €100 £5 ¥", "∀x∈ℝ: x²≥0", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕳𝖊𝖑𝖑𝖔",
  // code points JavaScript's \p{} (Unicode 17) and llama.cpp's table disagree on: new letters, marks, punctuation...
  "a\u088Fb \u0897x \u1B4E. \u20C1 \u{10D40}1 \uA7CBz \u{105C0}", " \u088F \u088F\u088F", "x\u1ACFy \u2427!",
  // whitespace llama.cpp and JavaScript disagree on, and other invisible characters
  "NEL\u0085NEL \u0085 x", "BOM\uFEFF \uFEFFx", "nb\u00A0sp \u00A0 x", "ls\u2028ps\u2029", "ideo\u3000graphic", "og\u1680ham",
  "narrow\u202Fnb math\u205Fsp", "\u001C\u001D\u001E\u001F us", "zw\u200Bsp zwj\u200Dx soft\u00ADhy", "\u0001\u0002\u007f\u001b[31m",
  "\ue000 \uf8ff \u{F0000}", "lone \uD800 surrogate \uDC00!",
  // punctuation and symbol runs
  "!!! ??? ... … --- — –", "@#$%^&*()_+-=[]{}|;:',.<>/?`~", "a.b,c!d?e", "(x) [y] {z} <w>", "\"quotes\" 'single' “curly”",
  "path/to/file.txt C:\\dir\\x", "https://example.com/a?b=1&c=2#d", "user@example.com", "x -> y => z :: w",
  // code
  "def foo(x):\n    return x * 2\n", "int main() {\n\treturn 0;\n}", "    indented\n        more\n", "if (a != b && c >= d) { e++; }",
  "{\"key\": [1, 2, 3], \"n\": null}", "SELECT * FROM t WHERE id = 1;", "<div class=\"x\">Hi</div>",
  // special-token look-alikes (parse_special on and off)
  "<|endoftext|>", "Hi<|endoftext|>there", " <|endoftext|> ", "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
  "<fim_prefix>a<fim_suffix>b<fim_middle>", "<｜begin▁of▁sentence｜>x<｜end▁of▁sentence｜>", "<|User|>hi<|Assistant|>",
  "<|EOT|>", "<|fim▁begin|>", "<reponame>x<file_sep>y", "<<|endoftext|>>", "<|endoftext|><|endoftext|>", "õ÷Áý", "ÀlaCarte",
  // long runs
  "a".repeat(300), "ab ".repeat(100), "1234567890".repeat(20), " ".repeat(40) + "x", "\n".repeat(10), "😀".repeat(30),
  "The quick brown fox jumps over the lazy dog. ".repeat(20),
];

interface AddonModel {
  tokenize(text: string, special: boolean): Uint32Array;
  detokenize(ids: Uint32Array, special: boolean): string;
  isEogToken(id: number): boolean;
  getTokenAttributes(id: number): number;
  shouldPrependBosToken(): boolean;
  shouldAppendEosToken(): boolean;
  tokenBos(): number;
  tokenEos(): number;
}

async function main(): Promise<void> {
  const { pkg, info, mod } = await importNodeLlamaCpp<{
    getLlama(o: object): Promise<{ loadModel(o: object): Promise<{ _model: AddonModel; readonly tokens: { readonly size?: number }; dispose(): Promise<void> }> }>;
  }>();
  const llama = await mod.getLlama({ gpu: false, build: "never", skipDownload: true, logLevel: "error" });
  const vocabs = [];
  for (const file of FILES) {
    const model = await llama.loadModel({ modelPath: modelPath(`vocab/${file}`), vocabOnly: true });
    const m = model._model;
    const n = vocabSizes.get(file)!;
    const cases = STRINGS.map((text) => {
      const ids = [...m.tokenize(text, false)];
      const idsSpecial = [...m.tokenize(text, true)];
      const detok = m.detokenize(Uint32Array.from(ids), false);
      const detokSpecial = m.detokenize(Uint32Array.from(idsSpecial), true);
      return {
        text,
        ids,
        ...(JSON.stringify(idsSpecial) !== JSON.stringify(ids) ? { idsSpecial } : {}),
        ...(detok !== text ? { detok } : {}),
        ...(detokSpecial !== text ? { detokSpecial } : {}),
      };
    });
    const eog: number[] = [];
    const attrs: [number, number][] = [];
    for (let id = 0; id < n; id++) {
      if (m.isEogToken(id)) eog.push(id);
      const a = m.getTokenAttributes(id);
      if (a !== 4) attrs.push([id, a]);
    }
    vocabs.push({ file, bos: m.tokenBos(), eos: m.tokenEos(), addBos: m.shouldPrependBosToken(), addEos: m.shouldAppendEosToken(), eog, attrs, cases });
    console.log(`${file}: ${cases.length} strings, ${eog.length} eog, ${attrs.length} non-normal attributes`);
    await model.dispose();
  }
  const { readGguf, writeGguf, GgufValueType } = await import("../src/gguf/index");
  const gpt2 = readGguf(new Uint8Array(readFileSync(modelPath("vocab/ggml-vocab-gpt-2.gguf"))));
  const tmp = mkdtempSync(join(tmpdir(), "golden-bpe-"));
  const relabelled: Record<string, string[]> = {};
  for (const pre of RELABELLED_PRE) {
    const metadata = new Map(gpt2.metadata);
    metadata.set("tokenizer.ggml.pre", { type: GgufValueType.STRING, value: pre });
    const path = join(tmp, `${pre}.gguf`);
    writeFileSync(path, writeGguf({ metadata, tensors: [] }));
    const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
    relabelled[pre] = STRINGS.map((text) => idsHash([...model._model.tokenize(text, false)]));
    await model.dispose();
  }
  console.log(`${RELABELLED_PRE.length} relabelled pre-tokenizers`);
  const fixture = {
    description: "llama.cpp's byte-level BPE tokenization of extra strings for the vocab/ test vocabularies. Made by scripts/tokenizer-golden-bpe.ts; do not edit by hand.",
    llamaCpp: `${info.llamaCppGithubRepo} ${info.tag} (prebuilt libllama via node-llama-cpp ${pkg.version}, CPU)`,
    vocabs,
    relabelled,
  };
  writeFileSync("test/fixtures/tokenizer-golden-bpe.json", JSON.stringify(fixture, null, 0).replaceAll('{"text"', '\n{"text"').replaceAll('{"file"', '\n{"file"') + "\n");
}

/** Token count of each vocabulary file (tokenizer.ggml.tokens), read with the project's GGUF reader. */
const vocabSizes = new Map<string, number>();
{
  const { readGguf } = await import("../src/gguf/index");
  for (const file of FILES) {
    const g = readGguf(new Uint8Array(readFileSync(modelPath(`vocab/${file}`))));
    const v = g.metadata.get("tokenizer.ggml.tokens");
    vocabSizes.set(file, v && v.type === 9 ? v.value.items.length : 0);
  }
}

await main();
