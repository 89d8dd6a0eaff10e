// Writes the tokenizer golden fixtures (test/fixtures/tokenizer-golden-*.json) from llama.cpp itself.
//
// llama.cpp comes from node-llama-cpp, which is NOT a project dependency: install it outside the project
// (its prebuilt CPU package ships libllama; nothing is compiled or downloaded) and point this script at it:
//
//   mkdir -p /tmp/llcpp && cd /tmp/llcpp && npm init -y && npm i -E node-llama-cpp@3.21.1 --ignore-scripts
//   cd <repo> && NODE_LLAMA_CPP_DIR=/tmp/llcpp npx tsx scripts/tokenizer-golden.ts
//
// For every string it records llama_tokenize(text, add_special=false, parse_special=false) (model.tokenize(text,
// false)), llama_detokenize of those ids with and without a leading BOS, and with parse_special for a few
// strings; plus detokenize cases built from ids (broken UTF-8, control tokens). The fixtures are committed, so
// the tests never need llama.cpp. The model files come from the model directory (EDGE_LLAMA_MODELS or ./models).
import { writeFileSync } from "node:fs";
import { modelPath } from "./lib/model-dir";
import { importNodeLlamaCpp } from "./lib/node-llama-cpp";

const MODELS = [
  { file: "llama-2-tiny-random.gguf", out: "test/fixtures/tokenizer-golden-llama2.json" },
  { file: "stories260K.gguf", out: "test/fixtures/tokenizer-golden-stories260k.json" },
];

/** The golden strings: scripts, whitespace, numbers, code, emoji, byte-fallback triggers, literal specials. */
export const GOLDEN_STRINGS: string[] = [
  // English
  "Hello world", "Hello, world!", "The quick brown fox jumps over the lazy dog.",
  "Once upon a time, there was a little girl named Lily.", "I can't believe it's not butter!",
  "She said: \"Don't go.\"", "What's up?", "Lily and Tom went to the park", "ALL CAPS SENTENCE",
  "camelCaseIdentifier", "snake_case_identifier", "Mr. Smith's dog isn't here; he's gone.",
  "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.",
  // whitespace
  "", " ", "  ", "   ", "    ", "        ", " leading", "  two leading", "trailing ", "trailing  two  ",
  "multiple   spaces   here", "\t", "tab\tseparated\tvalues", "\n", "\n\n", "line1\nline2", "line1\r\nline2\r\n",
  "\r", " \n ", "ends with newline\n", "\n starts with newline", "mixed \t \n whitespace",
  "\u00a0non-breaking\u00a0space", "\u3000ideographic space", "zero\u200bwidth", "\ufeffBOM at start",
  // numbers
  "0", "12345", "3.14159", "1,000,000", "-42", "+1 (555) 123-4567", "2024-01-15T10:30:00Z", "0xDEADBEEF",
  "1e-10", "99.9%", "$1,234.56", "€100", "½ ¼ ¾",
  // punctuation
  "!!!", "???", "...", "…", "!?!?", "---", "—", "–", "\"quoted\"", "'single'", "“curly quotes”", "‘curly’",
  "(parens) [brackets] {braces}", "<angle>", "@#$%^&*()_+-=", "~`|\\/", ";;;", ":::", "Hello , world ! don 't",
  // code
  "function add(a, b) { return a + b; }", "def foo(x):\n    return x * 2\n",
  "#include <stdio.h>\nint main() { printf(\"hi\\n\"); }", "SELECT * FROM users WHERE id = 1;",
  "<div class=\"x\">Hello</div>", "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
  "if (x != null && y >= 0) { z++; }", "    indented = True", "a=>b", "x -> y", "::std::vector<int>",
  // URLs
  "https://example.com/path?query=1&b=2#frag", "http://localhost:8080/", "user@example.com",
  "ftp://files.example.org/pub/file.tar.gz", "www.example.co.uk",
  // accented Latin
  "café", "naïve résumé", "Müller über Straße", "niño mañana señor", "Ångström", "façade", "crème brûlée",
  "Dvořák", "Łódź", "İstanbul", "ÀÉÎÕÜ",
  // Greek, Cyrillic
  "Γειά σου Κόσμε", "αβγδεζηθ", "Ελληνικά", "Привет, мир!", "Москва", "Съешь же ещё этих мягких французских булок",
  // CJK (common and rare)
  "中文", "你好，世界", "日本語", "こんにちは世界", "カタカナ", "한국어", "안녕하세요", "漢字テスト", "𠀀", "𪚥", "龘", "𰻞𰻞面",
  // other scripts
  "مرحبا بالعالم", "שלום", "नमस्ते", "สวัสดี", "ሰላም", "Ꭰ", "ᚠᚢᚦ",
  // emoji: plain, skin tones, ZWJ sequences, flags, variation selectors
  "😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇸🇯🇵", "❤️", "🤖 robots", "I ❤ NY", "😀😃😄😁", "👩🏾‍💻", "🧑‍🚀", "✅ done", "🎉🎊",
  // combining marks
  "e\u0301", "a\u0300\u0301\u0302", "n\u0303", "Z\u0351\u0360\u0361a\u0352l\u0353g\u0354o", "\u0915\u094d\u0937",
  // math and styled letters, symbols
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝕳𝖊𝖑𝖑𝖔", "∀x∈ℝ: x²≥0", "∑∫∂√∞", "ℕ ⊂ ℤ ⊂ ℚ", "™®©", "°C",
  // private use, control characters
  "\ue000", "\uf8ff", "\u{F0000}", "\u{10FFFD}", "\u0001\u0002", "\u007f", "\u001b[31mred\u001b[0m",
  // special-token texts as plain text, SentencePiece look-alikes
  "<s>", "</s>", "<unk>", "<s>Hello</s>", " <s> ", "<0x41>", "<<s>>", "▁", "▁▁hello", "[INST] hi [/INST]", "<|im_start|>user",
  // long words and runs
  "supercalifragilisticexpialidocious", "Pneumonoultramicroscopicsilicovolcanoconiosis", "antidisestablishmentarianism",
  "a".repeat(200), "ab".repeat(100), "hello ".repeat(50), "1234567890".repeat(10), "😀".repeat(20), " ".repeat(33),
  // mixed scripts
  "Hello мир 世界 🌍!", "English русский 中文 العربية", "Tokyo東京Tokyo", "naïve 日本 😀 test", "abc123def456", "E=mc²", "H₂O",
  "I ♥ 🍕 & 寿司",
];

