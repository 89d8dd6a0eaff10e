// Writes test/fixtures/chat-template-golden.json: llama.cpp's llama_chat_apply_template output for ChatML (SmolLM2's and
// Qwen2's GGUF templates) and Llama 3's template on a few conversations, and llama_tokenize of that text
// (add_special, parse_special) with the SmolLM2 and Qwen2 vocabularies. test/node/chat-template.test.ts compares the
// Jinja rendering and the segment-wise tokenization against it, so the tests need no llama.cpp.
//
// llama.cpp is the prebuilt libllama of node-llama-cpp@3.21.1 (a dev dependency) through koffi (scripts/lib/llama-cpp-ffi.ts):
//   EDGE_LLAMA_MODELS=/path/to/models npx tsx scripts/chat-template-golden.ts
import { writeFileSync } from "node:fs";
import { metaOptString, readGguf } from "../src/gguf/index";
import { initLlamaCpp } from "./lib/llama-cpp";
import { readModelFile, modelPath } from "./lib/model-dir";

/** Meta-Llama-3-8B-Instruct's tokenizer_config.json chat_template (the test holds the same string). */
export const LLAMA3_TEMPLATE =
  "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

type Message = { role: "system" | "user" | "assistant"; content: string };

/** Conversations that start with a system message: llama.cpp's built-in ChatML adds no default system turn, Jinja does. */
const CONVERSATIONS: Message[][] = [
  [{ role: "system", content: "You are a helpful assistant." }, { role: "user", content: "Hello! How are you?" }],
  [
    { role: "system", content: "You tell short stories." },
    { role: "user", content: "Tell me about a cat." },
    { role: "assistant", content: "Once upon a time, a cat named Tom sat in the sun." },
    { role: "user", content: "And then?" },
  ],
  [{ role: "system", content: "Be brief." }, { role: "user", content: "  padded text with spaces \n" }],
  [{ role: "system", content: "Unicode." }, { role: "user", content: "Héllo 世界 😀\nnew line\ttab" }],
];

function main(): void {
  const { ffi } = initLlamaCpp();
  const apply = (template: string, messages: Message[]): string => {
    const chat = messages.map((m) => ({ role: m.role, content: m.content }));
    const buf = new Uint8Array(8192);
    const n = ffi.llama_chat_apply_template(template, chat, chat.length, true, buf, buf.length) as number;
    if (n < 0 || n > buf.length) throw new Error(`llama_chat_apply_template failed (${n})`);
    return Buffer.from(buf.subarray(0, n)).toString("utf8");
  };
  const vocab = (file: string) => {
    const mp = ffi.llama_model_default_params() as Record<string, unknown>;
    mp.vocab_only = true;
    const model = ffi.llama_model_load_from_file(modelPath(file), mp);
    if (!model) throw new Error(`llama.cpp could not load ${file}`);
    const v = ffi.llama_model_get_vocab(model);
    const tokenize = (text: string): number[] => {
      const out = new Int32Array(Buffer.byteLength(text) + 8);
      const n = ffi.llama_tokenize(v, text, Buffer.byteLength(text), out, out.length, true, true) as number;
      if (n < 0) throw new Error(`llama_tokenize failed (${n})`);
      return [...out.subarray(0, n)];
    };
    return { tokenize, free: () => ffi.llama_model_free(model) };
  };
  const ggufTemplate = (file: string) => metaOptString(readGguf(readModelFile(file)), "tokenizer.chat_template")!;

  const templates = [
    { name: "smollm2", vocab: "vocab/smollm2.gguf", source: ggufTemplate("vocab/smollm2.gguf") },
    { name: "qwen2", vocab: "vocab/ggml-vocab-qwen2.gguf", source: ggufTemplate("vocab/ggml-vocab-qwen2.gguf") },
    { name: "llama3", vocab: undefined, source: LLAMA3_TEMPLATE },
  ];
  const out = templates.map((t) => {
    const v = t.vocab ? vocab(t.vocab) : undefined;
    const cases = CONVERSATIONS.map((messages) => {
      const text = apply(t.source, messages);
      return { messages, text, ...(v ? { tokens: v.tokenize(text) } : {}) };
    });
    v?.free();
    return { name: t.name, ...(t.vocab ? { vocab: t.vocab } : {}), template: t.source, cases };
  });
  const fixture = {
    description:
      "llama.cpp's llama_chat_apply_template (add_ass) for these templates and conversations, and llama_tokenize(text, add_special, parse_special) with the template's vocabulary. Made by scripts/chat-template-golden.ts; do not edit by hand.",
    llamaCpp: "ggml-org/llama.cpp v0.4.0 (prebuilt libllama via node-llama-cpp 3.21.1, CPU)",
    templates: out,
  };
  writeFileSync("test/fixtures/chat-template-golden.json", JSON.stringify(fixture).replaceAll('{"messages"', '\n{"messages"').replaceAll('{"name"', '\n{"name"') + "\n");
  console.log(`wrote test/fixtures/chat-template-golden.json: ${out.length} templates × ${CONVERSATIONS.length} conversations`);
}

main();