/** Strings also tokenized with parse_special = true. */
const PARSE_SPECIAL_STRINGS = ["<s>", "</s>", "<unk>", "<s>Hello</s>", "Hi<s>there", " <s> x", "<s><s>", "a</s>b", "<s>\n", "<<s>>", "x<unk>y", "plain text"];

interface Llama {
  loadModel(o: { modelPath: string }): Promise<LlamaModel>;
}
interface LlamaModel {
  tokenize(text: string, specialTokens?: boolean): ArrayLike<number>;
  detokenize(ids: readonly number[], specialTokens?: boolean): string;
  readonly tokens: { readonly bos: number | null; readonly eos: number | null };
  dispose(): Promise<void>;
}

async function main(): Promise<void> {
  const { pkg, info, mod } = await importNodeLlamaCpp<{
    getLlama(o: object): Promise<Llama>;
  }>();
  const llama = await mod.getLlama({ gpu: false, build: "never", skipDownload: true });
  for (const { file, out } of MODELS) {
    const model = await llama.loadModel({ modelPath: modelPath(file) });
    const bos = model.tokens.bos!;
    const tok = (text: string, special = false) => Array.from(model.tokenize(text, special));
    const cases = GOLDEN_STRINGS.map((text) => {
      const ids = tok(text);
      return {
        text,
        ids,
        detokenized: model.detokenize(ids, false),
        detokenizedSpecial: model.detokenize(ids, true),
        detokenizedAfterBos: model.detokenize([bos, ...ids], false),
      };
    });
    const parseSpecial = PARSE_SPECIAL_STRINGS.map((text) => ({ text, ids: tok(text, true) }));
    // Id sequences for detokenize alone: broken UTF-8, control and unknown tokens, leading spaces.
    const emoji = tok("😀");
    const idSeqs: number[][] = [
      [bos], [model.tokens.eos!], [0], [bos, 0, model.tokens.eos!], emoji.slice(0, 2), emoji.slice(1), emoji.slice(-1),
      [...emoji.slice(0, 2), ...tok("x")], [3 + 0x80], [3 + 0xc3, 3 + 0x28], [3 + 0xed, 3 + 0xa0, 3 + 0x80], [3 + 0xf4, 3 + 0x90, 3 + 0x80, 3 + 0x80],
      [3 + 0xe2, 3 + 0x82], [3 + 0x20, ...tok("x")], [...tok("Hello"), model.tokens.eos!, ...tok("world")], [0, ...tok("x")],
      [...tok(" two"), ...tok(" spaces")], [bos, bos, ...tok("hi")],
    ];
    const detokenize = idSeqs.map((ids) => ({ ids, text: model.detokenize(ids, false), textSpecial: model.detokenize(ids, true) }));
    const fixture = {
      description: `Golden tokenizer outputs of llama.cpp for ${file}: ids = llama_tokenize(text, add_special=false, parse_special=false) (no BOS); detokenized* = llama_detokenize(ids, remove_special=false, unparse_special=false|true), AfterBos = of [bos, ...ids]. Made by scripts/tokenizer-golden.ts; do not edit by hand.`,
      llamaCpp: `${info.llamaCppGithubRepo} ${info.tag} (prebuilt libllama via node-llama-cpp ${pkg.version}, @node-llama-cpp/linux-x64, CPU)`,
      model: file,
      bos,
      eos: model.tokens.eos,
      cases,
      parseSpecial,
      detokenize,
    };
    writeFileSync(out, toJson(fixture));
    console.log(`${out}: ${cases.length} strings, ${parseSpecial.length} parse-special, ${detokenize.length} detokenize cases`);
    await model.dispose();
  }
}

/** JSON with one case per line: readable diffs, no one-id-per-line arrays. */
function toJson(fixture: Record<string, unknown>): string {
  const fields = Object.entries(fixture).map(([key, value]) => {
    const body = Array.isArray(value)
      ? `[\n${value.map((item) => `  ${JSON.stringify(item)}`).join(",\n")}\n ]`
      : JSON.stringify(value);
    return ` ${JSON.stringify(key)}: ${body}`;
  });
  return `{\n${fields.join(",\n")}\n}\n`;
}

await main();
